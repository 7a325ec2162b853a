"""The course notes' 1-D CNN solubility classifier, made configurable and padding-exact."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from protlab.alphabet import NOTES_VOCAB_SIZE, PAD_INDEX, VOCAB_SIZE
from protlab.checks import Choice, FloatRange, IntRange, check_fields, setting

# allowed values shared by every embedding + Conv1d model (the CNN, the dual model's sequence branch, ...)
VOCAB_SIZES = Choice(
    (NOTES_VOCAB_SIZE, VOCAB_SIZE),
    note=(
        f"{NOTES_VOCAB_SIZE}: the notes' padding + 20 residues, unknown read as padding; "
        f"{VOCAB_SIZE}: padding + 20 residues + an unknown token"
    ),
)
EMBED_DIM = IntRange(1, 1024)  # length of a residue's learned vector
CONV_CHANNELS = IntRange(1, 2048)  # channels of a convolution
KERNEL_SIZE = IntRange(1, 31, odd=True, note="so the sequence length is preserved")
DROPOUT = FloatRange(0, 1, high_open=True, note="0 means no dropout")
NUM_CLASSES = IntRange(2, 100)  # output logits


class _WeightedSum(torch.autograd.Function):
    """x (B, H, L) summed over L with weights w (B, L) -> (B, H); backward is one broadcast product.

    torch.bmm's own backward forms the (B, H, L) gradient as B outer products of width 1, which ran
    about 4x slower than this broadcast on the CPU and was a few percent of the CNN's training step.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Sum of x * w over the last axis."""
        ctx.save_for_backward(w)
        return torch.bmm(x, w.unsqueeze(2)).squeeze(2)  # (B, H), no (B, H, L) temporary

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Gradient of x only: grad (B, H) spread over L by the weights."""
        (w,) = ctx.saved_tensors
        return grad.unsqueeze(2) * w.unsqueeze(1), None  # (B, H, L)


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Average (B, H, L) features over real positions only -> (B, H)."""
    if mask is None:
        return x.mean(dim=2)
    mask = mask.to(x.dtype)  # (B, L)
    weights = mask / mask.sum(dim=1, keepdim=True).clamp(min=1)  # (B, L): 1 / length at real positions
    return _WeightedSum.apply(x, weights)


DROPOUT_LEVELS = 65536  # dropout compares a 16-bit random number per activation (four per 64-bit draw)


def dropout_multiplier(
    shape: torch.Size, p: float, keep: torch.Tensor | None, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """Dropout as a multiplier: 0 with probability p (a multiple of 1/65536), else 1 / (1 - p).  # (shape)

    The same distribution as nn.Dropout, drawn four activations per 64-bit random number instead of
    one double per activation (about 3x cheaper on the CPU, where nn.Dropout's draws took an eighth
    of the CNN's fp32 training step). keep (broadcastable to shape, 0/1), when given, zeroes more.
    """
    numel = math.prod(shape)
    words = torch.empty((numel + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), None)
    bits = words.view(torch.int16)[:numel].view(shape)  # uniform over -32768..32767
    dropped = round(p * DROPOUT_LEVELS)  # how many of the 65536 values drop the activation
    scale = DROPOUT_LEVELS / (DROPOUT_LEVELS - dropped)  # 1 / (1 - p), with p as rounded
    multiplier = (bits >= dropped - DROPOUT_LEVELS // 2).to(dtype)  # (shape) 1.0 = kept
    return multiplier.mul_(scale if keep is None else keep.to(dtype) * scale)


class _LookupConv(torch.autograd.Function):
    """Summed table rows plus a bias, laid out as Conv1d's output: (B, L, K) indices -> (B, H, L).

    The same values as F.embedding_bag(index, table, mode='sum') + bias, transposed; the transpose is
    written while the bias is added, and the backward reads the (B, H, L) gradient as it comes, so no
    layout copy is made either way. embedding_bag's own backward sorts every index; the table's
    gradient here is one batched product with the rows' one-hot counts, about 2x faster when the table
    has few rows (here kernel_size x (vocab + 1)).
    """

    @staticmethod
    def forward(ctx, index: torch.Tensor, table: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Sum the table rows (R, H) named in each index[b, l] (K of them) and add bias (H,)."""
        batch, length, k = index.shape
        ctx.save_for_backward(index)
        ctx.rows = table.shape[0]
        summed = F.embedding_bag(index.reshape(-1, k), table, mode="sum")  # (B*L, H)
        out = table.new_empty(batch, table.shape[1], length)  # (B, H, L)
        return torch.add(summed.view(batch, length, -1).transpose(1, 2), bias.view(1, -1, 1), out=out)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor, torch.Tensor]:
        """Gradients of the table (R, H) and the bias (H,) from the output's gradient (B, H, L)."""
        (index,) = ctx.saved_tensors
        batch, length, k = index.shape
        flat = index.reshape(-1, k)  # (B*L, K)
        counts = grad.new_zeros(flat.shape[0], ctx.rows).scatter_add_(1, flat, grad.new_ones(flat.shape))
        per_row = torch.bmm(counts.view(batch, length, ctx.rows).transpose(1, 2), grad.transpose(1, 2))
        return None, per_row.sum(0), grad.sum(dim=(0, 2))  # (R, H) summed over B of (B, R, H); (H,)


@dataclass
class CNNConfig:
    """Settings of SolubilityCNN; the defaults are the notes' case-study network (124,738 parameters)."""

    vocab_size: int = setting(NOTES_VOCAB_SIZE, VOCAB_SIZES)  # 21 (notes: unknown -> padding) or 22
    embed_dim: int = setting(64, EMBED_DIM)  # length of each residue's learned vector
    hidden_dim: int = setting(128, CONV_CHANNELS)  # channels of every convolution
    kernel_size: int = setting(5, KERNEL_SIZE)  # residues each filter sees at once (odd: length is kept)
    num_layers: int = setting(2, IntRange(1, 8))  # number of Conv1d layers
    dropout: float = setting(0.3, DROPOUT)  # dropout after every convolution except the last
    num_classes: int = setting(2, NUM_CLASSES)  # output logits (2: insoluble, soluble)

    def validate(self) -> None:
        """Raise ConfigError if any setting is outside its allowed range."""
        check_fields(self)


class SolubilityCNN(nn.Module):
    """Embedding -> Conv1d stack (ReLU) -> masked mean pooling -> Linear, as in the notes' section 7."""

    uses_features = False  # reads tokens only
    feature_names: tuple[str, ...] = ()  # no global features

    def __init__(self, config: CNNConfig | None = None):
        super().__init__()
        config = config or CNNConfig()
        config.validate()
        self.config = config
        c = config
        # attribute names and order match the notes' ProteinSolubilityClassifier, so its state_dict loads
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=PAD_INDEX)
        self.conv_names = [f"conv{i + 1}" for i in range(c.num_layers)]
        for i, name in enumerate(self.conv_names):
            in_channels = c.embed_dim if i == 0 else c.hidden_dim
            setattr(
                self, name, nn.Conv1d(in_channels, c.hidden_dim, c.kernel_size, padding=c.kernel_size // 2)
            )
        self.fc = nn.Linear(c.hidden_dim, c.num_classes)
        self.dropout = nn.Dropout(c.dropout)

    @property
    def vocab_size(self) -> int:
        """Number of token indices the embedding accepts."""
        return self.config.vocab_size

    def _embed_and_conv1(self, tokens: torch.Tensor) -> torch.Tensor:
        """conv1(embedding(tokens)) computed as a lookup, exact and about 3x faster.  # (B, H, L)

        Both layers are linear, so conv1 applied to embedded tokens equals, for each kernel offset k,
        a table T[k] = W_k @ E^T (vocab x hidden) looked up at the token k positions away. A summed
        embedding_bag does all offsets at once; autograd flows through the table into E and W.
        """
        weight = self.embedding.weight  # (V, E)
        weight = torch.cat([weight[:1].detach(), weight[1:]])  # padding row: used as is, never trained
        vocab, k = weight.shape[0], self.conv1.kernel_size[0]
        table = torch.einsum("ve,hek->kvh", weight, self.conv1.weight)  # (K, V, H)
        table = torch.cat(
            [table, table.new_zeros(k, 1, table.shape[2])], dim=1
        )  # (K, V + 1, H); row V = border
        padded = F.pad(tokens, (k // 2, k // 2), value=vocab)  # (B, L + K - 1); border token V
        offsets = torch.arange(k, device=tokens.device) * (vocab + 1)  # (K,)
        index = padded.unfold(1, k, 1) + offsets  # (B, L, K) rows of the flattened table
        flat_table = table.reshape(k * (vocab + 1), -1)  # (K * (V + 1), H)
        return _LookupConv.apply(index, flat_table, self.conv1.bias)  # (B, H, L), as Conv1d gives it

    def _fusable(self) -> bool:
        """True unless hooks watch the embedding or conv1 (summaries, attribution need them to run)."""
        return not any(m._forward_hooks or m._forward_pre_hooks for m in (self.embedding, self.conv1))

    def _dropout_and_keep(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """Dropout (when self.dropout is training) and zeroed padding in one multiplication.  # (B, H, L)

        Padded positions would otherwise leak bias activations into the next convolution.
        """
        if not (self.dropout.training and self.dropout.p > 0):
            return x if keep is None else x * keep
        return x * dropout_multiplier(x.shape, self.dropout.p, keep, x.dtype, x.device)  # (B, H, L)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Map tokens (B, L) int64 and mask (B, L) float32 (None: no padding) to logits (B, num_classes)."""
        fused = self._fusable()
        x = None if fused else self.embedding(tokens).transpose(1, 2)  # (B, E, L)
        keep = None if mask is None else mask.to(self.fc.weight.dtype).unsqueeze(1)  # (B, 1, L)
        last = len(self.conv_names) - 1
        for i, name in enumerate(self.conv_names):
            x = F.relu(
                self._embed_and_conv1(tokens) if i == 0 and fused else getattr(self, name)(x)
            )  # (B, H, L)
            if i < last:
                x = self._dropout_and_keep(x, keep)
        pooled = masked_mean(x, mask)  # (B, H); the last layer's padding is excluded by the pooling itself
        return self.fc(pooled)  # (B, num_classes)
