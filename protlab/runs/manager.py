"""Background training runs: one thread per run, progress polled by the page, results written atomically to disk.

Decisions (documented for the pages):
- Run ids are generated (UTC time + random hex), never derived from user text.
- One active (queued or running) run per owner: a second start raises RunError (a double-clicked Start starts
  one run); at most `max_concurrent` active runs overall (RunError when full).
- status / stop / delete check the owner, so sessions never see each other's runs. `list_runs(owner)` lists that
  owner's runs in every state; `list_runs()` without an owner lists everyone's *finished* runs (owners removed)
  for comparison, and `run_history(run_id)` reads such a finished run's epoch curves.
- Runs whose run.json says queued/running but that this process is not running (the server restarted) are
  reported as 'interrupted'.

The spec and status types live in protlab.runs.spec, data preparation and saving in protlab.runs.prep and the
run folders in protlab.runs.store; their public names are importable from here too.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from protlab.errors import ProtlabError, RunError, TrainingDivergedError
from protlab.runs.prep import evaluate_and_save, prepare_run
from protlab.runs.spec import RunSpec, RunStatus
from protlab.runs.store import ACTIVE, RUN_ID, LiveRun, atomic_write, home, read_history, read_record
from protlab.training.events import BatchEvent, EpochEvent
from protlab.training.loop import train_model

__all__ = ["RunManager", "get_manager"]


class RunManager:
    """Starts, tracks, stops and lists background training runs under <root>/<run_id>/."""

    def __init__(self, root: Path | str | None = None, max_concurrent: int = 2) -> None:
        self.root = Path(root) if root is not None else home() / "runs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_concurrent = max_concurrent  # active runs allowed at once over all sessions
        self._runs: dict[str, LiveRun] = {}
        self._lock = threading.Lock()

    def start(self, spec: RunSpec, owner: str) -> str:
        """Validate spec and start it in a background thread; returns the new run id."""
        _check_owner(owner)
        spec.validate()
        with self._lock:
            active = [r for r in self._runs.values() if r.state in ACTIVE]
            if any(r.owner == owner for r in active):
                raise RunError("A training run is already going for this session; stop it first.")
            if len(active) >= self.max_concurrent:
                raise RunError(f"{len(active)} training runs are already going on this server (the limit is "
                               f"{self.max_concurrent}); wait for one to finish and try again.")
            run_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(4)}"
            folder = self.root / run_id
            folder.mkdir(parents=True)
            run = LiveRun(run_id, owner, spec, folder)
            run.save()
            self._runs[run_id] = run
            run.thread = threading.Thread(target=_work, args=(run,), name=f"protlab-run-{run_id}", daemon=True)
            run.thread.start()
        return run_id

    def status(self, run_id: str | dict, owner: str) -> RunStatus:
        """Snapshot of one of owner's runs (live if running here, else read from disk); a list_runs row works too."""
        run_id = _run_id(run_id)
        run = self._own(run_id, owner)
        if run is not None:
            with run.lock:
                record, events = run.record(), list(run.events)
                eta = run.eta
        else:
            record = self._read(run_id)
            events, eta = self._history(run_id), None
        labels = probs = None
        predictions = self.root / run_id / "test_predictions.csv"
        if record["state"] not in ACTIVE and predictions.exists():
            table = pd.read_csv(predictions)
            labels, probs = table["label"].to_numpy(np.int64), table["p_soluble"].to_numpy(np.float64)
        return RunStatus(run_id, record["spec"]["name"], record["state"], events, float(record["progress"]), eta,
                         record["error"], record.get("test_metrics"), record.get("baseline"),
                         record.get("checkpoint"), labels, probs, record["spec"], record["timings"])

    def stop(self, run_id: str, owner: str) -> None:
        """Ask owner's run to stop; it ends within one batch, keeping its best weights."""
        run = self._own(run_id, owner)
        if run is not None:
            run.stop.set()

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        """Block until the run's thread ends (for the CLI and tests); True when it has ended."""
        run = self._runs.get(run_id)
        if run is None or run.thread is None:
            return True
        run.thread.join(timeout)
        return not run.thread.is_alive()

    def list_runs(self, owner: str | None = None) -> list[dict]:
        """Owner's runs (any state), or everyone's finished runs without owners when owner is None."""
        rows = []
        for folder in sorted(self.root.iterdir(), reverse=True):
            if not RUN_ID.match(folder.name) or not (folder / "run.json").exists():
                continue
            live = self._runs.get(folder.name)
            if live is not None:
                with live.lock:
                    record = live.record()  # fresher than run.json while the run is going
            else:
                try:
                    record = self._read(folder.name)
                except RunError:
                    continue
            if (owner is None and record["state"] == "finished") or (owner is not None and record["owner"] == owner):
                if owner is None:
                    record.pop("owner", None)
                rows.append(record)
        return rows

    def run_history(self, run_id: str) -> list[dict]:
        """Epoch rows of a finished run (any session may read these, to compare runs)."""
        run_id = _run_id(run_id)
        if self._read(run_id)["state"] != "finished":
            raise RunError(f"Run {run_id} has not finished, so its curves are not shared.")
        return self._history(run_id)

    def delete_run(self, run_id: str, owner: str) -> None:
        """Delete one of owner's runs that is not active."""
        run_id = _run_id(run_id)
        run = self._own(run_id, owner)
        if run is not None and run.state in ACTIVE:
            raise RunError("This run is still going; stop it first, then delete it.")
        with self._lock:
            self._runs.pop(run_id, None)
        shutil.rmtree(self.root / run_id, ignore_errors=True)

    def _own(self, run_id: str, owner: str) -> LiveRun | None:
        """The live run if it belongs to owner; None if it exists only on disk (owner checked); RunError else."""
        _check_owner(owner)
        run_id = _run_id(run_id)
        run = self._runs.get(run_id) if isinstance(run_id, str) else None
        if run is not None:
            if run.owner != owner:
                raise RunError(f"There is no run {run_id!r} in this session.")
            return run
        if self._read(run_id).get("owner") != owner:
            raise RunError(f"There is no run {run_id!r} in this session.")
        return None

    def _read(self, run_id: str) -> dict:
        """run.json of a run, with 'interrupted' for runs left active by a previous process."""
        return read_record(self.root, run_id, self._runs)

    def _history(self, run_id: str) -> list[dict]:
        """Epoch rows from history.csv (empty if none yet)."""
        return read_history(self.root / run_id)


def _run_id(run: object) -> object:
    """Accept a run id or a row from list_runs (its 'run_id')."""
    return run.get("run_id") if isinstance(run, dict) else run


def _check_owner(owner: object) -> None:
    """Owners are non-empty session strings."""
    if not isinstance(owner, str) or not owner.strip():
        raise RunError(f"owner must be a non-empty session id string; got {owner!r}.")


def _progress(run: LiveRun, event: EpochEvent | BatchEvent) -> None:
    """Training callback: update progress/ETA and, per epoch, the event list and history.csv."""
    started = run.timings["started"] or time.time()
    with run.lock:
        if isinstance(event, BatchEvent):
            epochs = run.spec.train_config.epochs
            run.progress = ((event.epoch - 1) + event.batch / event.n_batches) / epochs
        else:
            run.events.append(event.to_row())
            run.progress = event.epoch / event.epochs
            rows = list(run.events)
        elapsed = time.time() - started
        run.eta = elapsed / run.progress * (1 - run.progress) if run.progress > 0 else None
    if isinstance(event, EpochEvent):
        atomic_write(run.folder / "history.csv", pd.DataFrame(rows).to_csv(index=False))


def _work(run: LiveRun) -> None:
    """Thread body: load, split, tokenise, build, train, save; every outcome ends in run.json."""
    # Kept in this module on purpose: it calls protlab.runs.train_model, which tests replace to simulate crashes.
    spec = run.spec
    with run.lock:
        run.state, run.timings["started"] = "running", time.time()
    run.save()
    state, error, result, prepared = "finished", None, None, None
    try:
        prepared = prepare_run(spec)
        result = train_model(prepared.model, prepared.sets["train"], prepared.sets["val"], spec.train_config,
                             callback=lambda e: _progress(run, e), stop=run.stop)
        state = "stopped" if result.stopped_reason == "stopped" else "finished"
    except TrainingDivergedError as err:
        state, error, result = "failed", str(err), getattr(err, "partial_result", None)
    except ProtlabError as err:
        state, error = "failed", str(err)
    except Exception as err:  # noqa: BLE001 - any crash (out of memory, ...) must end as a readable failure
        state, error = "failed", f"The run failed: {type(err).__name__}: {err}"
    try:
        if prepared is not None and result is not None and result.best_state is not None:
            saved = evaluate_and_save(prepared, result, spec, run.folder / "model.pt", {"run_id": run.run_id})
            atomic_write(run.folder / "test_predictions.csv", saved.pop("predictions").to_csv(index=False))
            with run.lock:
                run.results.update(saved)
    except Exception as err:  # noqa: BLE001 - saving failed: report it rather than lose the state
        state, error = "failed", error or f"The run failed while saving: {type(err).__name__}: {err}"
    with run.lock:
        run.state, run.error = state, error
        run.progress = 1.0 if state == "finished" else run.progress
        run.timings["ended"] = time.time()
        run.timings["seconds"] = run.timings["ended"] - run.timings["started"]
        run.eta = 0.0
        run.spec = dataclasses.replace(spec, data=None)  # release the sequences; the summary stays
    run.save()


_MANAGER: RunManager | None = None
_MANAGER_LOCK = threading.Lock()


def get_manager() -> RunManager:
    """The process-wide RunManager (the app wraps this in st.cache_resource)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = RunManager()
        return _MANAGER
