"""Read a labelled-sequence file into raw rows: bytes, text encoding, CSV/TSV/FASTA, columns, labels.

This is the file-format half of loading; `protlab.data.loading` validates the rows
(cleaning, dropping with reasons, de-duplication, the report). Nothing here
drops a row: every data row (or FASTA record) comes back with its 1-based
file line, its raw sequence text and its raw label text. Files that cannot be
read as a table at all raise DataFormatError with a sentence saying how to fix
them.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from protlab.data.columns import CLEAN_SEQUENCE, ID_NAMES, LABEL_NAMES, SEQUENCE_NAMES, find_column
from protlab.data.containers import unpack
from protlab.data.file_text import Source, decode_text, read_source
from protlab.data.sequences import INVISIBLE, split_fasta, strip_invisible
from protlab.errors import DataFormatError

LABEL_SPELLINGS: dict[str, int] = {
    **dict.fromkeys(("1", "1.0", "true", "yes", "y", "t", "soluble", "positive", "pos"), 1),
    **dict.fromkeys(("0", "0.0", "false", "no", "n", "f", "insoluble", "negative", "neg"), 0),
}
# spellings that end a longer header as a label; a closing 1, 0, Y or N there is part of a protein's name
SPELLED_OUT_LABELS = frozenset(k for k in LABEL_SPELLINGS if len(k) > 1 and not k.replace(".", "").isdigit())
ALLOWED_LABELS_TEXT = "0/1, true/false, yes/no, y/n, soluble/insoluble or positive/negative"

_KEY_VALUE = re.compile(r"(?:^|[\s|;])(?:label|solubility|soluble|class|target|y)\s*[=:]\s*([^\s|;]+)", re.I)

MAX_FILE_ROWS = 250_000  # most data rows (or FASTA records) in a training file


@dataclass
class RawRows:
    """The rows of a labelled file before validation, and how the file was read."""

    rows: pd.DataFrame  # columns row (int64, 1-based file line), id, sequence, label (raw strings)
    sequence_column: str  # column used for sequences ("FASTA records" for FASTA)
    label_column: str  # column used for labels ("FASTA header" for FASTA)
    file_format: str  # "csv", "tsv", "semicolon-separated" or "fasta"
    notes: list[str] = field(default_factory=list)  # encoding fallbacks and similar remarks
    read_as: str = ""  # how it was read, for reports: "csv", "csv in a gzip file", "Excel sheet 'Data'"


def sniff_separator(text: str) -> tuple[str, str]:
    """Pick comma, semicolon or tab from the first non-blank line; returns (separator, format name)."""
    first = next((line for line in text.split("\n", 50)[:50] if line.strip()), "")
    counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
    sep = max(counts, key=lambda s: counts[s]) if any(counts.values()) else ","
    return sep, {",": "csv", ";": "semicolon-separated", "\t": "tsv"}[sep]


def parse_labels(text: pd.Series) -> np.ndarray:
    """Map label spellings (and the numbers 0 and 1) to 0/1;
    -1 where missing or not recognised.  # (N,) int64
    """
    text = text.str.strip()
    mapped = text.str.lower().map(LABEL_SPELLINGS)
    numeric = pd.to_numeric(text, errors="coerce")
    mapped = mapped.fillna(numeric.where(numeric.isin([0, 1])))
    return mapped.fillna(-1).to_numpy(np.int64)


def _looks_like_data(cells: list[str]) -> tuple[int, int] | None:
    """Positions of (sequence, label) when a header row is really a data row."""
    seq_at = next(
        (
            i
            for i, c in enumerate(cells)
            if len(c.strip()) >= 5 and CLEAN_SEQUENCE.fullmatch(c.strip().upper())
        ),
        None,
    )
    label_at = next(
        (i for i, c in enumerate(cells) if i != seq_at and c.strip().lower() in LABEL_SPELLINGS), None
    )
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
    if len(columns) == 1 and find_column([str(columns[0])], SEQUENCE_NAMES) is not None:
        return DataFormatError(
            f"The file has only the column {str(columns[0])!r}; training also needs a label column. Make "
            f"the header '{columns[0]}{sep}label' and put {sep}0 (insoluble) or {sep}1 (soluble) after each "
            "sequence."
        )
    if len(columns) == 1:  # no separator on the first line: prose, a bare sequence list, a FASTA-less text
        return DataFormatError(
            f"The file does not look like a table: its first line, {str(columns[0])[:60]!r}, has no commas, "
            "tabs or semicolons between columns. Give a CSV or TSV file whose first line is a header such as "
            f"'sequence{sep}label', then one protein and its label (0 or 1) per line; or a FASTA file with "
            "the label in each header line, such as '>P12345 label=1'."
        )
    shown = ", ".join(repr(str(c)) for c in columns[:20])
    return DataFormatError(
        f"The file needs a sequence column and a label column; the columns found are: {shown}. "
        f"Name the sequence column one of {', '.join(SEQUENCE_NAMES)} and the label column one of "
        f"{', '.join(LABEL_NAMES)} (case does not matter)."
    )


def parse_table(text: str) -> tuple[pd.DataFrame, str, str]:
    """Parse delimited text (every value a string, blank lines kept); returns (frame, separator, format)."""
    sep, file_format = sniff_separator(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                dtype=str,
                na_filter=False,
                skip_blank_lines=False,
                index_col=False,
                engine="c",
            )
    except pd.errors.EmptyDataError:
        raise DataFormatError(
            "The file has no rows. Upload a CSV with a header and one row per protein."
        ) from None
    except pd.errors.ParserWarning:
        raise DataFormatError(
            f"The first data row has more fields than the header ({file_format} file). Add the missing "
            "column names to the header, or remove the extra separators from that row."
        ) from None
    except (pd.errors.ParserError, ValueError, OverflowError) as error:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        detail = (
            f"line {found[2]} has {found[3]} fields but the header has {found[1]}"
            if found
            else str(error).strip().splitlines()[-1][:200]
        )
        raise DataFormatError(
            f"The file could not be read as a {file_format} table: {detail}. Check that every row has "
            "the same number of columns as the header and that quotes are balanced."
        ) from None
    return frame, sep, file_format


def _read_table(text: str) -> tuple[pd.DataFrame, str, str, str | None, str]:
    """Parse a labelled table; returns (frame, sequence column, label column, id column, format)."""
    frame, sep, file_format = parse_table(text)
    columns = [str(c) for c in frame.columns]
    seq_col, label_col = find_column(columns, SEQUENCE_NAMES), find_column(columns, LABEL_NAMES)
    if seq_col is None or label_col is None or seq_col == label_col:
        raise _columns_error(columns, sep)
    return frame, seq_col, label_col, find_column(columns, ID_NAMES), file_format


def _table_rows(text: str) -> tuple[pd.DataFrame, str, str, str, list[str]]:
    """Rows as a frame with columns row, id, sequence, label (strings), blank lines left out; + id notes."""
    frame, seq_col, label_col, id_col, file_format = _read_table(text)
    rows = pd.DataFrame(
        {
            "row": np.arange(len(frame), dtype=np.int64) + 2,  # header is line 1
            "sequence": frame[seq_col].astype(str),
            "label": frame[label_col].astype(str),
        }
    )
    ids = frame[id_col].astype(str).str.replace(INVISIBLE, "", regex=True).str.strip() if id_col else None
    rows["id"] = ids if id_col else "row" + rows["row"].astype(str)  # no direction mark reaches an id
    rows.loc[rows["id"] == "", "id"] = "row" + rows["row"].astype(str)
    blank = (frame.astype(str).apply(lambda col: col.str.strip()) == "").all(axis=1)
    notes = _id_note(frame[id_col].astype(str)) if id_col else []
    return rows[~blank.to_numpy()].reset_index(drop=True), seq_col, label_col, file_format, notes


def _id_note(raw_ids: pd.Series) -> list[str]:
    """A note on the invisible characters removed from the ids (or FASTA headers), if any."""
    counts = raw_ids.str.count(INVISIBLE)
    if not counts.any():
        return []
    return [
        f"Removed {int(counts.sum()):,} invisible characters (unusual spaces, zero-width or text-direction "
        f"marks) from {int((counts > 0).sum()):,} ids."
    ]


def header_label(header: str) -> tuple[str, str]:
    """Split a labelled FASTA header into (id, raw label text); label '' when none is found."""
    words = header.split()
    record_id = words[0] if words else ""
    found = _KEY_VALUE.search(header)
    if found:
        return record_id.split("|")[0] if "|" in record_id and "=" in record_id else record_id, found[1]
    if "|" in record_id and record_id.rsplit("|", 1)[1].strip().lower() in LABEL_SPELLINGS:
        head, tail = record_id.rsplit("|", 1)
        return head, tail
    if len(words) == 2 and words[-1].lower() in LABEL_SPELLINGS:  # '>P12345 1', '>P12345 soluble'
        return record_id, words[-1]
    if len(words) > 2 and words[-1].lower() in SPELLED_OUT_LABELS:  # '>P12345 thioredoxin soluble'
        return record_id, words[-1]
    return record_id, ""  # '>P12345 Thioredoxin 1' or '... subunit N' names a protein, not a label


def _fasta_rows(text: str) -> tuple[pd.DataFrame, list[str]]:
    """Rows (row, id, sequence, label) from a FASTA file with labels in the headers; + id notes."""
    records = split_fasta(text, max_chars=None)  # a file: its size is limited when it is read
    parsed = [(header_label(strip_invisible(r.header or "", spaces=" ")[0]), r) for r in records]
    if parsed and not any(label for (_, label), _r in parsed):
        raise DataFormatError(
            f"None of the {len(records):,} FASTA headers carries a label. Put a label in every header, "
            "for example '>P12345 label=1', '>P12345|1' or '>P12345 soluble'."
        )
    rows = pd.DataFrame(
        {
            "row": [r.line_number for _, r in parsed],
            "id": [rid or f"record{i}" for i, ((rid, _), _r) in enumerate(parsed, start=1)],
            "sequence": ["\n".join(r.lines) for _, r in parsed],
            "label": [label for (_, label), _r in parsed],
        }
    )
    return rows, _id_note(pd.Series([r.header or "" for r in records], dtype=str))


def read_rows(source: Source, *, filename: str | None = None) -> RawRows:
    """Read a CSV/TSV/semicolon table or a labelled FASTA file into raw rows (nothing dropped yet)."""
    data, name = read_source(source, filename)
    unpacked = unpack(data, name)  # gzip, ZIP or an Excel workbook: the text inside
    text, notes = decode_text(unpacked.data, unpacked.name)
    notes = unpacked.notes + notes
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = next((line.strip() for line in text.split("\n", 20)[:20] if line.strip()), "")
    if first.startswith(">"):
        rows, id_notes = _fasta_rows(text)
        return RawRows(
            rows, "FASTA records", "FASTA header", "fasta", notes + id_notes, unpacked.described("fasta")
        )
    rows, seq_col, label_col, file_format, id_notes = _table_rows(text)
    return RawRows(rows, seq_col, label_col, file_format, notes + id_notes, unpacked.described(file_format))
