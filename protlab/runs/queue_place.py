"""Where a queued run stands: its place in line and an estimate of the seconds before it starts."""

from __future__ import annotations

import time
from pathlib import Path

from protlab.errors import RunError
from protlab.runs.dispatcher import Dispatcher
from protlab.runs.queue import RunQueue, estimate_waits
from protlab.runs.store import read_record


def queue_place(
    root: Path, queue: RunQueue, dispatcher: Dispatcher, run_id: str
) -> tuple[int | None, float | None]:
    """(1-based place in the queue, estimated seconds until it starts); (None, None) when not waiting."""
    entries = queue.entries()
    ids = [e.run_id for e in entries]
    if run_id not in ids:
        return None, None
    position = ids.index(run_id) + 1
    per_epoch = dispatcher.seconds_per_epoch()  # None before any run has finished
    remaining = []  # seconds each running run has left
    now = time.time()
    for claimed_id, info, _ in queue.running():
        try:
            record = read_record(root, claimed_id)
        except RunError:
            continue
        eta, updated = record.get("eta_seconds"), record.get("updated") or now
        if eta is not None:
            remaining.append(max(0.0, eta - (now - updated)))
        elif per_epoch is not None:
            started = (record.get("timings") or {}).get("started") or now
            remaining.append(max(0.0, per_epoch * int(info.get("epochs", 1)) - (now - started)))
    waits = estimate_waits(entries[:position], remaining, dispatcher.capacity(), per_epoch)
    return position, waits.get(run_id)
