"""Tell a word from a protein: a name such as 'insulin' or 'GFP' typed where its sequence belongs.

Most letters are amino-acid codes, so 'GFP' and 'lysozyme' clean into valid-looking sequences and would get
a solubility call. Real proteins are longer than any such word, and words use letters (O, U, B, J, Z) that
proteins almost never contain; a short record with either sign, or a text of any length dense in O, U and
J (a pasted sentence), is refused with a pointer to where the sequence is found.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from protlab.data.sequences import CleanedSequence
from protlab.errors import InvalidSequenceError

MIN_PROTEIN_RESIDUES = 10  # fewer residues than this is a typo or a name, not a protein to call
WORD_CHECK_LENGTH = 30  # below this length, a letter of WORD_LETTERS marks a word rather than a peptide
WORD_LETTERS = re.compile("[OUBJZ]")  # not among the 20 amino acids, yet common in English words
PROSE_LETTERS = re.compile("[OUJ]")  # of those, the ones no method writes often (B, Z: Asx, Glx)
PROSE_FRACTION = 0.05  # a text with this share of PROSE_LETTERS (at least 2) is prose at any length
FIND_THE_SEQUENCE = (
    "ProtLab predicts from the amino-acid sequence in one-letter code; if this is a protein's name, look it "
    "up in UniProt (uniprot.org) and paste the text under 'Sequence'."
)


def looks_like_a_word(sequence: str) -> bool:
    """True for a cleaned sequence too short for a protein, or short and written with word-only letters."""
    n, prose = len(sequence), len(PROSE_LETTERS.findall(sequence))
    return (
        n < MIN_PROTEIN_RESIDUES
        or (n < WORD_CHECK_LENGTH and WORD_LETTERS.search(sequence) is not None)
        or (prose >= 2 and prose >= PROSE_FRACTION * n)
    )


NAME_WORD = re.compile(r"[A-Z]?[a-z]+(?:in|ase)")  # 'transferrin', 'Streptavidin', 'transaminase'


def looks_like_a_name(text: str) -> bool:
    """True for one lower-case (or capitalised) word under 30 letters with a protein name's ending, as typed.

    Sequences are written in capitals, or all in lower case at protein length; 'streptavidin' is neither."""
    words = text.split()
    return len(words) == 1 and len(words[0]) < WORD_CHECK_LENGTH and NAME_WORD.fullmatch(words[0]) is not None


def as_typed(text: str) -> str:
    """A record as the student typed it, on one line and at most 40 characters, for a message."""
    words = " ".join(text.split())
    return words if len(words) <= 40 else words[:37].rstrip() + "..."


def word_message(shown: str, sequence: str, known: str | None = None) -> str:
    """Why `shown` (as typed) is not read as a protein, and where its sequence is to be found."""
    n = len(sequence)
    if n < MIN_PROTEIN_RESIDUES:
        why = f"'{shown}' has {n} {'letter' if n == 1 else 'letters'}, too few for a protein"
    elif not WORD_LETTERS.search(sequence):  # caught by its form (looks_like_a_name), not its letters
        why = (
            f"'{shown}' looks like a protein's name, not a sequence (a peptide typed in lower case can look "
            "like one: type it in capitals)"
        )
    else:
        found = sorted(set(WORD_LETTERS.findall(sequence)))
        letters = " and ".join([", ".join(found[:-1]), found[-1]] if len(found) > 1 else found)
        why = (
            f"'{shown}' looks like words, not a protein sequence: {n:,} letters, including {letters}, which "
            "proteins almost never contain"
        )
    hint = f" The sequence of {known} is among ProtLab's known proteins." if known else ""
    return f"{why}. {FIND_THE_SEQUENCE}{hint}"


def sentence_letters(text: str) -> str:
    """The letters of a text written as words (two or more, some lower case), upper-cased; else ''.

    'Is my enzyme soluble in E. coli?' gives its letters, so that the sentence is told it is words rather
    than that its full stop is an alignment gap; 'MKT 1AY' (a typo in a sequence) gives ''."""
    if len(text.split()) < 2 or not any(c.islower() for c in text):
        return ""
    return "".join(c for c in text if c.isascii() and c.isalpha()).upper()


def protein_not_a_word(
    one: CleanedSequence, shown: str, known: Callable[[str], str | None] = lambda word: None
) -> CleanedSequence:
    """Refuse a cleaned record that looks like a word (InvalidSequenceError); return it unchanged otherwise.

    shown is the record as typed (for the message); known(word) names a known protein the word matches.
    """
    if looks_like_a_word(one.sequence) or looks_like_a_name(shown):
        word = as_typed(shown)
        raise InvalidSequenceError(word_message(word, one.sequence, known(word)))
    return one
