"""DNA and RNA are told from proteins: refused for prediction, named with the advice to translate."""

from __future__ import annotations

import pytest
from Bio.Seq import Seq

from protlab.data import clean_sequence
from protlab.data.nucleotides import MIN_NUCLEOTIDE_CHECK, is_nucleotide_sequence, protein_not_nucleotides
from protlab.errors import InvalidSequenceError

CDS = "ATGAGCGATAAAATTATTCACCTGACTGACGACAGTTTTGACACGGATGTACTCAAAGCGTAA"  # E. coli trxA, first codons


def test_coding_sequences_and_their_rna_are_nucleotides_and_their_translation_is_not() -> None:
    assert is_nucleotide_sequence(CDS) and is_nucleotide_sequence(CDS.replace("T", "U"))
    assert is_nucleotide_sequence("ACGTN" * 4)  # an N (any base) does not make it a protein
    protein = str(Seq(CDS).translate(to_stop=True))  # the advice the message gives, followed
    assert protein.startswith("MSDKIIHLTDDSFDTDVLKA") and not is_nucleotide_sequence(protein)


@pytest.mark.parametrize(
    "sequence",
    [
        "GAGATGCAGT",  # a short Gly-Ala-Thr linker peptide: a real protein fragment
        "A" * (MIN_NUCLEOTIDE_CHECK - 1),  # one residue under the length checked
        "ACGT" * 10 + "M",  # one letter that is no base
        "acgt" * 10,  # lowercase is never a cleaned sequence
    ],
)
def test_short_or_mixed_sequences_stay_proteins(sequence: str) -> None:
    assert not is_nucleotide_sequence(sequence)


def test_the_refusal_names_the_length_and_how_to_translate() -> None:
    with pytest.raises(InvalidSequenceError) as info:
        protein_not_nucleotides(clean_sequence(CDS.lower()))
    message = str(info.value)
    assert f"({len(CDS)} letters, only A, C, G, T/U and N)" in message
    assert "translate(to_stop=True)" in message
    kept = clean_sequence("MSDKIIHLTDDSFDTDVLKAGGG")
    assert protein_not_nucleotides(kept) is kept
