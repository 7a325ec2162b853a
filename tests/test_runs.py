"""Tests for protlab.runs.manager: runs train in worker processes, queue fairly, stop, fail alone, restart.

A RunManager whose dispatcher is closed (`closed=True` below) accepts, lists and cancels runs but never starts
one, like a server whose workers are all busy: the queue and identity tests use it, so nothing trains.
The spec, store, queue, worker and dispatcher are tested directly in their own test files.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import time

import pytest
from conftest import deepsol_sample

from protlab.data import LabelledData
from protlab.errors import ConfigError, RunError
from protlab.models import load_checkpoint
from protlab.runs import RUN_ID, ClassSettings, RunManager, RunSpec, read_record
from protlab.runs.store import INTERRUPTED
from protlab.training import TrainConfig, compute_metrics

TINY = {"embed_dim": 4, "hidden_dim": 8, "num_layers": 1}
OWNERS = ["alice-token", "bob-token", "carol-token", "dave-token"]


@pytest.fixture(scope="module")
def data() -> LabelledData:
    return deepsol_sample(60, max_length=150, seed=3)


@pytest.fixture
def managers(tmp_path):
    """Make RunManagers on this test's runs folder; afterwards their runs are ended and they are closed."""
    made: list[RunManager] = []

    def make(root=None, *, closed: bool = False, **settings) -> RunManager:
        manager = RunManager(root or tmp_path / "runs", ClassSettings(**settings))
        if closed:
            manager.close()
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close(stop_runs=True)


def _spec(data: LabelledData, **train) -> RunSpec:
    config = TrainConfig(**{"epochs": 2, "batch_size": 8, "scheduler": "none", "device": "cpu", **train})
    return RunSpec(
        name="test run",
        data=data,
        data_description="DeepSol sample",
        model_kind="cnn",
        model_config=TINY,
        train_config=config,
    )


def _ended(manager: RunManager, run_id: str, owner: str, timeout: float = 300.0):
    assert manager.wait(run_id, timeout), f"run {run_id} did not end within {timeout:.0f} s"
    return manager.status(run_id, owner)


def _training(manager: RunManager, run_id: str, owner: str, timeout: float = 300.0):
    """Wait until the run's worker has reported its first loss point."""
    deadline = time.monotonic() + timeout
    while True:
        status = manager.status(run_id, owner)
        if status.batch_losses:
            return status
        assert status.state in ("queued", "running"), (status.state, status.error)
        assert time.monotonic() < deadline, "the run never started training"
        time.sleep(0.1)


def test_a_run_trains_in_a_worker_process_and_its_results_are_read_back(managers, data) -> None:
    manager = managers(workers=1)
    owner = OWNERS[0]
    run_id = manager.submit(_spec(data), owner)
    assert RUN_ID.match(run_id)
    status = _ended(manager, run_id, owner)
    assert (status.state, status.error, status.progress) == ("finished", None, 1.0)
    assert read_record(manager.root, run_id)["worker"]["pid"] != os.getpid()  # trained outside this process
    assert [e["epoch"] for e in status.events] == [1, 2]
    steps = [p["step"] for p in status.batch_losses]
    assert steps == sorted(set(steps)) and status.batch_losses[-1]["epoch"] == pytest.approx(2.0)
    assert status.test_metrics == pytest.approx(compute_metrics(status.test_labels, status.test_probs))
    assert status.baseline["auc"] == 0.5 and load_checkpoint(status.checkpoint_path).kind == "cnn"
    assert (status.queue_position, status.queue_wait_seconds, status.shared) == (None, None, False)
    [row] = manager.list_runs(owner)
    assert (row["run_id"], row["state"], row["name"], row["checkpoint"]) == (
        run_id,
        "finished",
        "test run",
        status.checkpoint_path,
    )
    assert manager.queue_summary() == {"queued": 0, "running": 0, "workers": 1}
    manager.close()
    assert manager.queue_summary()["closed"] is True  # it starts nothing more: no page may say "starting"


def test_submit_refusals_leave_nothing_behind(managers, data) -> None:
    manager = managers(closed=True, max_queued=2, epoch_cap=5)
    first = manager.submit(_spec(data), OWNERS[0])
    with pytest.raises(RunError) as info:  # a double-clicked Start
        manager.submit(_spec(data), OWNERS[0])
    assert str(info.value) == "A training run is already going for this session; stop it first."
    with pytest.raises(RunError) as info:
        manager.submit(_spec(data, epochs=6), OWNERS[1])
    assert str(info.value) == "epochs must be at most 5 on this server (the class limit); got 6."
    with pytest.raises(ConfigError, match="lr must be"):
        manager.submit(_spec(data, lr=0), OWNERS[1])
    for owner in ("", "../etc", "x" * 65, None):
        with pytest.raises(RunError, match="owner must be a session token"):
            manager.submit(_spec(data), owner)
    manager.submit(_spec(data), OWNERS[1])
    with pytest.raises(RunError) as info:
        manager.submit(_spec(data), OWNERS[2])
    assert str(info.value) == (
        "The training queue is full (2 runs are waiting; the limit is 2). Try again when some have started."
    )
    assert [r["run_id"] for r in manager.list_runs(OWNERS[0])] == [first] and manager.list_runs(
        OWNERS[2]
    ) == []
    assert len([p for p in manager.root.iterdir() if RUN_ID.match(p.name)]) == 2


def test_the_queue_is_first_come_first_served_across_owners(managers, data) -> None:
    waiting = managers(closed=True, workers=1)
    run_ids = [waiting.submit(_spec(data, epochs=1, seed=i), owner) for i, owner in enumerate(OWNERS)]
    assert [waiting.status(r, o).queue_position for r, o in zip(run_ids, OWNERS)] == [1, 2, 3, 4]
    assert waiting.status(run_ids[0], OWNERS[0]).queue_wait_seconds is None  # nothing has finished yet
    waiting.stop(run_ids[1], OWNERS[1])  # a queued run is cancelled at once
    cancelled = waiting.status(run_ids[1], OWNERS[1])
    assert (cancelled.state, cancelled.queue_position, cancelled.error) == ("cancelled", None, None)
    assert [waiting.status(r, o).queue_position for r, o in zip(run_ids[2:], OWNERS[2:])] == [2, 3]
    again = waiting.rerun(run_ids[1], OWNERS[1])  # back in the queue, at its end
    assert waiting.status(again, OWNERS[1]).queue_position == 4
    assert [r["run_id"] for r in waiting.list_runs(OWNERS[1])] == [again, run_ids[1]]  # newest first
    order = [run_ids[0], run_ids[2], run_ids[3], again]
    owners = [OWNERS[0], OWNERS[2], OWNERS[3], OWNERS[1]]

    serving = managers(workers=1)  # the server comes back: the queue drains in order, one run at a time
    statuses = [_ended(serving, r, o) for r, o in zip(order, owners)]
    assert [s.state for s in statuses] == ["finished"] * 4
    starts = [s.timings["started"] for s in statuses]
    ends = [s.timings["ended"] for s in statuses]
    assert starts == sorted(starts) and all(end <= start for end, start in zip(ends, starts[1:]))

    per_epoch = statistics.median(s.timings["seconds"] / s.spec["train_config"]["epochs"] for s in statuses)
    serving.close()
    later = managers(closed=True, workers=1)  # estimates come from the runs finished on this root
    first, second = later.submit(_spec(data, epochs=3), OWNERS[0]), later.submit(_spec(data), OWNERS[1])
    assert later.status(first, OWNERS[0]).queue_wait_seconds == 0.0  # the worker is free
    assert later.status(second, OWNERS[1]).queue_wait_seconds == pytest.approx(3 * per_epoch)
    assert later.queue_summary() == {"queued": 2, "running": 0, "workers": 1, "closed": True}


def test_stop_reaches_a_running_worker_through_the_store(managers, data) -> None:
    manager = managers(workers=1)
    owner = OWNERS[0]
    run_id = manager.submit(_spec(data, epochs=500, batch_size=4), owner)
    running = _training(manager, run_id, owner)
    assert running.state == "running" and running.queue_position is None
    manager.stop(run_id, owner)
    status = _ended(manager, run_id, owner, timeout=120)
    assert (status.state, status.error) == ("stopped", None) and status.progress < 0.5
    assert load_checkpoint(status.checkpoint_path).kind == "cnn"  # what it learned is kept
    manager.stop(run_id, owner)  # stopping an ended run changes nothing
    assert manager.status(run_id, owner).state == "stopped"


def test_a_worker_killed_with_sigkill_fails_alone(managers, data) -> None:
    manager = managers(workers=2)
    doomed = manager.submit(_spec(data, epochs=500, batch_size=4), OWNERS[0])
    survivor = manager.submit(_spec(data, epochs=2), OWNERS[1])
    _training(manager, doomed, OWNERS[0])
    os.kill(
        read_record(manager.root, doomed)["worker"]["pid"], signal.SIGKILL
    )  # as the out-of-memory killer does
    failed = _ended(manager, doomed, OWNERS[0], timeout=60)
    assert failed.state == "failed"
    assert failed.error == (
        "The training process ended unexpectedly (killed by signal 9 — often out of memory). "
        "Try a smaller model, a smaller batch size or shorter sequences, then run it again."
    )
    assert _ended(manager, survivor, OWNERS[1]).state == "finished"
    retry = manager.submit(_spec(data, epochs=1), OWNERS[0])  # the server goes on
    assert _ended(manager, retry, OWNERS[0]).state == "finished"


def test_a_restart_keeps_queued_runs_and_interrupts_running_ones(managers, data) -> None:
    first = managers(workers=1)
    cut_off = first.submit(_spec(data, epochs=500, batch_size=4), OWNERS[0])
    waiting = first.submit(_spec(data, epochs=1), OWNERS[1])
    _training(first, cut_off, OWNERS[0])
    assert first.status(waiting, OWNERS[1]).queue_position == 1
    first.close(stop_runs=True)  # the server shuts down: its worker ends, the queue stays on disk

    second = managers(workers=1)
    interrupted = second.status(cut_off, OWNERS[0])
    assert (interrupted.state, interrupted.error) == ("interrupted", INTERRUPTED)
    assert _ended(second, waiting, OWNERS[1]).state == "finished"  # the queued run started by itself
    again = second.rerun(cut_off, OWNERS[0])
    assert again != cut_off and second.status(again, OWNERS[0]).spec == interrupted.spec
    _training(second, again, OWNERS[0])
    second.stop(again, OWNERS[0])
    assert _ended(second, again, OWNERS[0]).state == "stopped"


def test_a_shutdown_interrupts_a_run_even_while_its_worker_starts(managers, data) -> None:
    manager = managers(workers=1)
    run_id = manager.submit(_spec(data, epochs=500), OWNERS[0])
    deadline = time.monotonic() + 60
    while manager.status(run_id, OWNERS[0]).state != "running":  # claimed; its worker is importing torch
        assert time.monotonic() < deadline, "the run was never started"
        time.sleep(0.02)
    manager.close(stop_runs=True)
    status = manager.status(run_id, OWNERS[0])
    assert (status.state, status.error) == ("interrupted", INTERRUPTED)


def test_a_run_left_active_by_a_vanished_server_reads_as_interrupted(managers, data) -> None:
    manager = managers(closed=True)
    run_id = manager.submit(_spec(data), OWNERS[0])
    [entry] = (manager.root / "_queue").iterdir()
    entry.unlink()  # gone from the queue ...
    record = read_record(manager.root, run_id)
    (manager.root / run_id / "run.json").write_text(
        json.dumps({**record, "state": "running"})
    )  # ... not ended
    assert manager.status(run_id, OWNERS[0]).state == "interrupted"
    assert read_record(manager.root, run_id)["error"] == INTERRUPTED  # recorded once, for every reader
    assert manager.wait(run_id, timeout=0)


def test_every_owner_sees_only_their_own_runs(managers, data) -> None:
    manager = managers(closed=True)
    mine = manager.submit(_spec(data), OWNERS[0])
    other = OWNERS[1]
    for call in (
        lambda: manager.status(mine, other),
        lambda: manager.stop(mine, other),
        lambda: manager.rerun(mine, other),
        lambda: manager.delete_run(mine, other),
        lambda: manager.set_sharing(mine, other, True, "stolen"),
    ):
        with pytest.raises(RunError) as info:
            call()
        assert str(info.value) == f"There is no run {mine!r} in this session."
    assert manager.list_runs(other) == [] and manager.status(mine, OWNERS[0]).state == "queued"
    for bad in ("../../secret", "20260101-000000-deadbeef", 7):
        with pytest.raises(RunError):
            manager.status(bad, OWNERS[0])
    with pytest.raises(RunError, match="still going"):
        manager.delete_run(mine, OWNERS[0])
    manager.stop(mine, OWNERS[0])
    manager.delete_run(manager.list_runs(OWNERS[0])[0], OWNERS[0])  # a list_runs row works as the id
    assert manager.list_runs(OWNERS[0]) == [] and not (manager.root / mine).exists()
    assert manager.wait(mine, timeout=0)


def test_sharing_is_opt_in_and_never_shows_owners(managers, data) -> None:
    manager = managers(closed=True)
    owner = OWNERS[0]
    run_id = manager.submit(_spec(data), owner)
    assert manager.class_runs() == []
    with pytest.raises(RunError, match="not shared"):
        manager.run_history(run_id)
    manager.set_sharing(run_id, owner, True, "  Team \t Rocket ")
    [row] = manager.class_runs()
    assert (row["run_id"], row["display_name"], row["state"], row["spec"]["name"]) == (
        run_id,
        "Team Rocket",
        "queued",
        "test run",
    )
    assert owner not in json.dumps(row) and "owner" not in row
    assert manager.run_history(run_id) == []
    status = manager.status(run_id, owner)
    assert (status.shared, status.display_name) == (True, "Team Rocket")
    assert manager.list_runs(owner)[0]["shared"] is True
    manager.set_sharing(run_id, owner, True)
    assert manager.class_runs()[0]["display_name"] == "Anonymous"
    for name, message in (
        ("x" * 41, "display_name must be at most 40 characters; got 41."),
        ("bad\u200bname", "display_name may only contain visible characters"),
        (5, "display_name must be text; got 5."),
    ):
        with pytest.raises(RunError, match=None) as info:
            manager.set_sharing(run_id, owner, True, name)
        assert message in str(info.value)
    manager.set_sharing(run_id, owner, False)
    assert manager.class_runs() == [] and manager.status(run_id, owner).shared is False


def test_two_managers_on_one_root_run_each_run_once(managers, data, tmp_path) -> None:
    root = tmp_path / "shared-runs"
    servers = [managers(root, workers=2, executor="inprocess") for _ in range(2)]
    run_ids = [servers[i % 2].submit(_spec(data, epochs=2, seed=i), owner) for i, owner in enumerate(OWNERS)]
    for run_id, owner in zip(run_ids, OWNERS):
        status = _ended(servers[0], run_id, owner)
        assert status.state == "finished", status.error
        assert [e["epoch"] for e in status.events] == [1, 2]  # a second launch would have trained it again
        steps = [p["step"] for p in status.batch_losses]
        assert steps == sorted(set(steps))  # ... and appended a second set of loss points
