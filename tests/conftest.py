"""Shared test fixtures."""

from __future__ import annotations

import os

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


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
    return LabelledData(df["sequence"].tolist(), df["label"].to_numpy(np.int64), [f"row{i}" for i in df.index])


def random_proteins(n: int, length: int | tuple[int, int], *, seed: int = 0, letters: str | None = None) -> list[str]:
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
