"""Hypothesis fuzz of everything that reads student text: it may refuse, but only with a ProtlabError."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protlab.alphabet import AMBIGUOUS_LETTERS, AMINO_ACIDS
from protlab.errors import InvalidSequenceError, ProtlabError
from protlab.sequences import CleanedSequence, clean_sequence, parse_sequences

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RESIDUE_LETTERS = AMINO_ACIDS + AMBIGUOUS_LETTERS

# Text a student might paste: residues in both cases, FASTA syntax, digits, blanks, punctuation, anything.
residue_text = st.text(alphabet=RESIDUE_LETTERS + RESIDUE_LETTERS.lower(), min_size=1, max_size=80)
fasta_noise = st.sampled_from([">", ">id desc", ";comment", "*", "\n", "\r\n", "\r", " ", "\t", "1", "42 ",
                               "-", ".", ",", "\x00", "\ufeff", "\u00a0", "\U0001F600", "é", "ORIGIN", "//"])
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
@given(residues=residue_text, blanks=st.lists(st.sampled_from([" ", "\n", "\t", "\r\n"]), max_size=10),
       data=st.data())
def test_whitespace_and_case_never_change_the_sequence(residues: str, blanks: list[str], data) -> None:
    text = residues
    for blank in blanks:
        cut = data.draw(st.integers(0, len(text)))
        text = text[:cut] + blank + text[cut:]
    assert clean_sequence(text).sequence == residues.upper()


@FUZZ
@given(records=st.lists(st.tuples(st.from_regex(r"[A-Za-z0-9_|.]{1,12}", fullmatch=True), residue_text),
                        min_size=1, max_size=8))
def test_fasta_round_trip(records: list[tuple[str, str]]) -> None:
    text = "".join(f">{name} some description\n{seq}\n" for name, seq in records)
    parsed = parse_sequences(text)
    assert [r.sequence for r in parsed] == [seq.upper() for _, seq in records]
    assert [r.description for r in parsed] == ["some description"] * len(records)
    assert len({r.id for r in parsed}) == len(records)
