"""Position numbers in pasted sequences: GenBank and EMBL blocks, and numbers between the blocks.

"   61 mvlspadktn vkaawgkvga" (GenBank), "MVLSPADKTN VKAAWGKVGA 20" (EMBL) and "1 FVNQHLCGSH 11 LVEALYLVCG"
are numbered sequences: the numbers are removed with a note. Numbers that do not count the residues are
left for the cleaner to refuse, and numbering_hint says which number is off.
"""

from __future__ import annotations

import re

__all__ = ["counts_residues", "miscounted_number", "strip_numbering"]

_DIGIT = re.compile(r"\d")
# a numbered block line: its position number, then the residues (a stray character among them is reported
# at its own position once the numbers are gone)
_LEADING_NUMBER = re.compile(r"(\s*\d+)(\s+\S.*)")  # GenBank: "   61 mvlspadktn ..."
_TRAILING_NUMBER = re.compile(r"(.*\S\s+)(\d+\s*)")  # EMBL: "MVLSPADKTN VKAAWGKVGA 20"
_GENBANK_MARKERS = {"ORIGIN", "//", "SQ", "SEQUENCE"}
_NUMBER = re.compile(r"[0-9]+")  # a whole whitespace-separated token of digits: a position number


def strip_numbering(lines: list[str]) -> tuple[list[str], bool]:
    """Remove GenBank/EMBL position numbers: one at the start (or end) of every line, or numbers that
    count the residues wherever they stand ("1 FVNQHLCGSH 11 LVEALYLVCG 21 ERGFF")."""
    content = [line for line in lines if line.strip() and line.strip().upper() not in _GENBANK_MARKERS]
    if not content or not any(_DIGIT.search(line) for line in content):
        return lines, False
    if counts_residues([token for line in content for token in line.split()]):
        return [" ".join(t for t in line.split() if not _NUMBER.fullmatch(t)) for line in content], True
    one_each = all(sum(bool(_NUMBER.fullmatch(t)) for t in line.split()) == 1 for line in content)
    for pattern, residues in ((_LEADING_NUMBER, 2), (_TRAILING_NUMBER, 1)):  # a block copied from the middle
        matches = [pattern.fullmatch(line) for line in content]
        if one_each and all(matches):
            return [m.group(residues) for m in matches], True
    return lines, False


def counts_residues(tokens: list[str]) -> bool:
    """True when the number tokens among tokens count residues: each is the position of the residue
    after it, the first standing before any residue, or each is the position of the residue before
    it, the last standing after every residue. A lone number inside a sequence ('MKT 4 AYI') is not."""
    before = 0  # residues (letters) seen so far
    starts, ends = [], []  # per number token: does it name the next residue / the previous one?
    for token in tokens:
        if _NUMBER.fullmatch(token):
            starts.append(int(token) == before + 1)
            ends.append(int(token) == before)
        else:
            before += len(token)
    if not starts:
        return False
    numbered_first, numbered_last = bool(_NUMBER.fullmatch(tokens[0])), bool(_NUMBER.fullmatch(tokens[-1]))
    return (all(starts) and numbered_first) or (all(ends) and numbered_last)


def miscounted_number(lines: list[str]) -> tuple[str, int, str] | None:
    """The first position number that does not count the residues, when the text numbers its blocks:
    (the number, its 1-based position in the text without spaces, a sentence naming it); else None."""
    tokens = [t for line in lines if line.strip().upper() not in _GENBANK_MARKERS for t in line.split()]
    if sum(bool(_NUMBER.fullmatch(t)) for t in tokens) < 2:  # one number alone is a stray, not numbering
        return None
    before, offset = 0, 0  # residues (letters) before the token; characters before it, numbers included
    for token in tokens:
        if _NUMBER.fullmatch(token) and int(token) not in (before, before + 1):
            return (
                token,
                offset + 1,
                (
                    f" The numbers between the blocks look like position numbers, but {token} stands after "
                    f"{before:,} residues, so it would read {before + 1:,} (or {before:,} closing a block). "
                    "Correct that number, or remove the numbers."
                ),
            )
        if not _NUMBER.fullmatch(token):
            before += len(token)
        offset += len(token)
    return None
