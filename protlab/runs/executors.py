"""Where claimed runs execute. An executor starts run_folder(folder) somewhere and reports when each run ends.

    LocalExecutor      `python -m protlab.runs <folder>`: one process per run on this machine (the default)
    RayExecutor        one Ray task per run on a cluster (ray_executor.py, imported only when chosen)
    InProcessExecutor  a thread inside the server process: how ProtLab trained before worker processes;
                       kept only so benchmarks/classroom.py can measure what worker processes change.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Protocol

from protlab.runs.settings import ClassSettings
from protlab.runs.store import INTERRUPTED

__all__ = ["Executor", "InProcessExecutor", "LocalExecutor", "exit_message", "make_executor"]

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
    return LocalExecutor(settings)


def exit_message(code: int, log: Path | None = None) -> str:
    """A sentence for a worker process that exited without recording how its run ended."""
    if code < 0:
        hint = " — often out of memory" if -code == 9 else ""  # SIGKILL: what the out-of-memory killer sends
        return (f"The training process ended unexpectedly (killed by signal {-code}{hint}). "
                "Try a smaller model, a smaller batch size or shorter sequences, then run it again.")
    last = _last_line(log) if log is not None else ""
    return (f"The training process ended unexpectedly (exit code {code}){': ' + last if last else ''}. "
            "Run it again; if it fails the same way, tell your teacher.")


def _last_line(path: Path) -> str:
    """The last non-empty line of a log file, shortened (empty when there is none)."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [line for line in lines if line]
    return lines[-1][:300] if lines else ""


def _log_path(folder: Path) -> Path:
    """Where a local worker's output goes: <root>/_logs/<run_id>.log (kept only when not empty)."""
    return folder.parent / "_logs" / f"{folder.name}.log"


def _drop_if_empty(path: Path) -> None:
    """Remove a worker log that stayed empty."""
    try:
        if path.stat().st_size == 0:
            path.unlink()
    except FileNotFoundError:
        pass


class LocalExecutor:
    """One `python -m protlab.runs` process per run, with threads_per_run torch threads, at low priority."""

    def __init__(self, settings: ClassSettings) -> None:
        self.workers, self.threads = settings.resolved_workers, settings.threads_per_run
        self._procs: dict[str, tuple[subprocess.Popen, object, Path]] = {}  # run id -> (process, log, folder)
        self._stopping: set[str] = set()  # runs ended by shutdown(stop_runs=True)

    def capacity(self) -> int:
        """settings.workers, or cores // threads_per_run."""
        return self.workers

    def launch(self, folder: Path) -> None:
        """Start the worker process; its output goes to <root>/_logs/<run_id>.log."""
        threads = str(self.threads)
        env = {**os.environ, "PROTLAB_THREADS_PER_RUN": threads, "OMP_NUM_THREADS": threads,
               "MKL_NUM_THREADS": threads, "PROTLAB_SERVER_PID": str(os.getpid()),
               "PYTHONPATH": os.pathsep.join(p for p in (PACKAGE_PARENT, os.environ.get("PYTHONPATH")) if p)}
        log_path = _log_path(folder)
        log_path.parent.mkdir(exist_ok=True)
        log = open(log_path, "ab")  # noqa: SIM115 - closed when the process is reaped
        try:
            command = [sys.executable, "-m", "protlab.runs", str(folder)]
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                       close_fds=True)
        except BaseException:
            log.close()
            raise
        self._procs[folder.name] = (process, log, folder)

    def poll(self) -> list[tuple[str, str | None]]:
        """Reap ended processes; a non-zero exit becomes a readable message."""
        ended = []
        for run_id, (process, log, folder) in list(self._procs.items()):
            code = process.poll()
            if code is None:
                continue
            log.close()
            del self._procs[run_id]
            failure = INTERRUPTED if run_id in self._stopping else exit_message(code, _log_path(folder))
            ended.append((run_id, None if code == 0 else failure))
            _drop_if_empty(_log_path(folder))
        return ended

    def active(self) -> list[str]:
        """Runs whose process has not been reaped."""
        return list(self._procs)

    def pid(self, run_id: str) -> int | None:
        """The process id of a run's worker (tests kill it to simulate a crash)."""
        entry = self._procs.get(run_id)
        return entry[0].pid if entry else None

    def shutdown(self, stop_runs: bool) -> None:
        """With stop_runs, send SIGTERM (recorded as interrupted), then SIGKILL after 15 s; reap them all."""
        if not stop_runs:
            return
        for run_id, (process, _, _) in self._procs.items():
            if process.poll() is None:
                self._stopping.add(run_id)
                process.terminate()  # recorded as interrupted, even mid start-up
        for process, _, _ in self._procs.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


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
        thread = threading.Thread(target=self._run, args=(folder,), daemon=True,
                                  name=f"protlab-run-{folder.name}")
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
