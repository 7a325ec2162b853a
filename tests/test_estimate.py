"""Run-time estimates against what real and hand-written runs took."""

from __future__ import annotations

import json

import numpy as np
import pytest

from protlab.runs import RunTiming, estimate_run_time, read_history, read_record, recent_timings, run_timing
from tests.conftest import train_tiny_run

TINY_MODEL = {"embed_dim": 4, "hidden_dim": 4, "num_layers": 1}  # train_tiny_run's model


def _write_run(
    root, run_id: str, *, kind="cnn", config=None, state="finished", seconds=10.0, rows=100, epochs=(2.0, 4.0)
):
    """A run folder as the workers leave it: run.json and history.csv."""
    folder = root / run_id
    folder.mkdir(parents=True)
    spec = {"model_kind": kind, "model_config": config or {"hidden_dim": 8}, "n_rows": rows}
    record = {"run_id": run_id, "state": state, "spec": spec, "timings": {"seconds": seconds}}
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    lines = ["epoch,seconds"] + [f"{i},{s}" for i, s in enumerate(epochs, 1)]
    (folder / "history.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_runs_timing_splits_its_time_into_epochs_per_protein_and_start_up(tmp_path):
    _write_run(tmp_path, "20261203-100000-00000001", seconds=10.0, rows=100, epochs=(2.0, 4.0))
    folder = tmp_path / "20261203-100000-00000001"
    timing = run_timing(read_record(tmp_path, folder.name), read_history(folder))
    assert timing.epoch_per_row == pytest.approx((2.0 + 4.0) / 2 / 100)  # 3 s an epoch over 100 proteins
    assert timing.startup == pytest.approx(10.0 - 6.0)
    assert run_timing({"state": "stopped", "spec": {"n_rows": 5}, "timings": {"seconds": 3}}, []) is None
    assert run_timing({"state": "finished", "spec": {"n_rows": 5}, "timings": {"seconds": 3}}, []) is None


def test_only_the_newest_finished_runs_of_the_same_model_count(tmp_path):
    wide = {"hidden_dim": 64}
    _write_run(tmp_path, "20261203-100000-00000001", config=wide, seconds=20.0)  # oldest
    _write_run(tmp_path, "20261203-100100-00000002", config=wide, seconds=30.0)
    _write_run(tmp_path, "20261203-100200-00000003", config=wide, state="failed")
    _write_run(tmp_path, "20261203-100300-00000004", config={"hidden_dim": 8})  # another model
    _write_run(tmp_path, "20261203-100400-00000005", kind="dual", config=wide)
    (tmp_path / "_jobs").mkdir()  # not a run folder
    found = recent_timings(tmp_path, "cnn", wide)
    assert [t.startup for t in found] == [pytest.approx(24.0), pytest.approx(14.0)]  # newest first
    assert len(recent_timings(tmp_path, "cnn", wide, limit=1)) == 1
    assert recent_timings(tmp_path / "missing", "cnn", wide) == []


def test_the_estimate_takes_the_median_run():
    timings = [RunTiming(0.01, 2.0), RunTiming(0.02, 4.0), RunTiming(0.50, 300.0)]  # one slow outlier
    estimate = estimate_run_time(timings, n_rows=1000, epochs=3)
    per_epoch = float(np.median([t.epoch_per_row for t in timings])) * 1000
    startup = float(np.median([t.startup for t in timings]))
    assert estimate.per_epoch == pytest.approx(per_epoch) and estimate.startup == pytest.approx(startup)
    assert estimate.seconds == pytest.approx(startup + 3 * per_epoch) and estimate.based_on == 3
    assert estimate_run_time([], 1000, 3) is None and estimate_run_time(timings, 0, 3) is None


def test_a_finished_run_predicts_its_own_time(app_runs):
    run_id = train_tiny_run(app_runs, "estimate-owner", epochs=2, rows=60)
    record = read_record(app_runs.root, run_id)
    epochs_run = len(read_history(app_runs.root / run_id))
    (timing,) = recent_timings(app_runs.root, "cnn", TINY_MODEL)  # the stored spec holds the model's settings
    estimate = estimate_run_time([timing], record["spec"]["n_rows"], epochs_run)
    assert estimate.seconds == pytest.approx(record["timings"]["seconds"])
    assert recent_timings(app_runs.root, "cnn", {**TINY_MODEL, "hidden_dim": 5}) == []
