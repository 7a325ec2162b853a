"""Bootstrap confidence intervals of held-out metrics: how far a figure on a few hundred proteins holds.

A percentile bootstrap: the test rows are resampled with replacement many times and each metric is computed
on every resample; the interval is the middle 95% of those values. The resamples are drawn as a weight
matrix (how often each row was drawn), so every metric of every resample is one matrix product; the
resamples are drawn a chunk at a time, so 10,000 proteins need tens of megabytes, not gigabytes.
"""

from __future__ import annotations

import numpy as np

from protlab.training.metrics import brier_score

__all__ = ["BOOTSTRAP_SAMPLES", "BOOTSTRAP_SEED", "bootstrap_intervals"]

BOOTSTRAP_SAMPLES = 2000  # resamples of the test rows behind each confidence interval
BOOTSTRAP_SEED = 0  # seed of the resampling
CHUNK_CELLS = 2_000_000  # resamples x rows held at once (about 16 MB of weights per array)


def _weighted_auc(w: np.ndarray, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of weights w (B, N) over the same (y, p): Mann-Whitney with ties as half."""
    order = np.argsort(p, kind="stable")
    sorted_p = p[order]
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])  # (G,) first row of each tied score
    pos = np.add.reduceat((w * y)[:, order], starts, axis=1)  # (B, G) weight of positives per score
    neg = np.add.reduceat((w * (1 - y))[:, order], starts, axis=1)  # (B, G) weight of negatives per score
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
    call = (p >= threshold).astype(np.float64)
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // max(y.size, 1))  # resamples at a time: memory stays bounded for any N
    parts: dict[str, list[np.ndarray]] = {"auc": [], "accuracy": [], "mcc": [], "brier": []}
    for start in range(0, n_samples, chunk):
        b = min(chunk, n_samples - start)
        rows = rng.integers(0, y.size, size=(b, y.size))  # (b, N) resampled rows, the same stream in chunks
        flat = (np.arange(b)[:, None] * y.size + rows).ravel()
        w = np.bincount(flat, minlength=b * y.size).reshape(b, y.size).astype(np.float64)  # (b, N) draws
        parts["auc"].append(_weighted_auc(w, y, p))
        parts["accuracy"].append(w @ (call == y).astype(np.float64) / y.size)
        parts["mcc"].append(_weighted_mcc(w, y, call))
        parts["brier"].append(w @ (p - y) ** 2 / y.size)
    samples = {name: np.concatenate(values) for name, values in parts.items()}
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
