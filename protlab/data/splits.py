"""Train/validation/test splits: the notes' stratified split and a homology-aware split.

Homology split: single-linkage clusters of an estimated identity, whole clusters per split.
- each sequence becomes the set of its k-mers (k=3 by default), a row of a
  sparse binary matrix; shared k-mers of all pairs come from sparse products;
- identity is estimated from the shared fraction f = |A & B| / min(|A|, |B|)
  after removing the overlap expected by chance (a * b * c, where c, the
  chance that two k-mers match, is (sum of squared residue frequencies)^k
  from the data set's composition): with p identical positions, about p^k of
  the k-mers survive, so identity ~ f_corrected^(1/k); this ignores gaps and
  is an approximation, not an alignment; pairs whose excess of shared k-mers
  is within CHANCE_Z Poisson standard deviations of chance (plus MIN_EXCESS)
  count as unrelated (estimate 0), which removes most chance hits between
  short and long sequences (so the estimate has a floor: below about 45-55%
  identity, depending on length, it reads 0);
- k-mers shared without homology (expression tags such as His-tags, very
  common words such as ALA) are ignored: those found in over 10% of the
  groups of clearly related sequences (linked at >= FAMILY_IDENTITY on all
  k-mers) when there are 100 groups or more; counting groups, not sequences,
  keeps a large family of variants from looking like a tag;
- every pair estimated at >= identity is an edge of a graph (computed block by
  block over the upper triangle, so memory stays bounded); identical sequences
  are always linked; the clusters are the graph's connected components
  (single linkage: A~B and B~C put A, B and C together);
- whole clusters go to train/val/test, largest first, to the split whose
  per-class targets they fit best, so sizes and class balance stay close; a
  cluster larger than the training share goes to train, and the notes say so.
So no validation or test sequence has a training sequence estimated at >= identity:
max_cross_identity is below the threshold by construction (for this estimator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import train_test_split

from protlab.alphabet import VOCAB_SIZE
from protlab.data.encoding import encode_numpy
from protlab.errors import ConfigError

PAIRS_PER_BLOCK = 1_000_000  # pair estimates held in memory at once (sets the rows per block)
MAX_BLOCK_ROWS = 512  # at most this many rows per block of the pairwise computation
MAX_HOMOLOGY_SEQUENCES = 50_000  # the all-pairs comparison grows as N^2; larger sets are refused
LINK_MARGIN = 1e-6  # pairs within this relative margin below the threshold are linked too (float rounding)
COMMON_KMER_FRACTION = 0.1  # k-mers in more than this fraction of sequences are ignored ...
MIN_SEQUENCES_FOR_FILTER = 100  # ... when there are at least this many groups of near-identical sequences
FAMILY_IDENTITY = 0.6  # sequences estimated this close on all k-mers form one group when counting k-mers
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
    largest_cluster: int | None = None  # sequences in the largest homology cluster (None for stratified)
    notes: str = ""  # plain-language remarks on how the split was made (for the Train page)


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


def _informative(x: sparse.csr_matrix, groups: np.ndarray) -> sparse.csr_matrix:
    """Drop k-mers found in more than COMMON_KMER_FRACTION of the groups of near-identical sequences."""
    n_groups = int(groups.max()) + 1 if groups.size else 0
    if n_groups < MIN_SEQUENCES_FOR_FILTER:
        return x
    ones = np.ones(groups.size, dtype=np.float32)
    membership = sparse.csr_matrix((ones, (groups, np.arange(groups.size))), shape=(n_groups, groups.size))
    carriers = np.asarray(((membership @ x) > 0).sum(axis=0)).ravel()  # (V,) groups holding each k-mer
    keep = sparse.diags((carriers <= COMMON_KMER_FRACTION * n_groups).astype(np.float32))
    out = (x @ keep).tocsr()
    out.eliminate_zeros()
    return out


def _background(sequences: Sequence[str], k: int) -> float:
    """Chance that two random k-mers are equal, from residue composition: (sum of p_a^2)^k."""
    counts = np.bincount(encode_numpy("".join(sequences)), minlength=VOCAB_SIZE)[1:-1]  # (20,) residues
    p = counts / max(counts.sum(), 1)
    return float((p**2).sum() ** k)


def _sizes(x: sparse.csr_matrix) -> np.ndarray:
    """Distinct (informative) k-mers per sequence.  # (N,) float64"""
    return np.diff(x.indptr).astype(np.float64)


def _fraction(shared: np.ndarray, a: np.ndarray, b: np.ndarray, chance: float) -> np.ndarray:
    """Shared k-mer fraction above chance, elementwise; 0 where indistinguishable from chance.  # float64"""
    expected = a * b * chance  # overlap expected by chance
    smaller = np.minimum(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = (shared - expected) / (smaller - expected)
    fraction = np.clip(np.nan_to_num(fraction, nan=0.0, posinf=0.0, neginf=0.0), 0.0, 1.0)
    fraction[shared - expected < CHANCE_Z * np.sqrt(expected) + MIN_EXCESS] = 0.0
    return fraction


def pairwise_identity(sequences: Sequence[str], *, k: int = 3) -> np.ndarray:
    """Estimated identity matrix of a small set of sequences.  # (N, N) float32"""
    x, chance = _estimator(sequences, k)
    size = _sizes(x)  # (N,)
    shared = (x @ x.T).toarray().astype(np.float64)  # (N, N) shared distinct k-mers
    fraction = _fraction(shared, size[:, None], size[None, :], chance)
    return (fraction ** (1.0 / k)).astype(np.float32)


def _block_rows(n_columns: int) -> int:
    """Rows per block so that a block holds about PAIRS_PER_BLOCK pairs."""
    return int(max(1, min(MAX_BLOCK_ROWS, PAIRS_PER_BLOCK // max(n_columns, 1))))


def _pair_fractions(x_rows: sparse.csr_matrix, x_cols: sparse.csr_matrix, size_rows: np.ndarray,
                    size_cols: np.ndarray, chance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, fraction) of every pair sharing a k-mer; other pairs have fraction 0."""
    product = (x_rows @ x_cols.T).tocsr()  # (R, C) shared distinct k-mers, sparse
    rows = np.repeat(np.arange(product.shape[0]), np.diff(product.indptr))  # (P,)
    cols = product.indices.astype(np.int64)  # (P,)
    fraction = _fraction(product.data.astype(np.float64), size_rows[rows], size_cols[cols], chance)  # (P,)
    return rows, cols, fraction


def _edges(x: sparse.csr_matrix, identity: float, k: int, chance: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) estimated at >= identity, block by block over the upper triangle.  # (E,), (E,)"""
    n, size = x.shape[0], _sizes(x)
    cutoff = identity**k * (1.0 - LINK_MARGIN)  # estimate >= identity  <=>  fraction >= identity**k
    step = _block_rows(n)
    found_i, found_j = [], []
    for start in range(0, n, step):
        stop = min(start + step, n)
        rows, cols, fraction = _pair_fractions(x[start:stop], x[start:], size[start:stop], size[start:], chance)
        hit = (fraction >= cutoff) & (cols > rows)  # both offset by start: j > i
        found_i.append(rows[hit] + start)
        found_j.append(cols[hit] + start)
    return np.concatenate(found_i), np.concatenate(found_j)


def _components(sequences: Sequence[str], i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected components of the pairs (i, j), identical sequences always joined.  # (N,) int64"""
    n = len(sequences)
    _, group = np.unique(np.asarray(sequences, dtype=object), return_inverse=True)  # identical sequences
    first = np.full(group.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, group, np.arange(n))
    i, j = np.concatenate([i, np.arange(n)]), np.concatenate([j, first[group]])
    graph = sparse.coo_matrix((np.ones(i.size, dtype=np.int8), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def _estimator(sequences: Sequence[str], k: int) -> tuple[sparse.csr_matrix, float]:
    """The k-mer matrix behind the identity estimate (common k-mers dropped) and the k-mer match chance."""
    raw = kmer_matrix(sequences, k)
    chance = _background(sequences, k)
    if raw.shape[0] < MIN_SEQUENCES_FOR_FILTER:
        return raw, chance
    families = _components(sequences, *_edges(raw, FAMILY_IDENTITY, k, chance))  # variants count once
    return _informative(raw, families), chance


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


def _max_cross(x: sparse.csr_matrix, held_out: np.ndarray, train: np.ndarray, k: int, chance: float) -> float:
    """Highest estimated identity between any held-out sequence and any training sequence."""
    if held_out.size == 0 or train.size == 0:
        return 0.0
    size, x_train = _sizes(x), x[train]
    best, step = 0.0, _block_rows(train.size)
    for start in range(0, held_out.size, step):
        rows = held_out[start : start + step]
        _, _, fraction = _pair_fractions(x[rows], x_train, size[rows], size[train], chance)
        best = max(best, float(fraction.max(initial=0.0)))
    return best ** (1.0 / k)


def _detection_floor(size: np.ndarray, chance: float, k: int) -> float:
    """Lowest identity the estimate can tell from chance for two proteins of median k-mer count."""
    m = float(np.median(size)) if size.size else 0.0
    expected = m * m * chance
    if m - expected <= 0:
        return 1.0
    return min(1.0, (CHANCE_Z * np.sqrt(expected) + MIN_EXCESS) / (m - expected)) ** (1.0 / k)


def _notes(identity: float, k: int, floor: float, largest: int, n: int, fractions: np.ndarray) -> str:
    """The Train page's explanation of the split, one sentence, plus one when a cluster is too big."""
    text = (f"Identity is estimated from shared {k}-letter words rather than from alignments (for proteins of "
            f"typical length here, similarity below about {floor:.0%} cannot be told from chance and counts as "
            f"none), and similar proteins are linked in chains, so no validation or test protein has a training "
            f"protein estimated at {identity:.0%} identity or more, while weaker, short or gapped similarities "
            "can still cross the split.")
    if largest > fractions[0] * n:
        text += (f" The largest cluster ({largest:,} of {n:,} proteins, {largest / n:.0%}) is bigger than the "
                 f"training share ({fractions[0]:.0%}), so it was put in train and the training set is larger "
                 "than asked; a higher identity threshold gives smaller clusters.")
    return text


def _check_homology(sequences: Sequence[str], y: np.ndarray, identity: float, k: int) -> None:
    """Validate the homology split's own parameters."""
    if isinstance(identity, bool) or not isinstance(identity, (int, float)) or not 0.2 <= identity <= 1.0:
        raise ConfigError(f"identity must be a number from 0.2 to 1.0 (a fraction, e.g. 0.4 for 40%); got {identity!r}.")
    if k not in (2, 3, 4):
        raise ConfigError(f"k must be 2, 3 or 4 (the k-mer length); got {k!r}.")
    if len(sequences) != y.size:
        raise ConfigError(f"sequences and labels must have the same length; got {len(sequences)} and {y.size}.")
    if y.size > MAX_HOMOLOGY_SEQUENCES:
        raise ConfigError(
            f"The homology-aware split compares every pair of sequences, so it accepts at most "
            f"{MAX_HOMOLOGY_SEQUENCES:,} sequences; got {y.size:,}. Use a sample of the data or the stratified split."
        )


def homology_split(sequences: Sequence[str], labels: Sequence[int] | np.ndarray, *, identity: float = 0.4,
                   val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 42, k: int = 3) -> Split:
    """Single-linkage clusters at >= identity (k-mer estimate), whole clusters to train/val/test."""
    _check_fractions(val_fraction, test_fraction)
    y = _check_labels(labels)
    _check_homology(sequences, y, identity, k)
    x, chance = _estimator(sequences, k)
    cluster = _components(sequences, *_edges(x, float(identity), k, chance))
    fractions = np.array([1 - val_fraction - test_fraction, val_fraction, test_fraction])
    split = _assign(cluster, y, fractions, seed)
    train, val, test = (np.flatnonzero(split == s).astype(np.int64) for s in range(3))
    sizes = np.bincount(cluster)
    for name, part, wanted in (("validation", val, val_fraction), ("test", test, test_fraction)):
        if wanted > 0 and part.size == 0:
            raise ConfigError(
                f"The homology-aware split could not fill the {name} set: at identity {identity:.0%} the "
                f"{y.size:,} sequences form only {sizes.size:,} {'cluster' if sizes.size == 1 else 'clusters'} "
                f"(the largest has {sizes.max():,}). "
                "Use a higher identity threshold, more data, or the stratified split."
            )
    cross = _max_cross(x, np.concatenate([val, test]), train, k, chance)
    floor = _detection_floor(_sizes(x), chance, k)
    notes = _notes(float(identity), k, floor, int(sizes.max()), y.size, fractions)
    return Split(train, val, test, "homology", int(sizes.size), cross, float(identity), int(sizes.max()), notes)
