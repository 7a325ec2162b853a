"""Background jobs: work that must not run in the web server (a loss landscape, the overfit-one-batch check),
done by the run workers.

    <root>/<job_id>/job.json    {"kind": ..., "params": {...}}: what to compute
    <root>/<job_id>/run.json    the record (state, progress, error, result), written as for a run

A job goes through the same first-in-first-out queue, dispatcher and worker processes as a training run (its
queue owner is 'job:<kind>', so it never counts as the student's own run), and a worker that finds job.json
calls the kind's function instead of training. Jobs are never listed among anyone's runs: whoever submitted
one keeps its id and polls job_status. The server only submits and polls; it never computes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from protlab.errors import ProtlabError, RunError
from protlab.files import atomic_write
from protlab.runs.queue import RunQueue
from protlab.runs.store import ACTIVE, INTERRUPTED, new_run_id, read_record, write_record

__all__ = ["JOB_KINDS", "JobStatus", "is_job", "job_status", "run_job", "submit_job"]

JOB_KINDS = ("landscape", "sanity")  # the kinds of background job a worker can do
JOB_JSON = "job.json"
PROGRESS_SECONDS = 1.0  # run.json is rewritten at most this often while a job works


@dataclass
class JobStatus:
    """A snapshot of one job for the page to render."""

    job_id: str  # generated id (the shape of a run id)
    kind: str  # one of JOB_KINDS
    state: str  # queued, running, finished, failed or interrupted
    progress: float  # 0..1
    eta_seconds: float | None  # estimated seconds left while running (None before the first estimate)
    error: str | None  # why it failed, as one sentence
    result: dict | None  # what the job's function returned (JSON), once finished
    queue_position: int | None  # 1-based place in the queue while queued


def submit_job(root: Path, kind: str, params: dict) -> str:
    """Queue a job of this kind with JSON params; returns its id. A worker runs it when one is free."""
    if kind not in JOB_KINDS:
        raise RunError(f"kind must be one of {sorted(JOB_KINDS)}; got {kind!r}.")
    job_id = new_run_id()
    folder = Path(root) / job_id
    folder.mkdir(parents=True)
    atomic_write(folder / JOB_JSON, json.dumps({"kind": kind, "params": params}, indent=2))
    now = time.time()
    record = {
        "run_id": job_id,
        "owner": f"job:{kind}",
        "job": kind,
        "state": "queued",
        "error": None,
        "progress": 0.0,
        "eta_seconds": None,
        "timings": {"created": now, "started": None, "ended": None},
    }
    write_record(folder, record)
    RunQueue(Path(root)).enqueue(job_id, f"job:{kind}", 1)
    return job_id


def job_status(root: Path, job_id: str) -> JobStatus:
    """The state of a job; one that says active but nobody holds any more reads as interrupted."""
    root = Path(root)
    record = read_record(root, job_id)
    if record.get("job") not in JOB_KINDS:
        raise RunError(f"{job_id!r} is not a background job.")
    queue = RunQueue(root)
    where = queue.where(job_id)
    if record.get("state") in ACTIVE and where is None:
        record = read_record(root, job_id)  # it may have ended a moment ago
        if record.get("state") in ACTIVE and queue.where(job_id) is None:
            record.update(state="interrupted", error=INTERRUPTED)
    position = None
    if where == "queued":
        ids = [e.run_id for e in queue.entries()]
        position = ids.index(job_id) + 1 if job_id in ids else None
    return JobStatus(
        job_id,
        record["job"],
        str(record.get("state")),
        float(record.get("progress") or 0.0),
        record.get("eta_seconds") if record.get("state") == "running" else None,
        record.get("error"),
        record.get("result"),
        position,
    )


def is_job(folder: Path) -> bool:
    """Whether a claimed folder holds a background job rather than a training run."""
    return (Path(folder) / JOB_JSON).is_file()


def _function(kind: str) -> Callable[[dict, Callable[[float], None]], dict]:
    """The function that does a job of this kind."""
    if kind == "landscape":  # imported here: the run system must not import the lessons at start-up
        from protlab.lessons.landscape_jobs import landscape_job

        return landscape_job
    if kind == "sanity":
        from protlab.lessons.sanity_jobs import sanity_job

        return sanity_job
    raise RunError(f"job kind must be one of {', '.join(JOB_KINDS)}; got {kind!r}.")


def run_job(folder: Path, record: dict) -> str:
    """Do the job in folder (in a worker process) and record how it ended; returns the final state."""
    folder = Path(folder)
    now = time.time()
    record.update(state="running", error=None, progress=0.0, updated=now)
    record["timings"]["started"] = record["timings"].get("started") or now
    write_record(folder, record)
    saved = [now]

    def progress(fraction: float) -> None:
        done = record["progress"] = min(1.0, max(0.0, float(fraction)))
        if time.time() - saved[0] >= PROGRESS_SECONDS:
            record["updated"] = saved[0] = time.time()
            elapsed = saved[0] - record["timings"]["started"]
            record["eta_seconds"] = elapsed / done * (1 - done) if done > 0 else None
            write_record(folder, record)

    state, error, result = "finished", None, None
    try:
        job = json.loads((folder / JOB_JSON).read_text(encoding="utf-8"))
        result = _function(job["kind"])(job["params"], progress)
    except ProtlabError as err:
        state, error = "failed", str(err)
    except Exception as err:  # noqa: BLE001 - any crash must end as a readable failure
        state, error = "failed", f"The job failed: {type(err).__name__}: {err}"
    end = time.time()
    record["timings"].update(ended=end, seconds=end - record["timings"]["started"])
    record.update(state=state, error=error, result=result, updated=end, eta_seconds=0.0)
    if state == "finished":
        record["progress"] = 1.0
    write_record(folder, record)
    return state


# ---------------------------------------------------------------- results cached by content (lessons' jobs)


@dataclass
class CachedJob:
    """A background job whose result is cached in a file: what a page can show now."""

    state: str  # 'ready', 'missing' (never asked for), 'queued', 'running', 'failed' or 'interrupted'
    result: object | None = None  # the loaded result, when ready
    progress: float = 0.0  # 0..1 while running
    eta_seconds: float | None = None  # estimated seconds left while running
    error: str | None = None  # why the job failed
    queue_position: int | None = None  # place in the queue while queued


def request_cached(root: Path, cache: Path, load: Callable[[Path], object]) -> CachedJob:
    """The cached result (`load(cache)`), or the state of the job computing it ('missing': never asked)."""
    if cache.is_file():
        return CachedJob("ready", result=load(cache))
    try:
        status = job_status(Path(root), cache.with_suffix(".job").read_text(encoding="utf-8").strip())
    except (OSError, RunError):
        return CachedJob("missing")
    if status.state == "finished":  # finished but its file is gone: compute again when asked
        return CachedJob("missing")
    return CachedJob(
        status.state, None, status.progress, status.eta_seconds, status.error, status.queue_position
    )


def submit_cached(
    root: Path, cache: Path, kind: str, params: dict, load: Callable[[Path], object]
) -> CachedJob:
    """Queue job `kind` writing `cache`, unless it is cached, queued or running; return its state."""
    current = request_cached(root, cache, load)
    if current.state in ("ready", "queued", "running"):
        return current
    cache.parent.mkdir(parents=True, exist_ok=True)
    job_id = submit_job(Path(root), kind, {**params, "cache": str(cache)})
    atomic_write(cache.with_suffix(".job"), job_id)
    return request_cached(root, cache, load)
