"""Validate labelled sequences read from CSV/TSV or labelled FASTA into LabelledData.

`protlab.data.tables` reads the file into raw rows; this module cleans each
sequence, maps labels, drops bad rows with a reason and de-duplicates, then
summarises what happened in a ValidationReport. Bad rows are dropped rather
than failing the whole file; the file is refused (DataFormatError) only when
it cannot be used at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from protlab.alphabet import AMBIGUOUS_LETTERS
from protlab.checks import IntRange
from protlab.data.dropped import drop_records, plural_rows
from protlab.data.file_text import Source
from protlab.data.labels import label_classes
from protlab.data.not_proteins import advice, nucleotide_rows, word_rows
from protlab.data.sequences import INVISIBLE, clean_sequence
from protlab.data.tables import CLEAN_SEQUENCE, MAX_FILE_ROWS, read_rows
from protlab.errors import DataFormatError, InvalidSequenceError

BUNDLED_DATA_PATH = Path(__file__).resolve().parents[2] / "assets" / "data" / "deepsol.csv"
CLASS_NAMES = {0: "insoluble", 1: "soluble"}


@dataclass
class LabelledData:
    """Cleaned sequences with 0/1 labels (1 = soluble) and ids."""

    sequences: list[str]  # cleaned, uppercase
    labels: np.ndarray  # (N,) int64, 0 or 1
    ids: list[str]  # id column, FASTA id, or "row<N>"

    def __len__(self) -> int:
        """Number of sequences."""
        return len(self.sequences)


@dataclass
class ValidationReport:
    """What loading read, kept and dropped, and why."""

    n_read: int  # data rows (or FASTA records) read, blank lines excluded
    n_kept: int  # rows kept after cleaning and de-duplication
    dropped: pd.DataFrame  # columns row (1-based file line), reason (category), detail (sentence)
    reasons: dict[str, int]  # reason category -> number of dropped rows
    n_duplicates: int  # rows dropped as exact duplicates (same sequence and label)
    n_conflicting: int  # rows dropped because the same sequence had different labels
    class_counts: dict[int, int]  # label -> rows kept
    lengths: np.ndarray  # (n_kept,) int64 sequence lengths
    sequence_column: str  # column used for sequences ("FASTA records" for FASTA)
    label_column: str  # column used for labels ("FASTA header" for FASTA)
    file_format: str = "csv"  # "csv", "tsv", "semicolon-separated" or "fasta"
    notes: list[str] = field(default_factory=list)  # encoding fallbacks and similar remarks
    read_as: str = ""  # how an unpacked file was read: "csv in a gzip file", "Excel sheet 'Data'"

    def summary_lines(self) -> list[str]:
        """Human-readable summary, one sentence per line."""
        lines = [f"Read {self.n_read:,} rows ({self.read_as or self.file_format}); kept {self.n_kept:,}."]
        lines.append(f"Sequences from '{self.sequence_column}', labels from '{self.label_column}'.")
        if self.reasons:
            parts = ", ".join(f"{count:,} {reason}" for reason, count in self.reasons.items())
            lines.append(f"Dropped {len(self.dropped):,} {plural_rows(len(self.dropped))}: {parts}.")
        total = max(self.n_kept, 1)
        balance = ", ".join(
            f"{self.class_counts.get(k, 0):,} {name} ({100 * self.class_counts.get(k, 0) / total:.1f}%)"
            for k, name in CLASS_NAMES.items()
        )
        lines.append(f"Class balance: {balance}.")
        if self.lengths.size:
            lines.append(
                f"Lengths: {int(self.lengths.min()):,} to {int(self.lengths.max()):,} residues "
                f"(median {int(np.median(self.lengths)):,})."
            )
        return lines + list(self.notes)

    def dropped_lines(self, limit: int | None = None) -> list[str]:
        """One line per dropped row ('row 7 (too long): ...'), the first `limit` and a count of the rest."""
        shown = self.dropped if limit is None else self.dropped.head(limit)
        lines = [f"row {r.row} ({r.reason}): {r.detail}" for r in shown.itertuples(index=False)]
        if len(self.dropped) > len(shown):
            rest = len(self.dropped) - len(shown)
            lines.append(f"... and {rest:,} more dropped {plural_rows(rest)}.")
        return lines


def _clean_column(
    rows: pd.DataFrame, max_length: int
) -> tuple[list[str | None], list[tuple[str, str] | None]]:
    """Clean every sequence (fast path for already-clean ones); returns (sequences, drop reasons)."""
    raw = rows["sequence"].tolist()
    fast = (
        rows["sequence"].str.fullmatch(CLEAN_SEQUENCE.pattern).to_numpy(bool)
        & (rows["sequence"].str.len() <= max_length).to_numpy()
    )
    cleaned: list[str | None] = []
    problems: list[tuple[str, str] | None] = []
    for text, ok in zip(raw, fast):
        if ok:
            cleaned.append(text)
            problems.append(None)
            continue
        try:
            cleaned.append(clean_sequence(text, max_length=max_length).sequence)
            problems.append(None)
        except InvalidSequenceError as error:
            message = str(error)
            kind = (
                "invalid character"
                if error.character is not None
                else "too long"
                if "residues long" in message
                else "empty sequence"
                if "No sequence" in message or "empty after" in message
                else "invalid sequence"
            )
            cleaned.append(None)
            problems.append((kind, message))
    return cleaned, problems


def _invisible_notes(sequences: pd.Series) -> list[str]:
    """A note on the invisible characters (unusual spaces, controls, zero-width and direction marks)
    that cleaning removes from the sequences, if any."""
    counts = sequences.str.count(INVISIBLE)
    if not counts.any():
        return []
    rows = int((counts > 0).sum())
    return [
        f"Removed {int(counts.sum()):,} invisible characters (unusual spaces, control characters, zero-width "
        f"or text-direction marks) from the sequences of {rows:,} {plural_rows(rows)}."
    ]


def _unusual_letters_note(sequences: pd.Series) -> list[str]:
    """A note on the kept sequences that hold X, B, Z, J, U or O (read as one 'unknown' token), if any."""
    if sequences.empty:
        return []
    counts = sequences.str.count(f"[{AMBIGUOUS_LETTERS}]")
    if not counts.any():
        return []
    found = "".join(sorted(set("".join(sequences[counts > 0])) & set(AMBIGUOUS_LETTERS)))
    rows = int((counts > 0).sum())
    return [
        f"{rows:,} {plural_rows(rows)} {'holds' if rows == 1 else 'hold'} {int(counts.sum()):,} residues "
        f"outside the 20 standard amino acids ({', '.join(found)}); the model reads each as one 'unknown' "
        "token."
    ]


def _duplicates(rows: pd.DataFrame, keep: np.ndarray) -> tuple[np.ndarray, list[pd.DataFrame]]:
    """Drop exact duplicates (keep first) and every copy of conflicting sequences."""
    valid = rows[keep]
    n_labels = valid.groupby("clean")["y"].transform("nunique")
    conflict = (n_labels > 1).to_numpy()
    repeat = valid.duplicated(subset=["clean", "y"], keep="first").to_numpy() & ~conflict
    first_row = valid.groupby("clean")["row"].transform("first").to_numpy()
    index = np.flatnonzero(keep)
    drops = [
        drop_records(
            valid,
            conflict,
            "conflicting duplicate",
            "The same sequence appears with different labels; every copy is dropped.",
        ),
        drop_records(
            valid,
            repeat,
            "duplicate",
            [f"Same sequence and label as row {r}; only the first copy is kept." for r in first_row[repeat]],
        ),
    ]
    keep = keep.copy()
    keep[index[conflict | repeat]] = False
    return keep, drops


def load_labelled(
    source: Source,
    *,
    filename: str | None = None,
    max_length: int = 2000,
    min_rows: int = 10,
    max_rows: int = MAX_FILE_ROWS,
    keep_nucleotides: bool | None = None,
    label_cutoff: float | None = None,
) -> tuple[LabelledData, ValidationReport]:
    """Read, clean and validate labelled sequences from CSV/TSV or labelled FASTA.

    Rows whose sequence is DNA or RNA are dropped; keep_nucleotides keeps them with a note instead
    (None: keep them only in the bundled file, whose one such row is kept as published). A label column of
    measurements (solubility in percent) is refused (MeasuredLabelsError) unless label_cutoff is given:
    then a value at or above it is 1 (soluble), below it 0.
    """
    max_length = IntRange(1).check(max_length, "max_length")
    min_rows, max_rows = IntRange(2).check(min_rows, "min_rows"), IntRange(2).check(max_rows, "max_rows")
    if keep_nucleotides is None:
        keep_nucleotides = isinstance(source, (str, Path)) and Path(source).resolve() == BUNDLED_DATA_PATH
    raw = read_rows(source, filename=filename)
    rows, file_format = raw.rows, raw.file_format
    if len(rows) > max_rows:
        raise DataFormatError(
            f"The file has {len(rows):,} rows; the limit is {max_rows:,}. Use a smaller subset."
        )
    labels, drops, label_notes = label_classes(rows, file_format == "fasta", raw.label_column, label_cutoff)
    notes = list(raw.notes) + label_notes + _invisible_notes(rows["sequence"])
    cleaned, problems = _clean_column(rows, max_length)
    for kind in ("empty sequence", "invalid character", "invalid sequence", "too long"):
        hit = np.array([p is not None and p[0] == kind for p in problems], dtype=bool)
        drops.insert(
            0, drop_records(rows, hit, kind, [p[1] for p in problems if p is not None and p[0] == kind])
        )
    rows = rows.assign(clean=cleaned, y=labels)
    nucleotide, nucleotide_drops, nucleotide_notes = nucleotide_rows(rows, keep_nucleotides)
    word, word_drops = word_rows(rows)
    drops[:0] = nucleotide_drops + word_drops
    keep = rows["clean"].notna().to_numpy() & (labels >= 0) & ~nucleotide & ~word
    keep, dup_drops = _duplicates(rows, keep)
    dropped = pd.concat([d for d in drops + dup_drops], ignore_index=True)
    dropped = dropped.drop_duplicates("row", keep="first")  # one reason per row: the sequence problem first
    dropped = dropped.sort_values("row", kind="stable").reset_index(drop=True)
    kept = rows[keep]
    n_kept = len(kept)
    notes += nucleotide_notes + _unusual_letters_note(kept["clean"])
    counts = {k: int((kept["y"] == k).sum()) for k in CLASS_NAMES}
    sequences = kept["clean"].tolist()
    report = ValidationReport(
        n_read=len(rows),
        n_kept=n_kept,
        dropped=dropped,
        reasons=dropped["reason"].value_counts(sort=False).to_dict(),
        n_duplicates=int((dropped["reason"] == "duplicate").sum()),
        n_conflicting=int((dropped["reason"] == "conflicting duplicate").sum()),
        class_counts=counts,
        lengths=np.fromiter(map(len, sequences), np.int64, count=n_kept),
        sequence_column=raw.sequence_column,
        label_column=raw.label_column,
        file_format=file_format,
        notes=notes,
        read_as=raw.read_as,
    )
    if not len(rows):  # a header (or blank lines) only: there are no dropped rows to look at
        raise _with_report(
            f"The file has the columns '{raw.sequence_column}' and '{raw.label_column}' but no data rows "
            f"below its header; add at least {min_rows:,} labelled sequences, one per row.",
            report,
        )
    if n_kept < min_rows:
        raise _with_report(
            f"Only {n_kept:,} usable {plural_rows(n_kept)} {'remains' if n_kept == 1 else 'remain'} after "
            f"cleaning ({len(rows):,} read, {len(dropped):,} "
            f"dropped); at least {min_rows:,} are needed. " + advice(report.reasons),
            report,
        )
    if min(counts.values()) == 0:
        only = max(counts, key=lambda k: counts[k])
        raise _with_report(
            f"All {n_kept:,} usable rows have label {only} ({CLASS_NAMES[only]}); a classifier needs both "
            "classes. Add examples of the other class.",
            report,
        )
    labelled = LabelledData(sequences, kept["y"].to_numpy(np.int64), kept["id"].tolist())
    return labelled, report


def _with_report(message: str, report: ValidationReport) -> DataFormatError:
    """A DataFormatError carrying the report (err.report), so a page can show why rows were dropped."""
    err = DataFormatError(message)
    err.report = report
    return err


def load_bundled() -> tuple[LabelledData, ValidationReport]:
    """Load the bundled DeepSol data set (assets/data/deepsol.csv)."""
    return load_labelled(BUNDLED_DATA_PATH)
