"""A file's bytes and text: size limit, spreadsheets and binaries refused by name, the text encoding.

The first step of reading any file a student gives ProtLab (a training table, proteins to predict, a
per-residue set): read at most MAX_FILE_BYTES, refuse what is not text with a sentence saying how to save it
as text, and decode UTF-8, UTF-16 or Latin-1. `protlab.data.tables` then reads the text as a table or FASTA.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from protlab.errors import DataFormatError

MAX_FILE_BYTES = 50 * 1024 * 1024  # largest file read: 50 MB, the server's upload limit (maxUploadSize)
Source = str | Path | bytes | bytearray | IO[bytes] | IO[str]  # a path, raw bytes or a file-like object

_SAVE_AS_CSV = (
    "Open it in Excel or LibreOffice, save it with File > Save As > 'CSV UTF-8', and upload that file."
)
_MAGIC = (  # (first bytes, what the file is, what to do: {wanted} names the file the caller reads)
    (
        b"PK\x03\x04",
        "a ZIP archive (an Excel .xlsx workbook is one)",
        "If it is an Excel workbook: " + _SAVE_AS_CSV + " If it is a .zip archive, extract it first and "
        "upload the {wanted} file inside.",
    ),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old-style Excel .xls (or other Microsoft Office) file",
        _SAVE_AS_CSV,
    ),
    (b"\x89PNG", "a PNG image", "Export the data as {wanted} and upload that file."),
    (b"%PDF", "a PDF document", "Export the data as {wanted} and upload that file."),
    (b"\xff\xd8\xff", "a JPEG image", "Export the data as {wanted} and upload that file."),
    (b"GIF8", "a GIF image", "Export the data as {wanted} and upload that file."),
    (
        b"\x1f\x8b",
        "a gzip-compressed file",
        "Decompress it first (gunzip FILE.gz, or double-click it) and upload the {wanted} file inside.",
    ),
)


def _too_big(size: int, name: str) -> DataFormatError:
    """The error for a file over MAX_FILE_BYTES."""
    return DataFormatError(
        f"The file '{name}' is {size / 2**20:,.1f} MB; files are limited to {MAX_FILE_BYTES // 2**20} MB. "
        "Split it into smaller files or use a subset."
    )


def read_source(source: Source, filename: str | None = None) -> tuple[bytes, str]:
    """Read all bytes of a path, bytes or file-like object (at most MAX_FILE_BYTES);
    returns (data, display name)."""
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), filename or "uploaded data"
        if len(data) > MAX_FILE_BYTES:
            raise _too_big(len(data), name)
        return data, name
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES and path.is_file():
                raise _too_big(size, filename or path.name)
            return path.read_bytes(), filename or path.name
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise DataFormatError(
                f"No data file was found at '{path}'. Check the path and try again."
            ) from None
        except (OSError, ValueError) as error:
            raise DataFormatError(f"The file '{path}' could not be opened ({error}).") from None
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(MAX_FILE_BYTES + 1)
        name = filename or Path(str(getattr(source, "name", "uploaded data"))).name
        data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if len(data) > MAX_FILE_BYTES:
            raise _too_big(len(data), name)
        return data, name
    raise DataFormatError(
        f"source must be a file path, bytes or an open file; got a value of type {type(source).__name__}."
    )


TRAINING_TABLE = "CSV (comma-separated, with columns sequence and label) or labelled FASTA"  # a training file
PREDICT_FILE = "FASTA or CSV (comma-separated, with a sequence column)"  # what a file to predict holds


def decode_text(data: bytes, name: str, *, wanted: str = TRAINING_TABLE) -> tuple[str, list[str]]:
    """Refuse binary files and decode text (UTF-8, UTF-8 with BOM, UTF-16 with BOM, else Latin-1).

    `wanted` names the file the caller reads, for the message that refuses a spreadsheet or binary file.
    """
    if not data.strip():
        raise DataFormatError(
            f"The file '{name}' is empty: it holds no text. Upload a file in {wanted} format."
        )
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), ["The file was read as UTF-16 text."]
        except UnicodeDecodeError:
            pass
    for magic, what, advice in _MAGIC:
        if data.startswith(magic):
            raise DataFormatError(
                f"The file '{name}' seems to be {what}, not a text file. {advice.format(wanted=wanted)}"
            )
    if b"\x00" in data[:65536]:
        raise DataFormatError(
            f"The file '{name}' seems to be a binary file (it contains NUL bytes), not a text file. "
            f"Export the data as {wanted} and upload that."
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
