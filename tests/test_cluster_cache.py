"""Homology clusters kept by content: the same proteins and settings are searched once, others again."""

from __future__ import annotations

import numpy as np
import pytest

import protlab.data.homology as homology_module
from protlab.data import cluster_cache
from protlab.data.cluster_cache import cache_dir, cluster_key, load_clusters, store_clusters
from protlab.data.homology import (
    EXHAUSTIVE_MAX_PAIRS,
    MMSEQS_COVERAGE,
    MMSEQS_SENSITIVITY,
    homology_clusters,
    mmseqs_clusters,
)
from protlab.data.loading import load_bundled
from tests.test_homology import families


def _no_search(*args, **kwargs):
    raise AssertionError("mmseqs ran although the clusters were kept")


def test_a_second_clustering_of_the_same_proteins_reads_the_kept_clusters(monkeypatch) -> None:
    sequences, _, _ = families(n_families=4, singles=4, seed=7)
    first = homology_clusters(sequences, identity=0.3)
    assert first.method == "mmseqs2"
    assert list(cache_dir().glob("*.npy"))  # written under $PROTLAB_HOME/cache/clusters
    monkeypatch.setattr(homology_module, "mmseqs_search", _no_search)
    again = homology_clusters(sequences, identity=0.3)
    np.testing.assert_array_equal(again.clusters, first.clusters)
    assert (again.method, again.identity, again.coverage) == ("mmseqs2", 0.3, MMSEQS_COVERAGE)


def test_a_fresh_clustering_matches_the_cached_one_and_writes_nothing() -> None:
    sequences, _, _ = families(n_families=3, singles=3, seed=11)
    fresh = mmseqs_clusters(sequences, identity=0.3)  # what rebuild_shipped ships
    assert not list(cache_dir().glob("*.npy"))
    np.testing.assert_array_equal(fresh, homology_clusters(sequences, identity=0.3).clusters)


@pytest.mark.parametrize(
    "change",
    ["identity", "coverage", "order", "one residue"],
)
def test_other_settings_or_other_proteins_are_searched_again(monkeypatch, change) -> None:
    sequences, _, _ = families(n_families=3, singles=3, seed=8)
    identity, coverage = 0.3, MMSEQS_COVERAGE
    homology_clusters(sequences, identity=identity, coverage=coverage)
    if change == "identity":
        identity = 0.5
    elif change == "coverage":
        coverage = 0.5
    elif change == "order":
        sequences = sequences[::-1]
    else:
        sequences = [sequences[0][:-1] + ("A" if sequences[0][-1] != "A" else "G")] + sequences[1:]
    searched = []
    real = homology_module.mmseqs_search
    monkeypatch.setattr(homology_module, "mmseqs_search", lambda *a, **k: searched.append(1) or real(*a, **k))
    homology_clusters(sequences, identity=identity, coverage=coverage)
    assert searched == [1]


def test_a_damaged_or_foreign_file_is_ignored_and_the_search_runs_again(tmp_path) -> None:
    key = cluster_key(["MKV", "MKW"], 0.3, 0.8, MMSEQS_SENSITIVITY, EXHAUSTIVE_MAX_PAIRS)
    (tmp_path / f"{key}.npy").write_bytes(b"not a numpy file")
    assert load_clusters(key, 2, [tmp_path]) is None
    for bad in (np.array([0, 1, 2]), np.array([0, 5]), np.array([-1, 0]), np.array([0.0, 1.0])):
        np.save(tmp_path / f"{key}.npy", bad)
        assert load_clusters(key, 2, [tmp_path]) is None, bad
    store_clusters(key, np.array([1, 0]), tmp_path)
    assert load_clusters(key, 2, [tmp_path]).tolist() == [1, 0]
    assert [p.name for p in tmp_path.iterdir()] == [f"{key}.npy"]  # no temporary file left beside it


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    assert store_clusters("k", np.array([0]), blocker / "clusters") is None


def test_the_shipped_clusters_are_the_bundled_data_at_the_notes_identity(monkeypatch) -> None:
    data, _ = load_bundled()
    key = cluster_key(data.sequences, 0.3, MMSEQS_COVERAGE, MMSEQS_SENSITIVITY, EXHAUSTIVE_MAX_PAIRS)
    assert (cluster_cache.SHIPPED_DIR / f"{key}.npy").is_file()
    assert [p.stem for p in cluster_cache.SHIPPED_DIR.glob("*.npy")] == [key]  # nothing stale shipped
    monkeypatch.setattr(homology_module, "mmseqs_search", _no_search)
    found = homology_clusters(data.sequences, identity=0.3)  # no search: read from the shipped file
    assert found.method == "mmseqs2" and found.n_clusters > 5000
    same = np.unique(np.asarray(data.sequences, dtype=object), return_inverse=True)[1]
    for group in np.unique(same[np.bincount(same)[same] > 1]):  # identical proteins share a cluster
        assert np.unique(found.clusters[same == group]).size == 1
