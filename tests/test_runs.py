"""Tests for protlab.runs.manager: background runs, persistence, stop, failures and owner isolation.

The spec, preparation and run folders are tested directly in test_run_spec.py, test_run_prep.py, test_run_store.py.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from conftest import deepsol_sample

import protlab.runs.manager as runs_module
from protlab.data import LabelledData
from protlab.errors import ConfigError, RunError
from protlab.models import load_checkpoint
from protlab.runs import RunManager, RunSpec
from protlab.training import TrainConfig, compute_metrics

TINY = {"embed_dim": 8, "hidden_dim": 16}


@pytest.fixture(scope="module")
def small_data() -> LabelledData:
    return deepsol_sample(160, max_length=200, seed=3)


def _spec(data: LabelledData, **train) -> RunSpec:
    cfg = TrainConfig(**{"epochs": 2, "batch_size": 16, "device": "cpu", **train})
    return RunSpec(name="test run", data=data, data_description="DeepSol sample", model_kind="cnn",
                   model_config=TINY, train_config=cfg)


def _wait(manager: RunManager, run_id: str, owner: str, timeout: float = 120.0):
    assert manager.wait(run_id, timeout)
    return manager.status(run_id, owner)


def test_run_finishes_and_writes_results(small_data) -> None:
    manager = RunManager()
    run_id = manager.start(_spec(small_data), owner="alice")
    status = _wait(manager, run_id, "alice")
    assert status.state == "finished" and status.error is None and status.progress == 1.0
    assert [e["epoch"] for e in status.events] == [1, 2]
    folder = manager.root / run_id
    assert {"run.json", "history.csv", "model.pt", "test_predictions.csv"} <= {p.name for p in folder.iterdir()}
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert status.test_metrics == pytest.approx(compute_metrics(status.test_labels, status.test_probs))
    assert status.baseline["auc"] == 0.5 and len(status.test_labels) == 16
    loaded = load_checkpoint(status.checkpoint_path)
    assert loaded.kind == "cnn"
    record = json.loads((folder / "run.json").read_text())
    assert record["state"] == "finished" and record["spec"]["name"] == "test run"


def test_run_ids_are_generated_not_user_text(small_data) -> None:
    manager = RunManager()
    spec = _spec(small_data, epochs=1)
    spec.name = "../../etc/passwd"
    run_id = manager.start(spec, owner="bob")
    assert runs_module.RUN_ID.match(run_id) and (manager.root / run_id).is_dir()
    _wait(manager, run_id, "bob")


def test_double_start_is_refused_and_limit_enforced(small_data) -> None:
    manager = RunManager(max_concurrent=2)
    first = manager.start(_spec(small_data, epochs=50), owner="carol")
    with pytest.raises(RunError, match="already going for this session"):
        manager.start(_spec(small_data), owner="carol")
    second = manager.start(_spec(small_data, epochs=50), owner="dave")
    with pytest.raises(RunError, match="limit is 2"):
        manager.start(_spec(small_data), owner="erin")
    for run_id, owner in ((first, "carol"), (second, "dave")):
        manager.stop(run_id, owner)
        assert _wait(manager, run_id, owner).state == "stopped"


def test_stop_keeps_best_weights(small_data) -> None:
    manager = RunManager()
    run_id = manager.start(_spec(small_data, epochs=200, patience=0), owner="frank")
    deadline = time.time() + 60
    while not manager.status(run_id, "frank").events and time.time() < deadline:
        time.sleep(0.05)
    manager.stop(run_id, "frank")
    status = _wait(manager, run_id, "frank")
    assert status.state == "stopped" and 1 <= len(status.events) < 200
    assert status.checkpoint_path is not None and status.test_metrics is not None


def test_failures_are_recorded(small_data, monkeypatch, tmp_path) -> None:
    manager = RunManager()
    spec = RunSpec(data_path=str(tmp_path / "missing.csv"), model_config=TINY,
                   train_config=TrainConfig(epochs=1, device="cpu"))
    run_id = manager.start(spec, owner="gina")
    status = _wait(manager, run_id, "gina")
    assert status.state == "failed" and status.error and not status.error.startswith("The run failed:")

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(runs_module, "train_model", out_of_memory)
    run_id = manager.start(_spec(small_data), owner="gina")
    status = _wait(manager, run_id, "gina")
    assert status.state == "failed" and status.error == "The run failed: RuntimeError: out of memory"
    again = manager.start(_spec(small_data, epochs=1), owner="gina")  # the manager stays usable
    assert _wait(manager, again, "gina").state == "failed"


def test_divergence_fails_with_message(small_data) -> None:
    manager = RunManager()
    run_id = manager.start(_spec(small_data, lr=1e6), owner="hal")
    status = _wait(manager, run_id, "hal")
    assert status.state == "failed" and "learning rate 1e+06 is probably too high" in status.error


def test_bad_spec_is_refused_before_starting(small_data) -> None:
    manager = RunManager()
    with pytest.raises(ConfigError):
        manager.start(_spec(small_data, lr=0), owner="ivy")
    with pytest.raises(ConfigError, match="split_method"):
        spec = _spec(small_data)
        spec.split_method = "random"
        manager.start(spec, owner="ivy")
    with pytest.raises(RunError, match="owner"):
        manager.start(_spec(small_data), owner="")
    assert manager.list_runs("ivy") == []


def test_persistence_and_interrupted_runs(small_data) -> None:
    manager = RunManager()
    run_id = manager.start(_spec(small_data, epochs=1), owner="jo")
    _wait(manager, run_id, "jo")
    # a run that was 'running' when an earlier server process died
    ghost = "20260101-000000-deadbeef"
    (manager.root / ghost).mkdir()
    record = json.loads((manager.root / run_id / "run.json").read_text())
    record.update(run_id=ghost, state="running")
    (manager.root / ghost / "run.json").write_text(json.dumps(record))
    fresh = RunManager(manager.root)
    states = {r["run_id"]: r["state"] for r in fresh.list_runs("jo")}
    assert {fresh.status(r, "jo").run_id for r in fresh.list_runs("jo")} == {run_id, ghost}  # rows work as ids
    assert states == {run_id: "finished", ghost: "interrupted"}
    status = fresh.status(run_id, "jo")
    assert status.state == "finished" and len(status.events) == 1 and status.test_probs is not None
    assert fresh.status(ghost, "jo").state == "interrupted"


def test_owner_isolation(small_data) -> None:
    manager = RunManager()
    run_id = manager.start(_spec(small_data, epochs=1), owner="kim")
    with pytest.raises(RunError):
        manager.status(run_id, "lee")
    with pytest.raises(RunError):
        manager.stop(run_id, "lee")
    _wait(manager, run_id, "kim")
    with pytest.raises(RunError):
        manager.delete_run(run_id, "lee")
    assert manager.list_runs("lee") == []
    shared = manager.list_runs()
    assert [r["run_id"] for r in shared] == [run_id] and "owner" not in shared[0]
    assert len(manager.run_history(run_id)) == 1
    with pytest.raises(RunError):
        manager.status("../../secret", "kim")
    manager.delete_run(run_id, "kim")
    assert manager.list_runs("kim") == [] and not (manager.root / run_id).exists()


def test_dual_model_with_homology_split(small_data) -> None:
    manager = RunManager()
    spec = _spec(small_data, epochs=1)
    spec.model_kind, spec.model_config = "dual", {"embed_dim": 8, "hidden_dim": 8, "global_dim": 4}
    spec.split_method, spec.split_params = "homology", {"identity": 0.4}
    run_id = manager.start(spec, owner="max")
    status = _wait(manager, run_id, "max")
    assert status.state == "finished", status.error
    loaded = load_checkpoint(status.checkpoint_path)
    # feature standardisation comes from the training rows, so it is not the identity any more
    assert loaded.kind == "dual" and not np.allclose(loaded.model.feature_std.numpy(), 1.0)
    assert status.spec["split_method"] == "homology"
