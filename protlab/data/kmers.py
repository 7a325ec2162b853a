"""Homology from shared k-mers: an identity estimate between protein sequences and single-linkage clusters.

This is the clustering backend of protlab.data.splits.cluster_sequences (methods "kmer_identity" and
"shared_kmers"). Method "kmer_identity":
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
  (single linkage: A~B and B~C put A, B and C together).
Method "shared_kmers" (the default recipe's, k=4) reads identity as f^(1/k) of the plain shared fraction f,
without chance correction or k-mer filtering, and links pairs strictly above the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from protlab.alphabet import VOCAB_SIZE
from protlab.data.encoding import encode_numpy

PAIRS_PER_BLOCK = 1_000_000  # pair estimates held in memory at once (sets the rows per block)
MAX_BLOCK_ROWS = 512  # at most this many rows per block of the pairwise computation
LINK_MARGIN = 1e-6  # pairs within this relative margin below the threshold are linked too (float rounding)
COMMON_KMER_FRACTION = 0.1  # k-mers in more than this fraction of sequences are ignored ...
MIN_SEQUENCES_FOR_FILTER = 100  # ... when there are at least this many groups of near-identical sequences
FAMILY_IDENTITY = 0.6  # sequences estimated this close on all k-mers form one group when counting k-mers
CHANCE_Z = 6.0  # shared k-mers must exceed chance by this many standard deviations (Poisson) ...
MIN_EXCESS = 3.0  # ... plus this many k-mers, else the pair's estimated identity is 0


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


def _pair_fractions(
    x_rows: sparse.csr_matrix,
    x_cols: sparse.csr_matrix,
    size_rows: np.ndarray,
    size_cols: np.ndarray,
    chance: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, fraction) of every pair sharing a k-mer (chance None: the plain shared fraction)."""
    product = (x_rows @ x_cols.T).tocsr()  # (R, C) shared distinct k-mers, sparse
    rows = np.repeat(np.arange(product.shape[0]), np.diff(product.indptr))  # (P,)
    cols = product.indices.astype(np.int64)  # (P,)
    shared, a, b = product.data.astype(np.float64), size_rows[rows], size_cols[cols]  # (P,) each
    if chance is None:
        return rows, cols, shared / np.maximum(np.minimum(a, b), 1.0)
    return rows, cols, _fraction(shared, a, b, chance)


def _linked(fraction: np.ndarray, identity: float, k: int, chance: float | None) -> np.ndarray:
    """Which pairs are linked: estimate >= identity (chance-corrected), or f^(1/k) > identity (plain f)."""
    if chance is None:
        return fraction ** (1.0 / k) > identity
    return fraction >= identity**k * (1.0 - LINK_MARGIN)  # estimate >= identity  <=>  fraction >= identity**k


def _edges(
    x: sparse.csr_matrix, identity: float, k: int, chance: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Linked pairs (i < j), block by block over the upper triangle.  # (E,), (E,)"""
    n, size = x.shape[0], _sizes(x)
    step = _block_rows(n)
    found_i, found_j = [], []
    for start in range(0, n, step):
        stop = min(start + step, n)
        block, rest = slice(start, stop), slice(start, None)
        rows, cols, fraction = _pair_fractions(x[block], x[rest], size[block], size[rest], chance)
        hit = _linked(fraction, identity, k, chance) & (cols > rows)  # both offset by start: j > i
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


def _max_cross(
    x: sparse.csr_matrix, held_out: np.ndarray, train: np.ndarray, k: int, chance: float | None
) -> float:
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


@dataclass
class KmerLinkage:
    """Single-linkage clusters from shared k-mers, with what a split report needs."""

    clusters: np.ndarray  # (N,) int64 cluster id per sequence (numbered in order of first member)
    x: sparse.csr_matrix  # (N, VOCAB_SIZE**k) binary presence of the k-mers the estimate used
    chance: float | None  # chance that two k-mers match; None: plain shared fraction (shared_kmers)
    k: int  # k-mer length

    def max_cross_identity(self, held_out: np.ndarray, train: np.ndarray) -> float:
        """Highest estimated identity between any held-out row and any training row."""
        return _max_cross(self.x, held_out, train, self.k, self.chance)

    def detection_floor(self) -> float | None:
        """Lowest identity told apart from chance at the median length; None without chance correction."""
        return None if self.chance is None else _detection_floor(_sizes(self.x), self.chance, self.k)


def kmer_linkage(
    sequences: Sequence[str], *, identity: float, k: int = 3, corrected: bool = True
) -> KmerLinkage:
    """Clusters at `identity`: chance-corrected estimate (kmer_identity) or plain fraction (shared_kmers)."""
    x, chance = _estimator(sequences, k) if corrected else (kmer_matrix(sequences, k), None)
    return KmerLinkage(_components(sequences, *_edges(x, float(identity), k, chance)), x, chance, k)
