"""How a dropped row is recorded: its file line, the reason (one short phrase) and a detail sentence.

Every check that drops rows of a training file (sequences, labels, DNA, names, duplicates) records them the
same way, so the validation report can count reasons and show each dropped row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def plural_rows(count: int) -> str:
    """'row' or 'rows' for a count."""
    return "row" if count == 1 else "rows"


def drop_records(rows: pd.DataFrame, where: np.ndarray, kind: str, details: list[str] | str) -> pd.DataFrame:
    """The dropped-row records for the rows selected by a boolean mask."""
    return pd.DataFrame({"row": rows["row"].to_numpy()[where], "reason": kind, "detail": details})
