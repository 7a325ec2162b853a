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
from typing import IO

from protlab.errors import DataFormatError

MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # largest file taken out of an archive: the upload limit (50 MB)
MAX_WORKBOOK_BYTES = 100 * 1024 * 1024  # largest unpacked Excel workbook (its XML is larger than its CSV)
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".fasta", ".fa", ".faa")  # files read from inside a ZIP archive
GZIP_MAGIC, ZIP_MAGIC = b"\x1f\x8b", b"PK\x03\x04"


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


def _gunzip(data: bytes, name: str) -> tuple[bytes, str, list[str]]:
    """The bytes inside a gzip file, read at most MAX_UNPACKED_BYTES."""

    def failed(error: Exception) -> str:
        return (
            f"The file '{name}' looks gzip-compressed but could not be decompressed ({error}). Decompress it "
            "on your computer and upload the file inside."
        )

    inner = _read_capped(lambda: gzip.GzipFile(fileobj=io.BytesIO(data)), name, failed)
    inner_name = name[:-3] if name.lower().endswith(".gz") else name
    return inner, inner_name, [f"Decompressed the gzip file '{name}'."]


def _workbook(archive: zipfile.ZipFile, data: bytes, name: str) -> tuple[bytes, str, list[str]]:
    """An Excel workbook's first sheet as CSV bytes (every cell read as text)."""
    import pandas as pd

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
    sheet_name, frame = next(iter(sheets.items()))
    others = len(sheets) - 1
    note = f"Read the first sheet ('{sheet_name}') of the Excel workbook '{name}'" + (
        f"; its {others} other {'sheet was' if others == 1 else 'sheets were'} not read." if others else "."
    )
    text = frame.dropna(how="all").to_csv(header=False, index=False)
    return text.encode("utf-8"), f"{name} ({sheet_name})", [note]


def _unzip(data: bytes, name: str) -> tuple[bytes, str, list[str]]:
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
    return inner, member.filename, [f"Read '{member.filename}' from the ZIP archive '{name}'."]


def unpack(data: bytes, name: str) -> tuple[bytes, str, list[str]]:
    """The bytes to read as text: gzip and ZIP content unpacked, an Excel workbook's first sheet as CSV;
    returns (bytes, the name to show, notes). Other bytes come back unchanged."""
    if data.startswith(GZIP_MAGIC):
        data, name, notes = _gunzip(data, name)
        if data.startswith(ZIP_MAGIC):  # a gzipped archive: one more layer, said in the notes
            data, name, more = _unzip(data, name)
            notes += more
        return data, name, notes
    if data.startswith(ZIP_MAGIC):
        return _unzip(data, name)
    return data, name, []
