"""Cleaning policy of protlab.data.sequences: accepted inputs, exact error messages, fuzzing."""

from __future__ import annotations

import pytest

from protlab.alphabet import AMBIGUOUS_LETTERS, AMINO_ACIDS
from protlab.data import DEFAULT_MAX_LENGTH, MAX_TEXT_CHARS, CleanedSequence, clean_sequence, parse_sequences
from protlab.errors import ConfigError, InvalidSequenceError

HBA = "MVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHF"  # human hemoglobin alpha, first 47 residues

ACCEPTED = [
    # (text, expected sequence, expected id, a fragment expected in the notes or None)
    ("MVLSPAD", "MVLSPAD", "seq1", None),
    ("mvlspad", "MVLSPAD", "seq1", "lowercase"),
    ("  MVL SPA\nD\r\n", "MVLSPAD", "seq1", None),
    ("MVL\r\nSPAD\rKT", "MVLSPADKT", "seq1", None),
    (
        ">sp|P69905|HBA_HUMAN Hemoglobin subunit alpha\nMVLSPAD\nKTN",
        "MVLSPADKTN",
        "sp|P69905|HBA_HUMAN",
        None,
    ),
    ("MVLSPAD*", "MVLSPAD", "seq1", "stop codon"),
    ("MVLSPAD*\n", "MVLSPAD", "seq1", "stop codon"),
    ("    1 mvlspadktn vkaawgkvga\n   21 hagey", "MVLSPADKTNVKAAWGKVGAHAGEY", "seq1", "position numbers"),
    ("MVLSPADKTN 10\nVKAAWGKVGA 20\n", "MVLSPADKTNVKAAWGKVGA", "seq1", "position numbers"),
    ("ORIGIN\n        1 mvlspadktn\n//", "MVLSPADKTN", "seq1", "position numbers"),
    ("1 FVNQHLCGSH 11 LVEALYLVCG 21 ERGFF", "FVNQHLCGSHLVEALYLVCGERGFF", "seq1", "position numbers"),
    ("FVNQHLCGSH 10 LVEALYLVCG 20 ERGFF 25", "FVNQHLCGSHLVEALYLVCGERGFF", "seq1", "position numbers"),
    ("; comment line\nMVLSPAD", "MVLSPAD", "seq1", "comment"),
    ("MVXLB", "MVXLB", "seq1", "unknown residue"),
]


@pytest.mark.parametrize(("text", "sequence", "record_id", "note"), ACCEPTED)
def test_accepted_inputs(text: str, sequence: str, record_id: str, note: str | None) -> None:
    cleaned = clean_sequence(text)
    assert cleaned.sequence == sequence
    assert cleaned.id == record_id
    if note is not None:
        assert any(note in line for line in cleaned.notes), cleaned.notes
    else:
        assert not any("lowercase" in line or "numbers" in line for line in cleaned.notes)


def test_header_description_is_kept() -> None:
    cleaned = clean_sequence(">P1 my favourite protein\nMKT")
    assert (cleaned.id, cleaned.description) == ("P1", "my favourite protein")


def test_unknown_positions_are_one_based_and_letters_kept() -> None:
    text = "M" + "".join(f"{letter}A" for letter in AMBIGUOUS_LETTERS)
    cleaned = clean_sequence(text.lower())
    expected = tuple(i + 1 for i, ch in enumerate(cleaned.sequence) if ch in AMBIGUOUS_LETTERS)
    assert cleaned.unknown_positions == expected == (2, 4, 6, 8, 10, 12)
    assert cleaned.sequence == text
    assert any("6 ambiguous or rare letters" in note for note in cleaned.notes)


def test_standard_sequence_has_no_notes() -> None:
    assert clean_sequence(HBA) == CleanedSequence("seq1", HBA, (), ())


LETTER_HELP = "Use one-letter codes (A, C, D, ...); X, B, Z, J, U and O are read as unknown residues."

REJECTED = [
    (  # a numbered block with a stray digit: the digit is named at its residue position, not the numbers
        "    1 mvlspadktn vkaawgkvga\n   21 hag4eygaea",
        "The sequence has '4' at position 24, which is not an amino-acid letter. "
        + LETTER_HELP
        + " Remove position numbers and other digits.",
    ),
    (
        "MVLS1PAD",
        "The sequence has '1' at position 5, which is not an amino-acid letter. "
        + LETTER_HELP
        + " Remove position numbers and other digits.",
    ),
    (
        "MVL-SPAD",
        "The sequence has '-' at position 4, which is not an amino-acid letter. "
        + LETTER_HELP
        + " It looks like an alignment gap: remove gap characters before pasting.",
    ),
    (
        ">P1\nMV\nL#S",
        "Sequence 'P1' has '#' at position 4, which is not an amino-acid letter. " + LETTER_HELP,
    ),
    (
        "MV\u00adL",
        "The sequence has U+00AD SOFT HYPHEN at position 3, which is not an amino-acid letter. "
        + LETTER_HELP,
    ),
    (
        "MV\U0001f600",
        "The sequence has '\U0001f600' (U+1F600 GRINNING FACE) at position 3, which is not an "
        "amino-acid letter. " + LETTER_HELP,
    ),
    ("MV\x07", "The sequence has U+0007 at position 3, which is not an amino-acid letter. " + LETTER_HELP),
    ("", "No sequence was given. Paste a protein sequence in one-letter code, for example MVLSPADKTN."),
    (
        "  \n\t ",
        "No sequence was given. Paste a protein sequence in one-letter code, for example MVLSPADKTN.",
    ),
    (
        ">P1 description only\n",
        "The FASTA header '>P1 description only' (line 1) is not followed by a "
        "sequence. Put the protein sequence on the lines below its header.",
    ),
    (
        "MVL*SPAD",
        "The sequence has a stop codon '*' at position 4, inside the sequence. Only one '*' at the "
        "very end is accepted; remove it or check the translation.",
    ),
    (
        "*",
        "The sequence is empty after cleaning. Paste a protein sequence in one-letter code, for example "
        "MVLSPADKTN.",
    ),
    (
        "A" * 100_000,
        "The sequence is 100,000 residues long; the limit is 10,000 residues. Shorten it (for "
        "example, predict one domain at a time).",
    ),
    (
        ">a\nMKT\n>b\nMKT",
        "The text holds 2 sequences (FASTA records), but one sequence is expected here. "
        "Paste a single sequence, or use the batch input for several.",
    ),
]


@pytest.mark.parametrize(("text", "message"), REJECTED)
def test_rejected_inputs_have_exact_messages(text: str, message: str) -> None:
    with pytest.raises(InvalidSequenceError) as info:
        clean_sequence(text)
    assert str(info.value) == message


def test_error_carries_character_and_position() -> None:
    with pytest.raises(InvalidSequenceError) as info:
        clean_sequence("MK\nT?")
    assert (info.value.character, info.value.position) == ("?", 4)


def test_text_over_limit_is_refused_before_processing() -> None:
    text = "A" * (MAX_TEXT_CHARS + 1)
    with pytest.raises(
        InvalidSequenceError, match=r"about 2\.0 MB \(2,000,001 characters\); the limit is 2 MB"
    ):
        parse_sequences(text)


def test_max_length_parameter() -> None:
    assert clean_sequence("A" * 20, max_length=20).sequence == "A" * 20
    with pytest.raises(InvalidSequenceError, match="21 residues long; the limit is 20"):
        clean_sequence("A" * 21, max_length=20)
    with pytest.raises(ConfigError, match="max_length must be a positive integer; got 0"):
        clean_sequence("MKT", max_length=0)
    assert DEFAULT_MAX_LENGTH == 10_000


def test_parse_several_records_with_ids() -> None:
    text = ">a first\nMKT\nAAA\n\n>\nmvl\n>a\nCCC*\n>a_2\nDDD"
    records = parse_sequences(text)
    assert [r.id for r in records] == ["a", "seq2", "a_3", "a_2"]
    assert [r.sequence for r in records] == ["MKTAAA", "MVL", "CCC", "DDD"]
    assert any("Renamed from 'a'" in note for note in records[2].notes)


def test_text_without_header_is_one_sequence() -> None:
    records = parse_sequences("MVLSPAD\nKTNVKA\n")
    assert len(records) == 1 and records[0].sequence == "MVLSPADKTNVKA"


def test_parse_error_names_the_record() -> None:
    with pytest.raises(InvalidSequenceError, match=r"^Sequence 'seq2' has '1' at position 2,"):
        parse_sequences(">\nMKT\n>\nM1")


def test_max_records() -> None:
    text = "".join(f">r{i}\nMKT\n" for i in range(4))
    assert len(parse_sequences(text, max_records=4)) == 4
    with pytest.raises(InvalidSequenceError, match="holds 4 sequences \\(FASTA records\\); the limit is 3"):
        parse_sequences(text, max_records=3)


def test_non_string_input_is_an_invalid_sequence() -> None:
    with pytest.raises(InvalidSequenceError, match="type bytes"):
        clean_sequence(b"MKT")  # type: ignore[arg-type]


def test_a_long_multiline_sequence_is_joined_exactly() -> None:
    lines = "\n".join((AMINO_ACIDS * 3)[i % 7 :] for i in range(1_800))  # about 100,000 residues
    cleaned = clean_sequence(lines, max_length=200_000)
    assert cleaned.sequence == "".join(lines.split())  # the reference: every line, in order, nothing else


# every invisible character the cleaner removes: unusual spaces, information separators, zero-width and
# direction marks (written out here rather than taken from the module under test)
INVISIBLE_CHARS = (
    ["\u00a0", "\u1680", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u0085", "\u2060", "\ufeff"]
    + [chr(c) for c in range(0x2000, 0x200B)]  # en quad ... hair space (thin space is U+2009)
    + [chr(c) for c in range(0x1C, 0x20)]
    + [chr(c) for c in (*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
)


def _note_for(chars: str) -> str:
    """The note expected for removing `chars`, built with unicodedata (the reference)."""
    import unicodedata
    from collections import Counter

    counts = sorted(Counter(chars).items())
    kinds = ", ".join(f"{n:,} x U+{ord(c):04X} {unicodedata.name(c, 'CONTROL CHARACTER')}" for c, n in counts)
    noun = "character" if len(chars) == 1 else "characters"
    return f"Removed {len(chars):,} invisible {noun}: {kinds}."


@pytest.mark.parametrize("char", INVISIBLE_CHARS, ids=lambda c: f"U+{ord(c):04X}")
def test_each_invisible_character_is_removed_with_a_note(char: str) -> None:
    cleaned = clean_sequence(f"MVL{char}SPAD{char}{char}")
    assert cleaned.sequence == "MVLSPAD"
    assert cleaned.notes == (_note_for(char * 3),)


def test_mixed_invisible_characters_are_counted_by_kind() -> None:
    text = "\ufeffMV\u00a0LS\u2009PA\u3000D\u001cK\u200eT\u202eN\u2067"
    cleaned = clean_sequence(text)
    assert cleaned.sequence == "MVLSPADKTN"
    assert cleaned.notes == (_note_for("\ufeff\u00a0\u2009\u3000\u001c\u200e\u202e\u2067"),)


def test_direction_marks_never_reach_ids_and_headers_are_noted() -> None:
    text = "\ufeff>P1\u200f\u202e some\u00a0desc\nMKT\n>\u2066P2\u2069|x\nMKV\n>\u200b\nMKW"
    records = parse_sequences(text)
    assert [r.id for r in records] == ["P1", "P2|x", "seq3"]
    assert records[0].description == "some desc"
    assert all(c not in r.id + r.description for r in records for c in INVISIBLE_CHARS)
    assert records[0].notes[0].startswith("Removed 3 invisible characters from the FASTA header:")
    assert "RIGHT-TO-LEFT MARK" in records[0].notes[0] and "RIGHT-TO-LEFT OVERRIDE" in records[0].notes[0]


def test_a_file_reads_without_the_pasted_text_limit() -> None:
    text = ">a\n" + "A" * (MAX_TEXT_CHARS + 10)
    with pytest.raises(InvalidSequenceError, match="pasted text"):
        parse_sequences(text, max_length=MAX_TEXT_CHARS + 10)
    records = parse_sequences(text, max_length=MAX_TEXT_CHARS + 10, max_chars=None)
    assert len(records[0].sequence) == MAX_TEXT_CHARS + 10
    with pytest.raises(InvalidSequenceError, match="^The file x.fa holds 2 sequences.*limit is 1"):
        parse_sequences(">a\nM\n>b\nK", max_records=1, max_chars=None, source="The file x.fa")


def test_the_encode_page_shows_what_was_removed() -> None:
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = str(Path(__file__).resolve().parents[1] / "pages" / "encode.py")
    at = AppTest.from_file(page, default_timeout=120).run()
    at.text_area(key="encode_seq").input("MVL\u00a0SPA\u200fD").run()
    assert not at.exception and not at.error
    from ui.common import literal  # the page shows user text literally (Markdown escaped)

    shown = [i.value for i in at.info]
    assert literal(_note_for("\u00a0\u200f")) in shown
    assert next(d.value for d in at.dataframe if "residue" in d.value.columns)["residue"].tolist() == list(
        "MVLSPAD"
    )


@pytest.mark.parametrize(
    ("text", "position", "character"),
    [
        ("MKT 4 AYIAKQ", 4, "4"),  # a lone number that happens to be the next position is not numbering
        ("MKT 3 AYIAKQ", 4, "3"),  # nor one that counts the residues before it but ends nothing
        ("1 FVNQHLCGSH 11 LVEALYLVCG 22 ERGFF", 24, "2"),  # one number miscounts: the error points at it
        ("10 FVNQHLCGSH 20 LVEALYLVCG", 1, "1"),  # block ends written before the blocks
    ],
)
def test_numbers_that_do_not_count_the_residues_are_refused_where_the_error_says(
    text: str, position: int, character: str
) -> None:
    with pytest.raises(InvalidSequenceError) as info:
        clean_sequence(text)
    err = info.value
    assert (err.position, err.character) == (position, character)
    # the error carries the text its position counts in, so a page can point at that very character
    assert err.residues is not None and err.residues[err.position - 1] == err.character


@pytest.mark.parametrize(
    ("text", "named", "would"),
    [("1 FVNQHLCGSH 12 LVEA", "12", "11"), ("1 FVNQHLCGSH 11 LVEALYLVCG 22 ERGFF", "22", "21")],
)
def test_a_miscounted_position_number_is_named_with_the_number_it_would_be(text, named, would) -> None:
    with pytest.raises(InvalidSequenceError) as info:
        clean_sequence(text)
    message = str(info.value)
    assert f"but {named} stands after" in message and f"so it would read {would}" in message
    assert message.startswith(f"The sequence has the number {named} at position")  # the number, not '1
    err = info.value
    assert err.residues[err.position - 1 : err.position - 1 + len(named)] == named  # the highlight is on it
