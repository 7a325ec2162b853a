"""The course notes' 1-D CNN solubility classifier, made configurable and padding-exact."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from protlab.alphabet import NOTES_VOCAB_SIZE, PAD_INDEX, VOCAB_SIZE
from protlab.errors import ConfigError


def check_int(name: str, value: object, low: int, high: int, what: str = "") -> None:
    """Raise ConfigError unless value is an integer in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}{what}; got {value!r}.")


def check_dropout(value: object, name: str = "dropout") -> None:
    """Raise ConfigError unless value is a probability in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
        raise ConfigError(f"{name} must be a number from 0 (no dropout) up to but not including 1; got {value!r}.")


def check_vocab(value: object) -> None:
    """Raise ConfigError unless value is one of the two supported vocabulary sizes."""
    if value not in (NOTES_VOCAB_SIZE, VOCAB_SIZE) or isinstance(value, bool):
        raise ConfigError(
            f"vocab_size must be {NOTES_VOCAB_SIZE} (the notes: padding + 20 residues, unknown read as padding) "
            f"or {VOCAB_SIZE} (padding + 20 residues + an unknown token); got {value!r}."
        )


def check_conv_branch(config: object) -> None:
    """Check the settings every embedding + Conv1d branch shares: vocab, widths and an odd kernel."""
    check_vocab(config.vocab_size)
    check_int("embed_dim", config.embed_dim, 1, 1024)
    check_int("hidden_dim", config.hidden_dim, 1, 2048)
    check_int("kernel_size", config.kernel_size, 1, 31)
    if config.kernel_size % 2 == 0:
        raise ConfigError(f"kernel_size must be odd so the sequence length is preserved; got {config.kernel_size}.")


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Average (B, H, L) features over real positions only -> (B, H)."""
    if mask is None:
        return x.mean(dim=2)
    mask = mask.to(x.dtype)  # (B, L)
    total = torch.bmm(x, mask.unsqueeze(2)).squeeze(2)  # (B, H): sum over L of x * mask, no (B, H, L) copy
    return total / mask.sum(dim=1, keepdim=True).clamp(min=1)


@dataclass
class CNNConfig:
    """Settings of SolubilityCNN; the defaults are the notes' case-study network (124,738 parameters)."""

    vocab_size: int = NOTES_VOCAB_SIZE  # 21 (notes: unknown -> padding) or 22 (separate unknown token)
    embed_dim: int = 64  # length of each residue's learned vector
    hidden_dim: int = 128  # channels of every convolution
    kernel_size: int = 5  # residues each filter sees at once (odd, so length is preserved)
    num_layers: int = 2  # number of Conv1d layers
    dropout: float = 0.3  # dropout after every convolution except the last
    num_classes: int = 2  # output logits (2: insoluble, soluble)

    def validate(self) -> None:
        """Raise ConfigError if any setting is outside its allowed range."""
        check_conv_branch(self)
        check_int("num_layers", self.num_layers, 1, 8)
        check_dropout(self.dropout)
        check_int("num_classes", self.num_classes, 2, 100)


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
            setattr(self, name, nn.Conv1d(in_channels, c.hidden_dim, c.kernel_size, padding=c.kernel_size // 2))
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
        table = torch.cat([table, table.new_zeros(k, 1, table.shape[2])], dim=1)  # (K, V + 1, H); row V = border
        padded = F.pad(tokens, (k // 2, k // 2), value=vocab)  # (B, L + K - 1); border token V
        offsets = torch.arange(k, device=tokens.device) * (vocab + 1)  # (K,)
        index = padded.unfold(1, k, 1) + offsets  # (B, L, K) rows of the flattened table
        out = F.embedding_bag(index.reshape(-1, k), table.reshape(k * (vocab + 1), -1), mode="sum")  # (B*L, H)
        out = out.view(tokens.shape[0], tokens.shape[1], -1) + self.conv1.bias  # (B, L, H)
        return out.transpose(1, 2).contiguous()  # (B, H, L), laid out as Conv1d would give it

    def _fusable(self) -> bool:
        """True unless hooks watch the embedding or conv1 (summaries, attribution need them to run)."""
        return not any(m._forward_hooks or m._forward_pre_hooks for m in (self.embedding, self.conv1))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Map tokens (B, L) int64 and mask (B, L) float32 (None: no padding) to logits (B, num_classes)."""
        fused = self._fusable()
        x = None if fused else self.embedding(tokens).transpose(1, 2)  # (B, E, L)
        keep = None if mask is None else mask.to(self.fc.weight.dtype).unsqueeze(1)  # (B, 1, L)
        last = len(self.conv_names) - 1
        for i, name in enumerate(self.conv_names):
            x = F.relu(self._embed_and_conv1(tokens) if i == 0 and fused else getattr(self, name)(x))  # (B, H, L)
            if i < last:
                x = self.dropout(x)
                if keep is not None:
                    # padded positions would otherwise leak bias activations into the next convolution
                    x = x * keep
        pooled = masked_mean(x, mask)  # (B, H); the last layer's padding is excluded by the pooling itself
        return self.fc(pooled)  # (B, num_classes)
