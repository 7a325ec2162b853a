"""Worker-pool scaling: the same training runs through a RunManager with 1 worker, then with 2 workers.

Each phase submits --runs identical runs (a DeepSol subset of --proteins rows, a small CNN, --epochs epochs,
one owner each) into a fresh runs folder through RunManager.submit, as the Train page does, and waits until
every run has ended. The local pool's workers are `python -m protlab.runs --serve` processes (nice 10,
threads_per_run torch threads each). Per phase it prints the epoch time of every run (median over its
epochs, from the run's epoch rows), the wall time from the first submission to the last run's end, and the
throughput in epochs per minute. With W workers on at least W free cores the epoch time should stay about
the same while the throughput grows about W times; on busy cores the epoch time grows instead.

Last line: epoch_s_1_worker=<median epoch s> epoch_s_2_workers=<median epoch s> throughput_ratio=<2 / 1>.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from common import base_parser, load_deepsol, machine_header

SMALL_CNN = {"embed_dim": 16, "hidden_dim": 32, "num_layers": 2}  # a small CNN, seconds per epoch
MAX_LENGTH = 600  # longer proteins are left out of the subset, as the classroom benchmark does
PHASE_SECONDS = 1800  # a phase that has not ended after this long is reported as failed


def make_specs(runs: int, proteins: int, epochs: int) -> list:
    """runs identical RunSpecs: the same DeepSol subset, model, epochs and seed."""
    from protlab.data import LabelledData
    from protlab.runs import RunSpec
    from protlab.training import TrainConfig

    sequences, labels = load_deepsol(limit=proteins, seed=0)
    keep = [i for i, s in enumerate(sequences) if len(s) <= MAX_LENGTH]
    data = LabelledData([sequences[i] for i in keep], np.asarray(labels)[keep], [f"p{i}" for i in keep])
    return [
        RunSpec(
            name=f"pool run {k + 1}",
            data=data,
            data_description=f"DeepSol subset, {len(keep)} rows",
            model_kind="cnn",
            model_config=dict(SMALL_CNN),
            train_config=TrainConfig(epochs=epochs, batch_size=32, seed=0, device="cpu"),
        )
        for k in range(runs)
    ]


def run_phase(workers: int, threads: int, specs: list, home: Path) -> tuple[float, list]:
    """Submit every spec to a RunManager with `workers` local workers; returns wall seconds and statuses."""
    from protlab.runs import ClassSettings, RunManager

    settings = ClassSettings(workers=workers, executor="local", threads_per_run=threads)
    manager = RunManager(home / f"runs-{workers}", settings)
    try:
        start = time.perf_counter()
        owners = [f"bench{k:03d}-{os.urandom(4).hex()}" for k in range(len(specs))]
        runs = [(manager.submit(spec, owner), owner) for spec, owner in zip(specs, owners)]
        for run_id, _ in runs:
            if not manager.wait(run_id, timeout=PHASE_SECONDS):
                raise SystemExit(f"run {run_id} did not end within {PHASE_SECONDS} s ({workers} worker(s))")
        wall = time.perf_counter() - start
        return wall, [manager.status(run_id, owner) for run_id, owner in runs]
    finally:
        manager.close(stop_runs=True)


def epoch_seconds(status) -> float:
    """Median wall seconds of one run's epochs (training plus validation)."""
    return statistics.median(float(row["seconds"]) for row in status.events)


def report(workers: int, wall: float, statuses: list, epochs: int) -> float:
    """Print one phase's per-run epoch times, wall time and throughput; returns the median epoch time."""
    failed = [s for s in statuses if s.state != "finished" or not s.events]
    if failed:
        raise SystemExit(f"{len(failed)} run(s) did not finish with {workers} worker(s): {failed[0].error}")
    per_run = [epoch_seconds(s) for s in statuses]
    rate = len(statuses) * epochs / wall * 60
    runs_text = " ".join(f"{e:.2f}" for e in per_run)
    print(
        f"workers={workers}  epoch s per run: {runs_text}  (median {statistics.median(per_run):.2f} s)  "
        f"wall {wall:.1f} s  {rate:.1f} epochs/min"
    )
    return statistics.median(per_run)


def main() -> None:
    """Run the 1-worker and the 2-worker phase on the same runs and print the comparison."""
    parser = base_parser(__doc__)
    parser.add_argument("--runs", type=int, default=4, help="identical runs submitted in each phase")
    parser.add_argument("--proteins", type=int, default=800, help="DeepSol rows drawn for the subset")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of every run")
    args = parser.parse_args()
    runs, proteins, epochs = (2, 60, 1) if args.quick else (args.runs, args.proteins, args.epochs)
    if args.threads < 1:
        raise SystemExit(f"--threads must be a positive integer; got {args.threads}.")
    specs = make_specs(runs, proteins, epochs)
    print(machine_header("worker pool scaling (RunManager, local worker processes)", args.threads))
    print(
        f"# {runs} identical runs: {specs[0].data_description}, CNN {SMALL_CNN}, {epochs} epoch(s), "
        f"{args.threads} torch thread(s) per worker, workers niced to 10"
    )
    medians, walls = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            walls[workers], statuses = run_phase(workers, args.threads, specs, Path(tmp))
            medians[workers] = report(workers, walls[workers], statuses, epochs)
    print(f"# {machine_header('', args.threads).splitlines()[-1][2:]} (after)")
    print(
        f"epoch_s_1_worker={medians[1]:.2f} epoch_s_2_workers={medians[2]:.2f} "
        f"throughput_ratio={walls[1] / walls[2]:.2f}"
    )


if __name__ == "__main__":
    main()
