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
    assert unpack(CSV, "class.csv") == containers.Unpacked(CSV, "class.csv")  # anything else passes unchanged


def test_the_report_says_what_the_rows_were_read_from() -> None:
    reads = {
        "class.csv": CSV,
        "class.csv.gz": gzip.compress(CSV),
        "class.zip": _zip({"class.csv": CSV}),
        "class.xlsx": _workbook({"Proteins": FRAME}),
    }
    first_lines = {
        name: load_labelled(data, filename=name)[1].summary_lines()[0] for name, data in reads.items()
    }
    assert first_lines == {
        "class.csv": "Read 24 rows (csv); kept 24.",
        "class.csv.gz": "Read 24 rows (csv in a gzip file); kept 24.",
        "class.zip": "Read 24 rows (csv in a ZIP archive); kept 24.",
        "class.xlsx": "Read 24 rows (Excel sheet 'Proteins'); kept 24.",
    }
    predicted = read_file(reads["class.xlsx"], "class.xlsx")
    assert predicted.notes[-2] == (
        "Read the Excel sheet 'Proteins' with sequences from column 'sequence' and ids from column 'id'."
    )


def _with_title(frame: pd.DataFrame, title: str) -> pd.DataFrame:
    """The frame under a title line and a blank line, starting in column B (column A left empty), as a
    sheet a person lays out by hand; written without pandas' own header."""
    cells = [[None, title, *[None] * (frame.shape[1] - 1)], [None] * (frame.shape[1] + 1)]
    cells.append([None, *frame.columns])
    cells += [[None, *row] for row in frame.astype(object).itertuples(index=False)]
    return pd.DataFrame(cells)


def _raw_workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    """A workbook whose sheets hold exactly the given cells (no header row added)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False, header=False)
    return buffer.getvalue()


def test_the_sheet_with_the_sequences_is_read_under_its_title_rows() -> None:
    readme = pd.DataFrame([["Read me"], ["The data are on the next sheet."], ["Made by Anna"]])
    book = _raw_workbook({"README": readme, "Data": _with_title(FRAME, "Solubility screen, May")})
    notes = _same_as_csv(book, "lab.xlsx")  # no 'Unnamed: 0' column, no title taken for a header
    assert notes[0] == (
        "Read the sheet 'Data' (the first sheet, 'README', holds no sequences) of the Excel workbook "
        "'lab.xlsx'; skipped the 2 rows above its header row."
    )  # the title and the blank row under it; the README, named already, is not counted again
    predicted = read_file(book, "lab.xlsx")
    assert [r.sequence for r in predicted.records] == DATA.sequences


def test_a_sheet_of_sequences_without_a_header_is_chosen_so_the_reader_can_say_so() -> None:
    headerless = pd.DataFrame({"a": FRAME["id"], "b": FRAME["sequence"]})
    book = _raw_workbook({"Notes": pd.DataFrame([["see the next sheet"]]), "Raw": headerless})
    with pytest.raises(DataFormatError, match=r"'lab.xlsx \(Raw\)' has no header row"):
        read_file(book, "lab.xlsx")


def test_a_workbook_without_sequences_names_its_sheets() -> None:
    book = _raw_workbook({"README": pd.DataFrame([["Read me"]]), "Plan": pd.DataFrame([["week", "topic"]])})
    with pytest.raises(DataFormatError) as info:
        read_file(book, "plan.xlsx")
    assert str(info.value).startswith(
        "No sheet of the Excel workbook 'plan.xlsx' holds protein sequences: none has a header cell named "
        "'sequence' or 'seq' in its first 10 rows, and none has a cell of 20 or more amino-acid letters "
        "(the sheet 'README' begins with 'Read me'; the sheet 'Plan' begins with 'week')."
    )


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
    ids=["two-files", "no-text-file", "damaged-zip", "damaged-gzip"],  # archive bytes hold the time written
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
