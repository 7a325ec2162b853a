"""The intro note's Exercise 1: a 3-layer MLP that labels every residue from its own one-hot row.

Input (B, L, 20) one-hot, output (B, L, 3): nn.Linear acts on the last axis, so the same small network runs
at every position, and a residue's prediction depends on that residue alone. This is the model the exercise
asks for, and the lesson's point: without its neighbours a residue can only be given its letter's usual
state (Ala and Leu helix, Val and Ile strand, Gly and Pro coil), which the dilated CNN improves on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from protlab.alphabet import AMINO_ACIDS, VOCAB_SIZE
from protlab.checks import IntRange, check_fields, setting
from protlab.models import register_model
from protlab.models.cnn import DROPOUT, VOCAB_SIZES

__all__ = ["ResidueMLP", "ResidueMLPConfig", "residue_one_hot"]

ONE_HOT_WIDTH = len(AMINO_ACIDS)  # 20 columns, as the Encode page's one-hot matrix


def residue_one_hot(tokens: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Tokens (B, L) -> one-hot (B, L, 20) float: column i for token i + 1; padding, unknown: zero rows."""
    return F.one_hot(tokens, vocab_size)[..., 1 : ONE_HOT_WIDTH + 1].float()


class OneHot(nn.Module):
    """residue_one_hot as a layer without weights, so layer tables show the (B, L, 20) input."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, L) -> (B, L, 20)."""
        return residue_one_hot(tokens, self.vocab_size)


@dataclass
class ResidueMLPConfig:
    """Settings of ResidueMLP; the defaults are the exercise's: three Linear layers on one-hot input."""

    vocab_size: int = setting(VOCAB_SIZE, VOCAB_SIZES)  # token ids it reads (22: unknown token; 21: notes')
    hidden_dim: int = setting(64, IntRange(1, 1024))  # units in each hidden layer
    num_layers: int = setting(3, IntRange(2, 6))  # Linear layers in all (the exercise asks for 3)
    dropout: float = setting(0.1, DROPOUT)  # dropout after every hidden layer
    num_classes: int = setting(3, IntRange(2, 20))  # scores per residue (H, E, C)

    def validate(self) -> None:
        """Raise ConfigError if any setting is outside its allowed range."""
        check_fields(self)


class ResidueMLP(nn.Module):
    """Per-residue MLP: tokens (B, L) -> one-hot (B, L, 20) -> Linear/ReLU ... -> logits (B, L, classes)."""

    uses_features = False  # reads tokens only
    feature_names: tuple[str, ...] = ()  # no global features
    per_residue = True  # one prediction per residue, not one per protein

    def __init__(self, config: ResidueMLPConfig | None = None):
        super().__init__()
        config = config or ResidueMLPConfig()
        config.validate()
        self.config = c = config
        widths = [ONE_HOT_WIDTH] + [c.hidden_dim] * (c.num_layers - 1) + [c.num_classes]
        stack: list[nn.Module] = [OneHot(c.vocab_size)]  # (B, L) tokens -> (B, L, 20)
        for a, b in zip(widths[:-2], widths[1:-1]):  # hidden layers: Linear -> ReLU -> Dropout
            stack += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(c.dropout)]
        stack.append(nn.Linear(widths[-2], widths[-1]))  # (B, L, hidden) -> (B, L, num_classes)
        self.layers = nn.Sequential(*stack)  # in order, so a layer table reads as the model runs

    @property
    def vocab_size(self) -> int:
        """Number of token indices the model accepts."""
        return self.config.vocab_size

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (B, L) int64 -> logits (B, L, num_classes); mask is not needed: positions never mix."""
        return self.layers(tokens)  # (B, L) -> (B, L, 20) -> (B, L, hidden) ... -> (B, L, C)


register_model("residue_mlp", ResidueMLPConfig, ResidueMLP)
