"""Runs as Ray tasks: PROTLAB_EXECUTOR=ray (+ PROTLAB_RAY_ADDRESS) sends each run to a Ray cluster.

Each run becomes one task `ray.remote(num_cpus=threads_per_run, num_gpus=gpus_per_run)(run_folder)` called on
its run folder: the same worker function as the local pool. The task reads and writes the run folder directly,
so the run store ($PROTLAB_HOME/runs) must be on a path every node sees under the same name (NFS or another
shared file system), and protlab must be importable on every node (installed there, or the same checkout on
the shared path). Stop reaches a task through the stop file in its folder; progress comes back the same way.

Addresses: 'auto' (a cluster started with `ray start` on this machine), 'ray://head:10001' (Ray Client), or
'local' (start a private Ray instance inside the server: for trying it out and for the tests).
Ray is imported only here, only when chosen; it is in requirements-cluster.txt, not requirements.txt.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from protlab.errors import ConfigError
from protlab.runs.executors import PACKAGE_PARENT
from protlab.runs.settings import ClassSettings
from protlab.runs.store import INTERRUPTED

__all__ = ["RayExecutor", "check_ray_installed", "ray_failure_message"]


def check_ray_installed() -> None:
    """ConfigError with the install command when Ray is missing."""
    if importlib.util.find_spec("ray") is None:
        raise ConfigError(
            "PROTLAB_EXECUTOR is 'ray' but Ray is not installed here; install it with "
            "`pip install -r requirements-cluster.txt`, or set PROTLAB_EXECUTOR=local."
        )


def ray_failure_message(err: BaseException) -> str:
    """A sentence for a Ray task that ended without recording how its run ended."""
    import ray.exceptions as rex

    if isinstance(err, rex.OutOfMemoryError):
        why = "Ray stopped it because its machine ran out of memory"
    elif isinstance(err, rex.WorkerCrashedError):
        why = "the Ray worker process died — often out of memory"
    elif isinstance(err, rex.NodeDiedError):
        why = "the cluster machine running it went away"
    elif isinstance(err, rex.TaskCancelledError):
        why = "it was cancelled on the cluster"
    else:
        why = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}".strip(": ")
    return (
        f"The training process ended unexpectedly ({why}). Try a smaller model, a smaller batch size or "
        "shorter sequences, then run it again."
    )


class RayExecutor:
    """One Ray task per run; at most `workers` at once (default: cluster CPUs // threads_per_run)."""

    def __init__(self, settings: ClassSettings) -> None:
        check_ray_installed()
        import ray

        from protlab.runs.worker import run_folder

        self._ray, self.threads = ray, settings.threads_per_run
        address = settings.ray_address or "auto"
        if not ray.is_initialized():
            if address == "local":
                ray.init(
                    include_dashboard=False,
                    runtime_env={"env_vars": {"PYTHONPATH": PACKAGE_PARENT}},
                    num_cpus=settings.workers * settings.threads_per_run if settings.workers else None,
                )
            else:
                ray.init(address=address)
        self._started_here = address == "local"
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = settings.workers or max(1, cpus // settings.threads_per_run)
        self._task = ray.remote(
            num_cpus=settings.threads_per_run, num_gpus=settings.gpus_per_run, max_retries=0
        )(run_folder)
        self._refs: dict[str, object] = {}  # run id -> ObjectRef of its task
        self._left: list[tuple[str, str | None]] = []  # ends collected while shutting down
        self._stopping: set[str] = set()  # tasks cancelled by shutdown(stop_runs=True)

    def capacity(self) -> int:
        """Tasks sent to the cluster at once."""
        return self.workers

    def launch(self, folder: Path) -> None:
        """Send run_folder(folder) to the cluster."""
        self._refs[folder.name] = self._task.remote(str(folder), self.threads)

    def poll(self) -> list[tuple[str, str | None]]:
        """Tasks that have ended; a task that died becomes a readable message."""
        if not self._refs or not self._ray.is_initialized():
            ended, self._left = self._left, []
            return ended
        ray = self._ray
        ready, _ = ray.wait(list(self._refs.values()), num_returns=len(self._refs), timeout=0)
        done = set(ready)
        ended = []
        for run_id, ref in list(self._refs.items()):
            if ref not in done:
                continue
            del self._refs[run_id]
            try:
                ray.get(ref)
                ended.append((run_id, None))
            except ray.exceptions.RayError as err:
                ended.append((run_id, INTERRUPTED if run_id in self._stopping else ray_failure_message(err)))
        return ended

    def active(self) -> list[str]:
        """Runs whose task has not ended."""
        return list(self._refs)

    def shutdown(self, stop_runs: bool) -> None:
        """With stop_runs, cancel the tasks (recorded as interrupted); a private 'local' Ray is shut down."""
        ray = self._ray
        if stop_runs:
            for run_id, ref in self._refs.items():
                self._stopping.add(run_id)
                ray.cancel(ref)
            if self._refs:
                ray.wait(list(self._refs.values()), num_returns=len(self._refs), timeout=30)
        if self._started_here and ray.is_initialized() and (stop_runs or not self._refs):
            self._left = self.poll()
            ray.shutdown()
