"""A per-residue 1-D CNN: no pooling, so the output keeps the sequence length -> (B, L, 3) logits.

Embedding -> Conv1d -> residual blocks of dilated Conv1d (each sees further along the chain) -> a 1x1
convolution to one score per class at every position. After every layer the padded positions are set back
to zero, so a residue's prediction is the same whether its protein is batched with longer ones or alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from protlab.alphabet import PAD_INDEX, VOCAB_SIZE
from protlab.checks import IntRange, check_fields, setting
from protlab.errors import ConfigError
from protlab.models import register_model
from protlab.models.cnn import DROPOUT, KERNEL_SIZE, VOCAB_SIZES
from protlab.models.kernels import conv_in_layout, is_watched
from protlab.models.summary import summarize

__all__ = ["MAX_BLOCKS", "ResidueCNN", "ResidueCNNConfig", "layer_shapes", "receptive_field"]

MAX_BLOCKS = 12  # most residual blocks (entries of dilations)


@dataclass
class ResidueCNNConfig:
    """Settings of ResidueCNN; the defaults are the bundled structure model's."""

    vocab_size: int = setting(VOCAB_SIZE, VOCAB_SIZES)  # 22 (unknown token), or the notes' 21
    embed_dim: int = setting(32, IntRange(1, 512))  # length of each residue's learned vector
    channels: int = setting(96, IntRange(1, 1024))  # feature channels of every convolution
    kernel_size: int = setting(5, KERNEL_SIZE)  # residues each filter spans (odd: the length is kept)
    dilations: list[int] = setting(factory=lambda: [1, 2, 4, 8, 16])  # one residual block per entry
    dropout: float = setting(0.35, DROPOUT)  # dropout inside every residual block
    num_classes: int = setting(3, IntRange(2, 20))  # scores per residue (H, E, C)

    def validate(self) -> None:
        """Raise ConfigError if any setting is outside its allowed range."""
        check_fields(self)
        if not isinstance(self.dilations, (list, tuple)) or len(self.dilations) > MAX_BLOCKS:
            raise ConfigError(
                f"dilations must be a list of up to {MAX_BLOCKS} integers from 1 to 64; "
                f"got {self.dilations!r}."
            )
        for d in self.dilations:
            IntRange(1, 64).check(d, "every dilation")


def receptive_field(config: ResidueCNNConfig | object) -> int:
    """Residues that can influence one output position (the window the network sees around a residue).

    A model without convolutions (the exercise's ResidueMLP) sees its own residue only: 1.
    """
    if not hasattr(config, "kernel_size"):
        return 1
    reach = (config.kernel_size - 1) // 2 * (1 + sum(config.dilations))  # residues on each side
    return 2 * reach + 1


class ResidualBlock(nn.Module):
    """x + Dropout(ReLU(Conv1d_dilated(x))), with padded positions zeroed."""

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(
            channels, channels, kernel_size, padding=dilation * (kernel_size // 2), dilation=dilation
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """x (B, H, L), keep (B, 1, L) -> (B, H, L); or channels-last x (B, H, 1, L), keep (B, 1, 1, L)."""
        return (x + self.dropout(F.relu(conv_in_layout(self.conv, x)))) * keep


class ResidueCNN(nn.Module):
    """Per-residue classifier: tokens (B, L) -> logits (B, L, num_classes); no pooling anywhere."""

    uses_features = False  # reads tokens only
    feature_names: tuple[str, ...] = ()  # no global features
    per_residue = True  # one prediction per residue, not one per protein

    def __init__(self, config: ResidueCNNConfig | None = None):
        super().__init__()
        config = config or ResidueCNNConfig()
        config.validate()
        self.config = c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=PAD_INDEX)
        self.conv_in = nn.Conv1d(c.embed_dim, c.channels, c.kernel_size, padding=c.kernel_size // 2)
        self.blocks = nn.ModuleList(
            ResidualBlock(c.channels, c.kernel_size, d, c.dropout) for d in c.dilations
        )
        self.head = nn.Conv1d(c.channels, c.num_classes, 1)  # the same Linear layer at every position

    @property
    def vocab_size(self) -> int:
        """Number of token indices the embedding accepts."""
        return self.config.vocab_size

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (B, L) int64, mask (B, L) float32 (None: no padding) -> logits (B, L, num_classes)."""
        dtype = self.head.weight.dtype
        keep = torch.ones_like(tokens, dtype=dtype) if mask is None else (mask > 0).to(dtype)  # (B, L)
        keep = keep.unsqueeze(1)  # (B, 1, L)
        x = self.embedding(tokens).transpose(1, 2)  # (B, E, L), stored (B, L, E)
        if tokens.device.type == "cpu" and not self._watched():
            # channels-last on the CPU: oneDNN's convolutions run faster on it, and the embedding's
            # (B, L, E) output already is that layout, so nothing is copied (see protlab.models.kernels)
            x, keep = x.unsqueeze(2), keep.unsqueeze(2)  # (B, E, 1, L), (B, 1, 1, L)
        x = F.relu(conv_in_layout(self.conv_in, x)) * keep  # (B, H, L) or (B, H, 1, L)
        for block in self.blocks:
            x = block(x, keep)
        out = conv_in_layout(self.head, x)  # (B, C, L) or (B, C, 1, L)
        return out.reshape(out.shape[0], out.shape[1], -1).transpose(1, 2)  # (B, L, C)

    def _watched(self) -> bool:
        """True if a hook watches a convolution (layer summaries): then every one runs as a module."""
        return is_watched(self.conv_in, self.head, *(block.conv for block in self.blocks))


def layer_shapes(model: nn.Module, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> pd.DataFrame:
    """summarize() of every layer, plus the CNN's own output row: (B, L, C) after the final transpose."""
    table = summarize(model, tokens, mask)
    with torch.no_grad():
        was_training = model.training
        out = model.eval()(tokens, mask)  # (B, L, C)
        model.train(was_training)
    shape = "(" + ", ".join(map(str, out.shape)) + ")"
    if len(table) and table["output_shape"].iloc[-1] == shape:
        return table  # the last layer already gives (B, L, C): nothing is transposed after it
    row = {
        "name": "output",
        "type": "transpose(1, 2)",
        "output_shape": shape,
        "parameters": 0,
    }
    return pd.concat([table, pd.DataFrame([row])], ignore_index=True)


register_model("residue_cnn", ResidueCNNConfig, ResidueCNN)
