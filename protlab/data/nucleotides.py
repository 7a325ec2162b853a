"""Tell a DNA or RNA sequence from a protein: both are written in capital letters.

A, C, G, T and N are also amino-acid letters (Ala, Cys, Gly, Thr, Asn), so a coding sequence pasted by
mistake cleans into a valid-looking "protein". No real protein of 20 or more residues is written in these
five letters (plus U) alone, so such a sequence is refused for prediction and dropped from training data.
"""

from __future__ import annotations

import re

from protlab.data.sequences import CleanedSequence
from protlab.errors import InvalidSequenceError

NUCLEOTIDE_LETTERS = frozenset("ACGTUN")  # DNA/RNA bases and N; as residues: Ala, Cys, Gly, Thr, Asn
MIN_NUCLEOTIDE_CHECK = 20  # a protein of at least this many residues is never written in these letters alone
NUCLEOTIDE_PATTERN = re.compile(f"[ACGTUN]{{{MIN_NUCLEOTIDE_CHECK},}}")  # fullmatch: a DNA/RNA sequence


def is_nucleotide_sequence(sequence: str) -> bool:
    """True for a cleaned sequence of 20 or more letters drawn only from A, C, G, T, U and N."""
    return NUCLEOTIDE_PATTERN.fullmatch(sequence) is not None


def nucleotide_message(length: int) -> str:
    """Why a sequence of `length` nucleotide letters is not read as a protein, and what to do instead."""
    return (
        f"The sequence ({length:,} letters, only A, C, G, T/U and N) looks like DNA or RNA, not a protein. "
        "ProtLab reads proteins in one-letter amino-acid code: translate the coding sequence first (for "
        "example with Biopython: Seq(dna).translate(to_stop=True))."
    )


def protein_not_nucleotides(one: CleanedSequence) -> CleanedSequence:
    """Refuse a cleaned sequence that is DNA or RNA (InvalidSequenceError); return it unchanged otherwise."""
    if is_nucleotide_sequence(one.sequence):
        raise InvalidSequenceError(nucleotide_message(len(one.sequence)))
    return one
