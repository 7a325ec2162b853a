"""The run store: one folder per run under <root>/<run_id>/, the only thing the server and the workers share.

    spec.json             what to train (RunSpec without sequences); written once when the run is submitted
    data.csv              the labelled sequences (id, sequence, label) when the spec carried them in memory
    run.json              the record: state, progress, ETA, error, timings, results (one writer at a time)
    history.csv           one row per finished epoch
    batches.csv           training loss every few batches (step, epoch, loss), appended while training
    stop                  present = a stop was requested; the worker checks for it before every batch
    model.pt, test_predictions.csv
    epochs/               per-epoch weights of small CNN runs (snapshots.py), for the loss-landscape lesson
    job.json              instead of spec.json: a background job, not a run (jobs.py)

Every file except batches.csv is replaced atomically (protlab.files.atomic_write), so a reader sees the old or
the new content, never half. batches.csv is only appended to; a reader ignores a half-written last line.
Who writes run.json: the server while the run is queued, then the process that claimed it (see queue.py).
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from protlab.errors import RunError
from protlab.files import atomic_write
from protlab.home import protlab_home
from protlab.runs.spec import RunSpec

__all__ = [
    "ACTIVE",
    "ENDED",
    "INTERRUPTED",
    "OWNER",
    "RUN_ID",
    "StopFile",
    "home",
    "new_run_id",
    "queued_record",
    "read_batches",
    "read_history",
    "read_record",
    "read_spec",
    "request_stop",
    "run_folder_of",
    "write_record",
    "write_spec",
]

ACTIVE = ("queued", "running")  # states of a run that is not over yet
ENDED = ("finished", "stopped", "failed", "cancelled", "interrupted")  # states of a run that is over
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}$")  # the shape of generated run ids
OWNER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # owner tokens: safe in file names, never shown to others
RUN_JSON, SPEC_JSON, DATA_CSV, STOP = "run.json", "spec.json", "data.csv", "stop"
INTERRUPTED = "The server stopped while this run was going."  # the error of an 'interrupted' run


def home() -> Path:
    """$PROTLAB_HOME, or ~/.protlab."""
    return protlab_home()


def new_run_id() -> str:
    """A fresh run id: UTC time to the second plus 8 random hex digits (never derived from user text)."""
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(4)}"


def run_folder_of(root: Path, run_id: object) -> Path:
    """The folder of a run id, refusing anything that is not a generated id."""
    if not isinstance(run_id, str) or not RUN_ID.match(run_id):
        raise RunError(f"{run_id!r} is not a run id; pick a run from the list.")
    return root / run_id


def read_record(root: Path, run_id: object) -> dict:
    """run.json of a run; RunError when the id is malformed or the run does not exist."""
    folder = run_folder_of(root, run_id)
    try:
        return json.loads((folder / RUN_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise RunError(f"There is no readable run {run_id!r}; it may have been deleted.") from None


def newest_records(root: Path, limit: int) -> Iterator[tuple[str, dict]]:
    """(run id, run.json) of the newest `limit` run folders in root, newest first; unreadable ones skipped."""
    try:
        names = sorted((n for n in os.listdir(root) if RUN_ID.match(n)), reverse=True)[:limit]
    except OSError:
        return
    for name in names:
        try:
            yield name, read_record(root, name)
        except RunError:
            continue


def queued_record(run_id: str, owner: str, spec: RunSpec) -> dict:
    """The run.json of a run that was just submitted."""
    return {
        "run_id": run_id,
        "owner": owner,
        "state": "queued",
        "error": None,
        "spec": spec.summary(),
        "progress": 0.0,
        "eta_seconds": None,
        "timings": {"created": time.time(), "started": None, "ended": None},
    }


def write_record(folder: Path, record: dict) -> None:
    """Write run.json atomically."""
    atomic_write(folder / RUN_JSON, json.dumps(record, indent=2, default=float))


def write_spec(folder: Path, spec: RunSpec) -> None:
    """Write spec.json, and data.csv when the spec carries its sequences in memory."""
    if spec.data is not None:
        import pandas as pd

        data = spec.data
        table = pd.DataFrame({"id": data.ids, "sequence": data.sequences, "label": data.labels})
        atomic_write(folder / DATA_CSV, table.to_csv(index=False))
    fields = {
        "name": str(spec.name),
        "task": spec.task,
        "data_path": spec.data_path,
        "data_file": DATA_CSV if spec.data is not None else None,
        "data_description": spec.data_description,
        "split_method": spec.split_method,
        "split_params": spec.split_params,
        "model_kind": spec.model_kind,
        "model_config": spec.model_config,
        "train_config": spec.train_config.to_dict(),
    }
    atomic_write(folder / SPEC_JSON, json.dumps(fields, indent=2))


def read_spec(folder: Path) -> RunSpec:
    """The RunSpec stored in a run folder, with its data loaded from data.csv when it has one."""
    from protlab.training.config import TrainConfig

    try:
        fields = json.loads((folder / SPEC_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise RunError(f"The settings of run {folder.name!r} (spec.json) are missing or damaged.") from None
    config = TrainConfig.from_dict(fields.pop("train_config"))
    data = _read_data(folder / DATA_CSV) if fields.pop("data_file", None) else None
    return RunSpec(data=data, train_config=config, **fields)


def _read_data(path: Path):  # -> LabelledData
    """The labelled sequences saved by write_spec."""
    import numpy as np
    import pandas as pd

    from protlab.data.loading import LabelledData

    try:
        table = pd.read_csv(path, dtype={"id": str, "sequence": str}, keep_default_na=False)
    except (OSError, ValueError):
        raise RunError(f"The data of run {path.parent.name!r} (data.csv) is missing or damaged.") from None
    return LabelledData(table["sequence"].tolist(), table["label"].to_numpy(np.int64), table["id"].tolist())


def read_history(folder: Path) -> list[dict]:
    """Epoch rows from a run folder's history.csv (empty if none yet)."""
    import pandas as pd

    path = folder / "history.csv"
    try:
        return pd.read_csv(path).to_dict("records")
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return []


def read_batches(folder: Path) -> list[dict]:
    """Loss points from batches.csv: {'step': int, 'epoch': float, 'loss': float}; skips a torn last line."""
    try:
        text = (folder / "batches.csv").read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    points = []
    for row in csv.reader(text.splitlines()[1:]):
        try:
            step, epoch, loss = row
            points.append({"step": int(step), "epoch": float(epoch), "loss": float(loss)})
        except ValueError:  # the line the worker is writing right now
            continue
    return points


class StopFile:
    """A stop flag kept as a file in the run folder, so any process (or cluster node) can raise it."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / STOP

    def is_set(self) -> bool:
        """True once a stop was requested (one stat call: cheap enough to ask before every batch)."""
        return self.path.exists()

    def set(self) -> None:
        """Request the stop."""
        request_stop(self.path.parent)


def request_stop(folder: Path) -> None:
    """Create the stop file of a run folder."""
    atomic_write(folder / STOP, f"{time.time()}\n")
