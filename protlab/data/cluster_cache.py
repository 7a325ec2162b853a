"""Homology clusters kept on disk by content, so a class clusters the same proteins once.

An all-vs-all MMseqs2 search of the bundled 6,942 proteins takes about 25 CPU-seconds. Every run that splits
them at an identity would repeat it: thirty students pressing Start on the default settings would queue
thirty identical searches. The clusters depend only on the sequences (in order), the identity, the coverage
and the search sensitivity, so they are kept under a key made of exactly those:

    key = sha256("mmseqs2-clusters|v1|<identity>|<coverage>|<sensitivity>|<exhaustive up to>|"
                 + sequences joined by newlines)

Two places are read, in order: the clusters shipped with ProtLab (assets/data/clusters: the bundled data at
the notes' 30% identity, so even a class's first run skips the search) and $PROTLAB_HOME/cache/clusters,
where new results are written atomically. A file that is unreadable, of the wrong shape or with ids out of
range is ignored (and the search runs again); a cache that cannot be written is skipped silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from protlab.files import atomic_write_with
from protlab.home import protlab_home

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "assets" / "data" / "clusters"  # shipped with ProtLab
KEY_VERSION = "v1"  # bump when the way clusters are computed changes (old files are then never read)


def cache_dir() -> Path:
    """Where new clusters are kept: $PROTLAB_HOME/cache/clusters (~/.protlab without PROTLAB_HOME)."""
    return protlab_home() / "cache" / "clusters"


def cluster_key(
    sequences: Sequence[str], identity: float, coverage: float, sensitivity: float, exhaustive: int
) -> str:
    """The content key of a clustering: settings and sequences, in order."""
    settings = f"{KEY_VERSION}|{identity:.6f}|{coverage:.6f}|{sensitivity:.3f}|{exhaustive}"
    digest = hashlib.sha256(f"mmseqs2-clusters|{settings}|".encode())
    for sequence in sequences:
        digest.update(sequence.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _valid(clusters: np.ndarray, n: int) -> bool:
    """One integer id per sequence, each between 0 and N-1."""
    return (
        clusters.shape == (n,)
        and np.issubdtype(clusters.dtype, np.integer)
        and (n == 0 or (int(clusters.min()) >= 0 and int(clusters.max()) < n))
    )


def load_clusters(key: str, n: int, folders: Sequence[Path] | None = None) -> np.ndarray | None:
    """The kept clusters for a key (shipped first, then the cache), or None.  # (N,) int64"""
    for folder in folders if folders is not None else (SHIPPED_DIR, cache_dir()):
        path = folder / f"{key}.npy"
        try:
            clusters = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            continue
        if _valid(clusters, n):
            return clusters.astype(np.int64)
    return None


def _save(path: Path, clusters: np.ndarray) -> None:
    """np.save into exactly this file (np.save given a name would add .npy to it)."""
    with path.open("wb") as handle:
        np.save(handle, np.asarray(clusters, dtype=np.int64), allow_pickle=False)


def store_clusters(key: str, clusters: np.ndarray, folder: Path | None = None) -> Path | None:
    """Keep clusters under their key (atomically); None when the folder cannot be written."""
    folder = folder if folder is not None else cache_dir()
    path = folder / f"{key}.npy"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_with(path, lambda tmp: _save(tmp, clusters))
    except OSError:
        return None
    return path


def rebuild_shipped(identity: float = 0.3) -> Path:
    """Cluster the bundled data afresh with MMseqs2 and ship the result (replacing any shipped file)."""
    from protlab.data.homology import (
        EXHAUSTIVE_MAX_PAIRS,
        MMSEQS_COVERAGE,
        MMSEQS_SENSITIVITY,
        mmseqs_clusters,
    )
    from protlab.data.loading import load_bundled

    sequences = load_bundled()[0].sequences
    clusters = mmseqs_clusters(sequences, identity=identity, coverage=MMSEQS_COVERAGE)
    for old in SHIPPED_DIR.glob("*.npy"):
        old.unlink()
    key = cluster_key(sequences, identity, MMSEQS_COVERAGE, MMSEQS_SENSITIVITY, EXHAUSTIVE_MAX_PAIRS)
    return store_clusters(key, clusters, SHIPPED_DIR)
