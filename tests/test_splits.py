"""Splits: the notes' stratified procedure and the homology-aware split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from Bio.Data.IUPACData import protein_letters
from sklearn.model_selection import train_test_split

from protlab.errors import ConfigError
from protlab.splits import Split, homology_split, pairwise_identity, stratified_split

LETTERS = np.array(list(protein_letters))


def random_sequence(rng: np.random.Generator, length: int) -> str:
    """A random protein sequence with uniform composition."""
    return "".join(rng.choice(LETTERS, size=length))


def mutate(rng: np.random.Generator, sequence: str, identity: float) -> str:
    """Substitute positions so that about `identity` of them stay the same."""
    arr = np.array(list(sequence))
    change = rng.random(arr.size) >= identity
    arr[change] = [rng.choice(LETTERS[LETTERS != a]) for a in arr[change]]
    return "".join(arr)


def labels_like_deepsol(n: int) -> np.ndarray:
    """Imbalanced 0/1 labels (about 58% / 42%)."""
    return (np.random.default_rng(1).random(n) < 0.42).astype(np.int64)


def test_stratified_split_reproduces_the_notes() -> None:
    y = labels_like_deepsol(700)
    df = pd.DataFrame({"sequence": [f"s{i}" for i in range(700)], "label": y})
    train_df, temp_df = train_test_split(df, test_size=0.2, stratify=df["label"], random_state=42)
    val_df, test_df = train_test_split(temp_df, test_size=0.5, stratify=temp_df["label"], random_state=42)
    split = stratified_split(y)
    assert isinstance(split, Split) and split.method == "stratified"
    assert split.train.tolist() == train_df.index.tolist()
    assert split.val.tolist() == val_df.index.tolist()
    assert split.test.tolist() == test_df.index.tolist()
    assert (len(split.train), len(split.val), len(split.test)) == (560, 70, 70)


def test_stratified_split_properties() -> None:
    y = labels_like_deepsol(1000)
    split = stratified_split(y, val_fraction=0.15, test_fraction=0.05, seed=7)
    parts = [split.train, split.val, split.test]
    assert sorted(np.concatenate(parts).tolist()) == list(range(1000))
    for part in parts:
        assert abs(y[part].mean() - y.mean()) < 0.03
    again = stratified_split(y, val_fraction=0.15, test_fraction=0.05, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(parts, [again.train, again.val, again.test]))
    other = stratified_split(y, val_fraction=0.15, test_fraction=0.05, seed=8)
    assert not np.array_equal(split.val, other.val)


def test_no_test_set() -> None:
    split = stratified_split(labels_like_deepsol(100), test_fraction=0.0)
    assert len(split.test) == 0 and len(split.val) == 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"val_fraction": 0.0}, "val_fraction must be above 0"),
        ({"val_fraction": 1.5}, "val_fraction must be a number from 0 to below 1; got 1.5"),
        ({"test_fraction": -0.1}, "test_fraction must be a number from 0 to below 1; got -0.1"),
        ({"val_fraction": 0.5, "test_fraction": 0.45}, "must be below 0.9"),
    ],
)
def test_bad_fractions(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        stratified_split(labels_like_deepsol(100), **kwargs)


def test_one_class_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least two classes"):
        stratified_split(np.ones(50, dtype=int))


def test_identity_estimate_is_calibrated() -> None:
    rng = np.random.default_rng(0)
    for identity in (0.6, 0.8, 0.95):
        base = random_sequence(rng, 400)
        estimates = pairwise_identity([base, mutate(rng, base, identity)])
        assert estimates[0, 0] == pytest.approx(1.0)
        assert estimates[0, 1] == pytest.approx(identity, abs=0.1)
    unrelated = pairwise_identity([random_sequence(rng, 300) for _ in range(30)])
    np.fill_diagonal(unrelated, 0.0)
    assert unrelated.max() < 0.4


def make_families(n_families: int = 40, members: int = 4, seed: int = 3) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Families of near-identical sequences (95% identity); labels alternate between families."""
    rng = np.random.default_rng(seed)
    sequences, labels, family = [], [], []
    for f in range(n_families):
        base = random_sequence(rng, int(rng.integers(80, 300)))
        for _ in range(members):
            sequences.append(mutate(rng, base, 0.95))
            labels.append(int(f % 5 < 2))
            family.append(f)
    return sequences, np.array(labels), np.array(family)


def test_homology_split_keeps_families_together() -> None:
    sequences, labels, family = make_families()
    split = homology_split(sequences, labels, identity=0.5)
    assert split.method == "homology" and split.identity == 0.5
    parts = [split.train, split.val, split.test]
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(sequences)))
    where = np.empty(len(sequences), dtype=int)
    for s, part in enumerate(parts):
        where[part] = s
    for f in np.unique(family):
        assert np.unique(where[family == f]).size == 1, f"family {f} was split"
    assert split.n_clusters == 40
    assert split.max_cross_identity is not None and split.max_cross_identity < 0.5
    assert len(split.train) == pytest.approx(0.8 * len(sequences), abs=8)
    assert len(split.val) > 0 and len(split.test) > 0
    assert 0 < labels[split.val].mean() < 1


def test_homology_split_is_reproducible() -> None:
    sequences, labels, _ = make_families(seed=5)
    a = homology_split(sequences, labels, seed=1)
    b = homology_split(sequences, labels, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip([a.train, a.val, a.test], [b.train, b.val, b.test]))


def test_homology_split_validation() -> None:
    sequences, labels, _ = make_families(n_families=5)
    with pytest.raises(ConfigError, match="identity must be a number from 0.2 to 1.0"):
        homology_split(sequences, labels, identity=40)
    with pytest.raises(ConfigError, match="same length; got 20 and 19"):
        homology_split(sequences, labels[:-1])
