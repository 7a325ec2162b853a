"""The calls against a file's labels: figures as sklearn gives them, intervals, chance, and seen proteins."""

from __future__ import annotations

import numpy as np
import sklearn.metrics as skm

from protlab.alphabet import AMINO_ACIDS
from protlab.label_check import check_labels, seen_in_bundled
from tests.conftest import deepsol_sample

RNG = np.random.default_rng(7)


def _random_proteins(n: int) -> list[str]:
    """Proteins that are not in the bundled data (random letters, 60 residues)."""
    letters = np.array(list(AMINO_ACIDS))
    return ["".join(RNG.choice(letters, size=60)) for _ in range(n)]


def test_the_figures_are_sklearns_on_the_labelled_proteins_only() -> None:
    y = RNG.integers(0, 2, size=60)
    p = np.clip(0.3 * y + RNG.uniform(0, 0.7, size=60), 0, 1)
    labels = y.copy()
    labels[:5] = -1  # no label: not counted
    check = check_labels(p, labels, _random_proteins(60), threshold=0.5)
    yk, pk = y[5:], p[5:]
    assert check.n == 55 and check.soluble == int(yk.sum()) and check.seen == 0 and not check.why_not
    assert check.metrics["auc"] == skm.roc_auc_score(yk, pk)
    assert check.metrics["accuracy"] == skm.accuracy_score(yk, pk >= 0.5)
    assert np.isclose(check.metrics["mcc"], skm.matthews_corrcoef(yk, pk >= 0.5))
    low, high = check.intervals["auc"]["low"], check.intervals["auc"]["high"]
    assert low <= check.metrics["auc"] <= high and check.interval("auc") == f"{low:.2f} to {high:.2f}"
    assert check.lines()[0].startswith("Against the file's labels (55 proteins, threshold 0.50): AUC ")


def test_labels_the_other_way_round_and_chance_are_read_aloud() -> None:
    y = np.array([0, 1] * 20)
    p = np.where(y == 1, 0.2, 0.8) + RNG.uniform(-0.1, 0.1, size=40)
    swapped = check_labels(p, y, _random_proteins(40), threshold=0.5)
    assert swapped.metrics["auc"] < 0.4 and "Check that 1 means soluble" in swapped.reading()
    flat = check_labels(np.full(40, 0.5), y, _random_proteins(40), threshold=0.5)  # one score for all
    assert flat.metrics["auc"] == 0.5 and "no better than chance" in flat.reading()
    good = check_labels(np.where(y == 1, 0.9, 0.1), y, _random_proteins(40), threshold=0.5)
    assert good.reading() == ""


def test_too_few_or_one_class_gives_no_figures_but_says_why() -> None:
    few = check_labels([0.9, 0.1, 0.8], [1, 0, 1], _random_proteins(3), threshold=0.5)
    assert few.why_not.startswith("The file labels 3 proteins (2 soluble): figures need at least 10")
    one = check_labels([0.9] * 8 + [0.2] * 4, [1] * 12, _random_proteins(12), threshold=0.5)
    assert one.why_not == (
        "All 12 labels are soluble: AUC and MCC need proteins of both classes; the calls agree with 8 of "
        "them."
    )
    assert one.lines() == [one.why_not]


def test_proteins_from_the_bundled_data_are_counted_as_seen() -> None:
    data = deepsol_sample(12, max_length=300, seed=2)
    assert seen_in_bundled(data.sequences + _random_proteins(3)) == 12
    check = check_labels(RNG.uniform(size=12), data.labels, data.sequences, threshold=0.5)
    assert check.seen_warning().startswith("12 of your 12 labelled proteins are in the bundled DeepSol data")
