"""Validating labelled data: dropped rows and reasons, de-duplication, refusals, the report,
limits, fuzzing.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from Bio.Data.IUPACData import protein_letters
from hypothesis import given, settings
from hypothesis import strategies as st

from protlab.data import BUNDLED_DATA_PATH, LabelledData, ValidationReport, load_bundled, load_labelled
from protlab.errors import ConfigError, DataFormatError

# twelve distinct valid sequences, alternating labels
GOOD = [(f"MKTAYIAKQR{letter}{letter}GLE", i % 2) for i, letter in enumerate("ACDEFGHIKLMN")]


def table(
    rows: list[tuple[str, object]], sep: str = ",", header: str = "sequence,label", newline: str = "\n"
) -> str:
    """A delimited text table from (sequence, label) rows."""
    lines = [header.replace(",", sep)] + [f"{s}{sep}{y}" for s, y in rows]
    return newline.join(lines) + newline


def test_bundled_data_loads() -> None:
    data, report = load_bundled()
    reference = pd.read_csv(BUNDLED_DATA_PATH)
    assert BUNDLED_DATA_PATH.name == "deepsol.csv" and BUNDLED_DATA_PATH.is_file()
    assert len(data) == report.n_kept == len(reference) == 6942
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(data.labels, reference["label"].to_numpy())
    assert data.sequences == reference["sequence"].tolist()
    assert report.class_counts == reference["label"].value_counts().to_dict()
    np.testing.assert_array_equal(report.lengths, reference["sequence"].str.len().to_numpy())
    assert (report.sequence_column, report.label_column) == ("sequence", "label")


def test_simple_csv_from_path_bytes_and_file(tmp_path: Path) -> None:
    text = table(GOOD)
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    results = [
        load_labelled(path),
        load_labelled(str(path)),
        load_labelled(text.encode()),
        load_labelled(io.BytesIO(text.encode()), filename="upload.csv"),
    ]
    for data, report in results:
        assert isinstance(data, LabelledData) and isinstance(report, ValidationReport)
        assert data.sequences == [s for s, _ in GOOD]
        assert data.labels.tolist() == [y for _, y in GOOD]
        assert data.ids == [f"row{i}" for i in range(2, 14)]
        assert report.n_read == report.n_kept == 12 and report.dropped.empty


@pytest.mark.parametrize(
    ("encoded", "note"),
    [
        (table(GOOD, sep="\t").encode(), None),
        (
            table(GOOD, header="ID,Sequence,Label").replace("MKT", "caf\u00e9,MKT").encode("latin-1"),
            "Latin-1",
        ),
        (table(GOOD).encode("utf-16"), "UTF-16"),
    ],
)
def test_reading_notes_reach_the_report(encoded: bytes, note: str | None) -> None:
    data, report = load_labelled(encoded)
    assert data.sequences == [s for s, _ in GOOD]
    assert data.labels.tolist() == [y for _, y in GOOD]
    assert report.file_format == ("tsv" if note is None else "csv")
    assert len(report.notes) == (0 if note is None else 1)
    if note:
        assert any(note in line for line in report.summary_lines())


def test_dropped_rows_with_reasons() -> None:
    rows = GOOD + [
        ("mktayiakqraagle", "0"),  # duplicate of row 2 after cleaning, same label
        ("MKTAYI1KQR", "1"),  # invalid character
        ("", "1"),  # empty sequence
        ("MKTAYIAKQRPPP", ""),  # missing label
        ("MKTAYIAKQRWWW", "maybe"),  # unrecognised label
        ("MKTAYIAKQRYYY", "0"),  # conflicting pair
        ("MKTAYIAKQRYYY", "1"),
        ("M" * 30, "1"),  # too long for max_length=20
    ]
    data, report = load_labelled(table(rows).encode(), max_length=20)
    assert data.sequences == [s for s, _ in GOOD]
    expected = [
        (14, "duplicate"),
        (15, "invalid character"),
        (16, "empty sequence"),
        (17, "missing label"),
        (18, "label not recognised"),
        (19, "conflicting duplicate"),
        (20, "conflicting duplicate"),
        (21, "too long"),
    ]
    assert list(zip(report.dropped["row"], report.dropped["reason"])) == expected
    details = dict(zip(report.dropped["row"], report.dropped["detail"]))
    assert details[14] == "Same sequence and label as row 2; only the first copy is kept."
    assert details[15].startswith("The sequence has '1' at position 7, which is not an amino-acid letter.")
    assert details[18].startswith("label 'maybe' is not one of 0/1, true/false")
    assert "30 residues long; the limit is 20" in details[21]
    assert report.n_read == 20 and report.n_kept == 12
    assert report.n_duplicates == 1 and report.n_conflicting == 2
    assert report.reasons == {
        "duplicate": 1,
        "invalid character": 1,
        "empty sequence": 1,
        "missing label": 1,
        "label not recognised": 1,
        "conflicting duplicate": 2,
        "too long": 1,
    }
    assert "Dropped 8 rows" in " ".join(report.summary_lines())


def test_dna_rows_are_dropped_from_uploads_and_kept_with_a_note_in_the_published_file(tmp_path: Path) -> None:
    from protlab.data.nucleotides import is_nucleotide_sequence

    dna = "ATGAGCGATAAAATTATTCACCTGACTGACGAC"
    rows = GOOD + [(dna, 1), (dna.replace("T", "U") + "A", 0)]
    data, report = load_labelled(table(rows).encode())
    assert data.sequences == [s for s, _ in GOOD] and report.reasons == {"DNA or RNA": 2}
    assert (
        list(report.dropped["row"]) == [14, 15]
        and "translate the coding sequence" in report.dropped["detail"][0]
    )
    kept, kept_report = load_labelled(table(rows).encode(), keep_nucleotides=True)
    assert len(kept) == 14 and "2 rows (lines 14, 15) look like DNA or RNA" in kept_report.notes[0]
    every_row = table([(dna, 1), (dna + "A", 0)] * 6).encode()  # a file of coding sequences: refused
    with pytest.raises(DataFormatError, match="Only 0 usable rows remain") as info:
        load_labelled(every_row)
    assert info.value.report.reasons == {"DNA or RNA": 12}  # the page shows why
    assert str(info.value).endswith("translate each coding sequence into protein first.")
    # the bundled DeepSol file keeps its one DNA row, as published, and says so; a copy elsewhere drops it
    reference = pd.read_csv(BUNDLED_DATA_PATH)
    dna_rows = [i + 2 for i, seq in enumerate(reference["sequence"]) if is_nucleotide_sequence(seq)]
    bundled, bundled_report = load_bundled()
    assert (
        len(bundled) == len(reference)
        and f"(line {', '.join(map(str, dna_rows))})" in bundled_report.notes[-1]
    )
    copy = tmp_path / "deepsol.csv"
    copy.write_bytes(BUNDLED_DATA_PATH.read_bytes())
    assert len(load_labelled(copy)[0]) == len(reference) - len(dna_rows)


def test_a_label_column_of_measurements_is_refused_not_read_where_it_happens_to_be_0_or_1() -> None:
    seqs = [s for s, _ in GOOD]
    percent = ["85.5", "7.5", "1.0", "26.9", "100", "0", "42", "64.2", "1", "12", "55", "90.1"]
    with pytest.raises(DataFormatError) as info:
        load_labelled(table(list(zip(seqs, percent))).encode())
    values = np.array(percent, dtype=float)
    assert str(info.value).startswith(
        "The label column 'label' holds measurements, not classes: 9 of its 12 values are numbers other "
        "than 0 and 1 (from 0 to 100; for example 85.5, 7.5, 26.9)"
    )
    assert f"the median here is {np.median(values):g}" in str(info.value)
    assert (info.value.column, info.value.low, info.value.high) == ("label", 0.0, 100.0)
    assert info.value.median == np.median(values)  # the cutoff a page offers first
    stray = [y for _, y in GOOD][:10] + ["0.5", "2"]  # a few odd cells in a 0/1 column are dropped, as before
    data, report = load_labelled(table(list(zip(seqs, stray))).encode())
    assert len(data) == 10 and report.reasons == {"label not recognised": 2}


def test_measurements_become_classes_at_a_cutoff() -> None:
    seqs = [s for s, _ in GOOD]
    percent = ["85.5", "7.5", "1.0", "26.9", "100", "0", "42", "64.2", "about 50", "12", "55", ""]
    data, report = load_labelled(table(list(zip(seqs, percent))).encode(), label_cutoff=42)
    values = pd.to_numeric(pd.Series(percent), errors="coerce")
    usable = values.notna().to_numpy()
    assert data.sequences == [s for s, ok in zip(seqs, usable) if ok]
    np.testing.assert_array_equal(data.labels, (values[usable] >= 42).astype(int).to_numpy())
    assert report.reasons == {"label not recognised": 1, "missing label": 1}
    assert "soluble (1) at or above 42, insoluble (0) below" in " ".join(report.notes)


def test_names_and_words_are_dropped_as_rows_that_are_not_proteins() -> None:
    rows = GOOD + [("GFP", 1), ("lysozyme", 0), ("GIGAVLKVLTTGLPALISWIKRKRQQ", 1), ("transferrin", 0)]
    data, report = load_labelled(table(rows).encode())
    assert data.sequences == [s for s, _ in GOOD] + ["GIGAVLKVLTTGLPALISWIKRKRQQ"]  # melittin stays
    assert report.reasons == {"name or word, not a sequence": 3} and list(report.dropped["row"]) == [
        14,
        15,
        17,
    ]
    assert report.dropped["detail"][0].startswith("'GFP' has 3 letters, too few for a protein.")
    with pytest.raises(DataFormatError) as info:
        load_labelled(table([("GFP", 1), ("insulin", 0), ("ubiquitin", 1)]).encode())
    assert str(info.value).endswith("put each protein's amino-acid sequence in the sequence column.")


def test_residues_outside_the_twenty_are_counted_in_a_note() -> None:
    rows = GOOD + [
        ("MKTAYXXKQRBGLE" + "AKVLSPGEDIRHWNFMQ", 1),
        ("MKTAYUKQROGLE" + "AKVLSPGEDIRHWNFMQTCKVLAPGSED", 0),
    ]
    _, report = load_labelled(table(rows).encode())
    assert report.notes == [
        "2 rows hold 5 residues outside the 20 standard amino acids (B, O, U, X); the model reads each as "
        "one 'unknown' token."
    ]
    assert not load_labelled(table(GOOD).encode())[1].notes


def test_nan_cells_and_blank_lines() -> None:
    frame = pd.DataFrame(
        {"sequence": [s for s, _ in GOOD] + [None, "MKTAAAGLEVKR"], "label": [y for _, y in GOOD] + [1, None]}
    )
    text = frame.to_csv(index=False).replace("\n", "\n\n", 1)  # a blank line after the header
    data, report = load_labelled(text.encode())
    assert len(data) == 12 and report.n_read == 14
    assert sorted(report.dropped["reason"]) == ["empty sequence", "missing label"]
    assert report.dropped["row"].tolist() == [15, 16]  # file lines, counting the blank line


def test_labelled_fasta() -> None:
    records = [f">P{i} label={y}\n{s[:7]}\n{s[7:]}\n" for i, (s, y) in enumerate(GOOD[:8])]
    records += [
        ">sp|Q1|NAME|1\nMKTAYIAKQRQQ\n",
        ">R2 insoluble\nMKTAYIAKQRSS\n",
        ">R3 no label here\nMKTTTTTTTTT\n",
    ]
    data, report = load_labelled("".join(records).encode(), filename="set.fasta")
    assert data.ids == [f"P{i}" for i in range(8)] + ["sp|Q1|NAME", "R2"]
    assert data.sequences[:8] == [s for s, _ in GOOD[:8]]
    assert data.labels.tolist() == [y for _, y in GOOD[:8]] + [1, 0]
    assert report.file_format == "fasta"
    assert report.dropped["reason"].tolist() == ["missing label"]
    assert report.dropped["row"].tolist() == [8 * 3 + 5]  # the header line of R3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00rest", "seems to be a PNG image"),  # reading errors pass through
        (table(GOOD, header="protein_name,score").encode(), "the columns found are: 'protein_name', 'score'"),
        (b"sequence,label\n", "no data rows below its header"),  # nothing to check in 'dropped rows'
        (b"This is my lab notebook.\nNo table here.\n", "does not look like a table: its first line, 'This"),
        (b"sequence\nMKTAYIAKQR\n", "has only the column 'sequence'; training also needs a label column"),
        (b"sequence,label\n\n\n", "no data rows below its header"),
        (
            table(GOOD[:3]).encode(),
            "Only 3 usable rows remain after cleaning (3 read, 0 dropped); at least 10",
        ),
        (
            table(GOOD[:9] + [("MKT1", 1)]).encode(),
            "Only 9 usable rows remain after cleaning (10 read, 1 dropped)",
        ),
        (table([(s, 1) for s, _ in GOOD]).encode(), "All 12 usable rows have label 1 (soluble)"),
        (table([(s, "no") for s, _ in GOOD]).encode(), "All 12 usable rows have label 0 (insoluble)"),
    ],
)
def test_refused_files(content: bytes, message: str) -> None:
    with pytest.raises(DataFormatError) as info:
        load_labelled(content, filename="upload.csv")
    assert message in str(info.value)


def test_limits(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="The file has 12 rows; the limit is 5"):
        load_labelled(table(GOOD).encode(), max_rows=5)
    with pytest.raises(ConfigError, match="min_rows must be an integer of at least 2; got 0"):
        load_labelled(table(GOOD).encode(), min_rows=0)
    with pytest.raises(DataFormatError, match="No data file was found"):
        load_labelled(tmp_path / "missing.csv")


def test_many_rows_load() -> None:
    rng = np.random.default_rng(0)
    letters = np.frombuffer(protein_letters.encode(), dtype=np.uint8)
    n = 20_000
    seqs = [bytes(rng.choice(letters, size=60)).decode() for _ in range(n)]
    text = "sequence,label\n" + "".join(f"{s},{i % 2}\n" for i, s in enumerate(seqs))
    data, report = load_labelled(text.encode())
    assert report.n_kept == n and data.sequences[:5] == seqs[:5]


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=400)
    | st.text(alphabet=st.sampled_from(list("MKTAXb1,;\t\n\r>|= \"'")), max_size=300).map(str.encode)
)
def test_random_bytes_only_raise_data_format_error(content: bytes) -> None:
    try:
        data, report = load_labelled(content, min_rows=2)
    except DataFormatError:
        return
    assert len(data) == report.n_kept >= 2
    assert set(np.unique(data.labels)) == {0, 1}


def test_invisible_characters_leave_ids_and_sequences_with_notes() -> None:
    marks = ["\u200f", "\u202e", "\u2066", "\ufeff", "\u00a0"]
    rows = [f"{m}p{i}{m},{s[:5]}\u00a0{s[5:]},{y}" for i, ((s, y), m) in enumerate(zip(GOOD, marks * 3))]
    data, report = load_labelled(("id,sequence,label\n" + "\n".join(rows)).encode())
    assert data.ids == [f"p{i}" for i in range(12)]
    assert data.sequences == [s for s, _ in GOOD]
    assert "Removed 12 invisible characters (unusual spaces, control characters, zero-width or " in " ".join(
        report.notes
    )
    assert any(note.endswith("from the sequences of 12 rows.") for note in report.notes)
    assert any(note.startswith("Removed 24 invisible") and "from 12 ids" in note for note in report.notes)


def test_labelled_fasta_with_direction_marks_and_over_the_pasted_text_limit() -> None:
    from protlab.data import MAX_TEXT_CHARS

    long = "M" + protein_letters * 99  # 1,981 residues, under the training length limit
    records = [(f"{s[:3]}{long[: 1800 + i]}", y) for i, (s, y) in enumerate(GOOD)] * 100
    text = "".join(f">\u200fr{i}\u200e label={y}\n{s}\n" for i, (s, y) in enumerate(records))
    assert len(text) > MAX_TEXT_CHARS
    data, report = load_labelled(text.encode())
    assert report.n_read == len(records) and data.ids[:2] == ["r0", "r1"]
    assert any("from 1,200 ids" in note for note in report.notes)


def test_files_over_the_file_limit_are_refused_before_reading(tmp_path: Path) -> None:
    from protlab.data import MAX_FILE_BYTES

    big = tmp_path / "big.csv"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no data written
    with pytest.raises(DataFormatError, match=r"'big.csv' is 50.0 MB; files are limited to 50 MB"):
        load_labelled(big)
    with pytest.raises(DataFormatError, match="files are limited to 50 MB"):
        load_labelled(io.BytesIO(b"x" * (MAX_FILE_BYTES + 1)))


CELLS = [  # training-CSV sequence cells: spaces and GenBank/EMBL position numbers, digits elsewhere
    "MKTAYI AKQRQ ISFVKSHFSRQ",  # spaces only
    "1 mktayiakqr qisfvkshfs",  # a GenBank-numbered block
    "MVLSPADKTN VKAAWGKVGA 20",  # an EMBL-numbered block
    "MKT 12 AYIAKQRQISFVKSHF",  # a number inside the sequence
    "MKTAYIAKQR1QISFVKSHF",  # a digit inside the sequence
]


def test_training_cells_follow_the_same_cleaning_rule_as_pasted_sequences() -> None:
    """One rule: what clean_sequence (Encode, Predict) keeps, training keeps, as the same letters."""
    from protlab.data import clean_sequence
    from protlab.errors import InvalidSequenceError
    from protlab.predict_input import read_pasted

    filler = [("MSDKIIHLTDDSFDTDVLKADG" + "A" * i, i % 2) for i in range(12)]
    frame = pd.DataFrame(filler + [(cell, 1) for cell in CELLS], columns=["sequence", "label"])
    data, report = load_labelled(frame.to_csv(index=False).encode(), filename="cells.csv")
    dropped_lines = set(report.dropped["row"])
    for i, cell in enumerate(CELLS):
        line = len(filler) + i + 2  # 1-based file line, header first
        try:
            expected = clean_sequence(cell).sequence
        except InvalidSequenceError:
            expected = None
        pasted = read_pasted(cell).records
        assert (expected is None) == (not pasted), cell  # Predict agrees with the cleaner
        if expected is None:
            assert line in dropped_lines, cell
            reason = report.dropped.set_index("row").loc[line, "reason"]
            assert reason == "invalid character", cell
        else:
            assert line not in dropped_lines and expected in data.sequences, cell
    assert len(dropped_lines) == 2  # the two cells with digits inside the sequence
