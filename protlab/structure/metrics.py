"""Per-residue loss and metrics: masked cross-entropy, Q3, a confusion matrix and per-class precision/recall.

Every function skips residues whose label is IGNORE_INDEX (padding and unresolved residues), and the loss
also skips positions whose mask is 0, so changing what sits at those positions changes nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from protlab.data.batching import IGNORE_INDEX
from protlab.errors import ConfigError
from protlab.structure.data import SS3_CLASSES

__all__ = ["confusion_hec", "majority_q3", "masked_cross_entropy", "q3", "residue_metrics", "scored_pairs"]


def masked_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None, reduction: str = "mean"
) -> torch.Tensor:
    """Cross-entropy of (B, L, C) logits against (B, L) labels over scored residues only.

    A residue counts when its label is not IGNORE_INDEX and (if given) its mask (B, L) is non-zero;
    reduction 'mean' averages over counted residues, 'sum' adds them up.
    """
    if logits.dim() != 3 or labels.shape != logits.shape[:2]:
        raise ConfigError(
            f"logits must be (B, L, C) and labels (B, L); got {tuple(logits.shape)} and "
            f"{tuple(labels.shape)}."
        )
    if mask is not None:
        labels = labels.masked_fill(mask <= 0, IGNORE_INDEX)  # (B, L)
    return F.cross_entropy(
        logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE_INDEX, reduction=reduction
    )


def scored_pairs(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Flatten true and predicted classes and keep only scored residues (true label not IGNORE_INDEX)."""
    y = np.asarray(y_true).reshape(-1)
    p = np.asarray(y_pred).reshape(-1)
    if y.shape != p.shape:
        raise ConfigError(
            f"y_true and y_pred must hold one class per residue each; got {y.size} and {p.size}."
        )
    keep = y != IGNORE_INDEX
    y, p = y[keep].astype(np.int64), p[keep].astype(np.int64)
    n = len(SS3_CLASSES)
    if y.size and (y.min() < 0 or y.max() >= n or p.min() < 0 or p.max() >= n):
        raise ConfigError(
            f"Classes must be 0 to {n - 1} ({', '.join(SS3_CLASSES)}) or {IGNORE_INDEX} "
            "(not scored); found other values."
        )
    return y, p


def confusion_hec(y_true: Any, y_pred: Any) -> np.ndarray:
    """3x3 counts over scored residues: row = true class, column = predicted class, order H, E, C."""
    y, p = scored_pairs(y_true, y_pred)
    n = len(SS3_CLASSES)
    return np.bincount(y * n + p, minlength=n * n).reshape(n, n)


def q3(y_true: Any, y_pred: Any) -> float:
    """Fraction of scored residues whose 3-state class is right (NaN when none is scored)."""
    y, p = scored_pairs(y_true, y_pred)
    return float((y == p).mean()) if y.size else float("nan")


def residue_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Q3, per-class precision / recall / F1 (e.g. 'precision_H'), confusion counts ('cm_H_E') and n."""
    cm = confusion_hec(y_true, y_pred)  # (3, 3)
    total = int(cm.sum())
    if total == 0:
        raise ConfigError("residue_metrics needs at least one scored residue; every label was IGNORE_INDEX.")
    out: dict[str, float] = {"q3": float(np.trace(cm)) / total}
    for i, letter in enumerate(SS3_CLASSES):
        predicted, actual = int(cm[:, i].sum()), int(cm[i, :].sum())
        precision = cm[i, i] / predicted if predicted else 0.0
        recall = cm[i, i] / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out |= {
            f"precision_{letter}": float(precision),
            f"recall_{letter}": float(recall),
            f"f1_{letter}": float(f1),
        }
    for i, true in enumerate(SS3_CLASSES):
        for j, pred in enumerate(SS3_CLASSES):
            out[f"cm_{true}_{pred}"] = int(cm[i, j])
    out["n"] = total
    return out


def majority_q3(train_labels: Any, test_labels: Any) -> dict[str, float]:
    """Metrics of predicting the training set's most common class for every scored test residue."""
    train, _ = scored_pairs(train_labels, np.zeros_like(np.asarray(train_labels)))
    if train.size == 0:
        raise ConfigError("majority_q3 needs at least one scored training residue; got none.")
    majority = int(np.bincount(train, minlength=len(SS3_CLASSES)).argmax())
    test = np.asarray(test_labels)
    result = residue_metrics(test, np.full(test.shape, majority))
    result["majority_class"] = majority
    return result
