"""Shared helpers for the benchmarks: machine facts, interleaved timing, medians, the matmul peak."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout root, so `import protlab` works from any cwd
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DATA_PATH = REPO_ROOT / "assets" / "data" / "deepsol.csv"  # the bundled DeepSol set


def base_parser(description: str) -> argparse.ArgumentParser:
    """Return an argument parser with the options every benchmark shares."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats; medians are reported")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: the machine is shared, and 2 threads on 2 busy cores stall)",
    )
    return parser


def set_threads(threads: int) -> int:
    """Set torch's intra-op thread count and return it."""
    import torch

    if threads < 1:
        raise SystemExit(f"--threads must be a positive integer; got {threads}.")
    torch.set_num_threads(threads)
    return threads


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo (or platform as a fallback)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """Return the CPU feature flags from /proc/cpuinfo (empty when unavailable)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_cpu_bf16() -> bool:
    """True when the CPU has native bf16 arithmetic (AVX512-BF16 or AMX-BF16)."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def load_text() -> str:
    """Return the 1/5/15-minute load averages as text, to judge how noisy the figures are."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def machine_header(title: str, threads: int) -> str:
    """Return the lines printed at the top of every benchmark: what, where, how loaded."""
    import torch

    return (
        f"# {title}\n"
        f"# machine: {cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{threads} torch thread(s)\n"
        f"# {load_text()}"
    )


def median(values: list[float]) -> float:
    """Return the median of a non-empty list."""
    return float(statistics.median(values))


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Run fn once and return (seconds, its result)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Time each function in turn (a, b, a, b, ...) and return the wall seconds of every run per name."""
    return interleaved_wall_cpu(fns, repeats)[0]


def interleaved_wall_cpu(
    fns: dict[str, Callable[[], object]], repeats: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Like interleaved, but also return this process's CPU seconds per run (robust on a busy machine).

    With one torch thread, CPU seconds are what the wall time would be on an idle core: time spent
    waiting for a core taken by another process is not counted.
    """
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - wall_start)
            cpu[name].append(time.process_time() - cpu_start)
    return wall, cpu


def matmul_peak_gflops(
    *, n: int = 2048, repeats: int = 5, dtype: str = "float32", device: str = "cpu"
) -> float:
    """Measure the best torch.mm rate (GFLOP/s) on n x n matrices with the current thread count."""
    import torch

    torch_dtype = getattr(torch, dtype)
    a = torch.randn(n, n, device=device).to(torch_dtype)  # (n, n)
    b = torch.randn(n, n, device=device).to(torch_dtype)  # (n, n)

    def one() -> None:
        torch.mm(a, b)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    one()  # warm-up: lets oneDNN/MKL/cuBLAS pick its kernel
    # one CPU thread: count CPU seconds, so time spent descheduled by other processes does not count
    clock = time.process_time if device == "cpu" and torch.get_num_threads() == 1 else time.perf_counter
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        one()
        best = min(best, clock() - start)
    return 2.0 * n**3 / best / 1e9


def conv_flops_per_residue(layers: list[tuple[int, int, int]]) -> float:
    """Return forward+backward conv FLOPs per residue: 3 x sum of 2*C_in*C_out*k over (C_in, C_out, k)."""
    return 3.0 * sum(2.0 * c_in * c_out * k for c_in, c_out, k in layers)


def load_deepsol(limit: int | None = None, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Read the bundled DeepSol CSV; with limit, a seeded random subset of that many rows."""
    import pandas as pd

    frame = pd.read_csv(DATA_PATH)
    if limit is not None and limit < len(frame):
        frame = frame.sample(n=limit, random_state=seed)
    return frame["sequence"].tolist(), frame["label"].to_numpy(dtype=np.int64)


def synthetic_sequences(n: int, *, seed: int = 0, chunk: int = 2_000) -> list[str]:
    """Sample n sequences whose lengths and residue composition follow the bundled data (in small chunks)."""
    from protlab.alphabet import AMINO_ACIDS

    real, _ = load_deepsol()
    rng = np.random.default_rng(seed)
    lengths = np.array([len(s) for s in real])
    joined = np.frombuffer("".join(real).encode("ascii"), dtype=np.uint8)
    letters = np.frombuffer(AMINO_ACIDS.encode("ascii"), dtype=np.uint8)
    counts = np.array([(joined == c).sum() for c in letters], dtype=np.float64)
    probs = counts / counts.sum()
    out: list[str] = []
    for start in range(0, n, chunk):  # chunked, so sampling temporaries stay small next to the result
        chosen = rng.choice(lengths, size=min(chunk, n - start), replace=True)
        text = rng.choice(letters, size=int(chosen.sum()), p=probs).tobytes().decode("ascii")
        ends = np.cumsum(chosen)
        out.extend(text[end - length : end] for end, length in zip(ends, chosen))
    return out


def result_line(name: str, value: float, digits: int = 2) -> str:
    """Format a machine-readable `name=value` line."""
    return f"{name}={value:.{digits}f}"
