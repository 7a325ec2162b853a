"""Position numbers in pasted sequences: which are removed, and which miscounted one is named."""

from __future__ import annotations

import pytest

from protlab.data.numbering import counts_residues, miscounted_number, strip_numbering


@pytest.mark.parametrize(
    ("lines", "kept"),
    [
        (["   61 mvlspadktn vkaawgkvga", "   81 hagey"], ["mvlspadktn vkaawgkvga", "hagey"]),  # GenBank
        (["MVLSPADKTN 10", "VKAAWGKVGA 20"], ["MVLSPADKTN ", "VKAAWGKVGA "]),  # EMBL
        (["1 FVNQHLCGSH 11 LVEALYLVCG"], ["FVNQHLCGSH LVEALYLVCG"]),  # numbers between the blocks
    ],
)
def test_numbering_is_removed(lines, kept):
    stripped, numbered = strip_numbering(lines)
    assert numbered and [line.strip() for line in stripped] == [line.strip() for line in kept]


@pytest.mark.parametrize("lines", [["MKT 4 AYI"], ["10 FVNQHLCGSH 20 LVEALYLVCG"], ["1 FVNQHLCGSH 12 LVEA"]])
def test_numbers_that_do_not_count_the_residues_stay(lines):
    assert strip_numbering(lines) == (lines, False)


def test_counting_needs_the_first_number_before_any_residue_or_the_last_after_every_one():
    assert counts_residues(["1", "MKT", "4", "AYI"]) and counts_residues(["MKT", "3", "AYI", "6"])
    assert not counts_residues(["MKT", "4", "AYI"]) and not counts_residues(["MKT", "3", "AYI"])


def test_the_first_miscounted_number_is_found_where_it_stands():
    number, position, sentence = miscounted_number(["1 FVNQHLCGSH 12 LVEA"])
    assert (number, position) == ("12", 12) and "would read 11" in sentence  # "1FVNQHLCGSH12": 12 at 12
    assert miscounted_number(["MKT 4 AYI"]) is None  # one number is a stray digit, not numbering
