"""Bootstrap confidence intervals of held-out metrics: how far a figure on a few hundred proteins holds.

A percentile bootstrap: the test rows are resampled with replacement many times and each metric is computed
on every resample; the interval is the middle 95% of those values. The resamples are drawn as a weight
matrix (how often each row was drawn), so every metric of every resample is one matrix product.
"""

from __future__ import annotations

import numpy as np

from protlab.training.metrics import brier_score

__all__ = ["BOOTSTRAP_SAMPLES", "BOOTSTRAP_SEED", "bootstrap_intervals"]

BOOTSTRAP_SAMPLES = 2000  # resamples of the test rows behind each confidence interval
BOOTSTRAP_SEED = 0  # seed of the resampling


def _weighted_auc(w: np.ndarray, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of weights w (B, N) over the same (y, p): Mann-Whitney with ties as half."""
    _, group = np.unique(p, return_inverse=True)  # (N,) rank group of each score
    onehot = np.zeros((p.size, int(group.max()) + 1))
    onehot[np.arange(p.size), group] = 1.0  # (N, G)
    pos, neg = (w * y) @ onehot, (w * (1 - y)) @ onehot  # (B, G) weight of each class per score
    below = np.cumsum(neg, axis=1) - neg  # (B, G) negatives scored strictly lower
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


def _weighted_mcc(w: np.ndarray, y: np.ndarray, call: np.ndarray) -> np.ndarray:
    """MCC of each row of weights w (B, N) (0 where a margin is empty, as scikit-learn does)."""
    tp, tn = w @ (y * call), w @ ((1 - y) * (1 - call))
    fp, fn = w @ ((1 - y) * call), w @ (y * (1 - call))
    denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (tp * tn - fp * fn) / denominator, 0.0)


def bootstrap_intervals(
    labels: np.ndarray,
    probs: np.ndarray,
    *,
    threshold: float = 0.5,
    n_samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> dict[str, dict[str, float]]:
    """Percentile bootstrap of AUC, accuracy, MCC (at threshold), Brier: {metric: {value, low, high}}."""
    y = np.asarray(labels, dtype=np.float64)  # (N,)
    p = np.asarray(probs, dtype=np.float64)  # (N,)
    rows = np.random.default_rng(seed).integers(0, y.size, size=(n_samples, y.size))  # (B, N) resampled rows
    w = np.zeros((n_samples, y.size))
    np.add.at(w, (np.arange(n_samples)[:, None], rows), 1.0)  # (B, N) times each row was drawn
    call = (p >= threshold).astype(np.float64)
    samples = {
        "auc": _weighted_auc(w, y, p),
        "accuracy": w @ (call == y).astype(np.float64) / y.size,
        "mcc": _weighted_mcc(w, y, call),
        "brier": w @ (p - y) ** 2 / y.size,
    }
    full = np.ones((1, y.size))
    point = {
        "auc": _weighted_auc(full, y, p)[0],
        "accuracy": float((call == y).mean()),
        "mcc": _weighted_mcc(full, y, call)[0],
        "brier": brier_score(y.astype(np.int64), p),
    }
    tail = 100 * (1 - level) / 2
    return {
        name: {
            "value": float(point[name]),
            "low": float(np.nanpercentile(values, tail)),
            "high": float(np.nanpercentile(values, 100 - tail)),
        }
        for name, values in samples.items()
    }
