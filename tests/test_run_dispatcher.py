"""Tests for protlab.runs.dispatcher: launching queued runs, collecting ended ones, retiring abandoned claims.

The dispatcher runs here on a scripted executor (nothing trains), and its thread is closed so that each test
drives tick() itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import protlab.runs.dispatcher as dispatcher_module
from protlab.data import LabelledData
from protlab.runs import ClassSettings, RunSpec, read_record
from protlab.runs.dispatcher import Dispatcher
from protlab.runs.executors import exit_message
from protlab.runs.queue import HOST, STALE_SECONDS, RunQueue
from protlab.runs.store import INTERRUPTED, new_run_id, queued_record, write_record, write_spec
from protlab.training import TrainConfig

DATA = LabelledData(["MKV" * 5, "ACDE" * 4], np.array([0, 1], dtype=np.int64), ["a", "b"])


class ScriptedExecutor:
    """Records launches; the test decides when each run ends and how."""

    def __init__(self, capacity: int) -> None:
        self.workers, self.launched, self.endings = capacity, [], []
        self.refuse: set[str] = set()  # run ids whose launch raises

    def capacity(self) -> int:
        return self.workers

    def launch(self, folder: Path) -> None:
        if folder.name in self.refuse:
            raise OSError("no more processes")
        self.launched.append(folder.name)

    def poll(self) -> list[tuple[str, str | None]]:
        ended, self.endings = self.endings, []
        for run_id, _ in ended:
            self.launched.remove(run_id)
        return ended

    def active(self) -> list[str]:
        return list(self.launched)

    def shutdown(self, stop_runs: bool) -> None:
        pass


@pytest.fixture
def scripted(monkeypatch):
    """A dispatcher on a scripted executor with `capacity` workers, its thread closed."""
    made = []

    def make(root: Path, capacity: int = 2) -> tuple[Dispatcher, ScriptedExecutor]:
        executor = ScriptedExecutor(capacity)
        monkeypatch.setattr(dispatcher_module, "make_executor", lambda settings: executor)
        dispatcher = Dispatcher(root, RunQueue(root), ClassSettings(workers=capacity))
        dispatcher.close()
        made.append(dispatcher)
        return dispatcher, executor

    yield make


def _submit(root: Path, owner: str, epochs: int = 2) -> str:
    """A queued run, as RunManager.submit leaves it."""
    run_id = new_run_id()
    spec = RunSpec(data=DATA, train_config=TrainConfig(epochs=epochs))
    (root / run_id).mkdir(parents=True)
    write_spec(root / run_id, spec)
    write_record(root / run_id, queued_record(run_id, owner, spec))
    RunQueue(root).enqueue(run_id, owner, epochs)
    return run_id


def _finish(root: Path, run_id: str, seconds: float) -> None:
    """Write what a worker writes when its run finishes."""
    record = read_record(root, run_id)
    record["state"] = "finished"
    record["timings"].update(ended=time.time(), seconds=seconds)
    write_record(root / run_id, record)


def test_queued_runs_start_in_order_as_workers_free_up(tmp_path, scripted) -> None:
    dispatcher, executor = scripted(tmp_path, capacity=2)
    runs = [_submit(tmp_path, f"owner{i}") for i in range(4)]
    dispatcher.tick()
    dispatcher.tick()  # nothing is launched twice
    assert executor.launched == runs[:2]
    for run_id in runs[:2]:
        record = read_record(tmp_path, run_id)
        assert record["state"] == "running" and record["timings"]["started"] is not None
    markers = {run_id: info for run_id, info, _ in RunQueue(tmp_path).running()}
    assert set(markers) == set(runs[:2])
    assert markers[runs[0]]["dispatcher"] == dispatcher.id and markers[runs[0]]["server_pid"] == os.getpid()
    assert dispatcher.seconds_per_epoch() is None

    _finish(tmp_path, runs[0], seconds=30.0)  # the worker recorded its outcome, then its process ended
    executor.endings.append((runs[0], None))
    dispatcher.tick()
    assert executor.launched == [runs[1], runs[2]]
    assert dispatcher.seconds_per_epoch() == pytest.approx(15.0)  # 30 s for 2 epochs
    assert runs[0] not in {run_id for run_id, _, _ in RunQueue(tmp_path).running()}


def test_a_process_that_ended_without_a_record_fails_the_run(tmp_path, scripted) -> None:
    dispatcher, executor = scripted(tmp_path, capacity=2)
    killed, crashed = _submit(tmp_path, "a"), _submit(tmp_path, "b")
    dispatcher.tick()
    executor.endings += [(killed, exit_message(-9)), (crashed, None)]
    dispatcher.tick()
    assert read_record(tmp_path, killed)["error"] == exit_message(-9)
    assert (read_record(tmp_path, crashed)["state"], read_record(tmp_path, crashed)["error"]) == (
        "failed",
        exit_message(0),
    )
    assert dispatcher.seconds_per_epoch() is None and RunQueue(tmp_path).running() == []


def test_a_launch_that_fails_ends_only_that_run(tmp_path, scripted) -> None:
    dispatcher, executor = scripted(tmp_path, capacity=2)
    bad, good = _submit(tmp_path, "a"), _submit(tmp_path, "b")
    executor.refuse.add(bad)
    dispatcher.tick()
    record = read_record(tmp_path, bad)
    assert (record["state"], record["error"]) == (
        "failed",
        "The training process could not be started: OSError: no more processes",
    )
    assert executor.launched == [good]


def _ended_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _claim(root: Path, owner: str, **info) -> str:
    """A run claimed by some server, with marker fields info."""
    run_id = _submit(root, owner)
    queue = RunQueue(root)
    [entry] = [e for e in queue.entries() if e.run_id == run_id]
    assert queue.claim(entry, info)
    record = read_record(root, run_id)
    write_record(root / run_id, {**record, "state": "running"})
    return run_id


def test_claims_whose_server_and_worker_are_gone_are_interrupted(tmp_path, scripted) -> None:
    dispatcher, executor = scripted(tmp_path, capacity=1)
    watcher = Dispatcher(tmp_path, RunQueue(tmp_path), ClassSettings(workers=1))  # another live manager here
    watcher._closed.set()  # stop its thread without unregistering it, so it still counts as watching
    watcher._wake.set()
    watcher._thread.join(timeout=10)
    dead = _ended_pid()
    gone = _claim(
        tmp_path, "a", host=HOST, server_pid=dead, dispatcher="old", worker_host=HOST, worker_pid=dead
    )
    remote = _claim(
        tmp_path, "b", host="head", server_pid=1, dispatcher="old2", worker_host="node", worker_pid=1
    )
    alive = _claim(
        tmp_path, "c", host=HOST, server_pid=dead, dispatcher="old3", worker_host=HOST, worker_pid=os.getpid()
    )
    watched = _claim(
        tmp_path,
        "d",
        host=HOST,
        server_pid=os.getpid(),
        dispatcher=watcher.id,
        worker_host=HOST,
        worker_pid=dead,
    )
    dispatcher.tick()
    assert (read_record(tmp_path, gone)["state"], read_record(tmp_path, gone)["error"]) == (
        "interrupted",
        INTERRUPTED,
    )
    assert [read_record(tmp_path, r)["state"] for r in (remote, alive, watched)] == ["running"] * 3
    old = time.time() - STALE_SECONDS - 5
    os.utime(tmp_path / "_running" / remote, (old, old))  # nobody touched it for too long
    dispatcher.tick()
    assert read_record(tmp_path, remote)["state"] == "interrupted"
    running = {run_id for run_id, _, _ in RunQueue(tmp_path).running()}
    assert running == {alive, watched} and executor.launched == []  # two claims alive: no worker is free
    json.loads((tmp_path / remote / "run.json").read_text())  # written whole


def test_an_executor_that_cannot_start_keeps_runs_queued(tmp_path, monkeypatch) -> None:
    def unreachable(settings):
        raise ConnectionError("cluster unreachable")

    monkeypatch.setattr(dispatcher_module, "make_executor", unreachable)
    run_id = _submit(tmp_path, "a")
    dispatcher = Dispatcher(tmp_path, RunQueue(tmp_path), ClassSettings(workers=1))
    dispatcher.close()
    dispatcher.tick()
    assert dispatcher.executor_error == "ConnectionError: cluster unreachable"
    assert read_record(tmp_path, run_id)["state"] == "queued" and RunQueue(tmp_path).where(run_id) == "queued"
