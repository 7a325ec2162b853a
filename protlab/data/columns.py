"""How a table's columns are recognised: the names accepted for sequences, labels and ids.

Every reader (training tables, files to predict, Excel sheets) finds its columns through these names, so
a column that one page accepts is accepted everywhere.
"""

from __future__ import annotations

import re

import pandas as pd

from protlab.alphabet import AMBIGUOUS_LETTERS, AMINO_ACIDS

SEQUENCE_NAMES = ("sequence", "seq", "fasta", "aa_sequence", "protein", "protein_sequence", "sequences")
LABEL_NAMES = ("label", "solubility", "soluble", "target", "class", "y", "labels")
ID_NAMES = ("id", "name", "accession", "protein_id", "identifier", "uniprot", "entry")
CLEAN_SEQUENCE = re.compile(f"[{AMINO_ACIDS}{AMBIGUOUS_LETTERS}]+")  # an already-clean uppercase sequence
SEQUENCE_CELL_LENGTH = 20  # a cell of this many residue letters or more is taken for a protein, not a word


def find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    """The first column whose name (case-insensitive, trimmed) is one of names, by names' order."""
    lookup = {str(c).strip().lower(): c for c in reversed(columns)}
    return next((lookup[name] for name in names if name in lookup), None)


def is_sequence_cell(cell: str) -> bool:
    """True for a cell that holds a protein: SEQUENCE_CELL_LENGTH+ residue letters, not a column name."""
    text = cell.strip()
    known = {*SEQUENCE_NAMES, *ID_NAMES, *LABEL_NAMES}  # names, even when spelled in residue letters
    return (
        len(text) >= SEQUENCE_CELL_LENGTH
        and text.lower() not in known
        and CLEAN_SEQUENCE.fullmatch(text.upper()) is not None
    )


def measurement_summary(text: pd.Series, column: str) -> str | None:
    """A sentence saying that a label column holds measurements (most values numbers other than 0 and 1,
    such as solubility in percent), else None: its few 0s, 1s and 1.0s must not be read as classes."""
    given = text[text != ""]
    numbers = pd.to_numeric(given, errors="coerce").dropna()
    measured = numbers[~numbers.isin([0, 1])]
    if len(measured) < 3 or len(measured) <= len(given) / 2:
        return None
    examples = ", ".join(f"{v:g}" for v in measured.iloc[:3])
    return (
        f"The label column '{column}' holds measurements, not classes: {len(measured):,} of its "
        f"{len(given):,} values are numbers other than 0 and 1 (from {numbers.min():g} to "
        f"{numbers.max():g}; for example {examples}), such as a solubility in percent."
    )
