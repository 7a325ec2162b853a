"""Every bad input a classroom produces, one table row each, with the exact message or outcome it must give.

Tables: pasted sequences, uploaded files, checkpoints, training settings, network-builder layers,
and run faults (double start, stop, failure, restart, file names). Each row names the input and
the exact user-facing sentence (or the exact accepted result) that the student sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from protlab.errors import InvalidSequenceError, ProtlabError
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
