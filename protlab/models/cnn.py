"""The course notes' 1-D CNN solubility classifier, made configurable and padding-exact."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from protlab.alphabet import NOTES_VOCAB_SIZE, PAD_INDEX, VOCAB_SIZE
from protlab.checks import Choice, FloatRange, IntRange, check_fields, setting
from protlab.models.kernels import _LookupConv, conv_in_layout, dropout_like, is_watched, masked_mean

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

    def _embed_and_conv1(self, tokens: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
        """conv1(embedding(tokens)) computed as a lookup, exact and about 3x faster.  # (B, H, L)

        Both layers are linear, so conv1 applied to embedded tokens equals, for each kernel offset k,
        a table T[k] = W_k @ E^T (vocab x hidden) looked up at the token k positions away. A summed
        embedding_bag does all offsets at once; autograd flows through the table into E and W.
        With channels_last the result is (B, H, 1, L) stored as (B, L, H) (see protlab.models.kernels).
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
        return _LookupConv.apply(index, flat_table, self.conv1.bias, channels_last)  # as a conv gives it

    def _conv(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Convolution i (0-based) of x in x's layout: (B, H, L) or channels-last (B, H, 1, L)."""
        return conv_in_layout(getattr(self, self.conv_names[i]), x)

    def _fusable(self) -> bool:
        """True unless hooks watch the embedding or a convolution (summaries, attribution need them to run).

        The fused path calls neither the embedding nor conv1, and on the CPU it runs the later
        convolutions through conv2d, so a hook on any of them would be skipped there.
        """
        return not is_watched(self.embedding, *(getattr(self, name) for name in self.conv_names))

    def _dropout_and_keep(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """Dropout (when self.dropout is training) and zeroed padding in one multiplication, in x's layout.

        Padded positions would otherwise leak bias activations into the next convolution.
        """
        if not (self.dropout.training and self.dropout.p > 0):
            return x if keep is None else x * keep.to(x.dtype)
        return x * dropout_like(x, self.dropout.p, keep)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Map tokens (B, L) int64 and mask (B, L) float32 (None: no padding) to logits (B, num_classes)."""
        fused = self._fusable()
        channels_last = fused and tokens.device.type == "cpu"  # oneDNN's favoured layout, up to the pooling
        x = None if fused else self.embedding(tokens).transpose(1, 2)  # (B, E, L)
        keep = None if mask is None else mask.to(self.fc.weight.dtype).unsqueeze(1)  # (B, 1, L)
        if keep is not None and channels_last:
            keep = keep.unsqueeze(1)  # (B, 1, 1, L)
        last = len(self.conv_names) - 1
        for i in range(len(self.conv_names)):
            x = F.relu(
                self._embed_and_conv1(tokens, channels_last) if i == 0 and fused else self._conv(i, x)
            )  # (B, H, L), or (B, H, 1, L) channels-last
            if i < last:
                x = self._dropout_and_keep(x, keep)
        pooled = masked_mean(x, mask)  # (B, H); the last layer's padding is excluded by the pooling itself
        return self.fc(pooled)  # (B, num_classes)
