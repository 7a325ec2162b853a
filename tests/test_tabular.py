"""Reading labelled files into raw rows: sources, encodings, separators, columns, FASTA headers, labels."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protlab.data import (
    LABEL_SPELLINGS,
    RawRows,
    find_column,
    parse_labels,
    read_rows,
    sniff_separator,
)
from protlab.errors import DataFormatError

# twelve distinct valid sequences, alternating labels
GOOD = [(f"MKTAYIAKQR{letter}{letter}GLE", i % 2) for i, letter in enumerate("ACDEFGHIKLMN")]


def table(
    rows: list[tuple[str, object]], sep: str = ",", header: str = "sequence,label", newline: str = "\n"
) -> str:
    """A delimited text table from (sequence, label) rows."""
    lines = [header.replace(",", sep)] + [f"{s}{sep}{y}" for s, y in rows]
    return newline.join(lines) + newline


def test_sniff_separator_and_find_column() -> None:
    assert sniff_separator("\n\nid;sequence;label\nA;B;1") == (";", "semicolon-separated")
    assert sniff_separator("sequence\tlabel\n") == ("\t", "tsv")
    assert sniff_separator("sequence,label\n") == (",", "csv")
    assert sniff_separator("sequence\n") == (",", "csv")
    assert find_column(["Name", " SEQ ", "Sequence"], ("sequence", "seq")) == "Sequence"
    assert find_column(["Name", " SEQ "], ("sequence", "seq")) == " SEQ "
    assert find_column(["a", "b"], ("sequence",)) is None


@pytest.mark.parametrize("sep", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_tables_match_pandas(sep: str, newline: str) -> None:
    rows = [(f"P{i}{sep}{s}", y) for i, (s, y) in enumerate(GOOD)]  # an id column first
    text = table(rows, sep=sep, newline=newline, header="name,sequence,label")
    raw = read_rows(text.encode())
    reference = pd.read_csv(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n")), sep=sep, dtype=str)
    assert isinstance(raw, RawRows)
    assert raw.rows["sequence"].tolist() == reference["sequence"].tolist()
    assert raw.rows["label"].tolist() == reference["label"].tolist()
    assert raw.rows["id"].tolist() == reference["name"].tolist()
    assert raw.rows["row"].tolist() == list(range(2, 14))
    assert raw.file_format == {",": "csv", ";": "semicolon-separated", "\t": "tsv"}[sep]
    assert (raw.sequence_column, raw.label_column) == ("sequence", "label")


def test_latin1_ids_are_decoded() -> None:
    text = table(GOOD, header="ID,Sequence,Label").replace("MKT", "caf\u00e9,MKT")
    raw = read_rows(text.encode("latin-1"))
    assert raw.rows["id"].iloc[0] == "caf\u00e9"
    assert raw.sequence_column == "Sequence"
    assert any("Latin-1" in note for note in raw.notes)


def test_blank_rows_are_left_out_and_missing_ids_named() -> None:
    text = "name,sequence,label\nP1,MKTA,1\n\n,,\n,MKTC,0\n"
    rows = read_rows(text.encode()).rows
    assert rows["row"].tolist() == [2, 5]  # file lines: header 1, blank 3 and 4
    assert rows["id"].tolist() == ["P1", "row5"]


@pytest.mark.parametrize(
    ("header", "sequence_column", "label_column"),
    [
        ("Seq,Solubility", "Seq", "Solubility"),
        ("PROTEIN,target", "PROTEIN", "target"),
        ("aa_sequence,class", "aa_sequence", "class"),
        ("fasta,y", "fasta", "y"),
        ("sequence,soluble", "sequence", "soluble"),
    ],
)
def test_column_names(header: str, sequence_column: str, label_column: str) -> None:
    raw = read_rows(table(GOOD, header=header).encode())
    assert (raw.sequence_column, raw.label_column) == (sequence_column, label_column)
    assert raw.rows["sequence"].tolist() == [s for s, _ in GOOD]


def test_label_spellings() -> None:
    expected = {
        "1": 1,
        "0": 0,
        "1.0": 1,
        "0.0": 0,
        " 1 ": 1,
        "True": 1,
        "false": 0,
        "YES": 1,
        "no": 0,
        "Y": 1,
        "n": 0,
        "t": 1,
        "F": 0,
        "soluble": 1,
        "Insoluble": 0,
        "positive": 1,
        "negative": 0,
        "pos": 1,
        "neg": 0,
        "1e0": 1,
        "0.00": 0,
        "": -1,
        "maybe": -1,
        "2": -1,
        "0.5": -1,
        "nan": -1,
    }
    labels = parse_labels(pd.Series(list(expected)))
    assert labels.dtype == np.int64
    assert dict(zip(expected, labels.tolist())) == expected
    assert set(LABEL_SPELLINGS.values()) == {0, 1}


def test_labelled_fasta_headers() -> None:
    text = (
        ">P0 label=1\nMKTA\nYIAK\n>P1 solubility: 0\nMKTC\n>sp|Q1|NAME|1\nMKTD\n>R2 insoluble\nMKTE\n"
        ">R3|y=1 extra\nMKTF\n>R4 no label here\nMKTG\n> \nMKTH\n"
    )
    raw = read_rows(text.encode(), filename="set.fasta")
    assert (raw.file_format, raw.sequence_column, raw.label_column) == (
        "fasta",
        "FASTA records",
        "FASTA header",
    )
    rows = raw.rows
    assert rows["id"].tolist() == ["P0", "P1", "sp|Q1|NAME", "R2", "R3", "R4", "record7"]
    assert rows["label"].tolist() == ["1", "0", "1", "insoluble", "1", "", ""]
    assert rows["sequence"].iloc[0] == "MKTA\nYIAK"
    assert rows["row"].tolist() == [1, 4, 6, 8, 10, 12, 14]


@pytest.mark.parametrize(
    ("header", "label"),
    [
        ("P1 1", "1"),  # id and label only
        ("P1 n", "n"),
        ("P1 periplasmic protein soluble", "soluble"),  # a spelled-out label ends a longer header
        ("P1 Thioredoxin 1", ""),  # a number closing a protein's name is not a label
        ("P1 ATP synthase subunit N", ""),
        ("P1 Protein Y", ""),
    ],
)
def test_only_an_unambiguous_last_word_is_a_header_label(header: str, label: str) -> None:
    from protlab.data.tables import header_label

    assert header_label(header) == ("P1", label)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00rest", "seems to be a PNG image"),
        (
            b"PK\x03\x04\x14\x00[Content_Types].xml xl/workbook.xml",
            "ZIP archive or Excel workbook but is damaged",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "Excel .xls"),
        (b"%PDF-1.7\n", "PDF document"),
        (b"\x1f\x8b\x08\x00", "looks gzip-compressed but could not be decompressed"),
        (b"sequence,label\x00\x00", "binary file"),
        (bytes(range(1, 32)) * 10 + b"\xff", "neither UTF-8 nor Latin-1"),
        (table(GOOD).replace("sequence,label\n", "").encode(), "has no header row"),
        (table(GOOD, header="protein_name,score").encode(), "the columns found are: 'protein_name', 'score'"),
        (b"sequence,label\nMKT,1,5\nAAA,0\n", "more fields than the header"),
        (b"sequence,label\nMKT,1\nAAA,0\nCCC,1,5\n", "line 4 has 3 fields but the header has 2"),
        (b">a\nMKT\n>b\nAAA\n", "None of the 2 FASTA headers carries a label"),
    ],
)
def test_refused_files(content: bytes, message: str) -> None:
    with pytest.raises(DataFormatError) as info:
        read_rows(content, filename="upload.csv")
    assert message in str(info.value)
    assert str(info.value).endswith(".")


def test_no_header_message_suggests_header() -> None:
    text = "".join(f"{s};{y}\n" for s, y in GOOD)
    with pytest.raises(DataFormatError, match="Add a header line such as 'sequence;label'"):
        read_rows(text.encode())


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=300)
    | st.text(alphabet=st.sampled_from(list("MKTAb1,;\t\n\r>|= \"'")), max_size=200).map(str.encode)
)
def test_random_bytes_give_rows_or_a_data_format_error(content: bytes) -> None:
    try:
        raw = read_rows(content)
    except DataFormatError:
        return
    assert list(raw.rows.columns)[:1] == ["row"] and set(raw.rows.columns) == {
        "row",
        "id",
        "sequence",
        "label",
    }
    assert raw.rows["row"].is_monotonic_increasing
    assert all(isinstance(v, str) for column in ("id", "sequence", "label") for v in raw.rows[column])
