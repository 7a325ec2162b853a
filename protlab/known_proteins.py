"""Well-characterised proteins with a documented E. coli expression outcome, and a model's calls on them.

The table (assets/data/known_proteins.csv) lists each protein's name, organism, UniProt accession, the
residues of that entry used, the exact sequence, the documented outcome ('soluble' or 'insoluble'), the
source of that outcome and a note. None of these sequences is in the bundled training data, so they are a
small honest check of what a model has learned, not a benchmark.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from protlab.checks import FloatRange
from protlab.data import clean_sequence
from protlab.errors import DataFormatError, InvalidSequenceError

KNOWN_PROTEINS_PATH = Path(__file__).resolve().parents[1] / "assets" / "data" / "known_proteins.csv"
KNOWN_COLUMNS = ["name", "organism", "uniprot", "residues", "sequence", "ecoli_outcome", "source", "note"]
OUTCOMES = ("soluble", "insoluble")  # documented outcomes, as the model's calls are named


@dataclasses.dataclass(frozen=True)
class KnownProtein:
    """One row of the known-proteins table."""

    name: str  # common name, e.g. "Thioredoxin 1 (TrxA)"
    organism: str  # source organism
    uniprot: str  # UniProt accession of the entry the sequence comes from
    residues: str  # which residues of that entry, e.g. "27-396 (without the signal peptide)"
    sequence: str  # the exact UniProt sequence of those residues
    ecoli_outcome: str  # "soluble" or "insoluble" when expressed in E. coli
    source: str  # the paper documenting the outcome
    note: str  # why, in a sentence


def load_known_proteins(path: str | Path = KNOWN_PROTEINS_PATH) -> list[KnownProtein]:
    """Read and check the known-proteins table: every column present, outcomes named, sequences clean."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in KNOWN_COLUMNS if c not in table.columns]
    if missing:
        raise DataFormatError(f"The known-proteins table {Path(path).name} lacks the columns {missing}.")
    proteins = []
    for line, row in enumerate(table[KNOWN_COLUMNS].itertuples(index=False), start=2):
        protein = KnownProtein(*row)
        if protein.ecoli_outcome not in OUTCOMES:
            raise DataFormatError(
                f"ecoli_outcome on line {line} must be one of {list(OUTCOMES)}; "
                f"got {protein.ecoli_outcome!r}."
            )
        cleaned = clean_sequence(protein.sequence)
        if cleaned.sequence != protein.sequence or cleaned.unknown_positions:
            raise InvalidSequenceError(
                f"The sequence of {protein.name} (line {line}) must be written in the 20 standard "
                "one-letter codes, upper case, without spaces."
            )
        proteins.append(protein)
    return proteins


@functools.cache
def shipped_known_proteins() -> tuple[KnownProtein, ...]:
    """The shipped table (assets/data/known_proteins.csv), read and checked once per process."""
    return tuple(load_known_proteins())


def known_protein_named(word: str) -> KnownProtein | None:
    """The one known protein whose name contains `word` (3+ letters, any case), else None."""
    if len(word) < 3:
        return None
    found = [p for p in shipped_known_proteins() if word.lower() in p.name.lower()]
    return found[0] if len(found) == 1 else None


def known_protein_with(sequence: str) -> KnownProtein | None:
    """The known protein with exactly this sequence, else None."""
    return next((p for p in shipped_known_proteins() if p.sequence == sequence), None)


def known_protein_calls(
    predictor: Any, threshold: float | None = None, prior: float | None = None
) -> pd.DataFrame:
    """The predictor's P(soluble) and call for each known protein, beside its documented outcome.

    threshold defaults to the model's stored threshold (else 0.5); prior, when given, adjusts P(soluble)
    to the expected soluble fraction as Predictor.predict_table does. Columns: name, organism, uniprot,
    residues, length, documented, p_soluble, call, agrees, source, note.
    """
    if threshold is None:
        stored = predictor.stored_threshold
        threshold = stored if stored is not None else 0.5
    FloatRange(0, 1).check(threshold, "threshold")
    proteins = shipped_known_proteins()
    records = [clean_sequence(p.sequence) for p in proteins]
    records = [dataclasses.replace(r, id=p.uniprot) for r, p in zip(records, proteins)]
    table = predictor.predict_table(records, threshold=threshold, prior=prior)
    documented = np.array([p.ecoli_outcome for p in proteins])
    return pd.DataFrame(
        {
            "name": [p.name for p in proteins],
            "organism": [p.organism for p in proteins],
            "uniprot": [p.uniprot for p in proteins],
            "residues": [p.residues for p in proteins],
            "length": table["length"].to_numpy(),
            "documented": documented,
            "p_soluble": table["p_soluble"].to_numpy(),
            "call": table["prediction"].to_numpy(),
            "agrees": table["prediction"].to_numpy() == documented,
            "source": [p.source for p in proteins],
            "note": [p.note for p in proteins],
        }
    )


def disagreement_summary(calls: pd.DataFrame) -> str:
    """One sentence: how many calls match the documented outcomes, and which do not."""
    wrong = calls[~calls["agrees"]]
    text = f"The model agrees with the documented outcome for {int(calls['agrees'].sum())} of {len(calls)}."
    if wrong.empty:
        return text
    parts = [
        f"{name} ({doc}, called {call} at P = {p:.2f})"
        for name, doc, call, p in zip(wrong["name"], wrong["documented"], wrong["call"], wrong["p_soluble"])
    ]
    return f"{text} It is wrong about " + "; ".join(parts) + "."
