"""The notes' dual-input model: a sequence branch and a global-feature branch,
joined before the classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn as nn

from protlab.alphabet import NOTES_VOCAB_SIZE, PAD_INDEX
from protlab.checks import IntRange, check_fields, setting
from protlab.errors import ConfigError
from protlab.models.cnn import (
    CONV_CHANNELS,
    EMBED_DIM,
    KERNEL_SIZE,
    NUM_CLASSES,
    VOCAB_SIZES,
)
from protlab.models.kernels import conv_in_layout, is_watched, masked_mean

if TYPE_CHECKING:
    from protlab.data.batching import TokenizedSet


def _notes_global_features() -> list[str]:
    """The notes' five global features, read from protlab.data.features when a config is made."""
    from protlab.data.features import NOTES_GLOBAL_FEATURES

    return list(NOTES_GLOBAL_FEATURES)


@dataclass
class DualInputConfig:
    """Settings of DualInputModel; the defaults are the notes' DualInputProteinModel."""

    vocab_size: int = setting(NOTES_VOCAB_SIZE, VOCAB_SIZES)  # 21 (notes) or 22 (separate unknown token)
    embed_dim: int = setting(64, EMBED_DIM)  # length of each residue's learned vector
    hidden_dim: int = setting(128, CONV_CHANNELS)  # channels of the convolution (sequence branch width)
    kernel_size: int = setting(5, KERNEL_SIZE)  # residues each filter sees at once (odd)
    global_dim: int = setting(32, IntRange(1, 1024))  # width of the global-feature branch
    num_classes: int = setting(2, NUM_CLASSES)  # output logits
    feature_names: list[str] = field(
        default_factory=_notes_global_features
    )  # protlab.data.features columns fed in

    def validate(self) -> None:
        """Raise ConfigError if any setting is outside its allowed range."""
        check_fields(self)
        names = self.feature_names
        if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
            raise ConfigError(
                f"feature_names must be a non-empty list of feature column names; got {names!r}."
            )
        from protlab.data.features import FEATURE_COLUMNS

        unknown = [n for n in names if n not in FEATURE_COLUMNS]
        if unknown:
            raise ConfigError(
                f"feature_names contains unknown features {unknown}; "
                f"allowed names are {list(FEATURE_COLUMNS)}."
            )
        if len(set(names)) != len(names):
            raise ConfigError(f"feature_names must not repeat a feature; got {list(names)}.")


class DualInputModel(nn.Module):
    """Embedding -> Conv1d -> ReLU -> masked mean, plus standardised features -> Linear -> ReLU;
    concat -> Linear.
    """

    uses_features = True

    def __init__(self, config: DualInputConfig | None = None):
        super().__init__()
        config = config or DualInputConfig()
        config.validate()
        config.feature_names = list(config.feature_names)
        self.config = config
        c = config
        n_features = len(c.feature_names)
        self.embedding = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=PAD_INDEX)
        self.conv = nn.Conv1d(c.embed_dim, c.hidden_dim, c.kernel_size, padding=c.kernel_size // 2)
        self.relu = nn.ReLU()
        self.global_fc = nn.Linear(n_features, c.global_dim)
        self.classifier = nn.Linear(c.hidden_dim + c.global_dim, c.num_classes)
        # raw features (molecular weight in Da, pI, ...) are standardised inside the model, so a checkpoint
        # carries its own scaling; the defaults (0, 1) leave features unchanged until set_feature_stats
        # is called
        self.register_buffer("feature_mean", torch.zeros(n_features))  # (F,) float32
        self.register_buffer("feature_std", torch.ones(n_features))  # (F,) float32

    @property
    def vocab_size(self) -> int:
        """Number of token indices the embedding accepts."""
        return self.config.vocab_size

    @property
    def feature_names(self) -> list[str]:
        """Names of the global features, in the column order forward() expects."""
        return self.config.feature_names

    def set_feature_stats(self, mean: object, std: object) -> None:
        """Store the training set's per-feature mean and standard deviation used to standardise inputs."""
        n = len(self.config.feature_names)
        mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)  # (F,)
        std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1)  # (F,)
        if mean_t.numel() != n or std_t.numel() != n:
            raise ConfigError(
                f"set_feature_stats needs one mean and one std per feature ({n}); "
                f"got {mean_t.numel()} means and {std_t.numel()} stds."
            )
        if not (torch.isfinite(mean_t).all() and torch.isfinite(std_t).all()) or (std_t < 0).any():
            raise ConfigError("set_feature_stats needs finite means and finite, non-negative stds.")
        std_t = torch.where(
            std_t > 1e-8, std_t, torch.ones_like(std_t)
        )  # a constant feature is left unscaled
        self.feature_mean.copy_(mean_t)
        self.feature_std.copy_(std_t)

    def fit_training_rows(self, train: TokenizedSet) -> None:
        """Standardise features with the training rows' mean and standard deviation."""
        if train.features is None:
            raise ConfigError(
                f"{type(self).__name__} standardises its global features on the training rows, but the "
                "training set has none; tokenise it with features (protlab.runs.prepare_run does)."
            )
        self.set_feature_stats(train.features.mean(axis=0), train.features.std(axis=0))  # (F,), (F,)

    def forward(
        self, tokens: torch.Tensor, features: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Map tokens (B, L) int64, raw features (B, F) float32 and mask (B, L) to logits (B, num_classes)."""
        x = self.embedding(tokens).transpose(1, 2)  # (B, E, L), stored (B, L, E)
        if tokens.device.type == "cpu" and not is_watched(self.conv):
            x = x.unsqueeze(2)  # (B, E, 1, L): channels-last as stored, faster convolutions (models.kernels)
        x = self.relu(conv_in_layout(self.conv, x))  # (B, H, L) or (B, H, 1, L)
        x = masked_mean(x, mask)  # (B, H)
        z = (features.to(x.dtype) - self.feature_mean) / self.feature_std  # (B, F) standardised
        g = self.relu(self.global_fc(z))  # (B, global_dim)
        return self.classifier(torch.cat([x, g], dim=1))  # (B, num_classes)
