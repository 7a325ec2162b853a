"""The local pool: up to `workers` worker processes on this machine, each training one run at a time.

A worker is `python -m protlab.runs --serve` (threads_per_run torch threads, nice 10). It imports torch
once and then trains the run folders the dispatcher writes to its stdin, one after another, answering
`done <run_id> <state>` on its stdout: a class of short runs does not pay a torch import (several
CPU-seconds) per run. Runs stay out of the web server's process, and a worker that dies (killed, out of
memory) takes only its current run with it; the next run starts a fresh worker. A worker retires after
RECYCLE_AFTER runs, so memory a run leaves behind is returned. Worker output goes to
<root>/_logs/worker-<pid>.log (removed when empty).
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from protlab.runs.executors import PACKAGE_PARENT, exit_message
from protlab.runs.settings import ClassSettings
from protlab.runs.store import INTERRUPTED

__all__ = ["LocalExecutor", "RECYCLE_AFTER"]

RECYCLE_AFTER = 25  # runs one worker process trains before it is replaced by a fresh one


class _Worker:
    """One worker process, the run it trains (if any) and the runs it reported done."""

    def __init__(self, root: Path, threads: int) -> None:
        env = {
            **os.environ,
            "PROTLAB_THREADS_PER_RUN": str(threads),
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "PROTLAB_SERVER_PID": str(os.getpid()),
            "PYTHONPATH": os.pathsep.join(p for p in (PACKAGE_PARENT, os.environ.get("PYTHONPATH")) if p),
        }
        logs = root / "_logs"
        logs.mkdir(exist_ok=True)
        starting = logs / f".starting-{os.getpid()}-{id(self)}.log"
        self.log = open(starting, "ab")  # noqa: SIM115 - closed by close()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "protlab.runs", "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.log,
                env=env,
                close_fds=True,
                text=True,
                bufsize=1,
            )
        except BaseException:
            self.log.close()
            starting.unlink(missing_ok=True)
            raise
        self.log_path = logs / f"worker-{self.process.pid}.log"
        os.replace(starting, self.log_path)
        self.run: str | None = None  # the run id it trains now
        self.trained = 0  # runs it has finished
        self.done: queue.SimpleQueue[str] = queue.SimpleQueue()  # run ids it reported done
        self._reader = threading.Thread(
            target=self._read, daemon=True, name=f"protlab-worker-{self.process.pid}"
        )
        self._reader.start()

    def _read(self) -> None:
        """Collect 'done <run_id> <state>' lines until the process closes its stdout."""
        for line in self.process.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "done":
                self.done.put(parts[1])

    def assign(self, folder: Path) -> None:
        """Hand a run folder to this (idle) worker."""
        self.process.stdin.write(f"{folder}\n")
        self.process.stdin.flush()
        self.run = folder.name

    def finished(self) -> list[str]:
        """Run ids reported done since the last call."""
        out = []
        while not self.done.empty():
            out.append(self.done.get())
        return out

    def retire(self) -> None:
        """Let the process end after its current run (end of its input)."""
        try:
            self.process.stdin.close()
        except OSError:
            pass

    def close(self) -> None:
        """After the process ended: read what it said last, close its log (removed when empty)."""
        self._reader.join(timeout=5)
        self.log.close()
        try:
            if self.log_path.stat().st_size == 0:
                self.log_path.unlink()
        except FileNotFoundError:
            pass


class LocalExecutor:
    """Up to `workers` worker processes on this machine (threads_per_run torch threads each, nice 10)."""

    def __init__(self, settings: ClassSettings) -> None:
        self.workers, self.threads = settings.resolved_workers, settings.threads_per_run
        self._pool: list[_Worker] = []  # live workers, busy or idle
        self._retired: list[_Worker] = []  # workers ending after their last run
        self._stopping = False  # shutdown(stop_runs=True) is ending the workers

    def capacity(self) -> int:
        """settings.workers, or cores // threads_per_run."""
        return self.workers

    def launch(self, folder: Path) -> None:
        """Give the run to an idle worker, starting one when none is idle."""
        for worker in self._pool:
            if worker.run is None and worker.process.poll() is None:
                try:
                    worker.assign(folder)
                    return
                except (BrokenPipeError, OSError):  # it died while idle: poll() collects it
                    continue
        worker = _Worker(folder.parent, self.threads)
        self._pool.append(worker)
        worker.assign(folder)

    def poll(self) -> list[tuple[str, str | None]]:
        """Runs that ended: reported done (None), or lost with their worker (a readable message)."""
        ended: list[tuple[str, str | None]] = []
        for worker in list(self._pool):
            code = worker.process.poll()
            if code is not None:
                worker._reader.join(timeout=5)  # a run it finished just before it ended still counts
            for run_id in worker.finished():
                if run_id == worker.run:
                    ended.append((run_id, None))
                    worker.run, worker.trained = None, worker.trained + 1
            if code is not None:
                if worker.run is not None:
                    why = INTERRUPTED if self._stopping else exit_message(code, worker.log_path)
                    ended.append((worker.run, why))
                worker.close()
                self._pool.remove(worker)
            elif worker.run is None and worker.trained >= RECYCLE_AFTER:
                worker.retire()
                self._pool.remove(worker)
                self._retired.append(worker)
        for worker in list(self._retired):
            if worker.process.poll() is not None:
                worker.close()
                self._retired.remove(worker)
        return ended

    def active(self) -> list[str]:
        """Runs being trained by a worker."""
        return [w.run for w in self._pool if w.run is not None]

    def pid(self, run_id: str) -> int | None:
        """The process id of the worker training a run."""
        return next((w.process.pid for w in self._pool if w.run == run_id), None)

    def shutdown(self, stop_runs: bool) -> None:
        """End the workers: at once with stop_runs (their runs read 'interrupted'), else after their runs."""
        workers = self._pool + self._retired
        if not stop_runs:
            for worker in workers:
                worker.retire()
            return
        self._stopping = True
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.terminate()  # a training worker records 'interrupted'; a starting one ends
        for worker in workers:
            try:
                worker.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait(timeout=5)
