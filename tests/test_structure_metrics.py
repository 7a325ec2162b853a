"""Masked cross-entropy, Q3, confusion and per-class scores, checked against torch and sklearn.metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn import metrics as skm

from protlab.data import IGNORE_INDEX
from protlab.errors import ConfigError
from protlab.structure import confusion_hec, majority_q3, masked_cross_entropy, q3, residue_metrics


def _labels(rng: np.random.Generator, shape: tuple[int, ...], ignored: float = 0.2) -> np.ndarray:
    """Random classes 0-2 with a share of IGNORE_INDEX entries."""
    y = rng.integers(0, 3, size=shape)
    y[rng.random(shape) < ignored] = IGNORE_INDEX
    return y


def test_metrics_match_sklearn_on_the_scored_residues():
    rng = np.random.default_rng(0)
    y = _labels(rng, (7, 40))
    pred = np.where(rng.random((7, 40)) < 0.6, np.clip(y, 0, 2), rng.integers(0, 3, size=(7, 40)))
    keep = y.reshape(-1) != IGNORE_INDEX
    yt, yp = y.reshape(-1)[keep], pred.reshape(-1)[keep]
    m = residue_metrics(y, pred)
    assert m["q3"] == pytest.approx(skm.accuracy_score(yt, yp)) == pytest.approx(q3(y, pred))
    precision = skm.precision_score(yt, yp, labels=[0, 1, 2], average=None, zero_division=0)
    recall = skm.recall_score(yt, yp, labels=[0, 1, 2], average=None, zero_division=0)
    f1 = skm.f1_score(yt, yp, labels=[0, 1, 2], average=None, zero_division=0)
    for i, letter in enumerate("HEC"):
        assert m[f"precision_{letter}"] == pytest.approx(precision[i])
        assert m[f"recall_{letter}"] == pytest.approx(recall[i])
        assert m[f"f1_{letter}"] == pytest.approx(f1[i])
    cm = skm.confusion_matrix(yt, yp, labels=[0, 1, 2])
    np.testing.assert_array_equal(confusion_hec(y, pred), cm)
    assert m["cm_H_E"] == cm[0, 1] and m["cm_C_H"] == cm[2, 0] and m["n"] == keep.sum()


def test_predictions_at_ignored_residues_change_no_metric():
    rng = np.random.default_rng(1)
    y = _labels(rng, (300,), ignored=0.3)
    pred = rng.integers(0, 3, size=300)
    other = pred.copy()
    ignored = y == IGNORE_INDEX
    other[ignored] = (pred[ignored] + 1) % 3  # every ignored position now predicts something else
    assert residue_metrics(y, pred) == residue_metrics(y, other)
    changed = pred.copy()
    changed[np.flatnonzero(~ignored)[0]] = (pred[np.flatnonzero(~ignored)[0]] + 1) % 3
    assert residue_metrics(y, changed) != residue_metrics(y, pred)  # a scored residue does count


def test_masked_cross_entropy_matches_a_per_residue_reference_and_ignores_masked_labels():
    torch.manual_seed(0)
    logits = torch.randn(3, 9, 3)
    labels = torch.randint(0, 3, (3, 9))
    labels[0, 2] = IGNORE_INDEX  # an unresolved residue
    mask = torch.ones(3, 9)
    mask[1, 6:] = 0  # padding
    mask[2, 4:] = 0
    counted = [(b, i) for b in range(3) for i in range(9) if mask[b, i] > 0 and labels[b, i] != IGNORE_INDEX]
    reference = torch.stack(
        [F.cross_entropy(logits[b, i][None], labels[b, i][None]) for b, i in counted]
    ).mean()
    assert masked_cross_entropy(logits, labels, mask).item() == pytest.approx(reference.item(), rel=1e-6)
    scrambled = labels.clone()
    scrambled[mask == 0] = (labels[mask == 0] + 1) % 3  # padded positions get other (valid) labels
    assert masked_cross_entropy(logits, scrambled, mask).item() == pytest.approx(reference.item(), rel=1e-6)
    summed = masked_cross_entropy(logits, labels, mask, reduction="sum").item()
    assert summed == pytest.approx(reference.item() * len(counted), rel=1e-5)
    with pytest.raises(ConfigError, match=r"\(B, L, C\)"):
        masked_cross_entropy(logits[0], labels[0])


def test_majority_baseline_predicts_the_commonest_training_state():
    train = np.array(
        [2, 2, 2, 0, 1, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]
    )  # coil is commonest
    test = np.array([2, 0, 2, 1, IGNORE_INDEX])
    base = majority_q3(train, test)
    assert base["majority_class"] == 2
    assert base["q3"] == pytest.approx(2 / 4)
    assert base["recall_C"] == 1.0 and base["precision_H"] == 0.0


def test_bad_classes_and_empty_inputs_are_refused():
    with pytest.raises(ConfigError, match="one class per residue"):
        residue_metrics([0, 1], [0])
    with pytest.raises(ConfigError, match="0 to 2"):
        residue_metrics([0, 5], [0, 1])
    with pytest.raises(ConfigError, match="at least one scored residue"):
        residue_metrics([IGNORE_INDEX], [0])
