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
from dataclasses import asdict
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
from common import base_parser, machine_header, set_threads, synthetic_sequences

SIZES = (1_000, 10_000, 100_000)  # data-set sizes, one fresh process each
QUICK_SIZES = (200, 400)  # sizes for --quick
TRAIN_BATCHES = 30  # batches of 32 in the fixed training pass
PREDICT_SEQUENCES = 1_000  # sequences in the fixed prediction pass
MB = 1024.0 * 1024.0


def maxrss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def stage(fn):
    """Run fn with a fresh tracemalloc peak; return (seconds, tracemalloc peak MiB, fn's result)."""
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    return seconds, (tracemalloc.get_traced_memory()[1] - base) / MB, result


def train_fixed(train, val, n_batches: int) -> None:
    """train_model on `train`, stopped after exactly n_batches batches via its stop event."""
    from protlab.models.cnn import SolubilityCNN
    from protlab.training import BatchEvent, TrainConfig, train_model

    stop = threading.Event()

    def on_event(event) -> None:
        if isinstance(event, BatchEvent) and event.batch >= n_batches:
            stop.set()

    config = TrainConfig(epochs=1, batch_size=32, scheduler="none", patience=0, device="cpu", batch_events=True)
    train_model(SolubilityCNN(), train, val, config, callback=on_event, stop=stop)


def child(n: int, quick: bool) -> dict:
    """Measure every stage at size n in this (fresh) process; returns the figures as a dict."""
    import numpy as np

    from protlab.alphabet import NOTES_VOCAB_SIZE
    from protlab.batching import TokenizedSet, batch_indices, length_bucketed_batches
    from protlab.checkpoint import save_checkpoint
    from protlab.models.cnn import CNNConfig, SolubilityCNN
    from protlab.predict import Predictor

    sequences = synthetic_sequences(n, seed=n)
    labels = np.arange(n) % 2  # (N,) balanced dummy labels: speed does not depend on them
    residues = sum(len(s) for s in sequences)
    string_mb = sum(sys.getsizeof(s) for s in sequences) / MB
    rss_data = maxrss_mb()
    tracemalloc.start()
    t_tok, m_tok, data = stage(lambda: TokenizedSet.from_sequences(sequences, labels, vocab_size=NOTES_VOCAB_SIZE,
                                                                    max_length=2000))
    t_bat, m_bat, _ = stage(lambda: sum(1 for _ in length_bucketed_batches(data, batch_size=32, shuffle=True)))
    tracemalloc.stop()
    n_train = 2 if quick else TRAIN_BATCHES
    groups = batch_indices(data, batch_size=32, shuffle=True, seed=42, epoch=1)[:n_train]
    train_residues = int(sum(data.lengths[g].sum() for g in groups))
    val = data.subset(np.arange(min(64, n)))
    t_train, _, _ = stage(lambda: train_fixed(data, val, n_train))
    with tempfile.TemporaryDirectory() as tmp:
        path = save_checkpoint(Path(tmp) / "m.pt", SolubilityCNN(), kind="cnn", model_config=asdict(CNNConfig()))
        predictor = Predictor.from_checkpoint(path)
        chosen = sequences[: (50 if quick else PREDICT_SEQUENCES)]
        t_pred, _, _ = stage(lambda: predictor.predict(chosen))
    return {
        "n": n, "residues": residues, "string_mb": string_mb, "rss_after_data_mb": rss_data,
        "tokenise_res_per_s": residues / t_tok, "tokenise_peak_mb": m_tok, "flat_mb": data.flat.nbytes / MB,
        "batching_res_per_s": residues / t_bat, "batching_peak_mb": m_bat,
        "train_res_per_s": train_residues / t_train, "predict_seq_per_s": len(chosen) / t_pred,
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
    print(f"# training pass: {2 if args.quick else TRAIN_BATCHES} batches of 32; prediction: "
          f"{50 if args.quick else PREDICT_SEQUENCES} sequences; throughput in residues/s unless noted")
    print(f"{'n':>8} {'residues':>11} {'strings MB':>10} {'tokenise/s':>12} {'tok peak MB':>11} "
          f"{'batch/s':>12} {'batch peak MB':>13} {'train/s':>9} {'pred seq/s':>10} {'maxrss MB':>9}")
    rows = []
    for n in QUICK_SIZES if args.quick else SIZES:
        cmd = [sys.executable, __file__, "--child", str(n), "--threads", str(threads)] + (["--quick"] if args.quick
                                                                                          else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        rows.append(row)
        print(f"{row['n']:>8,} {row['residues']:>11,} {row['string_mb']:>10.1f} {row['tokenise_res_per_s']:>12.3g} "
              f"{row['tokenise_peak_mb']:>11.1f} {row['batching_res_per_s']:>12.3g} {row['batching_peak_mb']:>13.1f} "
              f"{row['train_res_per_s']:>9.0f} {row['predict_seq_per_s']:>10.0f} {row['maxrss_mb']:>9.0f}", flush=True)
    first, last = rows[0], rows[-1]
    growth = (last["maxrss_mb"] - first["maxrss_mb"]) / max(last["string_mb"] - first["string_mb"], 1e-9)
    print(f"largest/smallest throughput: tokenise {last['tokenise_res_per_s'] / first['tokenise_res_per_s']:.2f}, "
          f"batching {last['batching_res_per_s'] / first['batching_res_per_s']:.2f}, "
          f"train {last['train_res_per_s'] / first['train_res_per_s']:.2f}, "
          f"predict {last['predict_seq_per_s'] / first['predict_seq_per_s']:.2f}")
    print(f"peak_rss_mb_at_{last['n']}={last['maxrss_mb']:.0f} rss_growth_per_string_mb={growth:.2f}")


def argparse_hidden() -> str:
    """Help text of the internal --child option."""
    return "internal: measure one size in this process and print JSON"


if __name__ == "__main__":
    main()
