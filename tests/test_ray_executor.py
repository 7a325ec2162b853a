"""Tests for protlab.runs.ray_executor: runs sent to a Ray instance started by the test, through the store.

Ray comes from requirements-cluster.txt; these tests start a private local instance (2 CPUs, no dashboard).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import time

import pytest
from conftest import deepsol_sample

import protlab.runs.ray_executor as ray_executor
from protlab.errors import ConfigError
from protlab.models import load_checkpoint
from protlab.runs import ClassSettings, RunManager, RunSpec, read_record
from protlab.training import TrainConfig, compute_metrics

TINY = {"embed_dim": 4, "hidden_dim": 8, "num_layers": 1}


@pytest.fixture(scope="module")
def ray_manager(tmp_path_factory):
    """A RunManager whose runs go to a local Ray instance with 2 CPUs (one task per CPU)."""
    manager = RunManager(
        tmp_path_factory.mktemp("ray") / "runs",
        ClassSettings(executor="ray", ray_address="local", workers=2, threads_per_run=1),
    )
    yield manager
    manager.close(stop_runs=True)  # cancels what is left and shuts the private Ray instance down


@pytest.fixture(scope="module")
def data():
    return deepsol_sample(60, max_length=150, seed=5)


def _spec(data, **train) -> RunSpec:
    config = TrainConfig(**{"epochs": 2, "batch_size": 8, "scheduler": "none", "device": "cpu", **train})
    return RunSpec(name="ray run", data=data, model_kind="cnn", model_config=TINY, train_config=config)


def _training(manager: RunManager, run_id: str, owner: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not manager.status(run_id, owner).batch_losses:
        assert manager.status(run_id, owner).state in ("queued", "running")
        assert time.monotonic() < deadline, "the Ray task never started training"
        time.sleep(0.1)


def test_a_run_goes_through_ray_and_its_results_land_in_the_store(ray_manager, data) -> None:
    run_id = ray_manager.submit(_spec(data), "ray-alice")
    assert ray_manager.wait(run_id, timeout=600)
    status = ray_manager.status(run_id, "ray-alice")
    assert (status.state, status.error, [e["epoch"] for e in status.events]) == ("finished", None, [1, 2])
    assert status.test_metrics == pytest.approx(compute_metrics(status.test_labels, status.test_probs))
    assert load_checkpoint(status.checkpoint_path).kind == "cnn" and status.batch_losses
    assert read_record(ray_manager.root, run_id)["worker"]["pid"] != os.getpid()  # a Ray worker trained it
    assert ray_manager.queue_summary() == {"queued": 0, "running": 0, "workers": 2}


def test_a_stop_reaches_a_ray_task_through_the_stop_file(ray_manager, data) -> None:
    run_id = ray_manager.submit(_spec(data, epochs=500, batch_size=4), "ray-bob")
    _training(ray_manager, run_id, "ray-bob")
    ray_manager.stop(run_id, "ray-bob")
    assert ray_manager.wait(run_id, timeout=120)
    status = ray_manager.status(run_id, "ray-bob")
    assert (status.state, status.error) == ("stopped", None) and status.progress < 0.5
    assert status.checkpoint_path is not None


def test_a_ray_worker_killed_mid_run_fails_that_run_only(ray_manager, data) -> None:
    doomed = ray_manager.submit(_spec(data, epochs=500, batch_size=4), "ray-carol")
    _training(ray_manager, doomed, "ray-carol")
    os.kill(read_record(ray_manager.root, doomed)["worker"]["pid"], signal.SIGKILL)
    assert ray_manager.wait(doomed, timeout=120)
    failed = ray_manager.status(doomed, "ray-carol")
    assert failed.state == "failed"
    assert failed.error.startswith("The training process ended unexpectedly (the Ray worker process died")
    again = ray_manager.submit(_spec(data, epochs=1), "ray-carol")
    assert ray_manager.wait(again, timeout=600) and ray_manager.status(again, "ray-carol").state == "finished"


def test_choosing_ray_without_ray_installed_says_how_to_install_it(monkeypatch, tmp_path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        ray_executor.importlib.util, "find_spec", lambda name: None if name == "ray" else real(name)
    )
    with pytest.raises(ConfigError) as info:
        RunManager(tmp_path / "runs", ClassSettings(executor="ray"))
    assert str(info.value) == (
        "PROTLAB_EXECUTOR is 'ray' but Ray is not installed here; install it with "
        "`pip install -r requirements-cluster.txt`, or set PROTLAB_EXECUTOR=local."
    )
