"""The dispatcher: a small server thread that starts queued runs on free workers and records ended ones.

Every TICK_SECONDS (at once after a submit) it
1. collects the runs whose process ended; one that ended without recording its outcome (killed, crashed) is
   marked failed with a readable message;
2. touches the claim markers of its live runs (the heartbeat other servers judge them by);
3. marks interrupted the claimed runs nobody is running any more (their server and worker are gone);
4. claims the oldest queued runs while fewer runs than workers are claimed, and launches them.
It never trains and never blocks on a run, so the web server's pages stay fast.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import threading
import time
import weakref
from collections import deque
from pathlib import Path

from protlab.errors import RunError
from protlab.runs.executors import Executor, exit_message, make_executor
from protlab.runs.queue import HOST, RunQueue, is_abandoned
from protlab.runs.settings import ClassSettings
from protlab.runs.store import ACTIVE, INTERRUPTED, newest_records, read_record, write_record

__all__ = ["Dispatcher", "finish_run"]

TICK_SECONDS = 0.25  # how often queued runs are started and ended ones collected
RECENT_RUNS = 20  # finished runs the wait estimate learns from
_LIVE: weakref.WeakValueDictionary[str, Dispatcher] = weakref.WeakValueDictionary()  # live in this process


def finish_run(root: Path, run_id: str, state: str, error: str | None, queue: RunQueue) -> None:
    """Record that a run ended (when its worker could not), then forget its claim."""
    try:
        record = read_record(root, run_id)
    except RunError:
        record = None
    if record is not None and record.get("state") in ACTIVE:
        now = time.time()
        timings = record.setdefault("timings", {})
        timings["ended"] = now
        timings["seconds"] = now - timings["started"] if timings.get("started") else None
        record.update(state=state, error=error, eta_seconds=0.0, updated=now)
        write_record(root / run_id, record)
    queue.release(run_id)


class Dispatcher:
    """Starts queued runs on an executor and watches them; one per RunManager."""

    def __init__(self, root: Path, queue: RunQueue, settings: ClassSettings) -> None:
        self.id = secrets.token_hex(8)  # written into claim markers: 'this dispatcher watches that run'
        self.root, self.queue, self.settings = root, queue, settings
        self.executor: Executor | None = None  # made on the first tick (Ray connects there, not in a page)
        self.executor_error: str | None = None  # why the executor could not be made (shown by queue_summary)
        self.recent = deque(self._recent_from_disk(), maxlen=RECENT_RUNS)  # seconds per requested epoch
        self._wake, self._closed = threading.Event(), threading.Event()
        _LIVE[self.id] = self
        self._thread = threading.Thread(
            target=_loop,
            args=(weakref.ref(self), self._wake, self._closed),
            daemon=True,
            name=f"protlab-dispatcher-{self.id}",
        )
        self._thread.start()

    def wake(self) -> None:
        """Run a tick now (a run was submitted)."""
        self._wake.set()

    @property
    def closed(self) -> bool:
        """True once close() was called: no queued run will be started by this dispatcher."""
        return self._closed.is_set()

    def capacity(self) -> int:
        """Runs trained at once."""
        return self.executor.capacity() if self.executor is not None else self.settings.resolved_workers

    def seconds_per_epoch(self) -> float | None:
        """Median wall seconds per requested epoch of recent finished runs (None before any)."""
        return float(statistics.median(self.recent)) if self.recent else None

    def close(self, stop_runs: bool = False) -> None:
        """Stop dispatching; with stop_runs, end the runs launched here (recorded as interrupted)."""
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=30)
        _LIVE.pop(self.id, None)
        if self.executor is not None:
            self.executor.shutdown(stop_runs)
            for run_id, failure in self.executor.poll():
                self._ended(run_id, failure)

    # ------------------------------------------------------------------ one tick
    def tick(self) -> None:
        """Collect ended runs, heartbeat live ones, retire abandoned ones, start queued ones."""
        executor = self._executor()
        if executor is None:
            return
        for run_id, failure in executor.poll():
            self._ended(run_id, failure)
        mine = set(executor.active())
        for run_id in mine:
            self.queue.heartbeat(run_id)
        claimed = self.queue.running()
        for run_id, info, age in claimed:
            watcher = info.get("dispatcher")
            watched = watcher in _LIVE and watcher != self.id  # another RunManager of this process watches it
            if run_id not in mine and is_abandoned(info, age, watched_here=watched):
                finish_run(self.root, run_id, "interrupted", INTERRUPTED, self.queue)
        free = executor.capacity() - len(self.queue.running())
        for entry in self.queue.entries()[: max(0, free)]:
            info = {"host": HOST, "server_pid": os.getpid(), "dispatcher": self.id, "claimed": time.time()}
            if self.queue.claim(entry, info):
                self._start(executor, entry.run_id)

    def _executor(self) -> Executor | None:
        """The executor, made on first use; None (retried later) while it cannot be made."""
        if self.executor is None:
            try:
                self.executor = make_executor(self.settings)
                self.executor_error = None
            except Exception as err:  # noqa: BLE001 - e.g. the Ray cluster is unreachable: keep runs queued
                self.executor_error = f"{type(err).__name__}: {err}"
        return self.executor

    def _start(self, executor: Executor, run_id: str) -> None:
        """Mark a claimed run as started and launch it (a launch that fails ends the run as failed)."""
        folder = self.root / run_id
        try:
            record = read_record(self.root, run_id)
            if record.get("state") not in ACTIVE:
                self.queue.release(run_id)
                return
            record["state"] = "running"
            record.setdefault("timings", {})["started"] = time.time()
            record["updated"] = time.time()
            write_record(folder, record)
            executor.launch(folder)
        except Exception as err:  # noqa: BLE001 - one run that cannot start must not stop the others
            finish_run(
                self.root,
                run_id,
                "failed",
                f"The training process could not be started: {type(err).__name__}: {err}",
                self.queue,
            )

    def _ended(self, run_id: str, failure: str | None) -> None:
        """A launched run's process ended: record a crash, learn its speed, forget its claim."""
        try:
            record = read_record(self.root, run_id)
        except RunError:
            self.queue.release(run_id)
            return
        if record.get("state") in ACTIVE:
            if failure == INTERRUPTED:  # this server ended it while shutting down
                finish_run(self.root, run_id, "interrupted", INTERRUPTED, self.queue)
            else:
                finish_run(self.root, run_id, "failed", failure or exit_message(0), self.queue)
            return
        self.queue.release(run_id)
        per_epoch = _seconds_per_epoch(record)
        if per_epoch is not None:
            self.recent.append(per_epoch)

    def _recent_from_disk(self) -> list[float]:
        """Seconds per epoch of the newest finished runs in the root (so estimates survive a restart)."""
        newest = (_seconds_per_epoch(record) for _, record in newest_records(self.root, 3 * RECENT_RUNS))
        found = [per_epoch for per_epoch in newest if per_epoch is not None]
        return list(reversed(found[:RECENT_RUNS]))


def _seconds_per_epoch(record: dict) -> float | None:
    """Wall seconds of a finished run per epoch it asked for (start-up and early stopping included)."""
    seconds = (record.get("timings") or {}).get("seconds")
    epochs = ((record.get("spec") or {}).get("train_config") or {}).get("epochs")
    if record.get("state") != "finished" or not seconds or not epochs:
        return None
    return float(seconds) / int(epochs)


def _loop(ref: weakref.ref, wake: threading.Event, closed: threading.Event) -> None:
    """The dispatcher thread: tick until closed or until its RunManager is gone."""
    reported = False
    while not closed.is_set():
        dispatcher = ref()
        if dispatcher is None or not dispatcher.root.exists():
            return
        try:
            dispatcher.tick()
            reported = False
        except Exception as err:  # noqa: BLE001 - a bad tick (a disk hiccup) must not end dispatching
            if not reported:
                print(f"protlab dispatcher: {type(err).__name__}: {err}", file=sys.stderr)
                reported = True
        del dispatcher
        wake.wait(TICK_SECONDS)
        wake.clear()
