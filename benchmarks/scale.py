"""Scaling: throughput and peak memory at 1k, 10k and 100k synthetic sequences, each size in a fresh process.

Sequences are sampled with the length and residue-composition distribution of
the bundled DeepSol data. Per size the child process measures tokenising
(TokenizedSet.from_sequences), cutting one epoch of length-bucketed batches,
a training pass of a fixed number of batches through protlab.training.train_model,
and prediction of a fixed number of sequences through protlab.predict.Predictor.
Memory: tracemalloc peak per stage (Python and NumPy allocations) and the
process's maximum resident set size (resource.getrusage), next to the size of
the sequence strings themselves.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import common  # noqa: F401  (puts the repository on sys.path)
from common import base_parser, machine_header, set_threads, synthetic_sequences

SIZES = (1_000, 10_000, 100_000)  # data-set sizes, one fresh process each
QUICK_SIZES = (100, 200)  # sizes for --quick
TRAIN_BATCHES = 30  # batches of 32 in the fixed training pass
PREDICT_SEQUENCES = 1_000  # sequences in the fixed prediction pass
MB = 1024.0 * 1024.0


def maxrss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed_median(fn: Callable[[], object], repeats: int) -> float:
    """Median CPU seconds of `repeats` calls of fn (after one warm-up call);
    one thread, so load does not count.
    """
    fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return sorted(times)[len(times) // 2]


def traced_peak_mb(fn: Callable[[], object]) -> float:
    """Peak of Python/NumPy allocations (tracemalloc) during one call of fn,
    above what was live before, MiB.
    """
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / MB


def train_fixed(train: Any, val: Any, n_batches: int) -> None:
    """train_model on `train`, stopped after exactly n_batches batches via its stop event."""
    from protlab.models import SolubilityCNN
    from protlab.training import BatchEvent, TrainConfig, train_model

    stop = threading.Event()

    def on_event(event: object) -> None:
        if isinstance(event, BatchEvent) and event.batch >= n_batches:
            stop.set()

    config = TrainConfig(
        epochs=1, batch_size=32, scheduler="none", patience=0, device="cpu", batch_events=True
    )
    train_model(SolubilityCNN(), train, val, config, callback=on_event, stop=stop)


def child(n: int, quick: bool) -> dict:
    """Measure every stage at size n in this (fresh) process; returns the figures as a dict."""
    import numpy as np

    from protlab.alphabet import NOTES_VOCAB_SIZE
    from protlab.data import TokenizedSet, batch_indices, length_bucketed_batches
    from protlab.models import CNNConfig, SolubilityCNN, save_checkpoint
    from protlab.predict import Predictor

    sequences = synthetic_sequences(n, seed=n)
    labels = np.arange(n) % 2  # (N,) balanced dummy labels: speed does not depend on them
    residues = sum(len(s) for s in sequences)
    string_mb = sum(sys.getsizeof(s) for s in sequences) / MB
    rss_base = maxrss_mb()

    def tokenise() -> TokenizedSet:
        return TokenizedSet.from_sequences(sequences, labels, vocab_size=NOTES_VOCAB_SIZE, max_length=2000)

    data = tokenise()

    def batching() -> int:
        return sum(1 for _ in length_bucketed_batches(data, batch_size=32, shuffle=True))

    repeats = 1 if quick else 3
    t_tok, t_bat = timed_median(tokenise, repeats), timed_median(batching, repeats)
    m_tok, m_bat = traced_peak_mb(tokenise), traced_peak_mb(batching)
    rss_data = maxrss_mb()
    n_train = 1 if quick else TRAIN_BATCHES
    groups = batch_indices(data, batch_size=32, shuffle=True, seed=42, epoch=1)[:n_train]
    train_residues = int(sum(data.lengths[g].sum() for g in groups))
    val = data.subset(np.arange(min(64, n)))
    train_fixed(data, val, 1)  # warm-up: kernel selection and first allocations are not throughput
    start = time.process_time()
    train_fixed(data, val, n_train)
    t_train = time.process_time() - start
    with tempfile.TemporaryDirectory() as tmp:
        path = save_checkpoint(
            Path(tmp) / "m.pt", SolubilityCNN(), kind="cnn", model_config=asdict(CNNConfig())
        )
        predictor = Predictor.from_checkpoint(path)
        chosen = sequences[: (20 if quick else PREDICT_SEQUENCES)]
        t_pred = timed_median(lambda: predictor.predict(chosen), 1)
    return {
        "n": n,
        "residues": residues,
        "string_mb": string_mb,
        "rss_base_mb": rss_base,
        "tokenise_res_per_s": residues / t_tok,
        "tokenise_peak_mb": m_tok,
        "flat_mb": data.flat.nbytes / MB,
        "batching_res_per_s": residues / t_bat,
        "batching_peak_mb": m_bat,
        "rss_data_mb": rss_data,
        "train_res_per_s": train_residues / t_train,
        "predict_seq_per_s": len(chosen) / t_pred,
        "maxrss_mb": maxrss_mb(),
    }


def main() -> None:
    """Run each size in its own subprocess and print one table row per size."""
    parser = base_parser(__doc__)
    parser.add_argument("--child", type=int, default=None, help=argparse_hidden())
    args = parser.parse_args()
    threads = set_threads(args.threads)
    if args.child is not None:
        print(json.dumps(child(args.child, args.quick)))
        return
    print(machine_header("scale: throughput and peak memory per data-set size (fresh process each)", threads))
    print(
        f"# training pass: {1 if args.quick else TRAIN_BATCHES} batches of 32; prediction: "
        f"{20 if args.quick else PREDICT_SEQUENCES} sequences; throughput in residues per CPU-second "
        "(one thread; time spent waiting for a busy core is not counted) unless noted"
    )
    print(
        f"{'n':>8} {'residues':>11} {'strings MB':>10} {'tokenise/s':>10} {'tok peak MB':>11} "
        f"{'batch/s':>10} {'bat peak MB':>11} {'data RSS +MB':>12} {'train/s':>9} {'pred seq/s':>10} "
        f"{'maxrss MB':>9}"
    )
    rows = []
    for n in QUICK_SIZES if args.quick else SIZES:
        cmd = [sys.executable, __file__, "--child", str(n), "--threads", str(threads)] + (
            ["--quick"] if args.quick else []
        )
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        row["data_rss_mb"] = row["rss_data_mb"] - row["rss_base_mb"] + row["string_mb"]
        rows.append(row)
        print(
            f"{row['n']:>8,} {row['residues']:>11,} {row['string_mb']:>10.1f} "
            f"{row['tokenise_res_per_s']:>10.3g} {row['tokenise_peak_mb']:>11.1f} "
            f"{row['batching_res_per_s']:>10.3g} {row['batching_peak_mb']:>11.1f} "
            f"{row['data_rss_mb']:>12.1f} {row['train_res_per_s']:>9.0f} {row['predict_seq_per_s']:>10.0f} "
            f"{row['maxrss_mb']:>9.0f}",
            flush=True,
        )
    first, last = rows[0], rows[-1]
    print("# data RSS +MB: sequence strings plus the resident-set growth while tokenising and batching them")
    print(
        "largest/smallest throughput: tokenise "
        f"{last['tokenise_res_per_s'] / first['tokenise_res_per_s']:.2f}, "
        f"batching {last['batching_res_per_s'] / first['batching_res_per_s']:.2f}, "
        f"train {last['train_res_per_s'] / first['train_res_per_s']:.2f}, "
        f"predict {last['predict_seq_per_s'] / first['predict_seq_per_s']:.2f}"
    )
    growth = (last["data_rss_mb"] - first["data_rss_mb"]) / max(last["string_mb"] - first["string_mb"], 1e-9)
    print(f"peak_rss_mb_at_{last['n']}={last['maxrss_mb']:.0f} data_mb_per_string_mb={growth:.2f}")


def argparse_hidden() -> str:
    """Help text of the internal --child option."""
    return "internal: measure one size in this process and print JSON"


if __name__ == "__main__":
    main()
