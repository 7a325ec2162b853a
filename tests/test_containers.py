"""Gzip files, ZIP archives and Excel workbooks are opened into the text the readers take, within limits."""

from __future__ import annotations

import gzip
import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from protlab.data import containers, load_labelled
from protlab.data.containers import unpack
from protlab.errors import DataFormatError
from protlab.predict_input import read_file
from tests.conftest import deepsol_sample

DATA = deepsol_sample(24, max_length=200, seed=5)
FRAME = pd.DataFrame(
    {"id": [f"p{i}" for i in range(len(DATA))], "sequence": DATA.sequences, "label": DATA.labels}
)
CSV = FRAME.to_csv(index=False).encode()


def _workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook written by openpyxl through pandas, as Excel users hand it over."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    """A ZIP archive of the given members (deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _same_as_csv(data: bytes, name: str) -> list[str]:
    """Load a packed file and check it gives the rows of the plain CSV; returns the report's notes."""
    reference, _ = load_labelled(CSV, filename="plain.csv")
    loaded, report = load_labelled(data, filename=name)
    assert loaded.sequences == reference.sequences and loaded.ids == reference.ids
    np.testing.assert_array_equal(loaded.labels, reference.labels)
    return report.notes


def test_an_excel_workbook_is_read_from_its_first_sheet_like_the_same_csv() -> None:
    book = _workbook({"Proteins": FRAME, "Notes": pd.DataFrame({"x": ["not data"]})})
    notes = _same_as_csv(book, "class.xlsx")
    first_sheet = "Read the first sheet ('Proteins') of the Excel workbook 'class.xlsx'"
    assert notes[0] == first_sheet + "; its 1 other sheet was not read."
    predicted = read_file(book, "class.xlsx")  # the Predict page reads the same workbook
    assert [r.sequence for r in predicted.records] == DATA.sequences and [
        r.id for r in predicted.records
    ] == list(FRAME["id"])


def test_gzip_and_zip_files_are_unpacked_with_a_note() -> None:
    assert _same_as_csv(gzip.compress(CSV), "class.csv.gz")[0] == "Decompressed the gzip file 'class.csv.gz'."
    archive = _zip({"export/class.csv": CSV, "__MACOSX/._class.csv": b"\x00\x05"})
    assert (
        _same_as_csv(archive, "class.zip")[0] == "Read 'export/class.csv' from the ZIP archive 'class.zip'."
    )
    assert _same_as_csv(gzip.compress(archive), "class.zip.gz")[-1].startswith("Read 'export/class.csv'")
    plain, name, notes = unpack(CSV, "class.csv")  # anything else passes unchanged
    assert (plain, name, notes) == (CSV, "class.csv", [])


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (
            _zip({"a.csv": CSV, "b.csv": CSV}),
            "holds 2 readable files (CSV, TSV, TXT or FASTA) among: a.csv, b.csv",
        ),
        (_zip({"figure.png": b"\x89PNG"}), "holds 0 readable files"),
        (b"PK\x03\x04" + bytes(100), "looks like a ZIP archive or Excel workbook but is damaged"),
        (b"\x1f\x8b\x08\x00" + bytes(20), "looks gzip-compressed but could not be decompressed"),
    ],
)
def test_archives_that_cannot_be_read_are_refused_in_words(data: bytes, fragment: str) -> None:
    with pytest.raises(DataFormatError) as info:
        unpack(data, "upload.zip")
    assert fragment in str(info.value)


def test_archives_that_unpack_past_the_limit_are_refused_before_they_fill_memory(monkeypatch) -> None:
    monkeypatch.setattr(containers, "MAX_UNPACKED_BYTES", 10_000)
    monkeypatch.setattr(containers, "MAX_WORKBOOK_BYTES", 10_000)
    zeros = bytes(20_000)  # compresses to a few dozen bytes
    for data, name in [(gzip.compress(zeros), "bomb.csv.gz"), (_zip({"bomb.csv": zeros}), "bomb.zip")]:
        with pytest.raises(DataFormatError, match="unpacks to more than"):
            unpack(data, name)
    big = pd.DataFrame({"sequence": ["M" * 200] * 200, "label": [1] * 200})
    with pytest.raises(DataFormatError, match="unpacks to more than"):
        unpack(_workbook({"Sheet1": big}), "big.xlsx")


def test_a_damaged_file_inside_an_archive_is_named_even_with_braces_in_its_name() -> None:
    archive = bytearray(_zip({"my {odd} file.csv": CSV}))
    start = archive.index(b"my {odd} file.csv") + len("my {odd} file.csv")  # the deflated bytes follow
    archive[start + 5 : start + 25] = b"\xff" * 20
    with pytest.raises(DataFormatError) as info:
        unpack(bytes(archive), "class.zip")
    assert str(info.value).startswith(
        "'my {odd} file.csv' in the ZIP archive 'class.zip' could not be unpacked ("
    )
