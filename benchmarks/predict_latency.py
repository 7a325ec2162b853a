"""Prediction latency from raw text to P(soluble): one sequence, 1,000 sequences, one attribution map.

Each ProtLab measurement (clean + encode + forward through protlab.predict.Predictor)
is interleaved with the notes' way of doing the same thing (per-residue loop
encoding, padding to 512, the notes' CNN) so the figures come with a ratio.
"""

from __future__ import annotations

import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
import torch
from common import base_parser, load_deepsol, machine_header, median, result_line, set_threads, timed
from reference_pipeline import REFERENCE_MAX_LEN, ReferenceCNN

from protlab.alphabet import AA_TO_INDEX
from protlab.data import clean_sequence, parse_sequences
from protlab.models import CNNConfig, SolubilityCNN, save_checkpoint
from protlab.predict import DEFAULT_MODEL_PATH, Predictor

SINGLE_LENGTH = 300  # residues in the single-sequence case (close to DeepSol's mean, 302)


def load_predictor(workdir: Path) -> tuple[Predictor, str]:
    """The bundled default model, or (until it exists) a freshly built default CNN saved as a checkpoint."""
    if DEFAULT_MODEL_PATH.exists():
        return Predictor.default(), f"default model {DEFAULT_MODEL_PATH.name}"
    torch.manual_seed(0)
    config = CNNConfig()
    path = save_checkpoint(
        workdir / "fresh.pt", SolubilityCNN(config), kind="cnn", model_config=asdict(config)
    )
    return Predictor.from_checkpoint(path), "freshly built SolubilityCNN (assets/models/default.pt not found)"


@torch.inference_mode()
def notes_predict(model: ReferenceCNN, sequences: list[str]) -> np.ndarray:
    """The notes' way: loop-encode each sequence into a 512-long tensor, then one forward pass."""
    tokens = torch.zeros(len(sequences), REFERENCE_MAX_LEN, dtype=torch.long)  # (N, 512) int64
    mask = torch.zeros(len(sequences), REFERENCE_MAX_LEN)  # (N, 512) float32
    for row, seq in enumerate(sequences):
        for i, aa in enumerate(seq[:REFERENCE_MAX_LEN]):
            tokens[row, i] = AA_TO_INDEX.get(aa, 0)
        mask[row, : min(len(seq), REFERENCE_MAX_LEN)] = 1.0
    return torch.softmax(model(tokens, mask), dim=1)[:, 1].numpy()


def fasta_text(sequences: list[str]) -> str:
    """Raw FASTA text, 60 residues a line, as a user would paste it."""
    return "".join(f">seq{i + 1}\n" + "\n".join(textwrap.wrap(s, 60)) + "\n" for i, s in enumerate(sequences))


def paired(
    ours: Callable[[], object], theirs: Callable[[], object], repeats: int
) -> tuple[list[float], list[float], list[float]]:
    """Time ours() and theirs() alternately; returns ours' wall and CPU seconds and theirs' wall seconds."""
    wall, cpu, other = [], [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        ours()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        other.append(timed(theirs)[0])
    return wall, cpu, other


def report(name: str, ours: list[float], cpu: list[float], theirs: list[float], unit: str = "ms") -> float:
    """Print p50/p95 (wall), the CPU-time p50 and the ratio to the notes' way;
    returns our wall p50 in `unit`.
    """
    scale = 1000.0 if unit == "ms" else 1.0
    p50, p95 = float(np.percentile(ours, 50)) * scale, float(np.percentile(ours, 95)) * scale
    cpu50 = float(np.percentile(cpu, 50)) * scale
    ratio = median(theirs) / median(ours)
    print(
        f"{name:34s} p50 {p50:9.2f} {unit}  p95 {p95:9.2f} {unit}  CPU p50 {cpu50:9.2f} {unit}  "
        f"(x{ratio:.1f} faster than the notes' way)"
    )
    return p50


def main() -> None:
    """Measure the three prediction paths and print p50 figures as key=value lines."""
    parser = base_parser(__doc__)
    args = parser.parse_args()
    threads = set_threads(args.threads)
    n_single, n_batch, n_batch_runs, n_attr = (
        (3, 20, 1, 2) if args.quick else (50, 1000, max(3, args.repeats), 15)
    )
    with tempfile.TemporaryDirectory() as tmp:
        predictor, source = load_predictor(Path(tmp))
        reference = ReferenceCNN().eval()
        sequences, _ = load_deepsol(None)
        single = min(sequences, key=lambda s: abs(len(s) - SINGLE_LENGTH))
        single_text = "\n".join(textwrap.wrap(single.lower(), 60))  # lower case, wrapped: cleaning has work
        batch = sequences[:n_batch]
        batch_text = fasta_text(batch)
        print(machine_header("prediction latency (raw text -> P(soluble))", threads))
        print(f"# model: {source}; single sequence {len(single)} residues; batch {n_batch} sequences")
        predictor.predict([clean_sequence(single_text).sequence])  # warm-up
        one = report(
            f"one sequence ({len(single)} aa)",
            *paired(
                lambda: predictor.predict([clean_sequence(single_text).sequence]),
                lambda: notes_predict(reference, [single.upper()]),
                n_single,
            ),
        )
        many = report(
            f"{n_batch} sequences (FASTA text)",
            *paired(
                lambda: predictor.predict([r.sequence for r in parse_sequences(batch_text)]),
                lambda: notes_predict(reference, batch),
                n_batch_runs,
            ),
            unit="s",
        )
        cleaned = clean_sequence(single_text).sequence
        attr, attr_cpu, _ = paired(lambda: predictor.attribution(cleaned), lambda: None, n_attr)
        attr_p50 = float(np.percentile(attr, 50)) * 1000
        print(
            f"{'one attribution map (' + str(len(single)) + ' aa)':34s} p50 {attr_p50:9.2f} ms  p95 "
            f"{float(np.percentile(attr, 95)) * 1000:9.2f} ms  CPU p50 "
            f"{float(np.percentile(attr_cpu, 50)) * 1000:9.2f} ms"
        )
        print(result_line("single_p50_ms", one))
        print(result_line(f"batch{n_batch}_seconds", many, 3))
        print(result_line("attribution_p50_ms", attr_p50))


if __name__ == "__main__":
    main()
