"""Rows of a training file that are not proteins: DNA or RNA sequences, and names or words ('GFP').

Each check returns the rows it hits and the dropped-row records the validation report lists, so the Train
page shows every dropped row with its reason; `advice` says what to do when such rows are most of a file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from protlab.data.dropped import drop_records, plural_rows
from protlab.data.nucleotides import is_nucleotide_sequence, nucleotide_message
from protlab.data.words import as_typed, looks_like_a_name, looks_like_a_word, word_message


def nucleotide_rows(rows: pd.DataFrame, keep: bool) -> tuple[np.ndarray, list[pd.DataFrame], list[str]]:
    """Rows whose cleaned sequence is DNA or RNA: dropped with a reason, or (keep) kept with a note;
    returns (rows to drop, drop records, notes)."""
    clean = [seq if isinstance(seq, str) else "" for seq in rows["clean"]]  # a dropped row's is None/NaN
    hit = np.fromiter((is_nucleotide_sequence(seq) for seq in clean), bool, count=len(clean))  # (N,) bool
    if not hit.any():
        return hit, [], []
    if not keep:
        details = [nucleotide_message(len(clean[i])) for i in np.flatnonzero(hit)]
        return hit, [drop_records(rows, hit, "DNA or RNA", details)], []
    count = int(hit.sum())
    lines = ", ".join(str(r) for r in rows["row"].to_numpy()[hit][:10]) + (", ..." if count > 10 else "")
    note = (
        f"{count:,} {plural_rows(count)} ({'line' if count == 1 else 'lines'} {lines}) "
        f"{'looks' if count == 1 else 'look'} like DNA or RNA rather than "
        "protein (only A, C, G, T/U and N): an error in the published data, kept so that this set stays the "
        "published one. Uploaded files drop such rows."
    )
    return np.zeros_like(hit), [], [note]


def word_rows(rows: pd.DataFrame) -> tuple[np.ndarray, list[pd.DataFrame]]:
    """Rows whose cleaned sequence is a name or a word ('GFP', 'insulin'), not a protein; + drop records."""
    clean = [seq if isinstance(seq, str) else "" for seq in rows["clean"]]  # a dropped row's is None/NaN
    typed = rows["sequence"].tolist()
    words = (
        bool(seq) and (looks_like_a_word(seq) or looks_like_a_name(raw)) and not is_nucleotide_sequence(seq)
        for seq, raw in zip(clean, typed)
    )
    hit = np.fromiter(words, bool, count=len(clean))  # (N,) bool; DNA and RNA have their own reason
    details = [word_message(as_typed(rows["sequence"].iloc[i]), clean[i]) for i in np.flatnonzero(hit)]
    return hit, [drop_records(rows, hit, "name or word, not a sequence", details)] if hit.any() else []


FIXES = {  # the most common reason rows were dropped -> what to do about the file
    "DNA or RNA": "Most rows are DNA or RNA: translate each coding sequence into protein first.",
    "name or word, not a sequence": "Most rows hold names or words, not sequences: put each protein's "
    "amino-acid sequence in the sequence column.",
}


def advice(reasons: dict[str, int]) -> str:
    """Advice for a file with too few usable rows, from the most common reason rows were dropped."""
    if not reasons:
        return "Add more data."
    return FIXES.get(
        max(reasons, key=lambda r: reasons[r]), "Check the dropped-row reasons and add more data."
    )
