"""What callers see of a run: the RunStatus snapshot, the owner's list rows and the class's rows."""

from __future__ import annotations

import time

import numpy as np

from protlab.runs.spec import RunStatus


def run_status(
    run_id: str,
    record: dict,
    events: list[dict],
    labels: np.ndarray | None,
    probs: np.ndarray | None,
    place: tuple[int | None, float | None],
    batch_losses: list[dict],
    display_name: str | None,
) -> RunStatus:
    """A RunStatus from a run's effective record, epoch rows, test predictions and (place, wait) in line."""
    eta = record.get("eta_seconds")
    if eta is not None and record["state"] == "running" and record.get("updated"):
        eta = max(0.0, eta - (time.time() - record["updated"]))  # the estimate ages since it was written
    position, wait = place
    return RunStatus(
        run_id,
        record["spec"]["name"],
        record["state"],
        events,
        float(record.get("progress") or 0.0),
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
        batch_losses=batch_losses,
        shared=display_name is not None,
        display_name=display_name or "",
        data_summary=record.get("data_summary"),
    )


def owner_row(run_id: str, record: dict, display_name: str | None) -> dict:
    """One row of list_runs: everything the owner's pages show about one of their runs."""
    return {
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


def class_row(run_id: str, record: dict, display_name: str) -> dict:
    """One row of class_runs: a shared run under its display name, never with its owner."""
    return {
        "run_id": run_id,
        "display_name": display_name,
        "state": record["state"],
        "spec": record["spec"],
        "test_metrics": record.get("test_metrics"),
        "progress": record.get("progress"),
        "created": record["timings"].get("created"),
    }


def newest_first(rows: list[dict]) -> list[dict]:
    """Rows sorted by submission time, newest first (run ids only resolve whole seconds)."""
    return sorted(rows, key=lambda row: (row.get("created") or 0.0, row["run_id"]), reverse=True)
