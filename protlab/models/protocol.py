"""What a ProtLab model provides, stated once (the trainer, runs, recipes and Predictor rely on it).

Every registered model kind builds an nn.Module that satisfies ProteinClassifier (build_model checks it).
A model whose input scaling is learned from the training rows (DualInputModel's feature standardisation,
SolubilityNet's statistics standardisation) also satisfies FitsTrainingRows; protlab.runs.prepare_run calls
that hook on the training rows of every run, so the app, the CLI and the recipes standardise the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch

if TYPE_CHECKING:
    from protlab.data.batching import TokenizedSet

__all__ = ["FitsTrainingRows", "ProteinClassifier", "missing_members"]


@runtime_checkable
class ProteinClassifier(Protocol):
    """A classifier of protein sequences.

    forward(tokens (B, L) int64, mask (B, L) float32 or None) -> logits (B, C); when `uses_features` is True,
    forward(tokens (B, L) int64, features (B, F) float32, mask (B, L) float32 or None) -> logits (B, C), with
    the F raw global features named by `feature_names`, in that column order (protlab.data.features).
    """

    config: Any  # the dataclass config it was built from (build_model sets one when the class does not)
    uses_features: bool  # True: forward also takes the (B, F) global features

    @property
    def feature_names(self) -> list[str]:
        """Global feature columns forward expects, in order; empty when uses_features is False."""
        ...

    @property
    def vocab_size(self) -> int | None:
        """Token vocabulary the model reads (22, or the notes' 21); None when either works."""
        ...

    def forward(self, tokens: torch.Tensor, *inputs: torch.Tensor | None) -> torch.Tensor:
        """(tokens, mask) or (tokens, features, mask) -> logits (B, C)."""
        ...


@runtime_checkable
class FitsTrainingRows(Protocol):
    """A model with input scaling fitted on the training rows before training starts."""

    def fit_training_rows(self, train: TokenizedSet) -> None:
        """Fit the model's input scaling (buffers saved in its checkpoint) on the training set."""
        ...


def missing_members(model: object) -> list[str]:
    """Names of the ProteinClassifier members the model lacks (empty when it satisfies the protocol)."""
    names = ("config", "uses_features", "feature_names", "vocab_size", "forward")
    return [name for name in names if not hasattr(model, name)]
