"""BoostedTrees: gradient-boosted decision trees over sequence statistics, an ensemble member.

The trees read the same statistics as CompositionNet (protlab.models.composition.sequence_stats): residue
composition, the composition of the first and last ``terminal_window`` residues, which residue sits at each
of the first and last ``terminal_positions`` positions, and log length. Where a logistic regression adds
these up one by one, a tree can combine them ("starts with M, then G, and is short"): expression
constructs, which leave their mark at the sequence ends, are such combinations.

The trees are grown by scikit-learn's HistGradientBoostingClassifier on the training rows (in
fit_training_rows: there are no gradient steps) and then copied into buffers, so the checkpoint holds plain
tensors and prediction walks the trees in PyTorch, all trees side by side, one level per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from protlab.alphabet import VOCAB_SIZE
from protlab.checks import Choice, FloatRange, IntRange, check_fields, setting
from protlab.errors import ConfigError
from protlab.models.composition import (
    CompositionNetConfig,
    group_table,
    stat_dim,
    token_stats,
    training_row_stats,
)

if TYPE_CHECKING:
    from protlab.data.batching import TokenizedSet


@dataclass
class BoostedTreesConfig:
    """Settings of BoostedTrees; plain values so the config can live in a checkpoint."""

    vocab_size: int = setting(VOCAB_SIZE, Choice((VOCAB_SIZE,), note="padding + 20 residues + unknown"))
    terminal_window: int = setting(25, IntRange(1, 1024))  # residues counted as the N- or C-terminus
    terminal_positions: int = setting(5, IntRange(0, 64))  # first/last residues read one position each
    n_trees: int = setting(200, IntRange(1, 2000))  # boosting rounds, one tree each
    learning_rate: float = setting(0.05, FloatRange(0, 1, low_open=True))  # shrinkage of each tree's values
    max_leaf_nodes: int = setting(15, IntRange(2, 255))  # leaves per tree at most
    min_samples_leaf: int = setting(20, IntRange(1, 10_000))  # training proteins per leaf at least
    l2_regularization: float = setting(1.0, FloatRange(0, 1e6))  # L2 penalty on leaf values
    num_classes: int = setting(2, Choice((2,), note="insoluble, soluble"))  # output logits

    def __post_init__(self) -> None:
        """Check every field."""
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError for any value outside its allowed range."""
        check_fields(self)

    def stat_config(self) -> CompositionNetConfig:
        """The statistics the trees read, as CompositionNet computes them (no reduced alphabet, no pairs)."""
        return CompositionNetConfig(
            terminal_window=self.terminal_window,
            terminal_positions=self.terminal_positions,
            use_groups=False,
            use_dipeptides=False,
        )


class BoostedTrees(nn.Module):
    """Sequence statistics -> sum of boosted trees' leaf values (log-odds of soluble) -> (B, 2) logits."""

    uses_features = False  # everything is computed from the tokens
    feature_names: tuple[str, ...] = ()  # no global features
    gradient_free = True  # learns in fit_training_rows; train_model takes no gradient steps

    def __init__(self, config: BoostedTreesConfig | None = None):
        super().__init__()
        self.config = config or BoostedTreesConfig()
        c = self.config
        self._stats = c.stat_config()
        t, n = c.n_trees, 2 * c.max_leaf_nodes - 1  # trees, node slots per tree
        self.register_buffer("feature", torch.zeros(t, n, dtype=torch.int64))  # (T, N) statistic split on
        self.register_buffer("threshold", torch.zeros(t, n, dtype=torch.float64))  # (T, N) go left if <=
        self.register_buffer("left", torch.zeros(t, n, dtype=torch.int64))  # (T, N) left child's slot
        self.register_buffer("right", torch.zeros(t, n, dtype=torch.int64))  # (T, N) right child's slot
        self.register_buffer("is_leaf", torch.ones(t, n, dtype=torch.bool))  # (T, N) unfitted: all leaves
        self.register_buffer("leaf_value", torch.zeros(t, n, dtype=torch.float64))  # (T, N) log-odds added
        self.register_buffer("baseline", torch.zeros((), dtype=torch.float64))  # log-odds before any tree
        self.register_buffer("levels", torch.zeros((), dtype=torch.int64))  # depth of the deepest leaf
        self.register_buffer("group_table", group_table(self._stats), persistent=False)  # (V, G) unused

    @property
    def vocab_size(self) -> int:
        """Number of token indices the model accepts."""
        return self.config.vocab_size

    @property
    def n_stats(self) -> int:
        """Number of statistics the trees read."""
        return stat_dim(self._stats)

    def stats(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Statistics of tokens (B, L) int64 with mask (B, L), in float64.  # (B, S) float64"""
        # float64: the same protein gets the same values in any batch, so no split flips with the padding
        return token_stats(tokens, mask, self.group_table, self._stats, torch.float64)

    @torch.no_grad()
    def fit_training_rows(self, train: TokenizedSet) -> None:
        """Grow the trees on the training rows' statistics and labels (scikit-learn), then copy them in."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        labels = np.asarray(train.labels)
        if len(labels) == 0 or not np.isin(labels, (0, 1)).all() or len(np.unique(labels)) < 2:
            raise ConfigError(
                "BoostedTrees needs training rows labelled 0 and 1, with both labels present; "
                f"got labels {sorted(set(labels.tolist()))[:5]}."
            )
        rows, stats = training_row_stats(self.stats, train)  # (N,) the order of the (N, S) statistics
        c = self.config
        booster = HistGradientBoostingClassifier(
            max_iter=c.n_trees,
            learning_rate=c.learning_rate,
            max_leaf_nodes=c.max_leaf_nodes,
            min_samples_leaf=c.min_samples_leaf,
            l2_regularization=c.l2_regularization,
            early_stopping=False,  # exactly n_trees trees, so the buffers' shapes follow from the config
            random_state=0,
        ).fit(stats.cpu().numpy(), labels[rows])
        self.load_booster(booster)

    @torch.no_grad()
    def load_booster(self, booster) -> None:
        """Copy a fitted binary HistGradientBoostingClassifier with this config's shape into the buffers."""
        trees = [p[0].nodes for p in booster._predictors]  # one predictor per boosting round
        if len(trees) != self.config.n_trees or booster.n_features_in_ != self.n_stats:
            raise ConfigError(
                f"The booster holds {len(trees)} trees over {booster.n_features_in_} statistics; this "
                f"model expects {self.config.n_trees} over {self.n_stats}."
            )
        for buffer in (self.feature, self.threshold, self.left, self.right, self.leaf_value):
            buffer.zero_()
        self.is_leaf.fill_(True)
        for t, nodes in enumerate(trees):
            k = len(nodes)
            self.feature[t, :k] = torch.from_numpy(nodes["feature_idx"].astype(np.int64))
            self.threshold[t, :k] = torch.from_numpy(nodes["num_threshold"].astype(np.float64))
            self.left[t, :k] = torch.from_numpy(nodes["left"].astype(np.int64))
            self.right[t, :k] = torch.from_numpy(nodes["right"].astype(np.int64))
            leaf = torch.from_numpy(nodes["is_leaf"].astype(bool))
            self.is_leaf[t, :k] = leaf
            self.leaf_value[t, :k] = torch.from_numpy(nodes["value"].astype(np.float64)) * leaf
        self.baseline.fill_(float(np.asarray(booster._baseline_prediction).ravel()[0]))
        self.levels.fill_(max(int(np.max(nodes["depth"])) for nodes in trees))

    def log_odds(self, stats: torch.Tensor) -> torch.Tensor:
        """Walk every tree for every protein: stats (B, S) float64 -> log-odds of soluble (B,) float64."""
        trees = torch.arange(self.feature.shape[0], device=stats.device)  # (T,)
        node = torch.zeros(stats.shape[0], len(trees), dtype=torch.int64, device=stats.device)  # (B, T) roots
        for _ in range(int(self.levels)):
            value = stats.gather(1, self.feature[trees, node])  # (B, T) the statistic each node splits on
            left, right = self.left[trees, node], self.right[trees, node]  # (B, T) each
            child = torch.where(value <= self.threshold[trees, node], left, right)  # (B, T)
            node = torch.where(self.is_leaf[trees, node], node, child)  # (B, T) leaves stay put
        return self.baseline + self.leaf_value[trees, node].sum(dim=1)  # (B,)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (B, L) int64, mask (B, L) -> logits (B, 2): 0 (insoluble) and the log-odds of soluble."""
        z = self.log_odds(self.stats(tokens, mask))  # (B,)
        return torch.stack([torch.zeros_like(z), z], dim=1).float()  # (B, 2)


def register() -> None:
    """Register kind "boosted_trees" with protlab.models (safe to call more than once)."""
    from protlab.models import register_model

    register_model("boosted_trees", BoostedTreesConfig, BoostedTrees)


register()
