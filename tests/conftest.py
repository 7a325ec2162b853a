"""Shared test fixtures."""

from __future__ import annotations

import gc
import os

import pytest
import torch

# torch threads per test process: the cores shared among pytest-xdist's processes, at most 2
_PROCESSES = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
torch.set_num_threads(max(1, min(2, (os.cpu_count() or 1) // _PROCESSES)))


@pytest.fixture(autouse=True)
def _protlab_home(tmp_path, monkeypatch):
    """Keep every test's runs and caches in its own temporary folder."""
    monkeypatch.setenv("PROTLAB_HOME", str(tmp_path / "protlab-home"))


def deepsol_sample(n: int, *, max_length: int, seed: int):
    """A reproducible sample of n bundled DeepSol rows no longer than max_length, as LabelledData."""
    import numpy as np
    import pandas as pd

    from protlab.data import BUNDLED_DATA_PATH, LabelledData

    df = pd.read_csv(BUNDLED_DATA_PATH)
    df = df[df["sequence"].str.len() <= max_length].sample(n, random_state=seed)
    return LabelledData(
        df["sequence"].tolist(), df["label"].to_numpy(np.int64), [f"row{i}" for i in df.index]
    )


def random_proteins(
    n: int, length: int | tuple[int, int], *, seed: int = 0, letters: str | None = None
) -> list[str]:
    """n reproducible random proteins of a fixed length, or of lengths drawn from [low, high)."""
    import numpy as np

    from protlab.alphabet import AMINO_ACIDS

    rng = np.random.default_rng(seed)
    pool = np.frombuffer((letters or AMINO_ACIDS).encode(), dtype=np.uint8)
    lengths = [length] * n if isinstance(length, int) else rng.integers(length[0], length[1], size=n)
    return [bytes(pool[rng.integers(0, len(pool), size=int(k))]).decode() for k in lengths]


@pytest.fixture
def app_runs():
    """The RunManager the app's pages use in this test; afterwards its runs are ended and it is closed."""
    from ui.common import restart_run_manager, run_manager

    yield run_manager()
    restart_run_manager(stop_runs=True)


def frozen_kmer_clusters(sequences: list[str], k: int = 4, min_shared: float = 0.1):  # -> (N,) ids
    """Frozen copy of the recipes' former kmer_clusters: components of pairs sharing > min_shared k-mers."""
    import numpy as np
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    from protlab.alphabet import BYTE_TO_INDEX, VOCAB_SIZE

    rows, cols = [], []
    for i, seq in enumerate(sequences):
        tokens = BYTE_TO_INDEX[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]
        if len(tokens) < k:
            continue
        code = np.zeros(len(tokens) - k + 1, dtype=np.int64)
        for j in range(k):
            code = code * VOCAB_SIZE + tokens[j : len(tokens) - k + 1 + j]
        distinct = np.unique(code)
        rows.append(np.full(distinct.size, i))
        cols.append(distinct)
    n = len(sequences)
    rows_, cols_ = np.concatenate(rows), np.concatenate(cols)
    _, cols_ = np.unique(cols_, return_inverse=True)
    x = sparse.csr_matrix((np.ones(rows_.size, np.float32), (rows_, cols_)), shape=(n, int(cols_.max()) + 1))
    counts = np.asarray(x.sum(axis=1)).ravel()
    shared = (x @ x.T).tocoo()
    upper = shared.row < shared.col
    r, c, v = shared.row[upper], shared.col[upper], shared.data[upper]
    linked = v / np.maximum(np.minimum(counts[r], counts[c]), 1) > min_shared
    graph = sparse.coo_matrix((np.ones(linked.sum()), (r[linked], c[linked])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def frozen_cluster_split(
    sequences: list[str], val_fraction: float, test_fraction: float, seed: int
):  # -> (train, val, test) row indices
    """Frozen copy of the recipes' former cluster_split: random cluster order fills test, val, then train."""
    import numpy as np

    clusters = frozen_kmer_clusters(sequences)
    n_clusters = int(clusters.max()) + 1
    order = np.random.default_rng(seed).permutation(n_clusters)
    filled = np.cumsum(np.bincount(clusters, minlength=n_clusters)[order])
    n = len(sequences)
    n_test = int(np.searchsorted(filled, test_fraction * n)) + 1
    n_val = int(np.searchsorted(filled, (test_fraction + val_fraction) * n)) + 1
    test = np.where(np.isin(clusters, order[:n_test]))[0]
    val = np.where(np.isin(clusters, order[n_test:n_val]))[0]
    return np.setdiff1d(np.arange(n), np.concatenate([test, val])), val, test


def train_tiny_run(
    manager,
    owner: str,
    optimizer: str = "adam",
    epochs: int = 2,
    *,
    rows: int = 60,
    lr: float = 1e-3,
    stop_after_first_epoch: bool = False,
    wait: bool = True,
) -> str:
    """Submit a real tiny run (`rows` bundled proteins, a 4-wide CNN) for owner;
    wait for its end unless told not.

    With stop_after_first_epoch the run is stopped once it has a best epoch: it ends 'stopped', with weights.
    """
    import time

    from protlab.runs import RunSpec
    from protlab.training import TrainConfig

    spec = RunSpec(
        data=deepsol_sample(rows, max_length=200, seed=5),
        data_description=f"bundled DeepSol, {rows} rows",
        model_kind="cnn",
        model_config={"embed_dim": 4, "hidden_dim": 4, "num_layers": 1},
        train_config=TrainConfig(
            optimizer=optimizer, lr=lr, epochs=epochs, batch_size=8, patience=0, scheduler="none"
        ),
    )
    run_id = manager.submit(spec, owner)
    if stop_after_first_epoch:
        deadline = time.monotonic() + 240
        while not manager.status(run_id, owner).events and time.monotonic() < deadline:
            time.sleep(0.2)
        manager.stop(run_id, owner)
    if wait:
        assert manager.wait(run_id, 240), f"run {run_id} did not end within 240 s"
    return run_id


def pytest_collection_finish(session) -> None:
    """Freeze the objects alive once every test module is imported, as the app's warm-up does in the server.

    Streamlit runs a full garbage collection after every script run (AppTest included); with torch, pandas and
    plotly loaded that walk over the libraries' long-lived objects costs a quarter of a second per run.
    """
    gc.collect()
    gc.freeze()
