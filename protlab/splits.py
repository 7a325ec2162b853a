"""Train/validation/test splits: the notes' stratified split and a homology-aware split.

Homology split, approximately like CD-HIT:
- each sequence becomes the set of its k-mers (k=3 by default), a row of a
  sparse binary matrix; shared k-mers of all pairs come from sparse products;
- identity is estimated from the shared fraction f = |A & B| / min(|A|, |B|)
  after removing the overlap expected by chance (a * b * c, where c, the
  chance that two k-mers match, is (sum of squared residue frequencies)^k
  from the data set's composition): with p identical
  positions, about p^k of the k-mers survive, so identity ~ f_corrected^(1/k);
  this ignores gaps and is an approximation, not an alignment; pairs whose
  excess of shared k-mers is within CHANCE_Z Poisson standard deviations of
  chance (plus MIN_EXCESS) count as unrelated (estimate 0), which removes most
  chance hits between short and long sequences; in sets of 100 or more
  sequences, k-mers found in over 10% of them (expression tags such as
  His-tags, low-complexity repeats) are ignored, as they are shared without
  homology;
- greedy clustering, longest sequence first: each new representative claims
  every unclustered sequence estimated at >= identity to it;
- whole clusters go to train/val/test, largest first, to the split whose
  per-class targets they fit best, so sizes and class balance stay close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.model_selection import train_test_split

from protlab.alphabet import VOCAB_SIZE
from protlab.encoding import encode_numpy
from protlab.errors import ConfigError

BLOCK_ROWS = 512  # rows per block of the pairwise identity computation (bounds memory)
COMMON_KMER_FRACTION = 0.1  # k-mers in more than this fraction of sequences are ignored ...
MIN_SEQUENCES_FOR_FILTER = 100  # ... when there are at least this many sequences
CHANCE_Z = 6.0  # shared k-mers must exceed chance by this many standard deviations (Poisson) ...
MIN_EXCESS = 3.0  # ... plus this many k-mers, else the pair's estimated identity is 0


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


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Validate the validation and test fractions."""
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ConfigError(f"{name} must be a number from 0 to below 1; got {value!r}. The notes use 0.1.")
    if val_fraction <= 0:
        raise ConfigError(f"val_fraction must be above 0 (early stopping needs a validation set); got {val_fraction!r}.")
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


def stratified_split(labels: Sequence[int] | np.ndarray, *, val_fraction: float = 0.1,
                     test_fraction: float = 0.1, seed: int = 42) -> Split:
    """The notes' split: stratified train_test_split off val+test, then divide that part, same seed."""
    _check_fractions(val_fraction, test_fraction)
    y = _check_labels(labels)
    index = np.arange(y.size)
    try:
        train, rest = train_test_split(index, test_size=val_fraction + test_fraction, stratify=y, random_state=seed)
        if test_fraction > 0:
            share = test_fraction / (val_fraction + test_fraction)
            val, test = train_test_split(rest, test_size=share, stratify=y[rest], random_state=seed)
        else:
            val, test = rest, np.array([], dtype=np.int64)
    except ValueError as error:
        raise ConfigError(
            f"The labels cannot be split with stratification at these fractions ({error}). "
            "Use more data or larger fractions."
        ) from None
    return Split(train.astype(np.int64), val.astype(np.int64), test.astype(np.int64), "stratified")


def kmer_matrix(sequences: Sequence[str], k: int = 3) -> sparse.csr_matrix:
    """Binary presence matrix of k-mers.  # (N, VOCAB_SIZE**k) float32 CSR"""
    rows, cols = [], []
    powers = VOCAB_SIZE ** np.arange(k - 1, -1, -1, dtype=np.int64)  # (k,)
    for i, seq in enumerate(sequences):  # per sequence; the k-mers themselves are vectorised
        tokens = encode_numpy(seq).astype(np.int64)  # (L,)
        if tokens.size < k:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(tokens, k)  # (L-k+1, k)
        codes = np.unique(windows @ powers)  # distinct k-mer codes
        rows.append(np.full(codes.size, i, dtype=np.int64))
        cols.append(codes)
    row = np.concatenate(rows) if rows else np.array([], dtype=np.int64)
    col = np.concatenate(cols) if cols else np.array([], dtype=np.int64)
    data = np.ones(row.size, dtype=np.float32)
    return sparse.csr_matrix((data, (row, col)), shape=(len(sequences), VOCAB_SIZE**k))


def _informative(x: sparse.csr_matrix) -> sparse.csr_matrix:
    """Drop k-mers present in more than COMMON_KMER_FRACTION of sequences (tags, repeats)."""
    if x.shape[0] < MIN_SEQUENCES_FOR_FILTER:
        return x
    frequency = np.asarray(x.sum(axis=0)).ravel() / x.shape[0]  # (V,) fraction of sequences with the k-mer
    keep = sparse.diags((frequency <= COMMON_KMER_FRACTION).astype(np.float32))
    out = (x @ keep).tocsr()
    out.eliminate_zeros()
    return out


def _background(sequences: Sequence[str], k: int) -> float:
    """Chance that two random k-mers are equal, from residue composition: (sum of p_a^2)^k."""
    counts = np.bincount(encode_numpy("".join(sequences)), minlength=VOCAB_SIZE)[1:-1]  # (20,) residues
    p = counts / max(counts.sum(), 1)
    return float((p**2).sum() ** k)


def _identity_block(x_rows: sparse.csr_matrix, x_cols: sparse.csr_matrix, chance: float, k: int) -> np.ndarray:
    """Estimated identity of every row sequence to every column sequence.  # (R, C) float32"""
    shared = (x_rows @ x_cols.T).toarray()  # (R, C) shared distinct k-mers
    a = np.asarray(x_rows.sum(axis=1)).ravel()[:, None]  # (R, 1)
    b = np.asarray(x_cols.sum(axis=1)).ravel()[None, :]  # (1, C)
    expected = a * b * chance  # (R, C) overlap expected by chance
    smaller = np.minimum(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = (shared - expected) / (smaller - expected)
    fraction = np.clip(np.nan_to_num(fraction, nan=0.0, posinf=0.0, neginf=0.0), 0.0, 1.0)
    fraction[shared - expected < CHANCE_Z * np.sqrt(expected) + MIN_EXCESS] = 0.0  # indistinguishable from chance
    return (fraction ** (1.0 / k)).astype(np.float32)


def pairwise_identity(sequences: Sequence[str], *, k: int = 3) -> np.ndarray:
    """Estimated identity matrix of a small set of sequences.  # (N, N) float32"""
    x = _informative(kmer_matrix(sequences, k))
    return _identity_block(x, x, _background(sequences, k), k)


def _neighbours(x: sparse.csr_matrix, identity: float, k: int, chance: float) -> list[np.ndarray]:
    """For every sequence, the indices estimated at >= identity to it (blocked, bounded memory)."""
    result: list[np.ndarray] = []
    for start in range(0, x.shape[0], BLOCK_ROWS):
        block = _identity_block(x[start : start + BLOCK_ROWS], x, chance, k)  # (R, N)
        hits = block >= identity
        result.extend(np.flatnonzero(row) for row in hits)
    return result


def _cluster(lengths: np.ndarray, neighbours: list[np.ndarray]) -> np.ndarray:
    """Greedy clustering, longest first; returns a cluster id per sequence.  # (N,) int64"""
    cluster = np.full(lengths.size, -1, dtype=np.int64)
    n_clusters = 0
    for i in np.argsort(-lengths, kind="stable"):
        if cluster[i] >= 0:
            continue
        members = neighbours[i][cluster[neighbours[i]] < 0]
        cluster[members] = n_clusters
        cluster[i] = n_clusters
        n_clusters += 1
    return cluster


def _assign(cluster: np.ndarray, y: np.ndarray, fractions: np.ndarray, seed: int) -> np.ndarray:
    """Put whole clusters into splits 0/1/2 matching per-class targets; returns split per sequence."""
    classes = np.unique(y)
    counts = np.zeros((cluster.max() + 1, classes.size))  # (n_clusters, n_classes)
    np.add.at(counts, (cluster, np.searchsorted(classes, y)), 1)
    target = fractions[:, None] * np.bincount(np.searchsorted(classes, y))[None, :]  # (3, n_classes)
    current = np.zeros_like(target)
    order = np.random.default_rng(seed).permutation(counts.shape[0])
    order = order[np.argsort(-counts[order].sum(axis=1), kind="stable")]  # largest first, random ties
    split_of_cluster = np.zeros(counts.shape[0], dtype=np.int64)
    for c in order:
        before = ((target - current) ** 2).sum(axis=1)  # (3,)
        after = ((target - current - counts[c]) ** 2).sum(axis=1)  # (3,)
        best = int(np.argmin(after - before))
        split_of_cluster[c] = best
        current[best] += counts[c]
    return split_of_cluster[cluster]


def _max_cross(x: sparse.csr_matrix, held_out: np.ndarray, train: np.ndarray, k: int, chance: float) -> float:
    """Highest estimated identity between any held-out sequence and any training sequence."""
    if held_out.size == 0 or train.size == 0:
        return 0.0
    best = 0.0
    x_train = x[train]
    for start in range(0, held_out.size, BLOCK_ROWS):
        block = _identity_block(x[held_out[start : start + BLOCK_ROWS]], x_train, chance, k)
        best = max(best, float(block.max()))
    return best


def homology_split(sequences: Sequence[str], labels: Sequence[int] | np.ndarray, *, identity: float = 0.4,
                   val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 42, k: int = 3) -> Split:
    """Cluster at ~identity with shared k-mers, then assign whole clusters to train/val/test."""
    _check_fractions(val_fraction, test_fraction)
    y = _check_labels(labels)
    if isinstance(identity, bool) or not isinstance(identity, (int, float)) or not 0.2 <= identity <= 1.0:
        raise ConfigError(f"identity must be a number from 0.2 to 1.0 (a fraction, e.g. 0.4 for 40%); got {identity!r}.")
    if k not in (2, 3, 4):
        raise ConfigError(f"k must be 2, 3 or 4 (the k-mer length); got {k!r}.")
    if len(sequences) != y.size:
        raise ConfigError(f"sequences and labels must have the same length; got {len(sequences)} and {y.size}.")
    x = _informative(kmer_matrix(sequences, k))
    lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    chance = _background(sequences, k)
    cluster = _cluster(lengths, _neighbours(x, identity, k, chance))
    fractions = np.array([1 - val_fraction - test_fraction, val_fraction, test_fraction])
    split = _assign(cluster, y, fractions, seed)
    train, val, test = (np.flatnonzero(split == s).astype(np.int64) for s in range(3))
    cross = _max_cross(x, np.concatenate([val, test]), train, k, chance)
    return Split(train, val, test, "homology", int(cluster.max()) + 1, cross, float(identity))
