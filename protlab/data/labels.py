"""How a label column becomes classes: spellings (1/0, yes/no, soluble/...), or measurements at a cutoff.

A label column of measurements, such as solubility in percent, is refused unless a cutoff is given: its few
cells that happen to read 0, 1 or 1.0 must not be taken for classes. With a cutoff, every value at or above
it is soluble (1) and every value below it insoluble (0), as a lab turns an assay into a call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from protlab.data.columns import measurement_summary
from protlab.data.dropped import drop_records
from protlab.data.tables import ALLOWED_LABELS_TEXT, parse_labels
from protlab.errors import MeasuredLabelsError


def _refuse_measurements(text: pd.Series, column: str) -> None:
    """Refuse (MeasuredLabelsError, carrying the values' range and median) a label column of measurements."""
    summary = measurement_summary(text, column)
    if summary is None:
        return
    numbers = pd.to_numeric(text[text != ""], errors="coerce").dropna()
    raise MeasuredLabelsError(
        f"{summary} Training needs a class per protein: choose a cutoff (a value at or above it counts as "
        f"soluble; the median here is {numbers.median():g}; on the command line, --label-cutoff), or add a "
        "column 'label' holding 1 at or above your cutoff and 0 below it (in a spreadsheet, "
        "=IF(B2>=cutoff,1,0)), then upload the file again.",
        column=column,
        low=float(numbers.min()),
        high=float(numbers.max()),
        median=float(numbers.median()),
    )


def _at_cutoff(text: pd.Series, cutoff: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Classes from values at a cutoff: (labels, rows whose value is not a number, their details)."""
    numbers = pd.to_numeric(text, errors="coerce")  # (N,) float, NaN where not a number
    labels = np.where(numbers.isna(), -1, (numbers >= cutoff).astype(np.int64)).astype(np.int64)
    unknown = (numbers.isna() & (text != "")).to_numpy()
    details = [
        f"label {value[:40]!r} is not a number, so it has no side of the cutoff." for value in text[unknown]
    ]
    return labels, unknown, details


def label_classes(
    rows: pd.DataFrame, fasta: bool, column: str, cutoff: float | None = None
) -> tuple[np.ndarray, list[pd.DataFrame], list[str]]:
    """Each row's class (1, 0, or -1 when missing or unreadable), the dropped-row records and notes.

    Without a cutoff, label spellings are read and a column of measurements is refused; with one, the
    values are compared with it."""
    text = rows["label"].str.strip()
    notes: list[str] = []
    if cutoff is None:
        _refuse_measurements(text, column)
        labels = parse_labels(rows["label"])  # (N,) int64, -1 when missing or not recognised
        unknown = (labels < 0) & (text != "").to_numpy()
        details = [f"label {value[:40]!r} is not one of {ALLOWED_LABELS_TEXT}." for value in text[unknown]]
    else:
        labels, unknown, details = _at_cutoff(text, float(cutoff))
        notes.append(
            f"Labels from the values in '{column}': soluble (1) at or above {cutoff:g}, insoluble (0) below."
        )
    missing = (text == "").to_numpy()
    empty = (
        "The FASTA header has no label (write it as '>id label=1', '>id|1' or '>id soluble')."
        if fasta
        else "The label cell is empty."
    )
    return (
        labels,
        [
            drop_records(rows, missing, "missing label", empty),
            drop_records(rows, unknown, "label not recognised", details),
        ],
        notes,
    )
