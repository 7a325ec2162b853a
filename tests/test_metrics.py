"""Metrics against scikit-learn and the notes' Exercise 5."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from protlab.errors import ConfigError
from protlab.training import (
    brier_score,
    calibration_bins,
    compute_metrics,
    confusion,
    majority_baseline,
    mcc_at_thresholds,
    mcc_from_counts,
    roc_points,
    single_class_call,
)


def _sample(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    return y, p


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.8, 1.0])
def test_compute_metrics_matches_sklearn(threshold: float) -> None:
    y, p = _sample()
    pred = (p >= threshold).astype(int)
    result = compute_metrics(y, p, threshold=threshold)
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert result["precision"] == pytest.approx(skm.precision_score(y, pred, zero_division=0))
    assert result["recall"] == pytest.approx(skm.recall_score(y, pred, zero_division=0))
    assert result["f1"] == pytest.approx(skm.f1_score(y, pred, zero_division=0))
    assert result["auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert result["mcc"] == pytest.approx(skm.matthews_corrcoef(y, pred), abs=1e-12)
    (tn, fp), (fn, tp) = skm.confusion_matrix(y, pred, labels=[0, 1])
    assert (result["tn"], result["fp"], result["fn"], result["tp"], result["n"]) == (tn, fp, fn, tp, len(y))


@pytest.mark.filterwarnings("ignore:A single label:UserWarning")
@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 10)), min_size=1, max_size=60),
    st.sampled_from([0.0, 0.3, 0.5, 0.55, 1.0]),
)
def test_compute_metrics_matches_sklearn_with_ties_and_one_class(rows, threshold: float) -> None:
    y = np.array([label for label, _ in rows])
    p = np.array([score / 10 for _, score in rows])  # few distinct values: many tied scores
    pred = (p >= threshold).astype(int)
    result = compute_metrics(y, p, threshold=threshold)
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert result["precision"] == pytest.approx(skm.precision_score(y, pred, zero_division=0), abs=1e-12)
    assert result["recall"] == pytest.approx(skm.recall_score(y, pred, zero_division=0), abs=1e-12)
    assert result["f1"] == pytest.approx(skm.f1_score(y, pred, zero_division=0), abs=1e-12)
    if 0 < y.sum() < y.size:
        assert result["auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    else:
        assert math.isnan(result["auc"])
    assert result["mcc"] == pytest.approx(skm.matthews_corrcoef(y, pred), abs=1e-9)
    grid = [0.0, 0.25, threshold, 0.9]
    np.testing.assert_allclose(
        mcc_at_thresholds(y, p, grid),
        [skm.matthews_corrcoef(y, (p >= t).astype(int)) for t in grid],
        atol=1e-9,
    )


@pytest.mark.filterwarnings("ignore:A single label:UserWarning")
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_mcc_from_counts_matches_sklearn(tp: int, tn: int, fp: int, fn: int) -> None:
    y = np.array([1] * tp + [0] * tn + [0] * fp + [1] * fn)
    pred = np.array([1] * tp + [0] * tn + [1] * fp + [0] * fn)
    expected = skm.matthews_corrcoef(y, pred) if len(y) else 0.0
    assert mcc_from_counts(tp, tn, fp, fn) == pytest.approx(expected, abs=1e-9)


def test_exercise_five_always_soluble_on_a_90_percent_soluble_set() -> None:
    y = np.array([1] * 90 + [0] * 10)
    result = compute_metrics(y, np.ones(100))
    assert result["accuracy"] == pytest.approx(0.9)
    assert result["mcc"] == pytest.approx(0.0)
    baseline = majority_baseline(np.array([1] * 9 + [0]), y)
    assert baseline["accuracy"] == pytest.approx(0.9) and baseline["mcc"] == 0.0 and baseline["auc"] == 0.5
    assert baseline["majority_class"] == 1


def test_majority_baseline_predicts_the_training_majority() -> None:
    baseline = majority_baseline([0, 0, 1], [0, 1, 1, 1])
    assert baseline["majority_class"] == 0
    assert baseline["accuracy"] == pytest.approx(0.25)
    assert baseline["recall"] == 0.0 and baseline["precision"] == 0.0


def test_auc_is_nan_with_one_class_and_roc_is_empty() -> None:
    result = compute_metrics([1, 1, 1], [0.2, 0.7, 0.9])
    assert math.isnan(result["auc"])
    assert roc_points([1, 1, 1], [0.2, 0.7, 0.9]).empty


def test_confusion_and_roc_points_match_sklearn() -> None:
    y, p = _sample(seed=3)
    np.testing.assert_array_equal(confusion(y, p, 0.6), skm.confusion_matrix(y, (p >= 0.6).astype(int)))
    table = roc_points(y, p)
    fpr, tpr, _ = skm.roc_curve(y, p)
    np.testing.assert_allclose(table["fpr"], fpr)
    np.testing.assert_allclose(table["tpr"], tpr)
    assert table["threshold"].between(0, 1).all()
    assert np.trapezoid(table["tpr"], table["fpr"]) == pytest.approx(skm.roc_auc_score(y, p))


@pytest.mark.parametrize(
    "y, p, kwargs, match",
    [
        ([0, 1], [0.5], {}, "same length"),
        ([0, 2], [0.5, 0.5], {}, "only 0"),
        (["a", "b"], [0.5, 0.5], {}, "only 0"),
        ([0, 1], [0.5, 1.5], {}, "between 0 and 1"),
        ([0, 1], [0.5, float("nan")], {}, "between 0 and 1"),
        ([0, 1], [0.5, 0.5], {"threshold": 1.2}, "threshold"),
        ([], [], {}, "at least one"),
    ],
)
def test_bad_inputs_raise_config_error(y, p, kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        compute_metrics(y, p, **kwargs)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brier_score_matches_sklearn(seed: int) -> None:
    y, p = _sample(seed=seed)
    assert brier_score(y, p) == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)
    half = np.full(y.size, 0.5)
    assert brier_score(y, half) == pytest.approx(skm.brier_score_loss(y, half))
    with pytest.raises(ConfigError, match="at least one"):
        brier_score([], [])


@pytest.mark.parametrize("n_bins", [1, 5, 10, 20])
def test_calibration_bins_match_sklearn_calibration_curve(n_bins: int) -> None:
    from sklearn.calibration import calibration_curve

    y, p = _sample(n=300, seed=n_bins)
    p[:4] = [0.0, 0.5, 1.0, 0.2]  # values on bin edges
    table = calibration_bins(y, p, n_bins=n_bins)
    observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    np.testing.assert_allclose(table["observed"], observed, atol=1e-12)
    np.testing.assert_allclose(table["mean_p"], predicted, atol=1e-12)
    assert table["count"].sum() == y.size
    edges = np.linspace(0, 1, n_bins + 1)
    for row in table.itertuples():  # every protein counted in its bin (an edge value goes to the lower bin)
        low_ok = (p > row.bin_low) | (row.bin_low == 0)
        assert row.count == int(np.sum(low_ok & (p <= row.bin_high)))
        assert row.bin_low in edges and row.bin_high in edges


def test_calibration_bins_leave_out_empty_bins_and_check_n_bins() -> None:
    table = calibration_bins([0, 1, 1], [0.05, 0.95, 0.91], n_bins=10)
    assert table["count"].tolist() == [1, 2] and table["observed"].tolist() == [0.0, 1.0]
    with pytest.raises(ConfigError, match="n_bins"):
        calibration_bins([0, 1], [0.1, 0.9], n_bins=0)


def test_single_class_call_finds_a_model_that_answers_one_class() -> None:
    assert single_class_call([0.1, 0.3, 0.49]) == 0
    assert single_class_call([0.5, 0.9]) == 1
    assert single_class_call([0.2, 0.7]) is None
    assert single_class_call([0.2, 0.7], threshold=0.8) == 0
    assert single_class_call([]) is None
