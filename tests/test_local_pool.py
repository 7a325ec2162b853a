"""Tests for protlab.runs.local_pool: worker processes train runs one after another, die alone, retire."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from conftest import deepsol_sample

import protlab.runs.local_pool as local_pool
from protlab.runs import ClassSettings, RunSpec, read_record
from protlab.runs.executors import exit_message, make_executor
from protlab.runs.local_pool import LocalExecutor
from protlab.runs.queue import RunQueue
from protlab.runs.store import INTERRUPTED, new_run_id, queued_record, write_record, write_spec
from protlab.training import TrainConfig

TINY = {"embed_dim": 4, "hidden_dim": 4, "num_layers": 1}


@pytest.fixture(scope="module")
def spec() -> RunSpec:
    config = TrainConfig(epochs=1, batch_size=8, scheduler="none", device="cpu")
    return RunSpec(data=deepsol_sample(40, max_length=120, seed=2), model_config=TINY, train_config=config)


@pytest.fixture
def pool():
    """A LocalExecutor with 2 workers, its processes ended after the test."""
    made = []

    def make(**settings) -> LocalExecutor:
        executor = make_executor(ClassSettings(**{"workers": 2, **settings}))
        made.append(executor)
        return executor

    yield make
    for executor in made:
        executor.shutdown(stop_runs=True)
        executor.poll()


def _claimed(root: Path, spec: RunSpec) -> Path:
    """A run folder claimed from the queue, as the dispatcher hands it to an executor."""
    run_id = new_run_id()
    (root / run_id).mkdir(parents=True)
    write_spec(root / run_id, spec)
    write_record(root / run_id, queued_record(run_id, f"owner-{run_id[-8:]}", spec))
    queue = RunQueue(root)
    queue.enqueue(run_id, "o", 1)
    assert queue.claim(queue.entries()[-1], {})
    return root / run_id


def _ended(executor: LocalExecutor, count: int = 1, timeout: float = 240.0) -> list[tuple[str, str | None]]:
    ended, deadline = [], time.monotonic() + timeout
    while len(ended) < count:
        ended += executor.poll()
        assert time.monotonic() < deadline, f"only {len(ended)} of {count} runs ended"
        time.sleep(0.05)
    return ended


def test_one_worker_trains_runs_one_after_another(tmp_path, pool, spec) -> None:
    executor = pool()
    assert isinstance(executor, LocalExecutor) and executor.capacity() == 2
    first = _claimed(tmp_path, spec)
    executor.launch(first)
    assert executor.active() == [first.name]
    assert _ended(executor) == [(first.name, None)] and executor.active() == []
    second = _claimed(tmp_path, spec)
    executor.launch(second)  # the idle worker takes it: no second torch import
    assert _ended(executor) == [(second.name, None)]
    records = [read_record(tmp_path, f.name) for f in (first, second)]
    assert [r["state"] for r in records] == ["finished", "finished"]
    assert records[0]["worker"]["pid"] == records[1]["worker"]["pid"] != os.getpid()


def test_a_worker_retires_after_its_share_of_runs(tmp_path, pool, spec, monkeypatch) -> None:
    monkeypatch.setattr(local_pool, "RECYCLE_AFTER", 1)
    executor = pool(workers=1)
    pids = []
    for _ in range(2):
        folder = _claimed(tmp_path, spec)
        executor.launch(folder)
        assert _ended(executor) == [(folder.name, None)]
        pids.append(read_record(tmp_path, folder.name)["worker"]["pid"])
    assert pids[0] != pids[1]  # a fresh process for the second run


def test_a_killed_worker_loses_only_its_run(tmp_path, pool, spec) -> None:
    executor = pool()
    slow = RunSpec(data=spec.data, model_config=TINY, train_config=TrainConfig(epochs=500, batch_size=4))
    doomed, other = _claimed(tmp_path, slow), _claimed(tmp_path, spec)
    executor.launch(doomed)
    executor.launch(other)
    deadline = time.monotonic() + 240
    while not (doomed / "batches.csv").exists():
        assert time.monotonic() < deadline, "the worker never started training"
        time.sleep(0.05)
    os.kill(executor.pid(doomed.name), signal.SIGKILL)
    ended = dict(_ended(executor, count=2))
    assert ended == {doomed.name: exit_message(-9), other.name: None}
    again = _claimed(tmp_path, spec)
    executor.launch(again)  # a fresh worker replaces the dead one
    assert _ended(executor) == [(again.name, None)]


def test_a_crash_outside_a_run_reports_the_last_log_line(tmp_path, pool) -> None:
    folder = tmp_path / "20260101-000000-00000000"  # no run.json: the worker fails at once
    folder.mkdir()
    executor = pool()
    executor.launch(folder)
    [(run_id, message)] = _ended(executor)
    assert run_id == folder.name and executor.active() == []
    assert message.startswith("The training process ended unexpectedly (exit code 1): protlab.errors.")
    [log] = (tmp_path / "_logs").glob("worker-*.log")
    assert "There is no readable run" in message and log.stat().st_size > 0


def test_shutdown_with_stop_runs_interrupts_the_run_in_training(tmp_path, pool, spec) -> None:
    executor = pool()
    slow = RunSpec(data=spec.data, model_config=TINY, train_config=TrainConfig(epochs=500, batch_size=4))
    folder = _claimed(tmp_path, slow)
    executor.launch(folder)
    executor.shutdown(stop_runs=True)  # at once: the worker may still be importing torch
    ended = executor.poll()
    assert ended in ([(folder.name, INTERRUPTED)], [(folder.name, None)])  # None: it recorded it itself
    if ended == [(folder.name, None)]:
        assert read_record(tmp_path, folder.name)["state"] == "interrupted"
