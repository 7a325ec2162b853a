"""Epoch rows and test predictions of ended runs, read once and cached (an ended run no longer changes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from protlab.runs.store import read_history

MAX_CACHED = 512  # ended runs kept in memory before the cache starts afresh


class EndedRuns:
    """Ended runs' (epoch rows, test labels, test P(soluble)), cached per manager by run.json's mtime."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, list, object, object]] = {}  # run id -> (mtime, events, y, p)

    def parts(self, folder: Path) -> tuple[list, np.ndarray | None, np.ndarray | None]:
        """Epoch rows and test predictions of the ended run in folder."""
        run_id = folder.name
        try:
            stamp = (folder / "run.json").stat().st_mtime_ns
        except FileNotFoundError:
            stamp = 0
        cached = self._cache.get(run_id)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2], cached[3]
        labels, probs = read_test_predictions(folder)
        events = read_history(folder)
        if len(self._cache) > MAX_CACHED:
            self._cache.clear()
        self._cache[run_id] = (stamp, events, labels, probs)
        return events, labels, probs

    def forget(self, run_id: str) -> None:
        """Drop a run from the cache (it was deleted)."""
        self._cache.pop(run_id, None)


def read_test_predictions(folder: Path) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(labels (N,) int64, P(soluble) (N,) float64) from a run's test_predictions.csv, or (None, None)."""
    predictions = folder / "test_predictions.csv"
    if not predictions.exists():
        return None, None
    import pandas as pd

    table = pd.read_csv(predictions)
    if not {"label", "p_soluble"} <= set(table.columns):  # per-residue runs keep other columns
        return None, None
    return table["label"].to_numpy(np.int64), table["p_soluble"].to_numpy(np.float64)
