"""Training runs for a whole class: spec, queue, worker processes (or Ray tasks) and the run store on disk."""

from __future__ import annotations

from protlab.lazy import lazy_exports

# module (under this package) -> the public names it defines; each module is imported on first use
_EXPORTS: dict[str, tuple[str, ...]] = {
    "estimate": ("RunTimeEstimate", "RunTiming", "estimate_run_time", "recent_timings", "run_timing"),
    "jobs": ("JOB_KINDS", "JobStatus", "is_job", "job_status", "run_job", "submit_job"),
    "manager": ("RunManager", "get_manager"),
    "prep": ("PreparedRun", "evaluate_and_save", "prepare_run", "tokenise_for_model"),
    "settings": ("EXECUTORS", "ClassSettings"),
    "snapshots": (
        "MAX_SNAPSHOT_BYTES",
        "MAX_SNAPSHOTS",
        "SNAPSHOT_KINDS",
        "EpochSnapshots",
        "read_snapshots",
    ),
    "spec": ("SPLIT_METHODS", "RunSpec", "RunStatus"),
    "store": ("ACTIVE", "ENDED", "RUN_ID", "home", "read_batches", "read_history", "read_record"),
    "worker": ("run_folder",),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]  # the lazy table is the API
