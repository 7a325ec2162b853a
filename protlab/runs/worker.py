"""One training run from start to end, in the process that claimed it (`python -m protlab.runs <folder>`).

run_folder(folder) is the whole job, and the same for every executor (a local worker process, a Ray task, the
in-process comparison mode): it reads spec.json (and data.csv), trains, and writes progress and results into
the run folder (see store.py). It never raises for a failed run: every outcome ends as a state in run.json.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import signal
import sys
import threading
import time
from pathlib import Path

from protlab.errors import ProtlabError, TrainingDivergedError
from protlab.files import atomic_write
from protlab.runs.jobs import is_job, run_job
from protlab.runs.queue import HOST, RunQueue
from protlab.runs.store import ACTIVE, INTERRUPTED, StopFile, read_record, read_spec, write_record

__all__ = ["exit_now", "main", "run_folder", "serve"]

HEARTBEAT_SECONDS = 2.0  # the claim marker is touched this often while the run lives
PROGRESS_SECONDS = 1.0  # run.json is rewritten at most this often between epochs
POINTS_PER_EPOCH = 50  # batches.csv gets about this many loss points per epoch
RESULT_KEYS = ("test_metrics", "baseline", "best_epoch", "stopped_reason", "data_summary", "checkpoint")


class _Progress:
    """Training callback: progress and ETA in run.json, epochs in history.csv, loss points in batches.csv."""

    def __init__(self, folder: Path, record: dict, epochs: int) -> None:
        self.folder, self.record, self.epochs = folder, record, epochs
        self.rows: list[dict] = []  # history.csv rows
        self.window: list[float] = []  # batch losses since the last loss point
        self.started, self.saved_at = time.time(), 0.0
        path = folder / "batches.csv"
        self.points = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        if path.stat().st_size == 0:
            self.points.write("step,epoch,loss\n")

    def __call__(self, event: object) -> None:
        from protlab.training.events import BatchEvent

        if isinstance(event, BatchEvent):
            self._batch(event)
        else:
            self._epoch(event)

    def _batch(self, event) -> None:  # BatchEvent
        """Keep the mean loss every few batches; refresh progress about once a second."""
        self.window.append(event.loss)
        every = max(1, event.n_batches // POINTS_PER_EPOCH)
        if event.batch % every == 0 or event.batch == event.n_batches:
            step = (event.epoch - 1) * event.n_batches + event.batch
            epoch = event.epoch - 1 + event.batch / event.n_batches
            self.points.write(f"{step},{epoch:.4f},{sum(self.window) / len(self.window):.6g}\n")
            self.points.flush()
            self.window = []
        self._save((event.epoch - 1 + event.batch / event.n_batches) / self.epochs, force=False)

    def _epoch(self, event) -> None:  # EpochEvent
        """Add the epoch's row to history.csv and save progress."""
        import pandas as pd

        self.rows.append(event.to_row())
        atomic_write(self.folder / "history.csv", pd.DataFrame(self.rows).to_csv(index=False))
        self.record["epochs_done"] = event.epoch
        self._save(event.epoch / event.epochs, force=True)

    def _save(self, progress: float, force: bool) -> None:
        """Write progress and ETA to run.json (at most once a second unless forced)."""
        now = time.time()
        if not force and now - self.saved_at < PROGRESS_SECONDS:
            return
        elapsed = now - self.started
        self.record.update(
            progress=progress,
            updated=now,
            eta_seconds=elapsed / progress * (1 - progress) if progress > 0 else None,
        )
        write_record(self.folder, self.record)
        self.saved_at = now

    def close(self) -> None:
        """Close batches.csv."""
        self.points.close()


def _heartbeat(queue: RunQueue, run_id: str, done: threading.Event) -> None:
    """Touch the claim marker until the run ends."""
    while not done.wait(HEARTBEAT_SECONDS):
        queue.heartbeat(run_id)


def run_folder(folder: Path | str, threads: int | None = None) -> str:
    """Train the run stored in folder and record how it ended; returns the final state."""
    folder = Path(folder)
    root, run_id = folder.parent, folder.name
    queue = RunQueue(root)
    record = read_record(root, run_id)
    if record.get("state") not in ACTIVE:  # cancelled or marked ended while waiting to start
        return str(record.get("state"))
    done = threading.Event()
    threading.Thread(
        target=_heartbeat, args=(queue, run_id, done), daemon=True, name=f"heartbeat-{run_id}"
    ).start()
    queue.update(run_id, worker_host=HOST, worker_pid=os.getpid())
    try:
        if StopFile(folder).is_set():
            return _end(folder, record, "cancelled", None)
        if is_job(folder):  # a background job (e.g. a loss landscape), not a training run
            return run_job(folder, record)
        return _train(folder, record, threads)
    except KeyboardInterrupt:  # SIGTERM/SIGINT of the worker process: the server is going away
        return _end(folder, record, "interrupted", INTERRUPTED)
    finally:
        done.set()
        queue.release(run_id)


def _train(folder: Path, record: dict, threads: int | None) -> str:
    """Load, split, tokenise, build, train, save; every outcome ends in run.json."""
    from protlab.runs.prep import LEAK_CACHE, evaluate_and_save, prepare_run
    from protlab.runs.snapshots import EpochSnapshots
    from protlab.training.loop import train_model

    record.update(
        state="running",
        error=None,
        progress=0.0,
        eta_seconds=None,
        updated=time.time(),
        worker={"host": HOST, "pid": os.getpid()},
    )
    record["timings"]["started"] = record["timings"].get("started") or time.time()
    write_record(folder, record)
    state, error, result, prepared, progress = "finished", None, None, None, None
    try:
        spec = read_spec(folder)
        config = dataclasses.replace(
            spec.train_config, batch_events=True, num_threads=threads or spec.train_config.num_threads
        )
        prepared = prepare_run(spec)
        prepared.leak_cache = folder.parent / LEAK_CACHE  # runs of a class on one split share its leak check
        progress = _Progress(folder, record, config.epochs)
        snapshots = EpochSnapshots(folder, prepared.model, spec.task, spec.model_kind, config.epochs)
        result = train_model(
            prepared.model,
            prepared.sets["train"],
            prepared.sets["val"],
            config,
            callback=lambda event: (progress(event), snapshots(event)),
            stop=StopFile(folder),
        )
        state = "stopped" if result.stopped_reason == "stopped" else "finished"
    except TrainingDivergedError as err:
        state, error, result = "failed", str(err), getattr(err, "partial_result", None)
    except ProtlabError as err:
        state, error = "failed", str(err)
    except Exception as err:  # noqa: BLE001 - any crash (out of memory, ...) must end as a readable failure
        state, error = "failed", f"The run failed: {type(err).__name__}: {err}"
    finally:
        if progress is not None:
            progress.close()
    try:
        if prepared is not None and result is not None and result.best_state is not None:
            saved = evaluate_and_save(prepared, result, spec, folder / "model.pt", {"run_id": folder.name})
            atomic_write(folder / "test_predictions.csv", saved.pop("predictions").to_csv(index=False))
            record.update({k: saved[k] for k in RESULT_KEYS if k in saved})
    except Exception as err:  # noqa: BLE001 - saving failed: report it rather than lose the state
        state, error = "failed", error or f"The run failed while saving: {type(err).__name__}: {err}"
    return _end(folder, record, state, error)


def _end(folder: Path, record: dict, state: str, error: str | None) -> str:
    """Write the final record of a run."""
    now = time.time()
    timings = record["timings"]
    timings["ended"] = now
    timings["seconds"] = now - (timings.get("started") or now)
    record.update(
        state=state,
        error=error,
        eta_seconds=0.0,
        updated=now,
        progress=1.0 if state == "finished" else record.get("progress", 0.0),
    )
    write_record(folder, record)
    return state


def _watch_parent(parent: int) -> None:
    """End this worker (as interrupted) when the server that started it is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="watch-server").start()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM: stop training where it is (handled like Ctrl-C), and take no further run."""
    global _SIGNALLED
    _SIGNALLED = True
    raise KeyboardInterrupt


_SIGNALLED = False  # SIGTERM arrived: the worker ends after recording its current run


def serve(threads: int) -> None:
    """Worker loop (`--serve`): train each run folder named on stdin, answer `done <run_id> <state>`."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)  # the dispatcher reads these lines ...
    os.dup2(2, 1)  # ... and anything else printed goes to the worker's log
    sys.stdout = sys.stderr
    for line in sys.stdin:
        folder = line.strip()
        if folder:
            state = run_folder(folder, threads)
            try:
                answers.write(f"done {Path(folder).name} {state}\n")
            except (BrokenPipeError, ValueError):  # the server is gone; the run record says how it ended
                return
            gc.collect()  # give back what the run held before the next one starts
        if _SIGNALLED:
            return


def main(argv: list[str] | None = None) -> int:
    """Entry point of a worker process: lower priority, torch threads, then one run folder or --serve."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m protlab.runs <run folder> | --serve", file=sys.stderr)
        return 2
    serving = args[0] == "--serve"
    threads = int(os.environ.get("PROTLAB_THREADS_PER_RUN") or 1)
    try:
        os.nice(10)  # the web server's page loads go first; training takes the rest of the CPU
    except (AttributeError, OSError):
        pass
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _watch_parent(int(os.environ.get("PROTLAB_SERVER_PID") or os.getppid()))
        import torch

        torch.set_num_threads(threads)
        if serving:
            serve(threads)
        else:
            run_folder(args[0], threads)
    except KeyboardInterrupt:  # stopped outside run_folder (starting up, or between two runs)
        if not serving:
            _interrupted(Path(args[0]))
    return 0


def exit_now(code: int) -> None:
    """End the worker process at once, without the interpreter's teardown (seconds with torch loaded)."""
    # every record is already on disk and every answer line flushed; the server waits for this exit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said there
            pass
    os._exit(code)


def _interrupted(folder: Path) -> None:
    """Record a run whose worker was stopped before it started as interrupted, and release its claim."""
    try:
        record = read_record(folder.parent, folder.name)
    except ProtlabError:
        return
    if record.get("state") in ACTIVE:
        _end(folder, record, "interrupted", INTERRUPTED)
    RunQueue(folder.parent).release(folder.name)
