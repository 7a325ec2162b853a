"""Load and validate labelled sequences (CSV/TSV or labelled FASTA) into LabelledData.

Bad rows are dropped with a reason rather than failing the whole file; the
file is refused (DataFormatError) only when it cannot be used at all.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Union

import numpy as np
import pandas as pd

from protlab.alphabet import AMBIGUOUS_LETTERS, AMINO_ACIDS
from protlab.errors import ConfigError, DataFormatError, InvalidSequenceError
from protlab.sequences import clean_sequence, split_fasta

BUNDLED_DATA_PATH = Path(__file__).resolve().parents[1] / "assets" / "data" / "deepsol.csv"

SEQUENCE_NAMES = ("sequence", "seq", "fasta", "aa_sequence", "protein", "protein_sequence", "sequences")
LABEL_NAMES = ("label", "solubility", "soluble", "target", "class", "y", "labels")
ID_NAMES = ("id", "name", "accession", "protein_id", "identifier", "uniprot", "entry")
LABEL_SPELLINGS: dict[str, int] = {
    **dict.fromkeys(("1", "1.0", "true", "yes", "y", "t", "soluble", "positive", "pos"), 1),
    **dict.fromkeys(("0", "0.0", "false", "no", "n", "f", "insoluble", "negative", "neg"), 0),
}
ALLOWED_LABELS_TEXT = "0/1, true/false, yes/no, y/n, soluble/insoluble or positive/negative"
CLASS_NAMES = {0: "insoluble", 1: "soluble"}

_CLEAN = re.compile(f"[{AMINO_ACIDS}{AMBIGUOUS_LETTERS}]+")
_KEY_VALUE = re.compile(r"(?:^|[\s|;])(?:label|solubility|soluble|class|target|y)\s*[=:]\s*([^\s|;]+)", re.I)


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

    def summary_lines(self) -> list[str]:
        """Human-readable summary, one sentence per line."""
        lines = [f"Read {self.n_read:,} rows ({self.file_format}); kept {self.n_kept:,}."]
        lines.append(f"Sequences from '{self.sequence_column}', labels from '{self.label_column}'.")
        if self.reasons:
            parts = ", ".join(f"{count:,} {reason}" for reason, count in self.reasons.items())
            lines.append(f"Dropped {len(self.dropped):,} {_rows(len(self.dropped))}: {parts}.")
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


def _rows(count: int) -> str:
    """'row' or 'rows' for a count."""
    return "row" if count == 1 else "rows"


def _check_int(name: str, value: object, low: int) -> int:
    """Validate an integer parameter of load_labelled."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be an integer of at least {low}; got {value!r}.")
    return value


def _find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    """The first column whose name (case-insensitive, trimmed) is one of names, by names' order."""
    lookup = {str(c).strip().lower(): c for c in reversed(columns)}
    return next((lookup[name] for name in names if name in lookup), None)


def _looks_like_data(cells: list[str]) -> tuple[int, int] | None:
    """Positions of (sequence, label) when a header row is really a data row."""
    seq_at = next((i for i, c in enumerate(cells) if len(c.strip()) >= 5 and _CLEAN.fullmatch(c.strip().upper())), None)
    label_at = next((i for i, c in enumerate(cells) if i != seq_at and c.strip().lower() in LABEL_SPELLINGS), None)
    return (seq_at, label_at) if seq_at is not None and label_at is not None else None


def _columns_error(columns: list[str], sep: str) -> DataFormatError:
    """Explain a header without recognisable columns (or a missing header)."""
    positions = _looks_like_data([str(c) for c in columns])
    if positions is not None:
        names = ["id"] * len(columns)
        names[positions[0]], names[positions[1]] = "sequence", "label"
        return DataFormatError(
            "The file has no header row: its first row already looks like data (a protein sequence and a "
            f"label). Add a header line such as '{sep.join(names)}' as the first line of the file."
        )
    shown = ", ".join(repr(str(c)) for c in columns[:20])
    return DataFormatError(
        f"The file needs a sequence column and a label column; the columns found are: {shown}. "
        f"Name the sequence column one of {', '.join(SEQUENCE_NAMES)} and the label column one of "
        f"{', '.join(LABEL_NAMES)} (case does not matter)."
    )


def _sniff_separator(text: str) -> tuple[str, str]:
    """Pick comma, semicolon or tab from the header line; returns (separator, format name)."""
    first = next((line for line in text.split("\n", 50)[:50] if line.strip()), "")
    counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
    sep = max(counts, key=lambda s: counts[s]) if any(counts.values()) else ","
    return sep, {",": "csv", ";": "semicolon-separated", "\t": "tsv"}[sep]


def _read_table(text: str) -> tuple[pd.DataFrame, str, str, str | None, str]:
    """Parse delimited text; returns (frame, sequence column, label column, id column, format)."""
    sep, file_format = _sniff_separator(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, na_filter=False,
                                skip_blank_lines=False, index_col=False, engine="c")
    except pd.errors.EmptyDataError:
        raise DataFormatError("The file has no rows. Upload a CSV with a header and one row per protein.") from None
    except pd.errors.ParserWarning:
        raise DataFormatError(
            f"The first data row has more fields than the header ({file_format} file). Add the missing "
            "column names to the header, or remove the extra separators from that row."
        ) from None
    except (pd.errors.ParserError, ValueError, OverflowError) as error:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        detail = (f"line {found[2]} has {found[3]} fields but the header has {found[1]}" if found
                  else str(error).strip().splitlines()[-1][:200])
        raise DataFormatError(
            f"The file could not be read as a {file_format} table: {detail}. Check that every row has "
            "the same number of columns as the header and that quotes are balanced."
        ) from None
    columns = [str(c) for c in frame.columns]
    seq_col, label_col = _find_column(columns, SEQUENCE_NAMES), _find_column(columns, LABEL_NAMES)
    if seq_col is None or label_col is None or seq_col == label_col:
        raise _columns_error(columns, sep)
    return frame, seq_col, label_col, _find_column(columns, ID_NAMES), file_format


def _table_rows(text: str) -> tuple[pd.DataFrame, str, str, str]:
    """Rows as a frame with columns row, id, sequence, label (strings)."""
    frame, seq_col, label_col, id_col, file_format = _read_table(text)
    rows = pd.DataFrame({
        "row": np.arange(len(frame), dtype=np.int64) + 2,  # header is line 1
        "sequence": frame[seq_col].astype(str),
        "label": frame[label_col].astype(str),
    })
    rows["id"] = frame[id_col].astype(str).str.strip() if id_col else "row" + rows["row"].astype(str)
    rows.loc[rows["id"] == "", "id"] = "row" + rows["row"].astype(str)
    blank = (frame.astype(str).apply(lambda col: col.str.strip()) == "").all(axis=1)
    return rows[~blank.to_numpy()].reset_index(drop=True), seq_col, label_col, file_format


def _header_label(header: str) -> tuple[str, str]:
    """Split a labelled FASTA header into (id, raw label text); label '' when none is found."""
    words = header.split()
    record_id = words[0] if words else ""
    found = _KEY_VALUE.search(header)
    if found:
        return record_id.split("|")[0] if "|" in record_id and "=" in record_id else record_id, found[1]
    if "|" in record_id and record_id.rsplit("|", 1)[1].strip().lower() in LABEL_SPELLINGS:
        head, tail = record_id.rsplit("|", 1)
        return head, tail
    if len(words) > 1 and words[-1].lower() in LABEL_SPELLINGS:
        return record_id, words[-1]
    return record_id, ""


def _fasta_rows(text: str) -> pd.DataFrame:
    """Rows (row, id, sequence, label) from a FASTA file with labels in the headers."""
    records = split_fasta(text)
    parsed = [(_header_label(r.header or ""), r) for r in records]
    if parsed and not any(label for (_, label), _r in parsed):
        raise DataFormatError(
            f"None of the {len(records):,} FASTA headers carries a label. Put a label in every header, "
            "for example '>P12345 label=1', '>P12345|1' or '>P12345 soluble'."
        )
    return pd.DataFrame({
        "row": [r.line_number for _, r in parsed],
        "id": [rid or f"record{i}" for i, ((rid, _), _r) in enumerate(parsed, start=1)],
        "sequence": ["\n".join(r.lines) for _, r in parsed],
        "label": [label for (_, label), _r in parsed],
    })


def _clean_column(rows: pd.DataFrame, max_length: int) -> tuple[list[str | None], list[tuple[str, str] | None]]:
    """Clean every sequence (fast path for already-clean ones); returns (sequences, drop reasons)."""
    raw = rows["sequence"].tolist()
    fast = rows["sequence"].str.fullmatch(_CLEAN.pattern).to_numpy(bool) & (rows["sequence"].str.len() <= max_length).to_numpy()
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
            kind = ("invalid character" if error.character is not None
                    else "too long" if "residues long" in message
                    else "empty sequence" if "No sequence" in message or "empty after" in message
                    else "invalid sequence")
            cleaned.append(None)
            problems.append((kind, message))
    return cleaned, problems


Source = Union[str, Path, bytes, bytearray, IO[bytes], IO[str]]  # a path, raw bytes or a file-like object

_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel .xls (or other Microsoft Office) file"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip-compressed file"),
)


def _read_source(source: Source, filename: str | None) -> tuple[bytes, str]:
    """Read all bytes of a path, bytes or file-like object; returns (data, display name)."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), filename or "uploaded data"
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            return path.read_bytes(), filename or path.name
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise DataFormatError(f"No data file was found at '{path}'. Check the path and try again.") from None
        except (OSError, ValueError) as error:
            raise DataFormatError(f"The file '{path}' could not be opened ({error}).") from None
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read()
        name = filename or Path(str(getattr(source, "name", "uploaded data"))).name
        return (data.encode("utf-8") if isinstance(data, str) else bytes(data)), name
    raise DataFormatError(
        f"source must be a file path, bytes or an open file; got a value of type {type(source).__name__}."
    )


def _decode(data: bytes, name: str) -> tuple[str, list[str]]:
    """Refuse binary files and decode text (UTF-8, UTF-8 with BOM, UTF-16 with BOM, else Latin-1)."""
    if not data.strip():
        raise DataFormatError(f"The file '{name}' is empty. Upload a CSV with a header and one row per protein.")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), ["The file was read as UTF-16 text."]
        except UnicodeDecodeError:
            pass
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise DataFormatError(
                f"The file '{name}' seems to be {what}, not a text table. Export the data as CSV "
                "(comma-separated, with columns sequence and label) and upload that file."
            )
    if b"\x00" in data[:65536]:
        raise DataFormatError(
            f"The file '{name}' seems to be a binary file (it contains NUL bytes), not a text table. "
            "Export the data as CSV (comma-separated, with columns sequence and label) and upload that."
        )
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    controls = sum(text.count(chr(code)) for code in (*range(1, 9), 11, 12, *range(14, 32), 127))
    if controls > 0.01 * len(text):
        raise DataFormatError(
            f"The file '{name}' could not be read as text: it is neither UTF-8 nor Latin-1 text. "
            "Save it as a UTF-8 CSV file and upload it again."
        )
    return text, [f"The file '{name}' is not valid UTF-8; it was read as Latin-1 text."]


def _drop(rows: pd.DataFrame, where: np.ndarray, kind: str, details: list[str] | str) -> pd.DataFrame:
    """The dropped-row records for the rows selected by a boolean mask."""
    return pd.DataFrame({"row": rows["row"].to_numpy()[where], "reason": kind, "detail": details})


def _labels(rows: pd.DataFrame, fasta: bool) -> tuple[np.ndarray, list[pd.DataFrame]]:
    """Map label spellings to 0/1 (-1 when missing or unknown) and record the drops."""
    text = rows["label"].str.strip()
    mapped = text.str.lower().map(LABEL_SPELLINGS)
    numeric = pd.to_numeric(text, errors="coerce")
    mapped = mapped.fillna(numeric.where(numeric.isin([0, 1])))
    labels = mapped.fillna(-1).to_numpy(np.int64)
    missing = (text == "").to_numpy()
    unknown = (labels < 0) & ~missing
    details = [f"label {value[:40]!r} is not one of {ALLOWED_LABELS_TEXT}." for value in text[unknown]]
    empty = ("The FASTA header has no label (write it as '>id label=1', '>id|1' or '>id soluble')."
             if fasta else "The label cell is empty.")
    return labels, [_drop(rows, missing, "missing label", empty),
                    _drop(rows, unknown, "label not recognised", details)]


def _duplicates(rows: pd.DataFrame, keep: np.ndarray) -> tuple[np.ndarray, list[pd.DataFrame]]:
    """Drop exact duplicates (keep first) and every copy of conflicting sequences."""
    valid = rows[keep]
    n_labels = valid.groupby("clean")["y"].transform("nunique")
    conflict = (n_labels > 1).to_numpy()
    repeat = valid.duplicated(subset=["clean", "y"], keep="first").to_numpy() & ~conflict
    first_row = valid.groupby("clean")["row"].transform("first").to_numpy()
    index = np.flatnonzero(keep)
    drops = [
        _drop(valid, conflict, "conflicting duplicate",
              "The same sequence appears with different labels; every copy is dropped."),
        _drop(valid, repeat, "duplicate",
              [f"Same sequence and label as row {r}; only the first copy is kept." for r in first_row[repeat]]),
    ]
    keep = keep.copy()
    keep[index[conflict | repeat]] = False
    return keep, drops


def load_labelled(source: Source, *, filename: str | None = None, max_length: int = 2000,
                  min_rows: int = 10, max_rows: int = 250_000) -> tuple[LabelledData, ValidationReport]:
    """Read, clean and validate labelled sequences from CSV/TSV or labelled FASTA."""
    max_length = _check_int("max_length", max_length, 1)
    min_rows, max_rows = _check_int("min_rows", min_rows, 2), _check_int("max_rows", max_rows, 2)
    data, name = _read_source(source, filename)
    text, notes = _decode(data, name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = next((line.strip() for line in text.split("\n", 20)[:20] if line.strip()), "")
    if first.startswith(">"):
        rows, seq_col, label_col, file_format = _fasta_rows(text), "FASTA records", "FASTA header", "fasta"
    else:
        rows, seq_col, label_col, file_format = _table_rows(text)
    if len(rows) > max_rows:
        raise DataFormatError(f"The file has {len(rows):,} rows; the limit is {max_rows:,}. Use a smaller subset.")
    labels, drops = _labels(rows, file_format == "fasta")
    cleaned, problems = _clean_column(rows, max_length)
    for kind in ("empty sequence", "invalid character", "invalid sequence", "too long"):
        hit = np.array([p is not None and p[0] == kind for p in problems], dtype=bool)
        drops.insert(0, _drop(rows, hit, kind, [p[1] for p in problems if p is not None and p[0] == kind]))
    rows = rows.assign(clean=cleaned, y=labels)
    keep = rows["clean"].notna().to_numpy() & (labels >= 0)
    keep, dup_drops = _duplicates(rows, keep)
    dropped = pd.concat([d for d in drops + dup_drops], ignore_index=True)
    dropped = dropped.drop_duplicates("row", keep="first")  # one reason per row: the sequence problem first
    dropped = dropped.sort_values("row", kind="stable").reset_index(drop=True)
    kept = rows[keep]
    n_kept = len(kept)
    if n_kept < min_rows:
        raise DataFormatError(
            f"Only {n_kept:,} usable {_rows(n_kept)} {'remains' if n_kept == 1 else 'remain'} after cleaning "
            f"({len(rows):,} read, {len(dropped):,} "
            f"dropped); at least {min_rows:,} are needed. Check the dropped-row reasons and add more data."
        )
    counts = {k: int((kept["y"] == k).sum()) for k in CLASS_NAMES}
    if min(counts.values()) == 0:
        only = max(counts, key=lambda k: counts[k])
        raise DataFormatError(
            f"All {n_kept:,} usable rows have label {only} ({CLASS_NAMES[only]}); a classifier needs both "
            "classes. Add examples of the other class."
        )
    sequences = kept["clean"].tolist()
    report = ValidationReport(
        n_read=len(rows), n_kept=n_kept, dropped=dropped,
        reasons=dropped["reason"].value_counts(sort=False).to_dict(),
        n_duplicates=int((dropped["reason"] == "duplicate").sum()),
        n_conflicting=int((dropped["reason"] == "conflicting duplicate").sum()),
        class_counts=counts, lengths=np.fromiter(map(len, sequences), np.int64, count=n_kept),
        sequence_column=seq_col, label_column=label_col, file_format=file_format, notes=notes,
    )
    labelled = LabelledData(sequences, kept["y"].to_numpy(np.int64), kept["id"].tolist())
    return labelled, report


def load_bundled() -> tuple[LabelledData, ValidationReport]:
    """Load the bundled DeepSol data set (assets/data/deepsol.csv)."""
    return load_labelled(BUNDLED_DATA_PATH)
