"""The Predict page's labels section on a large labelled file: time and peak memory of its bootstrap.

Times protlab.label_check.check_labels (AUC, accuracy and MCC with 2,000-resample bootstrap intervals) on
10,000 labelled proteins, the most a file to predict may hold, and reports the peak memory the Python heap
reached (tracemalloc). The bootstrap draws its resamples a chunk at a time; drawn all at once, as it was,
10,000 proteins took 33 s and 1.8 GB. Targets: under 5 s and under 250 MB.
"""

from __future__ import annotations

import tracemalloc

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from common import base_parser, machine_header, median, result_line, set_threads, timed

from protlab.alphabet import AMINO_ACIDS
from protlab.label_check import check_labels
from protlab.training import BOOTSTRAP_SAMPLES

TARGET_SECONDS, TARGET_MB = 5.0, 250.0  # in the web server's process, once per file and threshold


def main() -> None:
    """Print the median time and the peak memory of one check."""
    args = base_parser(__doc__.splitlines()[0]).parse_args()
    threads = set_threads(args.threads)
    n = 500 if args.quick else 10_000
    repeats = 1 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=n)
    p = np.clip(0.2 * labels + rng.uniform(0, 0.8, size=n), 0, 1)  # (n,) a model that is somewhat right
    sequences = ["".join(rng.choice(list(AMINO_ACIDS), 50)) for _ in range(n)]
    print(machine_header("Labels section: check_labels with bootstrap intervals", threads))
    print(f"# {n:,} labelled proteins, {BOOTSTRAP_SAMPLES:,} resamples")
    check_labels(p[:50], labels[:50], sequences[:50], 0.5)  # warm-up: imports, the bundled sequences
    times = [timed(lambda: check_labels(p, labels, sequences, 0.5))[0] for _ in range(repeats)]
    tracemalloc.start()
    check_labels(p, labels, sequences, 0.5)
    peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    seconds = median(times)
    print(f"check_labels  {seconds:.2f} s (median of {repeats})  peak {peak_mb:,.0f} MB")
    met = seconds < TARGET_SECONDS and peak_mb < TARGET_MB
    print(f"target: under {TARGET_SECONDS:.0f} s and {TARGET_MB:.0f} MB: {'met' if met else 'MISSED'}")
    print(result_line("label_check_peak_mb", peak_mb, 0))
    print(result_line("label_check_seconds", seconds, 2))


if __name__ == "__main__":
    main()
