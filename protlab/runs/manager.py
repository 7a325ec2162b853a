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

import shutil
import threading
import time
from pathlib import Path

from protlab.errors import RunError
from protlab.runs.dispatcher import Dispatcher, finish_run
from protlab.runs.ended import EndedRuns
from protlab.runs.index import RunIndex
from protlab.runs.owners import check_owner, run_id_of, shared_name
from protlab.runs.queue import RunQueue
from protlab.runs.queue_place import queue_place
from protlab.runs.rows import class_row, newest_first, owner_row, run_status
from protlab.runs.settings import ClassSettings
from protlab.runs.spec import RunSpec, RunStatus
from protlab.runs.store import (
    ACTIVE,
    INTERRUPTED,
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
from protlab.runs.submit_lock import submit_lock

__all__ = ["RunManager", "get_manager"]

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
        self._ended = EndedRuns()  # ended runs' epoch rows and test predictions, read once
        self._dispatcher = Dispatcher(self.root, self.queue, self.settings)

    # ------------------------------------------------------------------ submitting and stopping
    def submit(self, spec: RunSpec, owner: str) -> str:
        """Queue a run of spec for owner; returns its id. It starts by itself when a worker is free."""
        check_owner(owner)
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
            with submit_lock(self.root, self._lock):
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
        run_id = run_id_of(run_id)
        record = self._own(run_id, owner)
        if record["state"] not in ACTIVE:
            return
        folder = self.root / run_id
        request_stop(folder)  # a run claimed a moment ago sees this before it trains and ends as cancelled
        if record["state"] == "queued" and self.queue.cancel(run_id):
            finish_run(self.root, run_id, "cancelled", None, self.queue)

    def rerun(self, run_id: str | dict, owner: str) -> str:
        """Submit an ended run's settings and data again; returns the new run's id."""
        run_id = run_id_of(run_id)
        if self._own(run_id, owner)["state"] in ACTIVE:
            raise RunError("This run is still going; stop it first, or wait for it to end.")
        return self.submit(read_spec(self.root / run_id), owner)

    def delete_run(self, run_id: str | dict, owner: str) -> None:
        """Delete one of owner's runs that has ended."""
        run_id = run_id_of(run_id)
        if self._own(run_id, owner)["state"] in ACTIVE:
            raise RunError("This run is still going; stop it first, then delete it.")
        self.index.remove(owner, run_id)
        self._ended.forget(run_id)
        shutil.rmtree(self.root / run_id, ignore_errors=True)

    # ------------------------------------------------------------------ reading
    def status(self, run_id: str | dict, owner: str) -> RunStatus:
        """A snapshot of one of owner's runs (a list_runs row works as the id)."""
        run_id = run_id_of(run_id)
        record = self._own(run_id, owner)
        folder, state = self.root / run_id, record["state"]
        events, labels, probs = (
            self._ended.parts(folder) if state not in ACTIVE else (read_history(folder), None, None)
        )
        place = (
            queue_place(self.root, self.queue, self._dispatcher, run_id)
            if state == "queued"
            else (None, None)
        )
        display = self.index.display_name(run_id)
        return run_status(run_id, record, events, labels, probs, place, read_batches(folder), display)

    def list_runs(self, owner: str) -> list[dict]:
        """owner's runs, newest first (any state)."""
        check_owner(owner)
        rows = []
        for run_id in self.index.runs_of(owner):
            try:
                record = self._effective(read_record(self.root, run_id))
            except RunError:
                continue
            if record.get("owner") != owner:
                continue
            rows.append(owner_row(run_id, record, self.index.display_name(run_id)))
        return newest_first(rows)

    def wait(self, run_id: str | dict, timeout: float | None = None) -> bool:
        """Block until the run has ended and freed its worker (CLI, tests); False on timeout."""
        run_id = run_id_of(run_id)
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
        """{'queued': runs waiting, 'running': runs claimed by a worker, 'workers': runs trained at once},
        with 'error' when the workers could not start and 'closed' once this manager starts no more runs."""
        summary = {
            "queued": len(self.queue.entries()),
            "running": len(self.queue.running()),
            "workers": self._dispatcher.capacity(),
        }
        if self._dispatcher.executor_error:
            summary["error"] = self._dispatcher.executor_error
        if self._dispatcher.closed:
            summary["closed"] = True
        return summary

    # ------------------------------------------------------------------ sharing with the class
    def set_sharing(self, run_id: str | dict, owner: str, shared: bool, display_name: str = "") -> None:
        """Show (or stop showing) one of owner's runs to the class under display_name (never its owner)."""
        run_id = run_id_of(run_id)
        self._own(run_id, owner)
        if not isinstance(shared, bool):
            raise RunError(f"shared must be true or false; got {shared!r}.")
        if shared:
            self.index.share(run_id, shared_name(display_name))
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
            rows.append(class_row(run_id, record, display_name))
        return newest_first(rows)

    def run_history(self, run_id: str | dict) -> list[dict]:
        """Epoch rows of a shared run (for anyone in the class to compare)."""
        run_id = run_id_of(run_id)
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
        check_owner(owner)
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


_MANAGER: RunManager | None = None
_MANAGER_LOCK = threading.Lock()


def get_manager() -> RunManager:
    """The process-wide RunManager for $PROTLAB_HOME/runs with ClassSettings.from_env()."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = RunManager()
        return _MANAGER
