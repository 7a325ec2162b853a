"""Where claimed runs execute. An executor starts run_folder(folder) somewhere and reports when each run ends.

LocalExecutor      up to `workers` worker processes on this machine (local_pool.py; the default)
RayExecutor        one Ray task per run on a cluster (ray_executor.py, imported only when chosen)
InProcessExecutor  a thread inside the server process: how ProtLab trained before worker processes;
                   kept only so benchmarks/classroom.py can measure what worker processes change.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

from protlab.runs.settings import ClassSettings

__all__ = ["Executor", "InProcessExecutor", "exit_message", "make_executor"]

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])  # the folder that holds the protlab package


class Executor(Protocol):
    """What the dispatcher needs from an executor."""

    def capacity(self) -> int:
        """Runs this executor trains at once."""

    def launch(self, folder: Path) -> None:
        """Start run_folder(folder)."""

    def poll(self) -> list[tuple[str, str | None]]:
        """Runs that ended since the last call: (run id, why its process ended abnormally, or None).

        store.INTERRUPTED as the reason means: this executor ended it while shutting down.
        """

    def active(self) -> list[str]:
        """Run ids launched here that have not ended."""

    def shutdown(self, stop_runs: bool) -> None:
        """Release resources; with stop_runs, end the runs still going (they are recorded as interrupted)."""


def make_executor(settings: ClassSettings) -> Executor:
    """The executor chosen by settings.executor."""
    if settings.executor == "ray":
        from protlab.runs.ray_executor import RayExecutor

        return RayExecutor(settings)
    if settings.executor == "inprocess":
        return InProcessExecutor(settings)
    from protlab.runs.local_pool import LocalExecutor

    return LocalExecutor(settings)


def exit_message(code: int, log: Path | None = None) -> str:
    """A sentence for a worker process that exited without recording how its run ended."""
    if code < 0:
        hint = " — often out of memory" if -code == 9 else ""  # SIGKILL: what the out-of-memory killer sends
        return (
            f"The training process ended unexpectedly (killed by signal {-code}{hint}). "
            "Try a smaller model, a smaller batch size or shorter sequences, then run it again."
        )
    last = _last_line(log) if log is not None else ""
    return (
        f"The training process ended unexpectedly (exit code {code}){': ' + last if last else ''}. "
        "Run it again; if it fails the same way, tell your teacher."
    )


def _last_line(path: Path) -> str:
    """The last non-empty line of a log file, shortened (empty when there is none)."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    return lines[-1][:300] if lines else ""


class InProcessExecutor:
    """Runs as threads of the server process (benchmark comparison only: training slows every page)."""

    def __init__(self, settings: ClassSettings) -> None:
        self.workers = settings.resolved_workers
        self._threads: dict[str, tuple[threading.Thread, Path]] = {}  # run id -> (thread, folder)
        self._errors: dict[str, str] = {}

    def capacity(self) -> int:
        """settings.workers, or cores // threads_per_run."""
        return self.workers

    def launch(self, folder: Path) -> None:
        """Start run_folder(folder) in a daemon thread."""
        thread = threading.Thread(
            target=self._run, args=(folder,), daemon=True, name=f"protlab-run-{folder.name}"
        )
        self._threads[folder.name] = (thread, folder)
        thread.start()

    def _run(self, folder: Path) -> None:
        """Thread body."""
        from protlab.runs.worker import run_folder

        try:
            run_folder(folder)
        except Exception as err:  # noqa: BLE001 - recorded by the dispatcher as the run's failure
            self._errors[folder.name] = f"The run failed: {type(err).__name__}: {err}"

    def poll(self) -> list[tuple[str, str | None]]:
        """Threads that have ended."""
        ended = [run_id for run_id, (thread, _) in self._threads.items() if not thread.is_alive()]
        for run_id in ended:
            del self._threads[run_id]
        return [(run_id, self._errors.pop(run_id, None)) for run_id in ended]

    def active(self) -> list[str]:
        """Runs whose thread is alive."""
        return list(self._threads)

    def shutdown(self, stop_runs: bool) -> None:
        """Threads cannot be killed: with stop_runs they are asked to stop (within a batch) and joined."""
        if not stop_runs:
            return
        from protlab.runs.store import request_stop

        for _, folder in self._threads.values():
            request_stop(folder)
        for thread, _ in self._threads.values():
            thread.join(timeout=30)
