"""Where runs live: <root>/<run_id>/ folders, written atomically, and the in-memory state of a live run."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Container
from pathlib import Path

import pandas as pd

from protlab.errors import RunError
from protlab.files import atomic_write
from protlab.runs.spec import RunSpec

__all__ = ["ACTIVE", "RUN_ID", "LiveRun", "home", "read_record", "read_history"]

ACTIVE = ("queued", "running")  # states of a run that is not over yet
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}$")  # the shape of generated run ids


def home() -> Path:
    """$PROTLAB_HOME, or ~/.protlab."""
    return Path(os.environ.get("PROTLAB_HOME") or Path.home() / ".protlab")


class LiveRun:
    """In-memory state of a run owned by this process (guarded by its lock)."""

    def __init__(self, run_id: str, owner: str, spec: RunSpec, folder: Path) -> None:
        self.run_id, self.owner, self.spec, self.folder = run_id, owner, spec, folder
        self.summary = spec.summary()  # kept so the data can be released when the run ends
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.state, self.error = "queued", None
        self.events: list[dict] = []
        self.progress, self.eta = 0.0, None
        self.results: dict = {}
        self.timings = {"created": time.time(), "started": None, "ended": None}
        self.thread: threading.Thread | None = None

    def record(self) -> dict:
        """The run.json content."""
        return {"run_id": self.run_id, "owner": self.owner, "state": self.state, "error": self.error,
                "spec": self.summary, "timings": self.timings, "progress": self.progress,
                **{k: v for k, v in self.results.items() if k in ("test_metrics", "baseline", "best_epoch",
                                                                  "stopped_reason", "data_summary")},
                "checkpoint": self.results.get("checkpoint")}

    def save(self) -> None:
        """Write run.json atomically."""
        atomic_write(self.folder / "run.json", json.dumps(self.record(), indent=2, default=float))


def read_record(root: Path, run_id: object, live_ids: Container[str]) -> dict:
    """run.json of a run, with 'interrupted' for runs left active by a process that is not running them."""
    if not isinstance(run_id, str) or not RUN_ID.match(run_id):
        raise RunError(f"{run_id!r} is not a run id; pick a run from the list.")
    try:
        record = json.loads((root / run_id / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise RunError(f"There is no readable run {run_id!r}; it may have been deleted.") from None
    if record.get("state") in ACTIVE and run_id not in live_ids:
        record["state"] = "interrupted"
        record["error"] = record.get("error") or "The server stopped while this run was going."
    return record


def read_history(folder: Path) -> list[dict]:
    """Epoch rows from a run folder's history.csv (empty if none yet)."""
    path = folder / "history.csv"
    return pd.read_csv(path).to_dict("records") if path.exists() else []
