"""The run system's front door for the web server: submit, poll, stop, share and list training runs.

The server never trains. submit() writes the run into the store (store.py) and the queue (queue.py); a
dispatcher thread (dispatcher.py) starts queued runs, first come first served across the class, in worker
processes (or Ray tasks) as workers free up; the workers write progress and results back into the run folder,
which status() reads. So pages stay fast while runs train, a crashed run ends as 'failed' without touching the
others, and queued runs survive a server restart.

Decisions:
- Run ids are generated (UTC time + random hex), never derived from user text.
- One queued-or-running run per owner (a double-clicked Start submits one run); at most max_queued waiting.
- Every owner-scoped call checks the owner: another owner's run is 'not in this session'. Runs are shown to
  the class (class_runs, run_history) only when their owner shares them, under a display name, never with
  owners.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from protlab.errors import RunError
from protlab.runs.dispatcher import Dispatcher, finish_run
from protlab.runs.index import RunIndex
from protlab.runs.queue import RunQueue, estimate_waits
from protlab.runs.settings import ClassSettings
from protlab.runs.spec import RunSpec, RunStatus
from protlab.runs.store import (
    ACTIVE,
    INTERRUPTED,
    OWNER,
    StopFile,
    home,
    new_run_id,
    queued_record,
    read_batches,
    read_history,
    read_record,
    read_spec,
    request_stop,
    run_folder_of,
    write_record,
    write_spec,
)

__all__ = ["RunManager", "get_manager"]

DISPLAY_NAME_CHARS = 40  # longest name a shared run is shown under
WAIT_POLL_SECONDS = 0.1  # how often wait() looks at run.json


class RunManager:
    """Submits, tracks, stops, shares and lists the training runs under <root>/<run_id>/."""

    def __init__(self, root: Path | str | None = None, settings: ClassSettings | None = None) -> None:
        self.settings = settings if settings is not None else ClassSettings.from_env()
        self.root = Path(root) if root is not None else home() / "runs"
        self.root.mkdir(parents=True, exist_ok=True)
        if self.settings.executor == "ray":
            from protlab.runs.ray_executor import check_ray_installed

            check_ray_installed()
        self.queue, self.index = RunQueue(self.root), RunIndex(self.root)
        self._lock = threading.Lock()  # submit's check-then-enqueue, within this process
        self._ended_cache: dict[str, tuple[int, list, object, object]] = {}  # run id -> (mtime, events, y, p)
        self._dispatcher = Dispatcher(self.root, self.queue, self.settings)

    # ------------------------------------------------------------------ submitting and stopping
    def submit(self, spec: RunSpec, owner: str) -> str:
        """Queue a run of spec for owner; returns its id. It starts by itself when a worker is free."""
        _check_owner(owner)
        spec.validate()
        cap, epochs = self.settings.epoch_cap, spec.train_config.epochs
        if cap is not None and epochs > cap:
            raise RunError(f"epochs must be at most {cap} on this server (the class limit); got {epochs}.")
        run_id = new_run_id()
        folder = self.root / run_id
        folder.mkdir(parents=True)
        try:
            write_spec(folder, spec)
            write_record(folder, queued_record(run_id, owner, spec))
            with self._submit_lock():
                if owner in self.queue.active_owners():
                    raise RunError("A training run is already going for this session; stop it first.")
                waiting = len(self.queue.entries())
                if waiting >= self.settings.max_queued:
                    raise RunError(
                        f"The training queue is full ({waiting} runs are waiting; the limit is "
                        f"{self.settings.max_queued}). Try again when some have started."
                    )
                self.queue.enqueue(run_id, owner, epochs)
                self.index.add(owner, run_id)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._dispatcher.wake()
        return run_id

    def stop(self, run_id: str | dict, owner: str) -> None:
        """Cancel a queued run at once, or ask a running one to stop (within a batch, best weights kept)."""
        run_id = _run_id(run_id)
        record = self._own(run_id, owner)
        if record["state"] not in ACTIVE:
            return
        folder = self.root / run_id
        request_stop(folder)  # a run claimed a moment ago sees this before it trains and ends as cancelled
        if record["state"] == "queued" and self.queue.cancel(run_id):
            finish_run(self.root, run_id, "cancelled", None, self.queue)

    def rerun(self, run_id: str | dict, owner: str) -> str:
        """Submit an ended run's settings and data again; returns the new run's id."""
        run_id = _run_id(run_id)
        if self._own(run_id, owner)["state"] in ACTIVE:
            raise RunError("This run is still going; stop it first, or wait for it to end.")
        return self.submit(read_spec(self.root / run_id), owner)

    def delete_run(self, run_id: str | dict, owner: str) -> None:
        """Delete one of owner's runs that has ended."""
        run_id = _run_id(run_id)
        if self._own(run_id, owner)["state"] in ACTIVE:
            raise RunError("This run is still going; stop it first, then delete it.")
        self.index.remove(owner, run_id)
        self._ended_cache.pop(run_id, None)
        shutil.rmtree(self.root / run_id, ignore_errors=True)

    # ------------------------------------------------------------------ reading
    def status(self, run_id: str | dict, owner: str) -> RunStatus:
        """A snapshot of one of owner's runs (a list_runs row works as the id)."""
        run_id = _run_id(run_id)
        record = self._own(run_id, owner)
        folder, state = self.root / run_id, record["state"]
        events, labels, probs = (
            self._ended_parts(run_id, record) if state not in ACTIVE else (read_history(folder), None, None)
        )
        position = wait = None
        if state == "queued":
            position, wait = self._queue_place(run_id)
        eta = record.get("eta_seconds")
        if eta is not None and state == "running" and record.get("updated"):
            eta = max(0.0, eta - (time.time() - record["updated"]))
        display_name = self.index.display_name(run_id)
        progress = float(record.get("progress") or 0.0)
        return RunStatus(
            run_id,
            record["spec"]["name"],
            state,
            events,
            progress,
            eta,
            record.get("error"),
            record.get("test_metrics"),
            record.get("baseline"),
            record.get("checkpoint"),
            labels,
            probs,
            record["spec"],
            record.get("timings") or {},
            queue_position=position,
            queue_wait_seconds=wait,
            batch_losses=read_batches(folder),
            shared=display_name is not None,
            display_name=display_name or "",
            data_summary=record.get("data_summary"),
        )

    def list_runs(self, owner: str) -> list[dict]:
        """owner's runs, newest first (any state)."""
        _check_owner(owner)
        rows = []
        for run_id in self.index.runs_of(owner):
            try:
                record = self._effective(read_record(self.root, run_id))
            except RunError:
                continue
            if record.get("owner") != owner:
                continue
            display_name = self.index.display_name(run_id)
            rows.append(
                {
                    "run_id": run_id,
                    "name": record["spec"]["name"],
                    "state": record["state"],
                    "created": record["timings"].get("created"),
                    "spec": record["spec"],
                    "test_metrics": record.get("test_metrics"),
                    "checkpoint": record.get("checkpoint"),
                    "progress": record.get("progress"),
                    "error": record.get("error"),
                    "timings": record["timings"],
                    "shared": display_name is not None,
                    "display_name": display_name or "",
                }
            )
        return _newest_first(rows)

    def wait(self, run_id: str | dict, timeout: float | None = None) -> bool:
        """Block until the run has ended and freed its worker (CLI, tests); False on timeout."""
        run_id = _run_id(run_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                ended = self._effective(read_record(self.root, run_id))["state"] not in ACTIVE
            except RunError:
                return True  # deleted
            if ended and self.queue.where(run_id) is None:  # its worker has also let go of it
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(WAIT_POLL_SECONDS)

    def queue_summary(self) -> dict:
        """{'queued': runs waiting, 'running': runs claimed by a worker, 'workers': runs trained at once}."""
        summary = {
            "queued": len(self.queue.entries()),
            "running": len(self.queue.running()),
            "workers": self._dispatcher.capacity(),
        }
        if self._dispatcher.executor_error:
            summary["error"] = self._dispatcher.executor_error
        return summary

    # ------------------------------------------------------------------ sharing with the class
    def set_sharing(self, run_id: str | dict, owner: str, shared: bool, display_name: str = "") -> None:
        """Show (or stop showing) one of owner's runs to the class under display_name (never its owner)."""
        run_id = _run_id(run_id)
        self._own(run_id, owner)
        if not isinstance(shared, bool):
            raise RunError(f"shared must be true or false; got {shared!r}.")
        if shared:
            self.index.share(run_id, _display_name(display_name))
        else:
            self.index.unshare(run_id)

    def class_runs(self) -> list[dict]:
        """Every shared run of the class, newest first: no owners, only what the owners chose to show."""
        rows = []
        for run_id in self.index.shared_ids():
            display_name = self.index.display_name(run_id)
            try:
                record = self._effective(read_record(self.root, run_id))
            except RunError:
                continue
            if display_name is None:
                continue
            rows.append(
                {
                    "run_id": run_id,
                    "display_name": display_name,
                    "state": record["state"],
                    "spec": record["spec"],
                    "test_metrics": record.get("test_metrics"),
                    "progress": record.get("progress"),
                    "created": record["timings"].get("created"),
                }
            )
        return _newest_first(rows)

    def run_history(self, run_id: str | dict) -> list[dict]:
        """Epoch rows of a shared run (for anyone in the class to compare)."""
        run_id = _run_id(run_id)
        folder = run_folder_of(self.root, run_id)
        if self.index.display_name(run_id) is None:
            raise RunError(f"Run {run_id} is not shared by its owner, so its curves cannot be shown.")
        return read_history(folder)

    # ------------------------------------------------------------------ lifecycle
    def close(self, stop_runs: bool = False) -> None:
        """Stop dispatching (tests, shutdown); with stop_runs, end the runs this manager launched."""
        self._dispatcher.close(stop_runs)

    # ------------------------------------------------------------------ helpers
    def _own(self, run_id: object, owner: str) -> dict:
        """The effective record of owner's run; RunError when it is not theirs."""
        _check_owner(owner)
        record = self._effective(read_record(self.root, run_id))
        if record.get("owner") != owner:
            raise RunError(f"There is no run {run_id!r} in this session.")
        return record

    def _effective(self, record: dict) -> dict:
        """The record, with a run that says active but is neither queued nor claimed recorded as ended."""
        run_id = record["run_id"]
        if record.get("state") not in ACTIVE or self.queue.where(run_id) is not None:
            return record
        record = read_record(self.root, run_id)  # it may have ended a moment ago
        if record.get("state") not in ACTIVE or self.queue.where(run_id) is not None:
            return record
        cancelled = record["state"] == "queued" and StopFile(self.root / run_id).is_set()
        finish_run(
            self.root,
            run_id,
            "cancelled" if cancelled else "interrupted",
            None if cancelled else INTERRUPTED,
            self.queue,
        )
        return read_record(self.root, run_id)

    def _ended_parts(self, run_id: str, record: dict) -> tuple[list, np.ndarray | None, np.ndarray | None]:
        """Epoch rows and test predictions of an ended run (cached: they no longer change)."""
        folder = self.root / run_id
        try:
            stamp = (folder / "run.json").stat().st_mtime_ns
        except FileNotFoundError:
            stamp = 0
        cached = self._ended_cache.get(run_id)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2], cached[3]
        labels = probs = None
        predictions = folder / "test_predictions.csv"
        if predictions.exists():
            import pandas as pd

            table = pd.read_csv(predictions)
            if {"label", "p_soluble"} <= set(table.columns):  # per-residue runs keep other columns
                labels, probs = table["label"].to_numpy(np.int64), table["p_soluble"].to_numpy(np.float64)
        events = read_history(folder)
        if len(self._ended_cache) > 512:
            self._ended_cache.clear()
        self._ended_cache[run_id] = (stamp, events, labels, probs)
        return events, labels, probs

    def _queue_place(self, run_id: str) -> tuple[int | None, float | None]:
        """(1-based place in the queue, estimated seconds until it starts)."""
        entries = self.queue.entries()
        ids = [e.run_id for e in entries]
        if run_id not in ids:
            return None, None
        position = ids.index(run_id) + 1
        per_epoch = self._dispatcher.seconds_per_epoch()
        remaining = []
        now = time.time()
        for claimed_id, info, _ in self.queue.running():
            try:
                record = read_record(self.root, claimed_id)
            except RunError:
                continue
            eta, updated = record.get("eta_seconds"), record.get("updated") or now
            if eta is not None:
                remaining.append(max(0.0, eta - (now - updated)))
            elif per_epoch is not None:
                started = (record.get("timings") or {}).get("started") or now
                remaining.append(max(0.0, per_epoch * int(info.get("epochs", 1)) - (now - started)))
        waits = estimate_waits(entries[:position], remaining, self._dispatcher.capacity(), per_epoch)
        return position, waits.get(run_id)

    @contextlib.contextmanager
    def _submit_lock(self) -> Iterator[None]:
        """Serialise submit's check-then-enqueue in this process and, where fcntl exists, across processes."""
        with self._lock:
            try:
                import fcntl
            except ImportError:  # Windows: one server process per root
                yield
                return
            with open(self.root / ".submit.lock", "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)


def _newest_first(rows: list[dict]) -> list[dict]:
    """Rows sorted by submission time, newest first (run ids only resolve whole seconds)."""
    return sorted(rows, key=lambda row: (row.get("created") or 0.0, row["run_id"]), reverse=True)


def _run_id(run: object) -> object:
    """Accept a run id or a row from list_runs (its 'run_id')."""
    return run.get("run_id") if isinstance(run, dict) else run


def _check_owner(owner: object) -> None:
    """Owners are opaque tokens of 1-64 letters, digits, '_' or '-' (safe in file names)."""
    if not isinstance(owner, str) or not OWNER.match(owner):
        raise RunError(
            f"owner must be a session token of 1 to 64 letters, digits, '_' or '-'; got {owner!r}."
        )


def _display_name(text: object) -> str:
    """The name a shared run is shown under: one line of at most DISPLAY_NAME_CHARS characters."""
    if not isinstance(text, str):
        raise RunError(f"display_name must be text; got {text!r}.")
    name = " ".join(text.split())
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in name):
        raise RunError("display_name may only contain visible characters and spaces; remove the hidden ones.")
    if len(name) > DISPLAY_NAME_CHARS:
        raise RunError(f"display_name must be at most {DISPLAY_NAME_CHARS} characters; got {len(name)}.")
    return name or "Anonymous"


_MANAGER: RunManager | None = None
_MANAGER_LOCK = threading.Lock()


def get_manager() -> RunManager:
    """The process-wide RunManager for $PROTLAB_HOME/runs with ClassSettings.from_env()."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = RunManager()
        return _MANAGER
