"""Train/validation/test splits: the notes' stratified split and a homology-aware split.

A homology-aware split is cluster_sequences (single-linkage clusters at a sequence identity: by default
MMseqs2 alignments, see protlab.data.homology; where the mmseqs binary cannot run, or when asked, the
k-mer estimates of protlab.data.kmers) followed by assign_clusters (whole clusters per split):
- "balanced" (the Train page's): whole clusters go to train/val/test, largest first, to the split whose
  per-class targets they fit best, so sizes and class balance stay close; a cluster larger than the
  training share goes to train, and the notes say so;
- "random" (the default recipe's): clusters in a seeded random order fill test, then validation, then train.
So no validation or test sequence has a training relative at >= identity (for the clustering used; for
the k-mer estimate, max_cross_identity is below the threshold by construction). Split.clustering says
which clustering was actually used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from protlab.checks import Choice, FloatRange
from protlab.data.homology import MMSEQS_COVERAGE, homology_clusters
from protlab.data.kmers import kmer_linkage
from protlab.data.loading import CLASS_NAMES
from protlab.errors import ConfigError

MAX_HOMOLOGY_SEQUENCES = 50_000  # the all-pairs comparison grows as N^2; larger sets are refused
CLUSTER_METHODS = ("mmseqs", "kmer_identity", "shared_kmers")  # how cluster_sequences can link sequences
ASSIGNMENTS = ("balanced", "random")  # how assign_clusters hands whole clusters to train/val/test


@dataclass
class Split:
    """Index arrays of one train/validation/test split and how it was made."""

    train: np.ndarray  # (N_train,) int64 row indices
    val: np.ndarray  # (N_val,) int64 row indices
    test: np.ndarray  # (N_test,) int64 row indices
    method: str  # "stratified" or "homology"
    n_clusters: int | None = None  # homology clusters found (None for stratified)
    max_cross_identity: float | None = None  # highest estimated identity of a val/test sequence to train
    identity: float | None = None  # clustering threshold used (None for stratified)
    largest_cluster: int | None = None  # sequences in the largest homology cluster (None for stratified)
    notes: str = ""  # plain-language remarks on how the split was made (for the Train page)
    clustering: str | None = None  # clustering actually used: "mmseqs2", "kmer_identity" or "shared_kmers"
    coverage: float | None = None  # MMseqs2 alignment coverage of both sequences (None otherwise)
    clusters: np.ndarray | None = None  # (N,) int64 homology cluster id per row (None for stratified)


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Validate the validation and test fractions."""
    fraction = FloatRange(0, 1, high_open=True, tip="The notes use 0.1.")
    fraction.check(val_fraction, "val_fraction")
    fraction.check(test_fraction, "test_fraction")
    if val_fraction <= 0:
        raise ConfigError(
            f"val_fraction must be above 0 (early stopping needs a validation set); got {val_fraction!r}."
        )
    if val_fraction + test_fraction >= 0.9:
        raise ConfigError(
            f"val_fraction + test_fraction must be below 0.9 so training keeps data; got "
            f"{val_fraction} + {test_fraction} = {val_fraction + test_fraction:.2f}."
        )


def _check_labels(labels: Sequence[int] | np.ndarray) -> np.ndarray:
    """Labels as a 1-D int64 array with at least two classes."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.size < 10:
        raise ConfigError(f"labels must be a 1-D array of at least 10 labels; got shape {y.shape}.")
    if np.unique(y).size < 2:
        raise ConfigError("labels must contain at least two classes to split with stratification; got one.")
    return y.astype(np.int64)


def _too_few_per_class(y: np.ndarray, val_fraction: float, test_fraction: float) -> ConfigError:
    """Why sklearn could not stratify: a class too small for the held-out sets, in words and numbers."""
    held = val_fraction + test_fraction
    smallest = min(val_fraction, test_fraction) if test_fraction > 0 else held / 2  # of the held-out sets
    need = int(np.ceil(max(2 / held, 1 / smallest) - 1e-9))  # each class then puts >= 1 into each set
    values, counts = np.unique(y, return_counts=True)
    named = {
        int(v): f"label {v} ({CLASS_NAMES[int(v)]})" if int(v) in CLASS_NAMES else f"label {v}"
        for v in values
    }
    has = " and ".join(f"{c:,} with {named[int(v)]}" for v, c in zip(values, counts))
    sets = f"{1 - held:.0%} / {val_fraction:.0%} / {test_fraction:.0%}"
    return ConfigError(
        f"A split by label into training / validation / test ({sets}) needs at least {need:,} proteins of "
        f"each class, so that the validation and test sets each get some of both; the data have {has}. "
        "Add proteins of the smaller class."
    )


def stratified_split(
    labels: Sequence[int] | np.ndarray,
    *,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
) -> Split:
    """The notes' split: stratified train_test_split off val+test, then divide that part, same seed."""
    _check_fractions(val_fraction, test_fraction)
    y = _check_labels(labels)
    index = np.arange(y.size)
    try:
        held = val_fraction + test_fraction
        train, rest = train_test_split(index, test_size=held, stratify=y, random_state=seed)
        if test_fraction > 0:
            share = test_fraction / (val_fraction + test_fraction)
            val, test = train_test_split(rest, test_size=share, stratify=y[rest], random_state=seed)
        else:
            val, test = rest, np.array([], dtype=np.int64)
    except ValueError:
        raise _too_few_per_class(y, val_fraction, test_fraction) from None
    return Split(train.astype(np.int64), val.astype(np.int64), test.astype(np.int64), "stratified")


def cluster_sequences(
    sequences: Sequence[str], *, identity: float, method: str = "mmseqs", k: int = 3
) -> np.ndarray:
    """Single-linkage cluster id per sequence: linked pairs (see the module notes) share one.  # (N,) int64"""
    _check_clustering(identity, method, k)
    _check_size(len(sequences))
    if method == "mmseqs":
        return homology_clusters(sequences, identity=identity).clusters
    return kmer_linkage(sequences, identity=identity, k=k, corrected=method == "kmer_identity").clusters


def _random_fill(cluster: np.ndarray, fractions: np.ndarray, seed: int) -> np.ndarray:
    """Clusters in a seeded random order fill test, then validation, then train; the split of each row."""
    n_clusters = int(cluster.max()) + 1
    order = np.random.default_rng(seed).permutation(n_clusters)
    filled = np.cumsum(np.bincount(cluster, minlength=n_clusters)[order])  # rows in the first j clusters
    n_test = int(np.searchsorted(filled, fractions[2] * cluster.size)) + 1
    n_val = int(np.searchsorted(filled, (fractions[2] + fractions[1]) * cluster.size)) + 1
    split_of_cluster = np.zeros(n_clusters, dtype=np.int64)  # train
    split_of_cluster[order[n_test:n_val]] = 1
    split_of_cluster[order[:n_test]] = 2
    return split_of_cluster[cluster]


def assign_clusters(
    clusters: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    strategy: str = "balanced",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole clusters to train/val/test ("balanced" or "random", see the module notes); sorted row indices."""
    _check_fractions(val_fraction, test_fraction)
    y = _check_labels(labels)
    cluster = np.asarray(clusters, dtype=np.int64)  # (N,)
    if cluster.shape != y.shape:
        raise ConfigError(f"clusters and labels must have the same length; got {cluster.size} and {y.size}.")
    Choice(ASSIGNMENTS).check(strategy, "strategy")
    fractions = np.array([1 - val_fraction - test_fraction, val_fraction, test_fraction])
    if strategy == "balanced":
        split = _assign(cluster, y, fractions, seed)  # (N,) 0 train, 1 val, 2 test
    else:
        split = _random_fill(cluster, fractions, seed)
    train, val, test = (np.flatnonzero(split == s).astype(np.int64) for s in range(3))
    return train, val, test


def _assign(cluster: np.ndarray, y: np.ndarray, fractions: np.ndarray, seed: int) -> np.ndarray:
    """Put whole clusters into splits 0/1/2 matching per-class targets; returns split per sequence."""
    classes = np.unique(y)
    counts = np.zeros((cluster.max() + 1, classes.size))  # (n_clusters, n_classes)
    np.add.at(counts, (cluster, np.searchsorted(classes, y)), 1)
    target = fractions[:, None] * np.bincount(np.searchsorted(classes, y))[None, :]  # (3, n_classes)
    current = np.zeros_like(target)
    sizes = counts.sum(axis=1)  # (n_clusters,)
    order = np.random.default_rng(seed).permutation(counts.shape[0])
    order = order[np.argsort(-sizes[order], kind="stable")]  # largest first, random ties
    split_of_cluster = np.zeros(counts.shape[0], dtype=np.int64)
    for c in order:
        before = ((target - current) ** 2).sum(axis=1)  # (3,)
        after = ((target - current - counts[c]) ** 2).sum(axis=1)  # (3,)
        best = 0 if sizes[c] > fractions[0] * y.size else int(np.argmin(after - before))  # giants: train
        split_of_cluster[c] = best
        current[best] += counts[c]
    return split_of_cluster[cluster]


def _notes(
    identity: float, k: int, floor: float | None, largest: int, n: int, fractions: np.ndarray, assignment: str
) -> str:
    """The Train page's explanation of the split, one sentence, plus one when a cluster is too big."""
    if floor is None:  # shared_kmers: no chance correction, so no detection floor
        text = (
            f"Proteins sharing more than {identity**k:.0%} of the shorter one's distinct {k}-letter "
            "words (no alignment) are linked in chains, so no validation or test protein shares that "
            "much with a training protein, while weaker, short or gapped similarities can still cross "
            "the split."
        )
    else:
        text = (
            f"Identity is estimated from shared {k}-letter words rather than from alignments (for "
            f"proteins of typical length here, similarity below about {floor:.0%} cannot be told from "
            "chance and counts as none), and similar proteins are linked in chains, so no validation or "
            f"test protein has a training protein estimated at {identity:.0%} identity or more, while "
            "weaker, short or gapped similarities can still cross the split."
        )
    if assignment == "balanced" and largest > fractions[0] * n:
        text += (
            f" The largest cluster ({largest:,} of {n:,} proteins, {largest / n:.0%}) is bigger than "
            f"the training share ({fractions[0]:.0%}), so it was put in train and the training set is "
            "larger than asked; a higher identity threshold gives smaller clusters."
        )
    return text


def _check_clustering(identity: float, method: str, k: int) -> None:
    """Validate the clustering settings."""
    Choice(CLUSTER_METHODS).check(method, "method", label="The clustering method")
    FloatRange(0.2, 1.0, note="a fraction, e.g. 0.4 for 40%").check(identity, "identity")
    Choice((2, 3, 4), note="the k-mer length").check(k, "k")


def _check_size(n: int) -> None:
    """Refuse data sets too large for the all-pairs comparison."""
    if n > MAX_HOMOLOGY_SEQUENCES:
        raise ConfigError(
            f"The homology-aware split compares every pair of sequences, so it accepts at most "
            f"{MAX_HOMOLOGY_SEQUENCES:,} sequences; got {n:,}. Use a sample of the data or the stratified "
            "split."
        )


def _mmseqs_notes(identity: float, coverage: float, largest: int, n: int, fractions: np.ndarray) -> str:
    """The Train page's explanation of an MMseqs2 split."""
    text = (
        f"Proteins were aligned with MMseqs2; pairs with at least {identity:.0%} identical residues over "
        f"at least {coverage:.0%} of both proteins are linked in chains, and whole chains stay together, "
        f"so no validation or test protein has such a relative in training."
    )
    if largest > fractions[0] * n:
        text += (
            f" The largest cluster ({largest:,} of {n:,} proteins, {largest / n:.0%}) is bigger than "
            f"the training share ({fractions[0]:.0%}), so it was put in train and the training set is "
            "larger than asked; a higher identity threshold gives smaller clusters."
        )
    return text


def _check_filled(
    val: np.ndarray, test: np.ndarray, fractions: np.ndarray, sizes: np.ndarray, identity: float
) -> None:
    """Refuse a split whose validation or test set came out empty."""
    for name, part, wanted in (("validation", val, fractions[1]), ("test", test, fractions[2])):
        if wanted > 0 and part.size == 0:
            raise ConfigError(
                f"The homology-aware split could not fill the {name} set: at identity {identity:.0%} the "
                f"{sizes.sum():,} sequences form only {sizes.size:,} "
                f"{'cluster' if sizes.size == 1 else 'clusters'} "
                f"(the largest has {sizes.max():,}). "
                "Use a higher identity threshold, more data, or the stratified split."
            )


# appended to the notes when the MMseqs2 clustering fell back to the k-mer estimate
FALLBACK_NOTE = (
    " MMseqs2 could not run on this machine, so identity was estimated from shared k-mers instead."
)


def homology_split(
    sequences: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    identity: float = 0.3,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    k: int = 3,
    clustering: str = "mmseqs",
    assignment: str = "balanced",
) -> Split:
    """cluster_sequences, then assign_clusters, plus a report (method used, cluster sizes, notes)."""
    _check_fractions(val_fraction, test_fraction)
    y = _check_labels(labels)
    _check_clustering(identity, clustering, k)
    if len(sequences) != y.size:
        raise ConfigError(
            f"sequences and labels must have the same length; got {len(sequences)} and {y.size}."
        )
    _check_size(y.size)
    fractions = np.array([1 - val_fraction - test_fraction, val_fraction, test_fraction])
    fell_back = False
    if clustering == "mmseqs":
        found = homology_clusters(sequences, identity=identity, coverage=MMSEQS_COVERAGE)
        if found.method == "mmseqs2":
            cluster = found.clusters  # (N,) int64
            train, val, test = assign_clusters(
                cluster, y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
                strategy=assignment,
            )  # fmt: skip
            sizes = np.bincount(cluster)
            _check_filled(val, test, fractions, sizes, identity)
            notes = _mmseqs_notes(float(identity), found.coverage, int(sizes.max()), y.size, fractions)
            return Split(
                train, val, test, "homology", int(sizes.size), None, float(identity), int(sizes.max()), notes,
                "mmseqs2", found.coverage, cluster,
            )  # fmt: skip
        clustering, fell_back = "kmer_identity", True
    linkage = kmer_linkage(sequences, identity=identity, k=k, corrected=clustering == "kmer_identity")
    cluster = linkage.clusters  # (N,) int64
    train, val, test = assign_clusters(
        cluster, y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed, strategy=assignment
    )
    sizes = np.bincount(cluster)
    _check_filled(val, test, fractions, sizes, identity)
    cross = linkage.max_cross_identity(np.concatenate([val, test]), train)
    floor = linkage.detection_floor()
    notes = _notes(float(identity), k, floor, int(sizes.max()), y.size, fractions, assignment)  # for the page
    notes += FALLBACK_NOTE if fell_back else ""
    largest = int(sizes.max())
    return Split(
        train, val, test, "homology", int(sizes.size), cross, float(identity), largest, notes, clustering,
        None, cluster,
    )  # fmt: skip
