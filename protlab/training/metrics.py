"""Classification metrics for solubility predictions, the same numbers scikit-learn gives.

compute_metrics counts the confusion matrix with NumPy and takes AUC as the Mann-Whitney statistic (the
share of soluble/insoluble pairs ranked the right way, ties counting one half), which is exactly the area
under the ROC curve that sklearn's roc_auc_score integrates; it runs every epoch of every run, where the
six sklearn calls (each validating its inputs again) cost about 20 ms. The tests compare it with sklearn.

AUC is NaN when the true labels contain only one class: ranking needs at least one soluble and
one insoluble protein, so the area under the ROC curve is undefined (shown as "n/a"), not 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn import metrics as skm

from protlab.checks import FloatRange, IntRange
from protlab.errors import ConfigError


def _labels(y: Any, name: str = "y_true") -> np.ndarray:
    """Validate labels as a 1-D array of 0/1 integers."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ConfigError(f"{name} must be a 1-D list of 0/1 labels; got an array of shape {arr.shape}.")
    if arr.size and (arr.dtype.kind not in "biuf" or not np.isin(arr, (0, 1)).all()):
        bad = (
            sorted({str(v) for v in arr[~np.isin(arr, (0, 1))][:5]})
            if arr.dtype.kind in "biuf"
            else [arr.dtype]
        )
        raise ConfigError(
            f"{name} must contain only 0 (insoluble) and 1 (soluble); got values such as {bad}."
        )
    return arr.astype(np.int64)


def _probabilities(p: Any, n: int) -> np.ndarray:
    """Validate P(soluble) as a 1-D float array of length n with values in [0, 1]."""
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 1:
        raise ConfigError(
            f"p_soluble must be a 1-D list of probabilities; got an array of shape {arr.shape}."
        )
    if arr.size != n:
        raise ConfigError(
            f"y_true and p_soluble must have the same length; got {n} labels and {arr.size} probabilities."
        )
    if arr.size and not (np.isfinite(arr).all() and (arr >= 0).all() and (arr <= 1).all()):
        raise ConfigError(
            "p_soluble must hold probabilities between 0 and 1; "
            f"got values from {np.nanmin(arr):.4g} to {np.nanmax(arr):.4g}."
        )
    return arr


def _threshold(threshold: Any) -> float:
    """Validate the decision threshold."""
    return float(FloatRange(0, 1).check(threshold, "threshold"))


def confusion(y_true: Any, p_soluble: Any, threshold: float = 0.5) -> np.ndarray:
    """Confusion matrix [[tn, fp], [fn, tp]] of predictions p_soluble >= threshold."""
    y = _labels(y_true)
    p = _probabilities(p_soluble, y.size)
    pred = (p >= _threshold(threshold)).astype(np.int64)
    return skm.confusion_matrix(y, pred, labels=[0, 1])


def mcc_from_counts(tp: int, tn: int, fp: int, fn: int) -> float:
    """Matthews correlation (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN));
    0 if the denominator is 0.
    """
    denominator = math.sqrt(float(tp + fp) * float(tp + fn) * float(tn + fp) * float(tn + fn))
    if denominator == 0:
        return 0.0
    return (float(tp) * tn - float(fp) * fn) / denominator


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney statistic over average ranks (ties count one half)."""
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(p)  # (N,) average ranks, 1-based
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _ratio(numerator: int, denominator: int) -> float:
    """numerator / denominator, 0 when the denominator is 0 (sklearn's zero_division=0)."""
    return numerator / denominator if denominator else 0.0


def compute_metrics(y_true: Any, p_soluble: Any, *, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, precision, recall, F1, AUC (NaN if one class), MCC and counts, treating 1 as positive."""
    y = _labels(y_true)
    p = _probabilities(p_soluble, y.size)
    if y.size == 0:
        raise ConfigError("compute_metrics needs at least one labelled prediction; got none.")
    pred = p >= _threshold(threshold)  # (N,) bool
    tp = int(np.count_nonzero(pred & (y == 1)))
    fp = int(np.count_nonzero(pred)) - tp
    fn = int(y.sum()) - tp
    tn = y.size - tp - fp - fn
    return {
        "accuracy": (tp + tn) / y.size,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "auc": _auc(y, p),
        "mcc": mcc_from_counts(tp, tn, fp, fn),
        "tp": tp,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "n": int(y.size),
    }


def mcc_at_thresholds(y_true: Any, p_soluble: Any, thresholds: Any) -> np.ndarray:
    """MCC of the calls p >= t for each threshold t, 0 where undefined.  # (T,)"""
    y = _labels(y_true)
    p = _probabilities(p_soluble, y.size)
    t = np.asarray(thresholds, dtype=np.float64)  # (T,)
    calls = p[None, :] >= t[:, None]  # (T, N)
    tp = (calls & (y == 1)).sum(axis=1).astype(np.float64)
    fp = calls.sum(axis=1) - tp
    fn = y.sum() - tp
    tn = y.size - tp - fp - fn
    denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, (tp * tn - fp * fn) / safe, 0.0)


def roc_points(y_true: Any, p_soluble: Any) -> pd.DataFrame:
    """ROC curve points (fpr, tpr, threshold); empty when only one class is present."""
    y = _labels(y_true)
    p = _probabilities(p_soluble, y.size)
    if not 0 < y.sum() < y.size:
        return pd.DataFrame({"fpr": [], "tpr": [], "threshold": []})
    fpr, tpr, thresholds = skm.roc_curve(y, p)
    thresholds = np.minimum(thresholds, 1.0)  # sklearn marks the "predict nothing" point with +inf
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds})


def majority_baseline(train_labels: Any, test_labels: Any) -> dict[str, float]:
    """Metrics of always predicting the training set's majority class on the test labels (AUC 0.5)."""
    train = _labels(train_labels, "train_labels")
    test = _labels(test_labels, "test_labels")
    if train.size == 0:
        raise ConfigError("majority_baseline needs at least one training label; got none.")
    majority = int(train.sum() * 2 >= train.size)  # ties go to 'soluble'
    result = compute_metrics(test, np.full(test.size, float(majority)))
    result["auc"] = 0.5  # a constant score ranks no protein above another: chance level
    result["majority_class"] = majority
    return result


def brier_score(y_true: Any, p_soluble: Any) -> float:
    """Mean squared gap between P(soluble) and the 0/1 label: 0 is perfect, a constant 0.5 scores 0.25."""
    y = _labels(y_true)
    p = _probabilities(p_soluble, y.size)
    if y.size == 0:
        raise ConfigError("brier_score needs at least one labelled prediction; got none.")
    return float(np.mean((p - y) ** 2))


def calibration_bins(y_true: Any, p_soluble: Any, n_bins: int = 10) -> pd.DataFrame:
    """Reliability table over n_bins equal-width P(soluble) bins (empty bins left out).

    Columns: bin_low, bin_high (the bin's edges), mean_p (mean predicted P(soluble)), observed (fraction of
    soluble proteins) and count. A calibrated model has observed close to mean_p in every bin.
    """
    IntRange(1, 1000).check(n_bins, "n_bins")
    y = _labels(y_true)
    p = _probabilities(p_soluble, y.size)
    edges = np.linspace(0.0, 1.0, n_bins + 1)  # (n_bins + 1,)
    ids = np.searchsorted(edges[1:-1], p)  # (N,) bin of each protein (a value on an edge: the lower bin)
    count = np.bincount(ids, minlength=n_bins)  # (n_bins,)
    p_sum = np.bincount(ids, weights=p, minlength=n_bins)
    y_sum = np.bincount(ids, weights=y, minlength=n_bins)
    used = count > 0
    return pd.DataFrame(
        {
            "bin_low": edges[:-1][used],
            "bin_high": edges[1:][used],
            "mean_p": p_sum[used] / count[used],
            "observed": y_sum[used] / count[used],
            "count": count[used].astype(np.int64),
        }
    )


def single_class_call(p_soluble: Any, threshold: float = 0.5) -> int | None:
    """The class (0 or 1) every prediction falls in at this threshold, or None when both classes occur."""
    p = _probabilities(p_soluble, np.asarray(p_soluble).size)
    if p.size == 0:
        return None
    soluble = p >= _threshold(threshold)
    if soluble.all():
        return 1
    return 0 if not soluble.any() else None
