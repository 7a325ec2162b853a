"""Saturation mutagenesis speed: every single substitution of a 300-residue protein with the default model.

Times protlab.mutagenesis.saturation_mutagenesis (19 x 300 = 5,700 mutants plus the wild type) on one
core, and, once, the full-model path (every mutant through Predictor.predict) that it replaces, checking
that both give the same P(soluble). Target: under 3 s for the default model on one core.
"""

from __future__ import annotations

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from common import base_parser, machine_header, median, result_line, set_threads, timed
from predict_latency import load_predictor

from protlab.alphabet import AMINO_ACIDS
from protlab.mutagenesis import saturation_mutagenesis

TARGET_SECONDS = 3.0  # the target for a 300-residue protein


def main() -> None:
    """Print the median scan time, the full-model time and their agreement."""
    import tempfile
    from pathlib import Path

    args = base_parser(__doc__.splitlines()[0]).parse_args()
    threads = set_threads(args.threads)
    length = 40 if args.quick else 300
    repeats = 1 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    sequence = "".join(rng.choice(list(AMINO_ACIDS), length))
    with tempfile.TemporaryDirectory() as workdir:
        predictor, name = load_predictor(Path(workdir))
        print(machine_header("Saturation mutagenesis", threads))
        print(f"# model: {name}; protein: {length} residues, {19 * length:,} mutants")
        saturation_mutagenesis(predictor, sequence[:20])  # warm-up
        times, table = [], None
        for _ in range(repeats):
            seconds, table = timed(lambda: saturation_mutagenesis(predictor, sequence))
            times.append(seconds)
        frame = table.frame()
        mutants = [sequence[: p - 1] + m + sequence[p:] for p, m in zip(frame.position, frame.mutant)]
        full_seconds, full = timed(lambda: predictor.predict(mutants))
        gap = float(np.abs(full - frame["p_soluble"].to_numpy()).max())
        scan = median(times)
        print(
            f"saturation_mutagenesis  {scan:.3f} s (median of {repeats})  {19 * length / scan:,.0f} mutants/s"
        )
        print(
            f"every mutant through Predictor.predict  {full_seconds:.3f} s  "
            f"({full_seconds / scan:.1f}x slower)"
        )
        print(f"largest P(soluble) difference between the two: {gap:.1e}")
        print(
            f"target: under {TARGET_SECONDS:.0f} s for 300 residues: "
            f"{'met' if scan < TARGET_SECONDS else 'MISSED'}"
        )
        print(result_line("mutagenesis_seconds", scan, 3))


if __name__ == "__main__":
    main()
