"""Ended runs' epoch rows and test predictions: read once, read again when run.json changes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from protlab.runs.ended import EndedRuns, read_test_predictions
from protlab.runs.store import read_history


def _ended_run(folder: Path, probs: list[float]) -> Path:
    """A run folder as a worker leaves it: run.json, history.csv and test_predictions.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text('{"state": "finished"}', encoding="utf-8")
    pd.DataFrame({"epoch": [1, 2], "train_loss": [0.7, 0.6], "val_loss": [0.69, 0.65]}).to_csv(
        folder / "history.csv", index=False
    )
    labels = [i % 2 for i in range(len(probs))]
    pd.DataFrame({"id": range(len(probs)), "label": labels, "p_soluble": probs}).to_csv(
        folder / "test_predictions.csv", index=False
    )
    return folder


def test_predictions_come_back_typed(tmp_path: Path) -> None:
    folder = _ended_run(tmp_path / "run", [0.1, 0.8, 0.4])
    labels, probs = read_test_predictions(folder)
    assert labels.dtype == np.int64 and probs.dtype == np.float64
    np.testing.assert_array_equal(labels, [0, 1, 0])
    np.testing.assert_allclose(probs, [0.1, 0.8, 0.4])


def test_runs_without_solubility_predictions_have_none(tmp_path: Path) -> None:
    assert read_test_predictions(tmp_path) == (None, None)  # no file
    pd.DataFrame({"id": ["p1"], "position": [1], "true": ["H"]}).to_csv(
        tmp_path / "test_predictions.csv", index=False
    )  # a per-residue run's columns
    assert read_test_predictions(tmp_path) == (None, None)


def test_parts_are_cached_until_run_json_changes(tmp_path: Path) -> None:
    folder = _ended_run(tmp_path / "run", [0.1, 0.8])
    stamp = (folder / "run.json").stat().st_mtime_ns
    ended = EndedRuns()
    events, labels, probs = ended.parts(folder)
    assert events == read_history(folder)
    np.testing.assert_allclose(probs, [0.1, 0.8])
    _ended_run(folder, [0.3, 0.3])  # the files change behind the cache's back...
    os.utime(folder / "run.json", ns=(stamp, stamp))  # ...but run.json keeps its time: cached parts
    np.testing.assert_allclose(ended.parts(folder)[2], [0.1, 0.8])
    os.utime(folder / "run.json", ns=(stamp + 10**9, stamp + 10**9))  # run.json rewritten: read again
    np.testing.assert_allclose(ended.parts(folder)[2], [0.3, 0.3])


def test_a_forgotten_run_is_read_again(tmp_path: Path) -> None:
    folder = _ended_run(tmp_path / "run", [0.1, 0.8])
    stamp = (folder / "run.json").stat().st_mtime_ns
    ended = EndedRuns()
    ended.parts(folder)
    _ended_run(folder, [0.6, 0.2])
    os.utime(folder / "run.json", ns=(stamp, stamp))
    ended.forget(folder.name)
    np.testing.assert_allclose(ended.parts(folder)[2], [0.6, 0.2])
