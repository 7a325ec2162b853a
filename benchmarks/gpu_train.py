"""Training on a CUDA GPU: ProtLab's epoch time on the GPU against the same epoch on the CPU, then
train_throughput on the GPU (mixed precision); without CUDA, one clear skip line.

The CPU-versus-GPU part trains the notes' case-study CNN with train_model for one epoch on the same
sequences (--subset, default all 6,942) once on each device, after a short GPU warm-up (cuDNN kernel
choice, allocator growth); each time includes tokenisation and the end-of-epoch validation.
The last line is train_throughput's: speedup_vs_reference=<x>.
"""

from __future__ import annotations

import sys
import time

import common  # noqa: F401  (puts the repository on sys.path)
import torch
from common import base_parser, load_deepsol, result_line, set_threads

SKIP_LINE = "GPU benchmark skipped: no CUDA device on this machine"


def epoch_seconds(device: str, sequences: list[str], labels, val, fp32: bool) -> float:
    """Wall seconds of one ProtLab epoch on device (mixed precision on CUDA), synchronised."""
    from train_throughput import protlab_epoch

    start = time.perf_counter()
    protlab_epoch(sequences, labels, val, seed=0, device=device, mixed=device == "cuda", fp32=fp32)
    return time.perf_counter() - start


def cpu_versus_gpu(argv: list[str]) -> None:
    """Print ProtLab's epoch time on the CPU and on the GPU and the GPU's speedup."""
    from train_throughput import VAL_SIZE, protlab_precision

    parser = base_parser(__doc__)
    parser.add_argument("--subset", type=int, default=None, help="sequences per epoch (default: all 6,942)")
    parser.add_argument("--fp32", action="store_true", help="turn the CPU run's bf16 autocast off")
    args, _ = parser.parse_known_args(argv)
    threads = set_threads(args.threads)
    sequences, labels = load_deepsol(24 if args.quick else args.subset, seed=0)
    val = load_deepsol(8 if args.quick else VAL_SIZE, seed=1)
    if not args.quick:
        epoch_seconds("cuda", sequences[:256], labels[:256], val, args.fp32)  # warm-up
    gpu = epoch_seconds("cuda", sequences, labels, val, args.fp32)
    cpu = epoch_seconds("cpu", sequences, labels, val, args.fp32)
    print(
        f"protlab epoch, {len(sequences)} sequences: GPU {gpu:.2f} s "
        f"({protlab_precision('cuda', args.fp32)}), CPU {cpu:.2f} s ({threads} thread(s), "
        f"{protlab_precision('cpu', args.fp32)}): GPU x{cpu / gpu:.1f} faster"
    )
    print(result_line("gpu_epoch_seconds", gpu, 3))
    print(result_line("gpu_speedup_vs_cpu", cpu / gpu))


def main(argv: list[str]) -> int:
    """Compare CPU and GPU epochs, then run train_throughput on CUDA; or print the skip line."""
    if not torch.cuda.is_available():
        print(SKIP_LINE)
        return 0
    import train_throughput

    print(f"# GPU: {torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda}")
    cpu_versus_gpu(argv)
    train_throughput.main(argv, default_device="cuda")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
