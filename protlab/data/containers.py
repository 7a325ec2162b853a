"""Open the containers students upload their tables in: gzip, ZIP and Excel workbooks.

A sequence table often arrives as `data.csv.gz`, a `.zip` of one CSV, or an Excel `.xlsx` workbook.
`unpack` turns each into the plain bytes the text readers take (a workbook's first sheet becomes CSV),
with a note saying what was done. Sizes are checked before anything is expanded, so a small archive that
unpacks to gigabytes is refused instead of filling the server's memory.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

import pandas as pd

from protlab.data.columns import SEQUENCE_CELL_LENGTH, SEQUENCE_NAMES, find_column, is_sequence_cell
from protlab.errors import DataFormatError

MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # largest file taken out of an archive: the upload limit (50 MB)
MAX_WORKBOOK_BYTES = 100 * 1024 * 1024  # largest unpacked Excel workbook (its XML is larger than its CSV)
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".fasta", ".fa", ".faa")  # files read from inside a ZIP archive
GZIP_MAGIC, ZIP_MAGIC = b"\x1f\x8b", b"PK\x03\x04"


@dataclass(frozen=True)
class Unpacked:
    """The bytes to read as text, and what they were taken out of."""

    data: bytes  # the text's bytes (a workbook's sheet as CSV)
    name: str  # the name to show: the file inside an archive, or 'book.xlsx (Sheet1)'
    notes: list[str] = field(default_factory=list)  # what was done, one sentence each
    container: str = ""  # "" for a plain file, else "gzip file", "ZIP archive" or "Excel sheet 'Data'"

    def described(self, file_format: str) -> str:
        """How the file was read, for a report: 'csv', 'csv in a gzip file', "Excel sheet 'Data'"."""
        if self.container.startswith("Excel"):
            return self.container
        return f"{file_format} in a {self.container}" if self.container else file_format


def _too_large(name: str, limit: int) -> DataFormatError:
    """The error for an archive whose content is over limit once unpacked."""
    return DataFormatError(
        f"The file '{name}' unpacks to more than {limit // 2**20} MB, the limit. Upload a smaller subset."
    )


def _read_capped(opener: Callable[[], IO[bytes]], name: str, failed: Callable[[Exception], str]) -> bytes:
    """Read an archive's stream, at most MAX_UNPACKED_BYTES; failed(error) is the message if it is damaged."""
    try:
        with opener() as stream:
            inner = stream.read(MAX_UNPACKED_BYTES + 1)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError) as error:  # or encrypted
        raise DataFormatError(failed(error)) from None
    if len(inner) > MAX_UNPACKED_BYTES:
        raise _too_large(name, MAX_UNPACKED_BYTES)
    return inner


def _gunzip(data: bytes, name: str) -> Unpacked:
    """The bytes inside a gzip file, read at most MAX_UNPACKED_BYTES."""

    def failed(error: Exception) -> str:
        return (
            f"The file '{name}' looks gzip-compressed but could not be decompressed ({error}). Decompress it "
            "on your computer and upload the file inside."
        )

    inner = _read_capped(lambda: gzip.GzipFile(fileobj=io.BytesIO(data)), name, failed)
    inner_name = name[:-3] if name.lower().endswith(".gz") else name
    return Unpacked(inner, inner_name, [f"Decompressed the gzip file '{name}'."], "gzip file")


HEADER_SEARCH_ROWS = 10  # rows of a sheet searched for the header row (titles and notes may sit above it)


def _header_row(frame: pd.DataFrame) -> int | None:
    """Position of the first of a sheet's first rows that names a sequence column, else None."""
    for at, row in enumerate(frame.head(HEADER_SEARCH_ROWS).itertuples(index=False)):
        if find_column([str(c) for c in row if isinstance(c, str)], SEQUENCE_NAMES) is not None:
            return at
    return None


def _holds_sequences(frame: pd.DataFrame) -> bool:
    """True when a cell in one of a sheet's first rows is a protein sequence (a sheet without header)."""
    cells = frame.head(HEADER_SEARCH_ROWS).to_numpy().ravel()
    return any(isinstance(c, str) and is_sequence_cell(c) for c in cells)


def _first_cell(frame: pd.DataFrame) -> str:
    """A sheet's first non-empty cell, shortened, to name what the sheet holds."""
    cells = [str(c).strip() for c in frame.to_numpy().ravel()[:200] if isinstance(c, str) and c.strip()]
    return repr(cells[0][:40]) if cells else "nothing"


def _choose_sheet(sheets: dict[str, pd.DataFrame], name: str) -> tuple[str, int]:
    """The sheet to read and its header row: the first sheet naming a sequence column, else the first sheet
    with a sequence in it (no header; the reader explains), else a clear error listing the sheets."""
    for sheet, frame in sheets.items():
        at = _header_row(frame)
        if at is not None:
            return sheet, at
    for sheet, frame in sheets.items():
        if _holds_sequences(frame):
            return sheet, 0
    listed = "; ".join(
        f"the sheet '{sheet}' begins with {_first_cell(frame)}" for sheet, frame in list(sheets.items())[:5]
    )
    raise DataFormatError(
        f"No sheet of the Excel workbook '{name}' holds protein sequences: none has a header cell named "
        f"{' or '.join(map(repr, SEQUENCE_NAMES[:2]))} in its first {HEADER_SEARCH_ROWS} rows, and none "
        f"has a cell of {SEQUENCE_CELL_LENGTH} or more amino-acid letters ({listed}). Put a header cell "
        "'sequence' above the column of protein sequences, on any sheet (a file to train on also needs a "
        "'label' column)."
    )


def _sheet_note(name: str, sheets: dict[str, pd.DataFrame], sheet: str, skipped: int) -> str:
    """What was read from a workbook: which sheet, why that one, the rows skipped and the sheets left."""
    first = next(iter(sheets))
    where = (
        f"the first sheet ('{sheet}')"
        if sheet == first
        else f"the sheet '{sheet}' (the first sheet, '{first}', holds no sequences)"
    )
    others = len(sheets) - (1 if sheet == first else 2)  # the first sheet was named already
    parts = [f"Read {where} of the Excel workbook '{name}'"]
    if skipped:
        parts.append(f"skipped the {skipped} {'row' if skipped == 1 else 'rows'} above its header row")
    if others:
        parts.append(f"its {others} other {'sheet was' if others == 1 else 'sheets were'} not read")
    return "; ".join(parts) + "."


def _workbook(archive: zipfile.ZipFile, data: bytes, name: str) -> Unpacked:
    """The sheet of an Excel workbook that holds the sequences, as CSV bytes (every cell read as text)."""
    if sum(info.file_size for info in archive.infolist()) > MAX_WORKBOOK_BYTES:
        raise _too_large(name, MAX_WORKBOOK_BYTES)
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, header=None, dtype=str, engine="openpyxl")
    except Exception as error:  # openpyxl raises many kinds for damaged workbooks
        raise DataFormatError(
            f"The Excel workbook '{name}' could not be read ({type(error).__name__}). Open it in Excel or "
            "LibreOffice, save it with File > Save As > 'CSV UTF-8', and upload that file."
        ) from None
    if not sheets:
        raise DataFormatError(f"The Excel workbook '{name}' has no sheets.")
    sheets = {sheet: frame.dropna(how="all") for sheet, frame in sheets.items()}
    sheet, at = _choose_sheet(sheets, name)
    skipped = int(sheets[sheet].index[at]) if len(sheets[sheet]) else 0  # sheet rows above the header row
    frame = sheets[sheet].iloc[at:].dropna(axis=1, how="all")  # from the header row; no empty columns
    text = frame.to_csv(header=False, index=False)
    note = _sheet_note(name, sheets, sheet, skipped)
    return Unpacked(text.encode("utf-8"), f"{name} ({sheet})", [note], f"Excel sheet '{sheet}'")


def _unzip(data: bytes, name: str) -> Unpacked:
    """The one text file inside a ZIP archive, or an Excel workbook's first sheet."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataFormatError(
            f"The file '{name}' looks like a ZIP archive or Excel workbook but is damaged. Upload it again, "
            "or save the data as CSV and upload that."
        ) from None
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX")]
        if any(i.filename == "xl/workbook.xml" for i in members):
            return _workbook(archive, data, name)
        texts = [i for i in members if i.filename.lower().endswith(TEXT_SUFFIXES)]
        if len(texts) != 1:
            listed = ", ".join(i.filename for i in members[:5]) or "nothing"
            raise DataFormatError(
                f"The ZIP archive '{name}' holds {len(texts)} readable files (CSV, TSV, TXT or FASTA) among: "
                f"{listed}. Put exactly one data file in it, or upload that file itself."
            )
        member = texts[0]
        if member.file_size > MAX_UNPACKED_BYTES:
            raise _too_large(name, MAX_UNPACKED_BYTES)

        def failed(error: Exception) -> str:
            return (
                f"'{member.filename}' in the ZIP archive '{name}' could not be unpacked ({error}). Extract "
                "it on your computer and upload the file itself."
            )

        inner = _read_capped(lambda: archive.open(member), name, failed)
    return Unpacked(
        inner, member.filename, [f"Read '{member.filename}' from the ZIP archive '{name}'."], "ZIP archive"
    )


def unpack(data: bytes, name: str) -> Unpacked:
    """The bytes to read as text: gzip and ZIP content unpacked, the sheet of an Excel workbook that holds
    the sequences as CSV, with notes saying what was done. Other bytes come back unchanged."""
    if data.startswith(GZIP_MAGIC):
        outer = _gunzip(data, name)
        if not outer.data.startswith(ZIP_MAGIC):
            return outer
        inner = _unzip(outer.data, outer.name)  # a gzipped archive: one more layer, said in the notes
        return Unpacked(inner.data, inner.name, outer.notes + inner.notes, inner.container or outer.container)
    if data.startswith(ZIP_MAGIC):
        return _unzip(data, name)
    return Unpacked(data, name)
