"""Splits: the notes' stratified procedure and the homology-aware split (its k-mer clustering here; the
MMseqs2 clustering, the default, is tested in test_homology.py)."""

from __future__ import annotations

import re
from functools import partial

import numpy as np
import pandas as pd
import pytest
from Bio.Align import PairwiseAligner, substitution_matrices
from Bio.Data.IUPACData import protein_letters
from conftest import frozen_cluster_split, frozen_kmer_clusters
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import train_test_split

import protlab.data.kmers as kmers_module
import protlab.data.splits as splits_module
from protlab.data import (
    Split,
    assign_clusters,
    cluster_sequences,
    homology_split,
    load_bundled,
    pairwise_identity,
    stratified_split,
)
from protlab.errors import ConfigError

LETTERS = np.array(list(protein_letters))
kmer_split = partial(homology_split, clustering="kmer_identity")  # the k-mer estimate, not MMseqs2


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


@pytest.mark.parametrize(("val", "test"), [(0.1, 0.1), (0.1, 0.2), (0.05, 0.05), (0.2, 0.0)])
def test_a_class_too_small_to_stratify_is_named_with_the_size_that_always_works(
    val: float, test: float
) -> None:
    labels = np.array([1] * 1 + [0] * 40)  # one soluble protein cannot be in both held-out sets
    with pytest.raises(ConfigError) as refused:
        stratified_split(labels, val_fraction=val, test_fraction=test)
    found = re.search(r"needs at least (\d+) proteins of each class", str(refused.value))
    assert found and "40 with label 0 (insoluble) and 1 with label 1 (soluble)" in str(refused.value)
    need = int(found[1])
    for n in range(2 * need, 2 * need + 40):  # the size named is enough for every larger set
        for minority in range(need, n // 2 + 1):  # (each of these passes in sklearn)
            stratified_split(
                np.array([1] * minority + [0] * (n - minority)), val_fraction=val, test_fraction=test
            )


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


def make_families(
    n_families: int = 40, members: int = 4, seed: int = 3
) -> tuple[list[str], np.ndarray, np.ndarray]:
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
    split = kmer_split(sequences, labels, identity=0.5)
    assert split.method == "homology" and split.identity == 0.5
    parts = [split.train, split.val, split.test]
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(sequences)))
    where = np.empty(len(sequences), dtype=int)
    for s, part in enumerate(parts):
        where[part] = s
    for f in np.unique(family):
        assert np.unique(where[family == f]).size == 1, f"family {f} was split"
    assert split.n_clusters == 40 and split.largest_cluster == 4
    assert split.max_cross_identity is not None and split.max_cross_identity < 0.5
    assert len(split.train) == pytest.approx(0.8 * len(sequences), abs=8)
    assert len(split.val) > 0 and len(split.test) > 0
    assert 0 < labels[split.val].mean() < 1


def test_homology_split_is_reproducible() -> None:
    sequences, labels, _ = make_families(seed=5)
    a = kmer_split(sequences, labels, seed=1)
    b = kmer_split(sequences, labels, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip([a.train, a.val, a.test], [b.train, b.val, b.test]))


def test_homology_split_validation() -> None:
    sequences, labels, _ = make_families(n_families=5)
    with pytest.raises(ConfigError, match="identity must be a number from 0.2 to 1.0"):
        kmer_split(sequences, labels, identity=40)
    with pytest.raises(ConfigError, match="same length; got 20 and 19"):
        kmer_split(sequences, labels[:-1])


def aligned_identity(a: str, b: str) -> float:
    """Reference identity: identical columns of a global BLOSUM62 alignment over the shorter length."""
    aligner = PairwiseAligner(
        mode="global",
        substitution_matrix=substitution_matrices.load("BLOSUM62"),
        open_gap_score=-10,
        extend_gap_score=-0.5,
        end_gap_score=0,
    )
    top = aligner.align(a, b)[0]
    return sum(x == y != "-" for x, y in zip(top[0], top[1])) / min(len(a), len(b))


def mutate_with_indels(rng: np.random.Generator, sequence: str, identity: float, n_indels: int = 4) -> str:
    """Substitutions at rate 1 - identity, then short insertions and deletions."""
    residues = list(mutate(rng, sequence, identity))
    for _ in range(n_indels):
        at, size = int(rng.integers(0, len(residues))), int(rng.integers(1, 6))
        if rng.random() < 0.5:
            del residues[at : at + size]
        else:
            residues[at:at] = list(rng.choice(LETTERS, size=size))
    return "".join(residues)


def test_identity_estimate_agrees_with_global_alignment() -> None:
    rng = np.random.default_rng(11)
    for identity in (0.7, 0.8, 0.9):
        for _ in range(3):
            base = random_sequence(rng, 250)
            other = mutate_with_indels(rng, base, identity)
            estimate = float(pairwise_identity([base, other])[0, 1])
            assert estimate == pytest.approx(aligned_identity(base, other), abs=0.08)
    for _ in range(3):  # below the detection floor the estimate reads "no similarity", never a made-up value
        base = random_sequence(rng, 250)
        other = mutate_with_indels(rng, base, 0.3)
        assert aligned_identity(base, other) < 0.4
        assert pairwise_identity([base, other])[0, 1] == 0.0


def where_is(split: Split, n: int) -> np.ndarray:
    """Split number (0 train, 1 val, 2 test) of every row."""
    where = np.full(n, -1)
    for s, part in enumerate([split.train, split.val, split.test]):
        where[part] = s
    assert (where >= 0).all()
    return where


def check_against_dense(sequences: list[str], split: Split, threshold: float) -> None:
    """Compare the split with single linkage on the dense pairwise estimate (the reference)."""
    estimate = pairwise_identity(sequences).astype(np.float64)  # (N, N)
    n_ref, component = connected_components(sparse.csr_matrix(estimate >= threshold), directed=False)
    where = where_is(split, len(sequences))
    assert split.n_clusters == n_ref
    assert split.largest_cluster == np.bincount(component).max()
    for c in range(n_ref):
        assert np.unique(where[component == c]).size == 1, f"component {c} is split"
    cross = estimate[np.ix_(np.concatenate([split.val, split.test]), split.train)]
    assert cross.max() < threshold
    assert split.max_cross_identity == pytest.approx(cross.max(), abs=1e-5)


def substitute(rng: np.random.Generator, sequence: str, positions: np.ndarray) -> str:
    """Replace the residues at the given positions with different ones."""
    arr = np.array(list(sequence))
    arr[positions] = [rng.choice(LETTERS[LETTERS != a]) for a in arr[positions]]
    return "".join(arr)


def make_chains(n_chains: int = 30, seed: int = 4) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Triples A, B, C: A~B and B~C at 80% identity, A~C at 60% (disjoint scattered positions mutated)."""
    rng = np.random.default_rng(seed)
    sequences, labels, chain = [], [], []
    for c in range(n_chains):
        a = random_sequence(rng, 300)
        order = rng.permutation(300)
        b = substitute(rng, a, order[:60])
        sequences += [a, b, substitute(rng, b, order[60:120])]
        labels += [c % 2] * 3
        chain += [c] * 3
    return sequences, np.array(labels), np.array(chain)


def test_chains_stay_together_single_linkage() -> None:
    sequences, labels, chain = make_chains()
    estimate = pairwise_identity(sequences[:3])
    assert estimate[0, 1] >= 0.7 and estimate[1, 2] >= 0.7 and estimate[0, 2] < 0.7  # a true chain
    split = kmer_split(sequences, labels, identity=0.7, seed=3)
    where = where_is(split, len(sequences))
    for c in range(30):
        assert np.unique(where[chain == c]).size == 1, f"chain {c} was split"
    assert split.n_clusters == 30 and split.largest_cluster == 3
    check_against_dense(sequences, split, 0.7)


def test_family_split_matches_dense_reference_and_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    sequences, labels, _ = make_families(n_families=30, members=3, seed=9)
    split = kmer_split(sequences, labels, identity=0.5)
    check_against_dense(sequences, split, 0.5)
    assert "50%" in split.notes and split.notes.endswith(".")
    monkeypatch.setattr(kmers_module, "PAIRS_PER_BLOCK", 7)  # one row per block, and tiny products
    small = kmer_split(sequences, labels, identity=0.5)
    assert all(
        np.array_equal(a, b)
        for a, b in zip([split.train, split.val, split.test], [small.train, small.val, small.test])
    )
    assert small.max_cross_identity == split.max_cross_identity


def test_bundled_sample_has_no_close_relative_across_the_split() -> None:
    data, _ = load_bundled()
    pick = np.random.default_rng(0).choice(len(data), size=1500, replace=False)
    sequences = [data.sequences[i] for i in pick]
    labels = data.labels[pick]
    for threshold in (0.4, 0.6):
        split = kmer_split(sequences, labels, identity=threshold)
        check_against_dense(sequences, split, threshold)
        assert len(split.train) == pytest.approx(1200, abs=15)
        assert len(split.val) == pytest.approx(150, abs=15) and len(split.test) == pytest.approx(150, abs=15)
        for part in (split.val, split.test):
            assert labels[part].mean() == pytest.approx(labels.mean(), abs=0.03)


def test_identical_sequences_share_a_cluster_even_when_too_short_for_kmers() -> None:
    rng = np.random.default_rng(2)
    sequences = [random_sequence(rng, 60) for _ in range(38)] + ["MK", "MK"]
    labels = np.array([i % 2 for i in range(40)])
    split = kmer_split(sequences, labels, identity=0.9)
    where = where_is(split, 40)
    assert where[38] == where[39] and split.largest_cluster == 2 and split.n_clusters == 39


def test_giant_cluster_goes_to_train_and_is_reported() -> None:
    rng = np.random.default_rng(6)
    base = random_sequence(rng, 200)
    family = [mutate(rng, base, 0.9) for _ in range(110)]
    others = [random_sequence(rng, 200) for _ in range(20)]
    labels = np.array([i % 2 for i in range(130)])
    split = kmer_split(family + others, labels, identity=0.5)
    assert split.largest_cluster == 110 and split.n_clusters == 21
    assert set(range(110)) <= set(split.train.tolist())
    assert len(split.val) > 0 and len(split.test) > 0
    assert "largest cluster (110 of 130 proteins, 85%)" in split.notes and "put in train" in split.notes
    check_against_dense(family + others, split, 0.5)
    with pytest.raises(
        ConfigError,
        match="could not fill the validation set: at identity 50% the 110 sequences "
        r"form only 1 cluster \(the largest has 110\)",
    ):
        kmer_split(family, labels[:110], identity=0.5)


def test_a_family_common_in_the_data_is_not_mistaken_for_a_tag() -> None:
    rng = np.random.default_rng(8)
    tag = "MGSSHHHHHHSSGLVPRGSH"  # an expression tag on a quarter of the unrelated proteins
    others = [
        (tag if i % 4 == 0 else "") + random_sequence(rng, int(rng.integers(60, 300))) for i in range(160)
    ]
    base = random_sequence(rng, 250)
    family = [mutate(rng, base, 0.85) for _ in range(40)]  # 20% of the data: its k-mers are "common"
    sequences = others + family
    labels = np.array([i % 2 for i in range(200)])
    split = kmer_split(sequences, labels, identity=0.5)
    where = where_is(split, 200)
    assert np.unique(where[160:]).size == 1, "the family was split"
    assert split.largest_cluster == 40 and split.n_clusters == 161  # the tag links nothing
    check_against_dense(sequences, split, 0.5)


def test_homology_split_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    sequences, labels, _ = make_families(n_families=5)
    monkeypatch.setattr(splits_module, "MAX_HOMOLOGY_SEQUENCES", 10)
    with pytest.raises(ConfigError, match="accepts at most 10 sequences; got 20. Use a sample"):
        kmer_split(sequences, labels)


def test_stratified_split_has_no_homology_report() -> None:
    split = stratified_split(labels_like_deepsol(100))
    assert (split.n_clusters, split.largest_cluster, split.max_cross_identity, split.notes) == (
        None,
        None,
        None,
        "",
    )


SHARED_4MERS = {"identity": 0.1 ** (1 / 4), "k": 4}  # the default recipe: more than 10% of 4-mers shared


def test_shared_kmers_method_equals_the_recipes_former_clustering_and_split() -> None:
    data, _ = load_bundled()
    pick = np.sort(np.random.default_rng(2).choice(len(data), size=1200, replace=False))
    sequences, labels = [data.sequences[i] for i in pick], data.labels[pick]
    sequences += [sequences[0][:-3] + "W", sequences[1] + "K", sequences[2][:10]]  # near copies, a fragment
    labels = np.concatenate([labels, labels[:3]])
    clusters = cluster_sequences(sequences, method="shared_kmers", **SHARED_4MERS)
    assert np.array_equal(clusters, frozen_kmer_clusters(sequences))
    for seed, val_fraction, test_fraction in ((42, 0.1, 0.1), (3, 0.1, 0.2)):
        split = homology_split(
            sequences,
            labels,
            clustering="shared_kmers",
            assignment="random",
            seed=seed,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            **SHARED_4MERS,
        )
        frozen = frozen_cluster_split(sequences, val_fraction, test_fraction, seed)
        for got, want in zip((split.train, split.val, split.test), frozen):
            np.testing.assert_array_equal(got, want)
        assert split.n_clusters == int(clusters.max()) + 1
        assert split.max_cross_identity <= SHARED_4MERS["identity"] and "10% of the shorter" in split.notes


def test_homology_split_is_cluster_sequences_then_assign_clusters() -> None:
    sequences, labels, family = make_families(seed=6)
    clusters = cluster_sequences(sequences, identity=0.5, method="kmer_identity")
    assert len(np.unique(clusters)) == 40
    assert all(len(np.unique(clusters[family == f])) == 1 for f in np.unique(family))
    split = kmer_split(sequences, labels, identity=0.5, seed=4)
    parts = assign_clusters(clusters, labels, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(parts, (split.train, split.val, split.test)))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s, y: cluster_sequences(s, identity=0.5, method="cd-hit"),
            "method must be one of 'mmseqs', 'kmer_identity' or 'shared_kmers'",
        ),
        (lambda s, y: cluster_sequences(s, identity=0.1), "identity must be a number from 0.2 to 1.0"),
        (lambda s, y: assign_clusters(np.zeros(len(y), dtype=int), y, strategy="size"), "strategy must be"),
        (lambda s, y: assign_clusters(np.zeros(3, dtype=int), y), "same length"),
    ],
)
def test_clustering_settings_are_checked(call, message: str) -> None:
    sequences, labels, _ = make_families(n_families=5)
    with pytest.raises(ConfigError, match=message):
        call(sequences, labels)
