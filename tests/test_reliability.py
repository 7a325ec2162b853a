"""Every bad input a classroom produces, one table row each, with the exact message or outcome it must give.

Tables: pasted sequences, uploaded files, checkpoints, training settings, network-builder layers,
and run faults (double start, stop, failure, restart, file names). Each row names the input and
the exact user-facing sentence (or the exact accepted result) that the student sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from protlab.alphabet import AMINO_ACIDS
from protlab.data import load_labelled
from protlab.errors import DataFormatError, InvalidSequenceError, ProtlabError
from protlab.sequences import MAX_TEXT_CHARS, clean_sequence, parse_sequences

LETTERS_HINT = "Use one-letter codes (A, C, D, ...); X, B, Z, J, U and O are read as unknown residues."
NO_SEQUENCE = "No sequence was given. Paste a protein sequence in one-letter code, for example MVLSPADKTN."


@dataclass(frozen=True)
class Accepted:
    """An input that is cleaned, not refused: the expected sequence, unknown positions and notes."""

    sequence: str  # cleaned sequence
    unknown: tuple[int, ...] = ()  # 1-based positions of ambiguous letters
    notes: tuple[str, ...] = ()  # notes shown to the student, in order
    id: str = "seq1"  # record id


@dataclass(frozen=True)
class Refused:
    """An input that is refused: the error class and the exact message."""

    error: type[ProtlabError]  # class of the raised error
    message: str  # exact text shown on the page


def _check(outcome: Accepted | Refused, call) -> None:
    """Run call() and compare with the expected outcome."""
    if isinstance(outcome, Refused):
        with pytest.raises(outcome.error) as info:
            call()
        assert str(info.value) == outcome.message
        return
    result = call()
    record = result[0] if isinstance(result, list) else result
    assert (record.id, record.sequence, record.unknown_positions, record.notes) == (
        outcome.id, outcome.sequence, outcome.unknown, outcome.notes)


# ---------------------------------------------------------------- pasted sequences (single sequence box)
BIG = "A" * 100_000
SEQUENCE_CASES: dict[str, tuple[str, Accepted | Refused]] = {
    "lowercase": ("mvlspadktn", Accepted("MVLSPADKTN", notes=("Converted lowercase letters to uppercase.",))),
    "spaces": ("MVL SPA DKTN", Accepted("MVLSPADKTN")),
    "line breaks (unix, windows, old mac)": ("MVLSP\nADKTN\r\nVK\rAA", Accepted("MVLSPADKTNVKAA")),
    "tabs and trailing blanks": ("\tMVLSP  \n  ADKTN \t\n\n", Accepted("MVLSPADKTN")),
    "GenBank numbered block": (
        "        1 mvlspadktn vkaawgkvga\n       21 hageygaeal",
        Accepted("MVLSPADKTNVKAAWGKVGAHAGEYGAEAL", notes=(
            "Removed the position numbers of a GenBank/EMBL-style numbered sequence block.",
            "Converted lowercase letters to uppercase.")),
    ),
    "EMBL numbered block": (
        "MVLSPADKTN VKAAWGKVGA 20\nHAGEYGAEAL 30",
        Accepted("MVLSPADKTNVKAAWGKVGAHAGEYGAEAL", notes=(
            "Removed the position numbers of a GenBank/EMBL-style numbered sequence block.",)),
    ),
    "trailing stop '*'": ("MVLSPADKTN*", Accepted("MVLSPADKTN", notes=("Removed the trailing '*' (stop codon).",))),
    "stop '*' inside": ("MVLS*PADKTN", Refused(InvalidSequenceError,
        "The sequence has a stop codon '*' at position 5, inside the sequence. "
        "Only one '*' at the very end is accepted; remove it or check the translation.")),
    "FASTA header": (">sp|P69905|HBA_HUMAN Hemoglobin subunit alpha\nMVLSPADKTN",
                     Accepted("MVLSPADKTN", id="sp|P69905|HBA_HUMAN")),
    "several records in the single box": (">a\nMVLS\n>b\nPADK", Refused(InvalidSequenceError,
        "The text holds 2 sequences (FASTA records), but one sequence is expected here. "
        "Paste a single sequence, or use the batch input for several.")),
    "ambiguous letters X B Z J U O": ("MXBZJUO", Accepted("MXBZJUO", unknown=(2, 3, 4, 5, 6, 7), notes=(
        "6 ambiguous or rare letters (X at 2, B at 3, Z at 4, J at 5, U at 6, O at 7) "
        "will be read as the unknown residue.",))),
    "digit": ("MVL5PAD", Refused(InvalidSequenceError,
        f"The sequence has '5' at position 4, which is not an amino-acid letter. {LETTERS_HINT} "
        "Remove position numbers and other digits.")),
    "punctuation": ("MVL,SPAD", Refused(InvalidSequenceError,
        f"The sequence has ',' at position 4, which is not an amino-acid letter. {LETTERS_HINT}")),
    "alignment gap": ("MV-LS", Refused(InvalidSequenceError,
        f"The sequence has '-' at position 3, which is not an amino-acid letter. {LETTERS_HINT} "
        "It looks like an alignment gap: remove gap characters before pasting.")),
    "emoji": ("MVL\U0001F600SPAD", Refused(InvalidSequenceError,
        "The sequence has '\U0001F600' (U+1F600 GRINNING FACE) at position 4, which is not an amino-acid "
        f"letter. {LETTERS_HINT}")),
    "invisible control character": ("MVL\x00SPAD", Refused(InvalidSequenceError,
        f"The sequence has U+0000 at position 4, which is not an amino-acid letter. {LETTERS_HINT}")),
    "empty input": ("", Refused(InvalidSequenceError, NO_SEQUENCE)),
    "only whitespace": ("  \n\t \r\n", Refused(InvalidSequenceError, NO_SEQUENCE)),
    "only a header": (">just_a_header", Refused(InvalidSequenceError,
        "The FASTA header '>just_a_header' (line 1) is not followed by a sequence. "
        "Put the protein sequence on the lines below its header.")),
    "one residue": ("M", Accepted("M")),
    "100,000 residues": (BIG, Refused(InvalidSequenceError,
        "The sequence is 100,000 residues long; the limit is 10,000 residues. "
        "Shorten it (for example, predict one domain at a time).")),
    "5 MB of pasted text": ("MVLSPADKTN\n" * 500_000, Refused(InvalidSequenceError,
        "The pasted text is about 5.5 MB (5,500,000 characters); the limit is 2 MB (2,000,000 characters). "
        "Paste fewer or shorter sequences, or upload them as a file.")),
}


@pytest.mark.parametrize("case", list(SEQUENCE_CASES), ids=list(SEQUENCE_CASES))
def test_single_sequence_box(case: str) -> None:
    text, outcome = SEQUENCE_CASES[case]
    _check(outcome, lambda: clean_sequence(text))


def test_several_records_in_the_batch_box_keep_their_ids() -> None:
    records = parse_sequences(">a desc\nmvls\n>b\nPADK*\n>a\nKTN")
    assert [(r.id, r.sequence) for r in records] == [("a", "MVLS"), ("b", "PADK"), ("a_2", "KTN")]


def test_bad_record_in_a_batch_is_named() -> None:
    with pytest.raises(InvalidSequenceError) as info:
        parse_sequences(">good\nMVLS\n>bad\nMV1LS")
    assert str(info.value) == (f"Sequence 'bad' has '1' at position 3, which is not an amino-acid letter. "
                               f"{LETTERS_HINT} Remove position numbers and other digits.")


def test_100000_residues_are_accepted_when_the_caller_raises_the_limit() -> None:
    assert clean_sequence(BIG, max_length=100_000).sequence == BIG


def test_text_limit_is_checked_before_parsing() -> None:
    text = ">x\n" + "A" * MAX_TEXT_CHARS
    with pytest.raises(InvalidSequenceError, match=r"the limit is 2 MB \(2,000,000 characters\)"):
        parse_sequences(text)


# ---------------------------------------------------------------- uploaded training files


def _random_sequences(n: int, length: int = 30, seed: int = 0) -> list[str]:
    """n random (practically unique) protein sequences of one length."""
    letters = np.frombuffer(AMINO_ACIDS.encode(), dtype=np.uint8)
    codes = letters[np.random.default_rng(seed).integers(0, 20, size=(n, length))]
    return [row.tobytes().decode() for row in codes]


SEQS = _random_sequences(20)
GOOD = [(s, i % 2) for i, s in enumerate(SEQS)]  # 20 rows, 10 per class


def _table(rows, header: str | None = "sequence,label", sep: str = ",", newline: str = "\n") -> str:
    """Rows as delimited text with an optional header line."""
    lines = ([header] if header is not None else []) + [sep.join(map(str, row)) for row in rows]
    return newline.join(lines) + newline


@dataclass(frozen=True)
class Loaded:
    """A file that loads: rows kept, drop reasons, class counts and notes."""

    n_kept: int  # rows kept
    reasons: dict  # drop reason -> count
    class_counts: dict = None  # label -> count (None: not checked)
    notes: tuple[str, ...] = ()  # encoding remarks
    file_format: str = "csv"  # detected format


FILE_CASES: dict[str, tuple[bytes, Loaded | Refused]] = {
    "CSV without a header": (_table(GOOD, header=None).encode(), Refused(DataFormatError,
        "The file has no header row: its first row already looks like data (a protein sequence and a label). "
        "Add a header line such as 'sequence,label' as the first line of the file.")),
    "wrong column names": (_table(GOOD, header="prot_seq,value").encode(), Refused(DataFormatError,
        "The file needs a sequence column and a label column; the columns found are: 'prot_seq', 'value'. "
        "Name the sequence column one of sequence, seq, fasta, aa_sequence, protein, protein_sequence, sequences "
        "and the label column one of label, solubility, soluble, target, class, y, labels (case does not matter).")),
    "extra columns": (_table([(f"id{i}", s, y, "note") for i, (s, y) in enumerate(GOOD)],
                             header="id,Sequence,LABEL,comment").encode(), Loaded(20, {}, {0: 10, 1: 10})),
    "semicolon separator": (_table(GOOD, header="sequence;label", sep=";").encode(),
                            Loaded(20, {}, {0: 10, 1: 10}, file_format="semicolon-separated")),
    "tab separator": (_table(GOOD, header="sequence\tlabel", sep="\t").encode(),
                      Loaded(20, {}, {0: 10, 1: 10}, file_format="tsv")),
    "Windows line endings": (_table(GOOD, newline="\r\n").encode(), Loaded(20, {}, {0: 10, 1: 10})),
    "UTF-8 with BOM": (b"\xef\xbb\xbf" + _table(GOOD).encode(), Loaded(20, {}, {0: 10, 1: 10})),
    "Latin-1": (_table([(f"prot\u00e9ine{i}", s, y) for i, (s, y) in enumerate(GOOD)],
                       header="name,sequence,label").encode("latin-1"),
                Loaded(20, {}, {0: 10, 1: 10}, notes=(
                    "The file 'upload.csv' is not valid UTF-8; it was read as Latin-1 text.",))),
    "Excel workbook renamed .csv": (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), Refused(DataFormatError,
        "The file 'upload.csv' seems to be a ZIP archive (an Excel .xlsx workbook is one), not a text table. "
        "Export the data as CSV (comma-separated, with columns sequence and label) and upload that file.")),
    "old Excel .xls renamed .csv": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), Refused(DataFormatError,
        "The file 'upload.csv' seems to be an old-style Excel .xls (or other Microsoft Office) file, not a text "
        "table. Export the data as CSV (comma-separated, with columns sequence and label) and upload that file.")),
    "PNG renamed .csv": (b"\x89PNG\r\n\x1a\n" + bytes(200), Refused(DataFormatError,
        "The file 'upload.csv' seems to be a PNG image, not a text table. "
        "Export the data as CSV (comma-separated, with columns sequence and label) and upload that file.")),
    "labels as text": (_table([(s, "soluble" if y else "Insoluble") for s, y in GOOD]).encode(),
                       Loaded(20, {}, {0: 10, 1: 10})),
    "labels outside {0,1}": (_table([(s, 2 if i < 3 else y) for i, (s, y) in enumerate(GOOD)]).encode(),
                             Loaded(17, {"label not recognised": 3}, {0: 8, 1: 9})),
    "NaN and empty cells": (_table([("" if i == 0 else s, "" if i == 1 else ("NaN" if i == 2 else y))
                                    for i, (s, y) in enumerate(GOOD)]).encode(),
                            Loaded(17, {"empty sequence": 1, "missing label": 1, "label not recognised": 1})),
    "duplicates with conflicting labels": (_table(GOOD + [(SEQS[0], 1), (SEQS[1], 1)]).encode(),
                                           Loaded(19, {"conflicting duplicate": 2, "duplicate": 1}, {0: 9, 1: 10})),
    "one class only": (_table([(s, 1) for s in SEQS]).encode(), Refused(DataFormatError,
        "All 20 usable rows have label 1 (soluble); a classifier needs both classes. "
        "Add examples of the other class.")),
    "3 rows": (_table(GOOD[:3]).encode(), Refused(DataFormatError,
        "Only 3 usable rows remain after cleaning (3 read, 0 dropped); at least 10 are needed. "
        "Check the dropped-row reasons and add more data.")),
    "empty file": (b"", Refused(DataFormatError,
        "The file 'upload.csv' is empty. Upload a CSV with a header and one row per protein.")),
    "ragged row": ((_table(GOOD) + "MKV,1,extra,fields\n").encode(), Refused(DataFormatError,
        "The file could not be read as a csv table: line 22 has 4 fields but the header has 2. "
        "Check that every row has the same number of columns as the header and that quotes are balanced.")),
    "labelled FASTA": ("".join(f">p{i} label={y}\n{s}\n" for i, (s, y) in enumerate(GOOD)).encode(),
                       Loaded(20, {}, {0: 10, 1: 10}, file_format="fasta")),
}


@pytest.mark.parametrize("case", list(FILE_CASES), ids=list(FILE_CASES))
def test_uploaded_file(case: str) -> None:
    data, outcome = FILE_CASES[case]
    if isinstance(outcome, Refused):
        with pytest.raises(outcome.error) as info:
            load_labelled(data, filename="upload.csv")
        assert str(info.value) == outcome.message
        return
    labelled, report = load_labelled(data, filename="upload.csv")
    assert (report.n_kept, report.reasons, report.file_format) == (outcome.n_kept, outcome.reasons,
                                                                    outcome.file_format)
    assert tuple(report.notes) == outcome.notes
    if outcome.class_counts is not None:
        assert report.class_counts == outcome.class_counts
    assert len(labelled.sequences) == len(labelled.labels) == outcome.n_kept
    assert set(labelled.labels.tolist()) <= {0, 1}
    assert len(report.dropped) == sum(outcome.reasons.values())


def test_kept_rows_are_the_right_ones_for_conflicting_duplicates() -> None:
    data = _table(GOOD + [(SEQS[0], 1), (SEQS[1], 1)]).encode()
    labelled, report = load_labelled(data)
    assert SEQS[0] not in labelled.sequences  # both labels seen: every copy dropped
    assert labelled.sequences.count(SEQS[1]) == 1  # exact duplicate: first copy kept
    assert sorted(report.dropped["row"].tolist()) == [2, 22, 23]  # header is line 1


def test_200000_rows_load() -> None:
    sequences = _random_sequences(200_000, length=24, seed=1)
    data = ("sequence,label\n" + "".join(f"{s},{i % 2}\n" for i, s in enumerate(sequences))).encode()
    labelled, report = load_labelled(data)
    assert report.n_kept == len(labelled) == 200_000
    assert report.class_counts == {0: 100_000, 1: 100_000}


def test_more_rows_than_the_limit_are_refused() -> None:
    data = ("sequence,label\n" + "".join(f"{s},{i % 2}\n" for i, s in enumerate(SEQS * 3))).encode()
    with pytest.raises(DataFormatError) as info:
        load_labelled(data, max_rows=50)
    assert str(info.value) == "The file has 60 rows; the limit is 50. Use a smaller subset."


def test_upload_limit_is_set_deliberately() -> None:
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == 50  # MB; docs/limits.md states the same figure


def test_a_row_with_two_problems_is_dropped_once() -> None:
    data = (_table(GOOD) + ",maybe\n").encode()  # empty sequence and an unknown label on line 22
    _, report = load_labelled(data)
    assert report.dropped["row"].tolist() == [22]
    assert report.reasons == {"empty sequence": 1}
    assert report.summary_lines()[:3] == ["Read 21 rows (csv); kept 20.",
                                          "Sequences from 'sequence', labels from 'label'.",
                                          "Dropped 1 row: 1 empty sequence."]
