"""Per-residue inference: P(H), P(E), P(C) for every residue of every protein in a TokenizedSet.

Proteins are read shortest first in padded batches (bounded by rows and padded tokens), the model runs in
eval mode under torch.inference_mode, and each protein's (L_i, 3) probabilities come back in row order. When
the set has residue labels the mean masked cross-entropy over scored residues comes back too: training's
validation and the run system's test scoring use this, so both count exactly the same residues.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from protlab.data.batching import IGNORE_INDEX, TokenizedSet, make_batch, sorted_batch_indices
from protlab.models import model_forward
from protlab.structure.metrics import masked_cross_entropy, residue_metrics
from protlab.training.device import model_device

__all__ = ["ResidueInference", "evaluate_residues", "predict_residues"]


@dataclass
class ResidueInference:
    """What one pass of a per-residue model over a data set gives."""

    probs: list[np.ndarray]  # per protein (L_i, C) float32 class probabilities, in the set's row order
    loss: float | None  # mean cross-entropy per scored residue; None when the set has no residue labels
    labels: (
        np.ndarray | None
    )  # (T,) int64 true class per residue, proteins back to back (IGNORE_INDEX: not scored)

    @property
    def predictions(self) -> np.ndarray:
        """Most likely class per residue, proteins back to back.  # (T,) int64"""
        if not self.probs:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([p.argmax(axis=1) for p in self.probs]).astype(np.int64)

    def metrics(self) -> dict[str, float]:
        """residue_metrics (Q3, per-class precision/recall, confusion) over the scored residues."""
        return residue_metrics(self.labels, self.predictions)


@torch.inference_mode()
def predict_residues(
    model: torch.nn.Module,
    data: TokenizedSet,
    *,
    device: torch.device | str | None = None,
    batch_size: int = 64,
    token_budget: int | None = 64 * 1024,
) -> ResidueInference:
    """Per-residue class probabilities for every protein (and the masked loss when residue-labelled)."""
    device = torch.device(device) if device is not None else model_device(model)
    labelled = data.residue_labels is not None and data.has_labels
    probs: list[np.ndarray | None] = [None] * len(data)
    total = torch.zeros((), dtype=torch.float64, device=device)  # summed cross-entropy over scored residues
    was_training = model.training
    model.eval()
    try:
        for rows in sorted_batch_indices(data.lengths, batch_size=batch_size, token_budget=token_budget):
            batch = make_batch(data, rows).to(device, non_blocking=True)
            logits = model_forward(model, batch).float()  # (B, L, C)
            if labelled:
                total += masked_cross_entropy(logits, batch.labels, reduction="sum").double()
            p = torch.softmax(logits, dim=-1).cpu().numpy()  # (B, L, C)
            for j, row in enumerate(rows):
                probs[row] = p[j, : data.lengths[row]]  # (L_i, C)
    finally:
        model.train(was_training)
    labels = None if data.residue_labels is None else data.residue_labels[:-1].astype(np.int64)  # (T,)
    n_scored = 0 if labels is None else int((labels != IGNORE_INDEX).sum())
    loss = float(total) / n_scored if labelled and n_scored else None
    return ResidueInference(probs, loss, labels)


def evaluate_residues(
    model: torch.nn.Module, data: TokenizedSet, device: torch.device | str | None = None, batch_size: int = 64
) -> tuple[float, dict[str, float]]:
    """(mean masked cross-entropy, residue_metrics) of a model on a residue-labelled set."""
    result = predict_residues(model, data, device=device, batch_size=batch_size)
    return (float("nan") if result.loss is None else result.loss), result.metrics()
