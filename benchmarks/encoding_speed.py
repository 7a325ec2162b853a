"""Residues per second: the notes' per-residue encoding loop versus protlab's vectorised encoding."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import common  # noqa: F401  (puts the repository on sys.path)
import torch
from common import (
    base_parser,
    interleaved_wall_cpu,
    load_deepsol,
    machine_header,
    median,
    result_line,
    set_threads,
)

from protlab.alphabet import AA_TO_INDEX, NOTES_VOCAB_SIZE
from protlab.data import TokenizedSet, encode, pad_batch


def notes_loop(sequences: Sequence[str]) -> None:
    """The notes' Dataset encoding: one tensor element written per residue, unknown -> 0."""
    for seq in sequences:
        encoded = torch.zeros(len(seq), dtype=torch.long)  # (L,) int64
        for i, aa in enumerate(seq):
            encoded[i] = AA_TO_INDEX.get(aa, 0)


def python_list_loop(sequences: Sequence[str]) -> None:
    """A kinder loop baseline: a Python list comprehension per sequence, then one tensor."""
    for seq in sequences:
        torch.tensor([AA_TO_INDEX.get(aa, 0) for aa in seq], dtype=torch.long)  # (L,) int64


def protlab_encode(sequences: Sequence[str]) -> None:
    """protlab.encoding.encode, called once per sequence (the Predict page's path)."""
    for seq in sequences:
        encode(seq, vocab_size=NOTES_VOCAB_SIZE)  # (L,) int64


def protlab_pad_batch(sequences: Sequence[str]) -> None:
    """protlab.encoding.pad_batch on the whole sample at once (one lookup for all residues)."""
    pad_batch(sequences, vocab_size=NOTES_VOCAB_SIZE)  # (N, Lmax) int64 and (N, Lmax) float32


def protlab_tokenized_set(sequences: Sequence[str]) -> None:
    """protlab.batching.TokenizedSet.from_sequences (the training path: tokenise once, flat array)."""
    TokenizedSet.from_sequences(sequences, vocab_size=NOTES_VOCAB_SIZE, max_length=10_000)


METHODS: dict[str, Callable[[Sequence[str]], None]] = {
    "notes_loop": notes_loop,
    "python_list_loop": python_list_loop,
    "protlab_encode": protlab_encode,
    "protlab_pad_batch": protlab_pad_batch,
    "protlab_tokenized_set": protlab_tokenized_set,
}


def main() -> None:
    """Time every method on the same sample, interleaved, and print residues/s and ratios."""
    parser = base_parser(__doc__)
    parser.add_argument("--n", type=int, default=300, help="sequences in the sample")
    args = parser.parse_args()
    threads = set_threads(args.threads)
    n, repeats = (10, 2) if args.quick else (args.n, args.repeats)
    sequences, _ = load_deepsol(n, seed=0)
    residues = sum(len(s) for s in sequences)
    print(machine_header("encoding speed (residues/s, median of interleaved runs)", threads))
    print(f"# sample: {n} DeepSol sequences, {residues:,} residues, {repeats} repeats")
    wall, cpu = interleaved_wall_cpu(
        {name: (lambda f=f: f(sequences)) for name, f in METHODS.items()}, repeats
    )
    rates = {name: residues / median(t) for name, t in cpu.items()}
    wall_rates = {name: residues / median(t) for name, t in wall.items()}
    base, wall_base = rates["notes_loop"], wall_rates["notes_loop"]
    print(
        "# rates per CPU-second (one thread: waiting for a busy core is not counted); "
        "wall-clock ratio in brackets"
    )
    for name, rate in rates.items():
        print(
            f"{name:24s} {rate:14,.0f} residues/s   x{rate / base:8.1f} vs notes_loop  "
            f"(wall x{wall_rates[name] / wall_base:.1f})"
        )
    print(result_line("encoding_speedup", rates["protlab_encode"] / base, 1))


if __name__ == "__main__":
    main()
