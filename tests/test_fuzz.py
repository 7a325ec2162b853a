"""Hypothesis fuzz of everything that reads student text: it may refuse, but only with a ProtlabError."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protlab.alphabet import AMBIGUOUS_LETTERS, AMINO_ACIDS
from protlab.data import (
    CleanedSequence,
    clean_sequence,
    load_labelled,
    looks_like_a_name,
    looks_like_a_word,
    parse_sequences,
)
from protlab.errors import DataFormatError, InvalidSequenceError, ProtlabError

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FILE_FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # pandas is slower
RESIDUE_LETTERS = AMINO_ACIDS + AMBIGUOUS_LETTERS

# Text a student might paste: residues in both cases, FASTA syntax, digits, blanks, punctuation, anything.
residue_text = st.text(alphabet=RESIDUE_LETTERS + RESIDUE_LETTERS.lower(), min_size=1, max_size=80)
fasta_noise = st.sampled_from(
    [
        ">",
        ">id desc",
        ";comment",
        "*",
        "\n",
        "\r\n",
        "\r",
        " ",
        "\t",
        "1",
        "42 ",
        "-",
        ".",
        ",",
        "\x00",
        "\ufeff",
        "\u00a0",
        "\U0001f600",
        "é",
        "ORIGIN",
        "//",
    ]
)
messy_text = st.lists(st.one_of(residue_text, fasta_noise, st.text(max_size=10)), max_size=20).map("".join)


def _assert_clean(record: CleanedSequence, max_length: int) -> None:
    """A cleaned record holds only residue letters, within the limit, with its unknowns listed."""
    assert 1 <= len(record.sequence) <= max_length
    assert re.fullmatch(f"[{RESIDUE_LETTERS}]+", record.sequence)
    expected = tuple(i + 1 for i, char in enumerate(record.sequence) if char in AMBIGUOUS_LETTERS)
    assert record.unknown_positions == expected
    assert record.id and all(isinstance(note, str) and note for note in record.notes)


@FUZZ
@given(text=st.one_of(st.text(), messy_text), max_length=st.integers(1, 200))
def test_clean_sequence_never_raises_anything_but_a_sequence_error(text: str, max_length: int) -> None:
    try:
        record = clean_sequence(text, max_length=max_length)
    except InvalidSequenceError as err:
        assert str(err).endswith(".") and len(str(err)) > 20
        return
    _assert_clean(record, max_length)


@FUZZ
@given(text=st.one_of(st.text(), messy_text))
def test_parse_sequences_never_raises_anything_but_a_protlab_error(text: str) -> None:
    try:
        records = parse_sequences(text, max_length=500)
    except ProtlabError as err:
        assert str(err).endswith(".")
        return
    assert records
    assert len({r.id for r in records}) == len(records)
    for record in records:
        _assert_clean(record, 500)


@FUZZ
@given(
    residues=residue_text,
    blanks=st.lists(st.sampled_from([" ", "\n", "\t", "\r\n"]), max_size=10),
    data=st.data(),
)
def test_whitespace_and_case_never_change_the_sequence(residues: str, blanks: list[str], data) -> None:
    text = residues
    for blank in blanks:
        cut = data.draw(st.integers(0, len(text)))
        text = text[:cut] + blank + text[cut:]
    assert clean_sequence(text).sequence == residues.upper()


@FUZZ
@given(
    records=st.lists(
        st.tuples(st.from_regex(r"[A-Za-z0-9_|.]{1,12}", fullmatch=True), residue_text),
        min_size=1,
        max_size=8,
    )
)
def test_fasta_round_trip(records: list[tuple[str, str]]) -> None:
    text = "".join(f">{name} some description\n{seq}\n" for name, seq in records)
    parsed = parse_sequences(text)
    assert [r.sequence for r in parsed] == [seq.upper() for _, seq in records]
    assert [r.description for r in parsed] == ["some description"] * len(records)
    assert len({r.id for r in parsed}) == len(records)


# ---------------------------------------------------------------- the CSV / FASTA reader
HEADERS = ["sequence", "label", "Sequence", "LABEL", "id", "seq", "y", "class", "comment", "", "x y", '"q"']
CELLS = st.one_of(
    residue_text,
    st.sampled_from(
        [
            "0",
            "1",
            "2",
            "-1",
            "yes",
            "no",
            "soluble",
            "NaN",
            "",
            " ",
            '"',
            '""',
            "'",
            "a,b",
            "1.0",
            "true",
            "\u00e9",
            "\x00",
            "=1+1",
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def delimited_files(draw) -> bytes:
    """A CSV/TSV-like file: random header, rows, separator, newline style and encoding."""
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=4))
    width = draw(st.integers(1, 5))
    rows = draw(st.lists(st.lists(CELLS, min_size=width, max_size=width), max_size=25))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join([sep.join(header)] + [sep.join(row) for row in rows]) + draw(
        st.sampled_from(["", newline])
    )
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


@st.composite
def labelled_fasta(draw) -> bytes:
    """A FASTA file whose headers may or may not carry labels."""
    records = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["p1 label=1", "p2|0", "p3 soluble", "p4", "p5 label=7", ""]),
                st.one_of(residue_text, messy_text),
            ),
            max_size=15,
        )
    )
    return "".join(f">{head}\n{body}\n" for head, body in records).encode("utf-8", errors="replace")


def _assert_loaded(data: bytes) -> None:
    """load_labelled either refuses with a ProtlabError or returns consistent, clean data."""
    try:
        labelled, report = load_labelled(data, filename="fuzz.csv", min_rows=2, max_length=200)
    except ProtlabError as err:
        assert str(err).strip().endswith(".")
        return
    assert len(labelled.sequences) == len(labelled.labels) == len(labelled.ids) == report.n_kept >= 2
    assert set(labelled.labels.tolist()) == {0, 1}
    assert report.n_read == report.n_kept + len(report.dropped)
    assert sum(report.class_counts.values()) == report.n_kept
    assert all(re.fullmatch(f"[{RESIDUE_LETTERS}]{{1,200}}", s) for s in labelled.sequences)
    assert len(set(labelled.sequences)) == len(labelled.sequences)


@FILE_FUZZ
@given(data=st.binary(max_size=400))
def test_reader_survives_arbitrary_bytes(data: bytes) -> None:
    _assert_loaded(data)


@FILE_FUZZ
@given(data=delimited_files())
def test_reader_survives_messy_tables(data: bytes) -> None:
    _assert_loaded(data)


@FILE_FUZZ
@given(data=labelled_fasta())
def test_reader_survives_messy_fasta(data: bytes) -> None:
    _assert_loaded(data)


@FILE_FUZZ
@given(
    rows=st.lists(st.tuples(residue_text, st.sampled_from(["0", "1", "yes", "no"])), min_size=2, max_size=30),
    sep=st.sampled_from([",", ";", "\t"]),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_well_formed_tables_keep_every_distinct_row(rows, sep: str, bom: bool, crlf: bool) -> None:
    newline = "\r\n" if crlf else "\n"
    text = newline.join([f"sequence{sep}label"] + [f"{s}{sep}{y}" for s, y in rows]) + newline
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    truth: dict[str, set[int]] = {}
    for s, y in rows:
        if not (looks_like_a_word(s.upper()) or looks_like_a_name(s)):  # a name or a word is dropped
            truth.setdefault(s.upper(), set()).add(1 if y in ("1", "yes") else 0)
    usable = {s: ys.pop() for s, ys in truth.items() if len(ys) == 1}
    try:
        labelled, _ = load_labelled(data, min_rows=2)
    except DataFormatError as err:  # too few usable rows or one class only
        assert len(usable) < 2 or len(set(usable.values())) == 1, str(err)
        return
    assert dict(zip(labelled.sequences, labelled.labels.tolist())) == usable


INVISIBLE_SAMPLE = (
    "\u00a0\u2009\u3000\u202f\u001c\u001f\u0085"  # spaces and separators
    "\u200b\u200e\u200f\u202a\u202e\u2066\u2069\ufeff"  # zero-width and direction marks
)


@FUZZ
@given(
    residues=residue_text,
    name=st.from_regex(r"[A-Za-z0-9_|.]{1,12}", fullmatch=True),
    marks=st.lists(st.tuples(st.sampled_from(INVISIBLE_SAMPLE), st.integers(0, 200)), max_size=10),
    header_marks=st.lists(st.sampled_from(INVISIBLE_SAMPLE), max_size=3),
)
def test_invisible_characters_are_removed_counted_and_kept_out_of_ids(
    residues: str, name: str, marks: list[tuple[str, int]], header_marks: list[str]
) -> None:
    body = residues
    for mark, at in marks:
        cut = at % (len(body) + 1)
        body = body[:cut] + mark + body[cut:]
    header = "".join(header_marks) + name + "".join(header_marks)
    (record,) = parse_sequences(f">{header}\n{body}\n")
    assert record.sequence == residues.upper()
    assert record.id == name
    removed = [note for note in record.notes if note.startswith("Removed") and "header" not in note]
    if marks:
        assert removed and removed[0].startswith(f"Removed {len(marks)} invisible character")
    else:
        assert not removed
