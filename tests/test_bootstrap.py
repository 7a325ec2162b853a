"""Bootstrap intervals against a direct resampling with scikit-learn's metrics."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, brier_score_loss, matthews_corrcoef, roc_auc_score

from protlab.training import bootstrap_intervals


def test_bootstrap_intervals_match_a_direct_numpy_resampling() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 200)
    probs = np.clip(0.3 + 0.35 * labels + rng.normal(0, 0.2, 200), 0, 1)
    probs[:60] = np.round(probs[:60], 1)  # ties, which AUC counts as half
    got = bootstrap_intervals(labels, probs, threshold=0.45, n_samples=300, seed=7)
    rows = np.random.default_rng(7).integers(0, 200, size=(300, 200))  # (B, N) the reference's resamples
    reference = {
        "auc": [roc_auc_score(labels[r], probs[r]) for r in rows],
        "accuracy": [accuracy_score(labels[r], probs[r] >= 0.45) for r in rows],
        "mcc": [matthews_corrcoef(labels[r], probs[r] >= 0.45) for r in rows],
        "brier": [brier_score_loss(labels[r], probs[r]) for r in rows],
    }
    point = {
        "auc": roc_auc_score(labels, probs),
        "accuracy": accuracy_score(labels, probs >= 0.45),
        "mcc": matthews_corrcoef(labels, probs >= 0.45),
        "brier": brier_score_loss(labels, probs),
    }
    assert set(got) == set(reference)
    for name, values in reference.items():
        low, high = np.percentile(values, [2.5, 97.5])
        assert got[name]["value"] == pytest.approx(point[name], abs=1e-12)
        assert (got[name]["low"], got[name]["high"]) == pytest.approx((low, high), abs=1e-12)
        assert got[name]["low"] <= got[name]["value"] <= got[name]["high"]
