"""Text without '>' lines, cut into proteins as a student meant it: blocks, lists and wrapped lines.

Students paste several sequences one under the other, or copy a UniProt entry without its '>': joining
them into one protein would predict a chimera without a word. Each function returns what it did as a
sentence, which the Predict page shows right under the box.
"""

from __future__ import annotations

import re

from protlab.data.sequences import FastaRecord

_BARE_LINE = re.compile(r"\S+")  # a line of residues alone: no position number or space between groups


def _wrapped(lines: list[str]) -> bool:
    """True when lines look like one sequence wrapped at a fixed width: all but the last equally long,
    the last no longer. Lines with spaces inside (numbered GenBank, EMBL blocks) always count as one."""
    if len(lines) < 2 or not all(_BARE_LINE.fullmatch(line) for line in lines):
        return True
    width = len(lines[0])
    return all(len(line) == width for line in lines[:-1]) and len(lines[-1]) <= width


def _split_lines(block: FastaRecord) -> list[FastaRecord]:
    """One protein per line of a block."""
    return [FastaRecord(None, (line,), block.line_number + i) for i, line in enumerate(block.lines)]


def _wrapped_note(blocks: list[FastaRecord]) -> list[str]:
    """A note when several lines of bare letters are read as one wrapped protein (they could be a list)."""
    if len(blocks) != 1 or len(blocks[0].lines) < 2 or not all(map(_BARE_LINE.fullmatch, blocks[0].lines)):
        return []
    lines = blocks[0].lines
    return [
        f"The {len(lines)} lines were read as one protein wrapped at {len(lines[0])} letters a line. If each "
        "line is a protein of its own, put a blank line or a line '>name' before each."
    ]


def cut_into_proteins(records: list[FastaRecord]) -> tuple[list[FastaRecord], list[str]]:
    """Text without '>': one protein per block between blank lines, or per line when the lines of a block
    differ in length (a list, not a wrapped sequence); what was done is said in a note.

    Students paste several sequences one under the other; joining them into one protein would predict a
    chimera without a word. A sequence wrapped at a fixed width (UniProt's 60, NCBI's 70 or 80) or a
    numbered GenBank block stays one protein.
    """
    if len(records) != 1 or records[0].header is not None:
        return records, []
    blocks: list[FastaRecord] = []
    current: list[str] = []
    first = records[0].line_number
    for number, line in enumerate(records[0].lines, start=first):
        if line.strip():
            if not current:
                first = number
            current.append(line.strip())
        elif current:
            blocks.append(FastaRecord(None, tuple(current), first))
            current = []
    if current:
        blocks.append(FastaRecord(None, tuple(current), first))
    lists = [block for block in blocks if not _wrapped(list(block.lines))]
    if len(blocks) < 2 and not lists:
        return records, _wrapped_note(blocks)
    proteins = [one for block in blocks for one in (_split_lines(block) if block in lists else [block])]
    how = (
        f"{len(blocks)} blocks separated by blank lines, so each block is read as one protein"
        if not lists
        else "lines of different lengths (not one sequence wrapped at a fixed width), so each line is read "
        "as one protein"
        if len(blocks) == 1
        else f"{len(blocks)} blocks separated by blank lines; a block whose lines differ in length is read "
        "as one protein per line, any other block as one protein"
    )
    note = (
        f"The text has no '>' header lines and {how} (seq1 to seq{len(proteins)}). If they are one protein, "
        "put it on one line; to name the proteins, start each with a line '>name'."
    )
    return proteins, [note]


_HEADER_MARKS = ("|", " OS=", " OX=")  # never in a sequence; always in UniProt and NCBI header lines


def restore_missing_gt(text: str) -> tuple[str, list[str]]:
    """Give '>' back to header lines copied without it (a line with '|' or 'OS='); + a note naming them."""
    lines = text.split("\n")
    fixed = [
        i
        for i, line in enumerate(lines)
        if not line.lstrip().startswith((">", ";")) and any(mark in line for mark in _HEADER_MARKS)
    ]
    if not fixed:
        return text, []
    for i in fixed:
        lines[i] = ">" + lines[i].lstrip()
    shown = ", ".join(str(i + 1) for i in fixed[:5]) + (", ..." if len(fixed) > 5 else "")
    one = len(fixed) == 1
    note = (
        f"{'Line' if one else 'Lines'} {shown} looked like "
        f"{'a FASTA header line' if one else 'FASTA header lines'} without the '>' at the start (a '|' or "
        f"'OS=' is never part of a sequence), so {'it was' if one else 'each was'} read as a header."
    )
    return "\n".join(lines), [note]
