"""Physicochemical features of a protein through Biopython's ProtParam.

Ambiguous or rare letters (X, B, Z, J, U, O) are removed before ProtParam,
which cannot weigh or charge them; `length` still counts every residue, and
the composition columns are fractions of the standard residues (they sum to 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from Bio.SeqUtils.ProtParam import ProteinAnalysis

from protlab.alphabet import AMBIGUOUS_LETTERS, AMINO_ACIDS
from protlab.data.encoding import encode_numpy
from protlab.errors import InvalidSequenceError

GLOBAL_COLUMNS = [
    "length",
    "molecular_weight",
    "isoelectric_point",
    "gravy",
    "instability_index",
    "aromaticity",
    "net_charge_ph7",
]
COMPOSITION_COLUMNS = [f"comp_{aa}" for aa in AMINO_ACIDS]
FEATURE_COLUMNS: list[str] = GLOBAL_COLUMNS + COMPOSITION_COLUMNS  # 7 global + 20 composition = 27
NOTES_GLOBAL_FEATURES = ["molecular_weight", "isoelectric_point", "gravy", "instability_index", "length"]

FEATURE_LABELS: dict[str, str] = {
    "length": "Length (residues)",
    "molecular_weight": "Molecular weight (Da)",
    "isoelectric_point": "Isoelectric point (pH units)",
    "gravy": "GRAVY hydropathy (Kyte-Doolittle, mean per residue)",
    "instability_index": "Instability index (above 40: likely unstable)",
    "aromaticity": "Aromaticity (fraction F + W + Y)",
    "net_charge_ph7": "Net charge at pH 7 (elementary charges)",
    **{f"comp_{aa}": f"Fraction of {aa} (0-1)" for aa in AMINO_ACIDS},
}

_DROP_AMBIGUOUS = str.maketrans("", "", AMBIGUOUS_LETTERS)


def _composition(sequence: str) -> np.ndarray:
    """Fractions of the 20 standard residues among the standard residues.  # (20,) float64"""
    tokens = encode_numpy(sequence)  # (L,) uint8; 1..20 residues, 21 unknown
    counts = np.bincount(tokens, minlength=len(AMINO_ACIDS) + 2)[1 : len(AMINO_ACIDS) + 1]  # (20,)
    total = counts.sum()
    return counts / total if total else np.zeros(len(AMINO_ACIDS))


def compute_features(sequence: str) -> dict[str, float]:
    """All FEATURE_COLUMNS for one cleaned sequence, computed with ProtParam."""
    composition = _composition(sequence)  # also validates the sequence
    standard = sequence.translate(_DROP_AMBIGUOUS)
    if not standard:
        raise InvalidSequenceError(
            f"The sequence {sequence[:30]!r} has no standard amino-acid letters, so its physicochemical "
            "features cannot be computed. Give a sequence with at least one of the 20 standard residues."
        )
    analysis = ProteinAnalysis(standard)
    values = {
        "length": float(len(sequence)),
        "molecular_weight": float(analysis.molecular_weight()),
        "isoelectric_point": float(analysis.isoelectric_point()),
        "gravy": float(analysis.gravy()),
        "instability_index": float(analysis.instability_index()),
        "aromaticity": float(analysis.aromaticity()),
        "net_charge_ph7": float(analysis.charge_at_pH(7.0)),
    }
    values.update({column: float(value) for column, value in zip(COMPOSITION_COLUMNS, composition)})
    if not all(math.isfinite(value) for value in values.values()):
        raise InvalidSequenceError(f"ProtParam returned a non-finite feature for {sequence[:30]!r}.")
    return values


def features_frame(sequences: Sequence[str], ids: Sequence[str] | None = None) -> pd.DataFrame:
    """A DataFrame with columns id + FEATURE_COLUMNS, one row per sequence."""
    if isinstance(sequences, str):
        raise InvalidSequenceError(
            "features_frame needs a list of sequences; got a single string. Wrap it in a list: [sequence]."
        )
    if ids is None:
        ids = [f"seq{i}" for i in range(1, len(sequences) + 1)]
    if len(ids) != len(sequences):
        raise InvalidSequenceError(
            f"features_frame got {len(sequences)} sequences but {len(ids)} ids; give one id per sequence."
        )
    rows = []
    for record_id, sequence in zip(ids, sequences):
        try:
            rows.append(compute_features(sequence))
        except InvalidSequenceError as error:
            raise InvalidSequenceError(f"Sequence '{record_id}': {error}") from None
    frame = pd.DataFrame(rows, columns=FEATURE_COLUMNS, dtype=np.float64)
    frame.insert(0, "id", [str(i) for i in ids])
    return frame
