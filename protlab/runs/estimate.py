"""How long a run will take, worked out from this server's newest finished runs of the same model.

A run's time is its start-up (the worker process, reading and splitting the data, the final test) plus its
epochs, and an epoch's time grows with the number of proteins. Both are measured on this server, under its
own load, from runs that trained the same model with the same settings: the time of one epoch per protein,
and the start-up. Nothing is assumed from another machine's figures.
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass
from pathlib import Path

from protlab.errors import ProtlabError
from protlab.runs.store import newest_records, read_history

RECENT_RUNS = 5  # finished runs one estimate is taken from, newest first
SCANNED_RUNS = 200  # newest run folders looked through for them


@dataclass(frozen=True)
class RunTiming:
    """What one finished run took."""

    epoch_per_row: float  # seconds of one epoch per protein in the run's data
    startup: float  # seconds of the run outside its epochs (start, split, test)


@dataclass(frozen=True)
class RunTimeEstimate:
    """The expected time of a run that has not started."""

    seconds: float  # the whole run once it starts: start-up plus every epoch asked
    per_epoch: float  # one epoch of this run's proteins
    startup: float  # outside the epochs
    based_on: int  # finished runs the figures come from


def run_timing(record: dict, history: list[dict]) -> RunTiming | None:
    """The timing of one finished run (None when it did not finish or recorded no epoch times)."""
    spec, timings = record.get("spec") or {}, record.get("timings") or {}
    total, rows = timings.get("seconds"), spec.get("n_rows")
    epochs = [float(h["seconds"]) for h in history if isinstance(h.get("seconds"), (int, float))]
    if record.get("state") != "finished" or not total or not rows or not epochs:
        return None
    in_epochs = sum(epochs)
    return RunTiming(in_epochs / len(epochs) / int(rows), max(0.0, float(total) - in_epochs))


def recent_timings(root: Path, kind: str, model_config: dict, limit: int = RECENT_RUNS) -> list[RunTiming]:
    """Timings of the newest finished runs in root that trained this model kind with this model_config."""
    root, wanted = Path(root), _full_config(kind, model_config)
    if wanted is None:
        return []
    found = []
    for name, record in newest_records(root, SCANNED_RUNS):
        spec = record.get("spec") or {}
        if spec.get("model_kind") != kind or _full_config(kind, spec.get("model_config") or {}) != wanted:
            continue
        timing = run_timing(record, read_history(root / name))
        if timing is not None:
            found.append(timing)
        if len(found) == limit:
            break
    return found


def _full_config(kind: object, config: dict) -> dict | None:
    """Every setting of the model, defaults filled in (configs that build the same model compare equal)."""
    from protlab.models import make_config

    try:
        return dataclasses.asdict(make_config(str(kind), config))
    except (ProtlabError, TypeError):
        return None


def estimate_run_time(timings: list[RunTiming], n_rows: int, epochs: int) -> RunTimeEstimate | None:
    """The expected time of epochs over n_rows proteins, from the medians of timings (None without any)."""
    if not timings or n_rows < 1 or epochs < 1:
        return None
    per_epoch = statistics.median(t.epoch_per_row for t in timings) * n_rows
    startup = statistics.median(t.startup for t in timings)
    return RunTimeEstimate(startup + epochs * per_epoch, per_epoch, startup, len(timings))
