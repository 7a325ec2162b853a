"""Training runs for a whole class: spec, queue, worker processes (or Ray tasks) and the run store on disk."""

from __future__ import annotations

from protlab.runs.jobs import (
    JOB_KINDS,
    JobStatus,
    is_job,
    job_status,
    run_job,
    submit_job,
)
from protlab.runs.manager import (
    RunManager,
    get_manager,
)
from protlab.runs.prep import (
    PreparedRun,
    evaluate_and_save,
    prepare_run,
    tokenise_for_model,
)
from protlab.runs.settings import (
    EXECUTORS,
    ClassSettings,
)
from protlab.runs.snapshots import (
    MAX_SNAPSHOT_BYTES,
    MAX_SNAPSHOTS,
    SNAPSHOT_KINDS,
    EpochSnapshots,
    read_snapshots,
)
from protlab.runs.spec import (
    SPLIT_METHODS,
    RunSpec,
    RunStatus,
)
from protlab.runs.store import (
    ACTIVE,
    ENDED,
    RUN_ID,
    home,
    read_batches,
    read_history,
    read_record,
)
from protlab.runs.worker import (
    run_folder,
)

__all__ = [
    "ACTIVE",
    "ENDED",
    "JOB_KINDS",
    "JobStatus",
    "is_job",
    "job_status",
    "run_job",
    "submit_job",
    "MAX_SNAPSHOT_BYTES",
    "MAX_SNAPSHOTS",
    "SNAPSHOT_KINDS",
    "EpochSnapshots",
    "read_snapshots",
    "EXECUTORS",
    "RUN_ID",
    "SPLIT_METHODS",
    "ClassSettings",
    "PreparedRun",
    "RunManager",
    "RunSpec",
    "RunStatus",
    "evaluate_and_save",
    "get_manager",
    "home",
    "prepare_run",
    "read_batches",
    "read_history",
    "read_record",
    "run_folder",
    "tokenise_for_model",
]
