"""Background training runs: their spec, preparation, run folders and the manager that runs them."""

from __future__ import annotations

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
from protlab.runs.spec import (
    SPLIT_METHODS,
    RunSpec,
    RunStatus,
)
from protlab.runs.store import (
    ACTIVE,
    RUN_ID,
    LiveRun,
    home,
    read_history,
    read_record,
)

__all__ = [
    "RunManager",
    "get_manager",
    "PreparedRun",
    "prepare_run",
    "evaluate_and_save",
    "tokenise_for_model",
    "RunSpec",
    "RunStatus",
    "SPLIT_METHODS",
    "ACTIVE",
    "RUN_ID",
    "LiveRun",
    "home",
    "read_record",
    "read_history",
]
