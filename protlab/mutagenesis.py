"""In-silico saturation mutagenesis: P(soluble) for every single substitution of one protein.

For a protein of length L the model scores 19 x L mutants (each position changed to each other residue)
plus the wild type; delta = P(soluble) of the mutant minus that of the wild type. Models made of the
layers protlab.mutation_scan knows (the CNN, SolubilityNet, ensembles of them) are scored exactly from a
short window around each substitution; any other model runs on every full mutant through its Predictor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from protlab.alphabet import AA_TO_INDEX, AMINO_ACIDS
from protlab.checks import IntRange
from protlab.data import encode_numpy
from protlab.errors import ConfigError, InvalidSequenceError
from protlab.mutation_scan import scanner_for
from protlab.predict import Predictor

__all__ = [
    "MAX_MUTAGENESIS_LENGTH",
    "MutationTable",
    "apply_mutations",
    "parse_mutation",
    "saturation_mutagenesis",
]

MAX_MUTAGENESIS_LENGTH = 2_000  # residues; the scan scores 19 mutants per residue
BATCH_SIZE = IntRange(1, 4096)  # mutants per forward pass
_MUTATION = re.compile(r"([A-Za-z])(\d+)([A-Za-z])")  # e.g. A23G: wild type, 1-based position, mutant

Progress = Callable[[int, int], None]  # progress(mutants done, mutants in all)


@dataclass
class MutationTable:
    """P(soluble) of every single substitution of one protein."""

    sequence: str  # the wild type (cleaned, uppercase)
    wild_type_p: float  # P(soluble) of the wild type
    p_soluble: np.ndarray  # (L, 20) P(soluble) with AMINO_ACIDS[j] at position i (own residue: wild_type_p)

    @property
    def delta(self) -> np.ndarray:
        """Mutant minus wild-type P(soluble); 0 where the residue is the wild type's.  # (L, 20)"""
        return self.p_soluble - self.wild_type_p

    def frame(self) -> pd.DataFrame:
        """One row per substitution: position (1-based), wild_type, mutant, p_soluble, delta."""
        length = len(self.sequence)
        wild = np.repeat(np.array(list(self.sequence)), len(AMINO_ACIDS))  # (L*20,)
        mutant = np.tile(np.array(list(AMINO_ACIDS)), length)  # (L*20,)
        table = pd.DataFrame(
            {
                "position": np.repeat(np.arange(1, length + 1), len(AMINO_ACIDS)),
                "wild_type": wild,
                "mutant": mutant,
                "p_soluble": self.p_soluble.reshape(-1),
                "delta": self.delta.reshape(-1),
            }
        )
        return table[table["wild_type"] != table["mutant"]].reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Per position: mean delta over its substitutions and the substitution that helps most."""
        delta = self.delta  # (L, 20)
        own = np.array([[aa == wt for aa in AMINO_ACIDS] for wt in self.sequence])  # (L, 20) wild-type cells
        masked = np.where(own, np.nan, delta)  # (L, 20)
        best = np.nanargmax(masked, axis=1)  # (L,)
        rows = np.arange(len(self.sequence))
        return pd.DataFrame(
            {
                "position": rows + 1,
                "wild_type": list(self.sequence),
                "mean_delta": np.nanmean(masked, axis=1),
                "best_mutant": [AMINO_ACIDS[j] for j in best],
                "best_delta": masked[rows, best],
            }
        )


def parse_mutation(text: str, sequence: str) -> tuple[int, str]:
    """(0-based position, mutant letter) of a mutation like 'A23G', checked against sequence."""
    match = _MUTATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(
            f"A mutation must be written wild-type letter, 1-based position, new letter, e.g. 'A23G'; "
            f"got {text!r}."
        )
    wild, position, mutant = match[1].upper(), int(match[2]), match[3].upper()
    if not 1 <= position <= len(sequence):
        raise ConfigError(
            f"Mutation {text}: position {position} is outside the protein; positions run from 1 to "
            f"{len(sequence)}."
        )
    if sequence[position - 1] != wild:
        raise ConfigError(
            f"Mutation {text}: residue {position} is {sequence[position - 1]}, not {wild}; write it as "
            f"{sequence[position - 1]}{position}{mutant}."
        )
    if mutant not in AMINO_ACIDS:
        raise ConfigError(
            f"Mutation {text}: the new residue must be one of the 20 standard amino acids ({AMINO_ACIDS}); "
            f"got {mutant}."
        )
    if mutant == wild:
        raise ConfigError(f"Mutation {text} changes nothing: residue {position} already is {wild}.")
    return position - 1, mutant


def apply_mutations(sequence: str, mutations: Sequence[str]) -> str:
    """The sequence with mutations like ['A23G', ...] applied in order (each checked against the
    sequence as the earlier ones left it)."""
    if isinstance(mutations, str):
        mutations = [mutations]
    letters = list(sequence)
    for text in mutations:
        index, mutant = parse_mutation(text, "".join(letters))
        letters[index] = mutant
    return "".join(letters)


def _pairs(sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """0-based positions and alphabet columns of every substitution, position-major.  # 2 x (N,) int64"""
    length, n_aa = len(sequence), len(AMINO_ACIDS)
    positions = np.repeat(np.arange(length), n_aa)  # (L*20,)
    columns = np.tile(np.arange(n_aa), length)  # (L*20,)
    wild = np.array([AMINO_ACIDS.find(aa) for aa in sequence])  # (L,) -1 for an unknown residue
    keep = columns != wild[positions]
    return positions[keep], columns[keep]


def _scan_generic(
    predictor: Predictor,
    sequence: str,
    positions: np.ndarray,
    columns: np.ndarray,
    batch_size: int,
    progress: Progress | None,
) -> np.ndarray:
    """P(soluble) of each mutant by running the full model on it through the Predictor.  # (N,)"""
    out = np.empty(len(positions), dtype=np.float64)
    for lo in range(0, len(positions), batch_size):
        batch = [
            sequence[:p] + AMINO_ACIDS[c] + sequence[p + 1 :]
            for p, c in zip(positions[lo : lo + batch_size], columns[lo : lo + batch_size])
        ]
        out[lo : lo + len(batch)] = predictor.predict(batch)
        if progress is not None:
            progress(lo + len(batch), len(positions))
    return out


def _scan_local(scanner, positions: np.ndarray, columns: np.ndarray, batch_size: int, progress) -> np.ndarray:
    """P(soluble) of each mutant from a MutantScanner, in batches.  # (N,)"""
    tokens = np.array([AA_TO_INDEX[aa] for aa in AMINO_ACIDS], dtype=np.int64)[columns]  # (N,)
    out = np.empty(len(positions), dtype=np.float64)
    for lo in range(0, len(positions), batch_size):
        hi = min(lo + batch_size, len(positions))
        p = scanner.probabilities(torch.from_numpy(positions[lo:hi]), torch.from_numpy(tokens[lo:hi]))
        out[lo:hi] = p.double().numpy()
        if progress is not None:
            progress(hi, len(positions))
    return out


def saturation_mutagenesis(
    predictor: Predictor, sequence: str, batch_size: int = 512, progress: Progress | None = None
) -> MutationTable:
    """P(soluble) of every single substitution of a cleaned sequence (19 per standard residue).

    batch_size: mutants per forward pass; progress(done, total) is called after every batch.
    """
    BATCH_SIZE.check(batch_size, "batch_size")
    if not isinstance(sequence, str) or not sequence:
        raise InvalidSequenceError("Mutagenesis needs one non-empty protein sequence.")
    if len(sequence) > MAX_MUTAGENESIS_LENGTH:
        raise ConfigError(
            f"Mutagenesis is limited to proteins of up to {MAX_MUTAGENESIS_LENGTH:,} residues "
            f"(19 mutants per residue); this one has {len(sequence):,}."
        )
    encoded = encode_numpy(sequence, vocab_size=predictor.vocab_size).astype(np.int64)  # (L,) checks letters
    wild_p = float(predictor.predict([sequence])[0])
    positions, columns = _pairs(sequence)
    scanner = None if predictor.uses_features else scanner_for(predictor.model, torch.from_numpy(encoded))
    if scanner is None:
        probs = _scan_generic(predictor, sequence, positions, columns, batch_size, progress)
    else:
        probs = _scan_local(scanner, positions, columns, batch_size, progress)
    table = np.full((len(sequence), len(AMINO_ACIDS)), wild_p)  # (L, 20)
    table[positions, columns] = probs
    return MutationTable(sequence, wild_p, table)
