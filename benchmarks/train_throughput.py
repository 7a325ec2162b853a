"""Training throughput: the notes' pipeline versus protlab.training.train_model, interleaved, same data.

Both train the notes' case-study CNN (124,738 parameters) for one epoch with
Adam(1e-3), batch 32, gradient clipping at 1.0. The reference pads every
sequence to 512 and encodes per residue in Python; ProtLab tokenises once,
batches by length and keeps every residue (no truncation). Timings include
data loading: the reference's Dataset/DataLoader, ProtLab's tokenisation,
and ProtLab's end-of-epoch validation on a small fixed set (counted against it).
"""

from __future__ import annotations

import sys

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
import torch
from common import (
    base_parser,
    conv_flops_per_residue,
    interleaved_wall_cpu,
    load_deepsol,
    machine_header,
    matmul_peak_gflops,
    median,
    result_line,
    set_threads,
)
from reference_pipeline import REFERENCE_MAX_LEN, run_reference_epoch

from protlab.alphabet import NOTES_VOCAB_SIZE
from protlab.data import TokenizedSet
from protlab.models import CNNConfig, SolubilityCNN
from protlab.training import TrainConfig, cpu_bf16_available, train_model

PROTLAB_MAX_LENGTH = 2000  # ProtLab keeps every residue of sequences up to this length (DeepSol max: 1,696)
VAL_SIZE = 64  # sequences in the small validation set train_model needs (its time counts against ProtLab)


def conv_layers(config: CNNConfig) -> list[tuple[int, int, int]]:
    """(C_in, C_out, k) of every convolution of a SolubilityCNN."""
    return [
        (config.embed_dim if i == 0 else config.hidden_dim, config.hidden_dim, config.kernel_size)
        for i in range(config.num_layers)
    ]


def protlab_precision(device: str, fp32: bool) -> str:
    """Describe the arithmetic train_model will use with this benchmark's settings."""
    if device == "cuda":
        return "CUDA mixed precision (TrainConfig.mixed_precision)"
    if not fp32 and TrainConfig().cpu_bf16 and cpu_bf16_available():
        return "bf16 autocast on the CPU (TrainConfig.cpu_bf16 default; native AVX512-BF16/AMX)"
    return "fp32" + (" (--fp32)" if fp32 else "")


def protlab_epoch(
    sequences: list[str],
    labels: np.ndarray,
    val: tuple[list[str], np.ndarray],
    *,
    seed: int,
    device: str,
    mixed: bool,
    fp32: bool = False,
) -> tuple[float, float]:
    """Tokenise, build the default CNN and run train_model for one epoch; returns (training loss, val AUC)."""
    train_set = TokenizedSet.from_sequences(
        sequences, labels, vocab_size=NOTES_VOCAB_SIZE, max_length=PROTLAB_MAX_LENGTH
    )
    val_set = TokenizedSet.from_sequences(
        val[0], val[1], vocab_size=NOTES_VOCAB_SIZE, max_length=PROTLAB_MAX_LENGTH
    )
    model = SolubilityCNN(CNNConfig(vocab_size=NOTES_VOCAB_SIZE))
    config = TrainConfig(
        optimizer="adam",
        lr=1e-3,
        batch_size=32,
        epochs=1,
        patience=0,
        scheduler="none",
        grad_clip=1.0,
        seed=seed,
        device=device,
        mixed_precision=mixed,
        max_length=PROTLAB_MAX_LENGTH,
        cpu_bf16=not fp32,
    )
    result = train_model(model, train_set, val_set, config)
    if device == "cuda":
        torch.cuda.synchronize()
    return result.history[-1].train_loss, result.history[-1].val_metrics["auc"]


def main(argv: list[str] | None = None, *, default_device: str = "cpu") -> None:
    """Run reference and ProtLab epochs in turn; print seqs/s, useful FLOP rates and the speedup."""
    parser = base_parser(__doc__)
    parser.add_argument("--subset", type=int, default=None, help="sequences per epoch (default: all 6,942)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=default_device)
    parser.add_argument(
        "--fp32", action="store_true", help="turn ProtLab's CPU bf16 autocast off (TrainConfig.cpu_bf16)"
    )
    args = parser.parse_args(argv)
    if args.repeats == parser.get_default("repeats"):
        args.repeats = 3
    threads = set_threads(args.threads)
    subset, repeats = (24, 1) if args.quick else (args.subset, args.repeats)
    mixed = args.device == "cuda"
    sequences, labels = load_deepsol(subset, seed=0)
    val = load_deepsol(8 if args.quick else VAL_SIZE, seed=1)
    residues = np.array([len(s) for s in sequences])
    useful_protlab = float(residues.sum())  # every residue, no truncation
    useful_reference = float(np.minimum(residues, REFERENCE_MAX_LEN).sum())  # the reference cuts at 512
    flops = conv_flops_per_residue(conv_layers(CNNConfig(vocab_size=NOTES_VOCAB_SIZE)))
    n = len(sequences)
    print(
        machine_header(
            f"training throughput, one epoch, device {args.device}{' with mixed precision' if mixed else ''}",
            threads,
        )
    )
    print(
        f"# data: {n} DeepSol sequences{' (full epoch)' if n == 6942 else ' (random subset)'}, "
        f"{int(useful_protlab):,} residues; reference keeps {int(useful_reference):,} (cut at "
        f"{REFERENCE_MAX_LEN}), pads to {n * REFERENCE_MAX_LEN:,} positions; {repeats} interleaved repeats"
    )
    print(
        f"# protlab arithmetic: {protlab_precision(args.device, args.fp32)}; "
        "reference: fp32 (as in the notes)"
    )
    aucs: list[float] = []  # ProtLab's validation AUC after each timed epoch (same seed: same model)
    fns = {
        "reference": lambda: run_reference_epoch(sequences, labels, seed=0, device=args.device),
        "protlab": lambda: aucs.append(
            protlab_epoch(sequences, labels, val, seed=0, device=args.device, mixed=mixed, fp32=args.fp32)[1]
        ),
        "peak": lambda: peak.append(matmul_peak_gflops(device=args.device, repeats=3)),
    }
    peak: list[float] = []
    if not args.quick:  # warm-up both: first-call kernel selection and allocator growth are not throughput
        run_reference_epoch(sequences[:64], labels[:64], seed=0, device=args.device)
        fns["protlab"]()
        aucs.clear()  # report the timed epochs only
    times, cpu = interleaved_wall_cpu(fns, repeats)
    ratios = [r / p for r, p in zip(times["reference"], times["protlab"])]  # paired, same load
    cpu_ratios = [r / p for r, p in zip(cpu["reference"], cpu["protlab"])]
    peak_g = median(peak)
    for name in ("reference", "protlab"):
        print(
            f"{name:10s} {n / median(times[name]):9.1f} seqs/s wall, {n / median(cpu[name]):9.1f} seqs/s per "
            f"CPU-second  (epoch wall s: {', '.join(f'{t:.2f}' for t in times[name])}; CPU s: "
            f"{', '.join(f'{t:.2f}' for t in cpu[name])})"
        )
    print(
        f"fp32 matmul peak ({threads} thread(s)): {peak_g:.1f} GFLOP/s (median of {len(peak)} best-of-3, "
        "measured between epochs)"
    )
    print(
        f"protlab validation AUC after the epoch ({len(val[0])} sequences): "
        f"{', '.join(f'{a:.4f}' for a in aucs)}"
    )
    for clock, t in (("wall", times), ("CPU", cpu)):
        ref_rate = useful_reference * flops / median(t["reference"]) / 1e9
        pl_rate = useful_protlab * flops / median(t["protlab"]) / 1e9
        print(
            f"useful conv FLOP rate ({clock} time): reference {ref_rate:.1f} GFLOP/s "
            f"({100 * ref_rate / peak_g:.0f}% "
            f"of peak), protlab {pl_rate:.1f} GFLOP/s ({100 * pl_rate / peak_g:.0f}% of peak)"
        )
    print(
        f"paired speedups, wall: {', '.join(f'{r:.2f}' for r in ratios)}; CPU time: "
        f"{', '.join(f'{r:.2f}' for r in cpu_ratios)} (CPU-time median {median(cpu_ratios):.2f})"
    )
    print(result_line("cpu_speedup_vs_reference", median(cpu_ratios)))
    print(result_line("speedup_vs_reference", median(ratios)))


if __name__ == "__main__":
    main(sys.argv[1:])
