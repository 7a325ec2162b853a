"""Tests for protlab.runs.queue: FIFO order, claiming once, cancelling, heartbeats, abandoned runs, waits."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from protlab.runs.queue import (
    HOST,
    STALE_SECONDS,
    QueueEntry,
    RunQueue,
    estimate_waits,
    is_abandoned,
    pid_alive,
)

IDS = [f"20260101-1200{i:02d}-0000000{i}" for i in range(8)]


def _fill(queue: RunQueue, owners: list[str]) -> None:
    for run_id, owner in zip(IDS, owners):
        queue.enqueue(run_id, owner, epochs=3)


def test_entries_come_out_first_in_first_out_across_owners(tmp_path) -> None:
    queue = RunQueue(tmp_path)
    owners = ["carol", "alice", "bob", "dave"]
    for run_id, owner in zip(reversed(IDS[:4]), owners):  # ids do not decide the order, submission does
        queue.enqueue(run_id, owner, epochs=3)
    entries = queue.entries()
    assert [e.run_id for e in entries] == list(reversed(IDS[:4]))
    assert [e.owner for e in entries] == owners and {e.epochs for e in entries} == {3}
    assert RunQueue(tmp_path).entries() == entries  # another process sees the same queue
    assert queue.active_owners() == dict(zip(owners, reversed(IDS[:4])))


def test_cancel_and_claim_move_a_run_out_of_the_queue(tmp_path) -> None:
    queue = RunQueue(tmp_path)
    _fill(queue, ["a", "b", "c"])
    assert queue.cancel(IDS[1]) and not queue.cancel(IDS[1])
    first = queue.entries()[0]
    assert queue.claim(first, {"host": HOST, "server_pid": 1}) and not queue.claim(first, {})
    assert [e.run_id for e in queue.entries()] == [IDS[2]]
    assert (queue.where(IDS[0]), queue.where(IDS[1]), queue.where(IDS[2])) == ("running", None, "queued")
    assert not queue.cancel(IDS[0])  # claimed: too late to cancel, the stop file does the rest
    [(run_id, info, age)] = queue.running()
    assert run_id == IDS[0] and info == {"owner": "a", "epochs": 3, "host": HOST, "server_pid": 1}
    queue.update(IDS[0], worker_pid=42)
    assert queue.running()[0][1]["worker_pid"] == 42
    assert queue.active_owners() == {"a": IDS[0], "c": IDS[2]}
    queue.release(IDS[0])
    assert queue.running() == [] and queue.where(IDS[0]) is None


def test_each_run_is_claimed_exactly_once_by_competing_servers(tmp_path) -> None:
    _fill(RunQueue(tmp_path), ["a", "b", "c", "d", "e", "f"])
    servers = [RunQueue(tmp_path) for _ in range(2)]  # two RunManagers on one root
    won: list[tuple[int, str]] = []
    barrier = threading.Barrier(6)

    def dispatcher(number: int) -> None:
        queue = servers[number % 2]
        barrier.wait()
        for entry in queue.entries():
            if queue.claim(entry, {"dispatcher": number}):
                won.append((number, entry.run_id))

    threads = [threading.Thread(target=dispatcher, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(run_id for _, run_id in won) == IDS[:6]  # every run once, none twice
    markers = {run_id: info["dispatcher"] for run_id, info, _ in servers[0].running()}
    assert markers == {run_id: number for number, run_id in won}


def test_cancel_racing_a_claim_has_exactly_one_winner(tmp_path) -> None:
    queue = RunQueue(tmp_path)
    _fill(queue, ["a"] * 8)
    outcomes = {run_id: [] for run_id in IDS}
    barrier = threading.Barrier(2)

    def claim_all() -> None:
        barrier.wait()
        for entry in RunQueue(tmp_path).entries():
            outcomes[entry.run_id].append(("claim", RunQueue(tmp_path).claim(entry, {})))

    def cancel_all() -> None:
        barrier.wait()
        for run_id in reversed(IDS):
            outcomes[run_id].append(("cancel", queue.cancel(run_id)))

    threads = [threading.Thread(target=claim_all), threading.Thread(target=cancel_all)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for run_id, results in outcomes.items():
        assert sum(ok for _, ok in results) == 1, (run_id, results)


def test_heartbeat_resets_the_age_of_a_claim(tmp_path) -> None:
    queue = RunQueue(tmp_path)
    _fill(queue, ["a"])
    queue.claim(queue.entries()[0], {})
    marker = queue.running_dir / IDS[0]
    old = time.time() - 500
    os.utime(marker, (old, old))
    assert queue.running()[0][2] == pytest.approx(500, abs=5)
    queue.heartbeat(IDS[0])
    assert queue.running()[0][2] < 5
    queue.heartbeat("20991231-000000-ffffffff")  # a run that ended meanwhile: nothing happens


def _ended_pid() -> int:
    """The id of a process that has ended and been collected."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_pid_alive() -> None:
    assert pid_alive(os.getpid()) and not pid_alive(_ended_pid())
    assert not pid_alive(None) and not pid_alive(0) and not pid_alive("12")
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while pid_alive(zombie.pid) and time.monotonic() < deadline:  # ended but not collected by its parent
        time.sleep(0.05)
    assert not pid_alive(zombie.pid)
    zombie.wait()


def test_is_abandoned() -> None:
    dead, me, other_server = _ended_pid(), os.getpid(), os.getppid()
    fresh, stale = 1.0, STALE_SECONDS + 1
    mine = {"host": HOST, "server_pid": me}
    assert not is_abandoned({**mine, "worker_host": HOST, "worker_pid": dead}, fresh, watched_here=True)
    assert is_abandoned({**mine, "worker_host": HOST, "worker_pid": dead}, fresh, watched_here=False)
    assert not is_abandoned({**mine, "worker_host": HOST, "worker_pid": me}, fresh, watched_here=False)
    # a live server in another process reports its own runs; after the stale time they count as gone anyway
    theirs = {"host": HOST, "server_pid": other_server, "worker_host": HOST, "worker_pid": dead}
    assert not is_abandoned(theirs, fresh, watched_here=False) and is_abandoned(
        theirs, stale, watched_here=False
    )
    # starting (no worker yet) or on another machine: judged by the heartbeat alone
    assert not is_abandoned({"host": HOST, "server_pid": dead}, fresh, watched_here=False)
    remote = {"host": "head", "server_pid": 1, "worker_host": "node-7", "worker_pid": 1}
    assert not is_abandoned(remote, fresh, watched_here=False) and is_abandoned(
        remote, stale, watched_here=False
    )


def _simulated_waits(epochs: list[int], remaining: list[int], workers: int, per_epoch: int) -> list[int]:
    """Reference: tick a clock one second at a time; a free worker takes the next queued run."""
    busy = sorted(remaining) + [0] * (workers - len(remaining))  # seconds left on each worker
    waits, queue, clock = [], list(epochs), 0
    while queue:
        for w in range(workers):
            if busy[w] == 0 and queue:
                waits.append(clock)
                busy[w] = per_epoch * queue.pop(0)
        busy = [max(0, b - 1) for b in busy]
        clock += 1
    return waits


@pytest.mark.parametrize("seed", range(5))
def test_wait_estimates_match_a_clock_simulation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    workers = int(rng.integers(1, 4))
    remaining = [int(r) for r in rng.integers(1, 60, size=int(rng.integers(0, workers + 1)))]
    epochs = [int(e) for e in rng.integers(1, 10, size=12)]
    entries = [QueueEntry(f"{i}-{i}", f"run{i}", "x", e) for i, e in enumerate(epochs)]
    waits = estimate_waits(entries, [float(r) for r in remaining], workers, seconds_per_epoch=7.0)
    assert [waits[e.run_id] for e in entries] == pytest.approx(
        _simulated_waits(epochs, remaining, workers, 7)
    )
    assert estimate_waits(entries, remaining, workers, seconds_per_epoch=None) == {}
    assert estimate_waits(entries, [], 0, seconds_per_epoch=7.0) == {}  # nothing trains: no estimate
