"""Turn pasted text (plain, FASTA, GenBank/EMBL blocks) into clean protein sequences.

Cleaning policy, applied in this order:
1. Raw text longer than MAX_TEXT_CHARS is refused before anything else happens.
2. Invisible characters are removed, with a note naming each kind and its count: unusual spaces
   (no-break, thin, ideographic and the other Unicode space separators), the control characters
   U+001C-U+001F and U+0085, and zero-width and text-direction marks (U+200B-U+200F, U+202A-U+202E,
   U+2060, U+2066-U+2069, U+FEFF). Headers (ids) lose them too, so no direction mark reaches an output id.
   Line endings are normalised; lines starting with '>' are FASTA headers and
   lines starting with ';' are old-style FASTA comments (ignored, with a note).
3. GenBank/EMBL numbered blocks ("1 mvlspadktn vkaawgkvga" or "MVLSPADKTN 10")
   lose their position numbers, with a note.
4. Whitespace is removed and lowercase letters are upper-cased (note).
5. One trailing '*' (stop codon) is removed (note); a '*' anywhere else is an error.
6. The 20 standard letters are kept; ambiguous or rare letters (X, B, Z, J, U, O)
   are kept as letters, listed in `unknown_positions` and encode to the unknown
   token. Any other character is an error naming it and its 1-based position.
Only InvalidSequenceError is raised for str input; the hot path uses regular
expressions and str methods, never a per-residue Python loop.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass

from protlab.alphabet import AMBIGUOUS_LETTERS, AMINO_ACIDS
from protlab.checks import IntRange
from protlab.data.numbering import miscounted_number, strip_numbering
from protlab.errors import InvalidSequenceError

DEFAULT_MAX_LENGTH = 10_000  # residues accepted by default for prediction
MAX_TEXT_CHARS = 2_000_000  # raw pasted text refused above this
DEFAULT_MAX_RECORDS = 10_000  # FASTA records accepted by parse_sequences by default
_LIMIT = IntRange(1, tip="Use a value of at least 1.")  # max_length and max_records

_ALLOWED = AMINO_ACIDS + AMBIGUOUS_LETTERS
_BAD_CHAR = re.compile(f"[^{_ALLOWED}{_ALLOWED.lower()}]", re.ASCII)
_AMBIGUOUS = re.compile(f"[{AMBIGUOUS_LETTERS}]")
_WHITESPACE = re.compile(r"\s+")
_HAS_LOWER = re.compile("[a-z]")
# invisible characters removed with a note: Unicode spaces other than ' ' (Zs, Zl, Zp), the information
# separators U+001C-U+001F and U+0085, and zero-width and direction marks
INVISIBLE_CHARACTERS = (
    "\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    "\u001c-\u001f\u0085"
    "\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff"
)
INVISIBLE = re.compile(f"[{INVISIBLE_CHARACTERS}]")
_ODD_SPACE = re.compile("[\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")  # in INVISIBLE
_EXAMPLE_LETTERS = ", ".join(AMINO_ACIDS[:3])


@dataclass(frozen=True)
class CleanedSequence:
    """One cleaned protein sequence with what cleaning did to it."""

    id: str  # FASTA header id, or "seq1", "seq2", ...
    sequence: str  # uppercase; 20 standard letters plus ambiguous letters kept as-is
    unknown_positions: tuple[int, ...]  # 1-based positions of X/B/Z/J/U/O
    notes: tuple[str, ...]  # human-readable notes on what cleaning did
    description: str = ""  # rest of the FASTA header after the id ("" when none)


@dataclass(frozen=True)
class FastaRecord:
    """One raw record of pasted text, before its sequence is cleaned."""

    header: str | None  # header line without '>' (None when the text had no header)
    lines: tuple[str, ...]  # the record's sequence lines, uncleaned
    line_number: int  # 1-based line of the header (or of the first sequence line)


def describe_character(char: str) -> str:
    """Show one character readably: 'q' for printable ASCII, else its U+XXXX code and name."""
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    label = f"{code} {name}".strip()
    if char.isascii() and char.isprintable():
        return repr(char)
    if char.isprintable() and not char.isspace():
        return f"'{char}' ({label})"
    return label


def strip_invisible(text: str, where: str = "", *, spaces: str = "") -> tuple[str, str | None]:
    """Remove invisible characters (INVISIBLE; unusual spaces become `spaces`);
    returns (text, a note naming each kind and its count, or None)."""
    found = INVISIBLE.findall(text)
    if not found:
        return text, None
    counts: dict[str, int] = {}
    for char in found:
        counts[char] = counts.get(char, 0) + 1
    kinds = ", ".join(
        f"{count:,} x U+{ord(char):04X} {unicodedata.name(char, 'CONTROL CHARACTER')}"
        for char, count in sorted(counts.items())
    )
    noun = "character" if len(found) == 1 else "characters"
    text = _ODD_SPACE.sub(spaces, text) if spaces else text
    return INVISIBLE.sub("", text), f"Removed {len(found):,} invisible {noun}{where}: {kinds}."


def _check_text(text: object, max_chars: int | None = MAX_TEXT_CHARS) -> str:
    """Refuse non-str input and oversized text (above max_chars; None: a file, no limit here)."""
    if not isinstance(text, str):
        raise InvalidSequenceError(
            f"A sequence must be given as text; got a value of type {type(text).__name__}. "
            "Paste the protein sequence as one-letter codes."
        )
    if max_chars is not None and len(text) > max_chars:
        size_mb = len(text) / 1_000_000
        raise InvalidSequenceError(
            f"The pasted text is about {size_mb:.1f} MB ({len(text):,} characters); the limit is "
            f"{max_chars / 1_000_000:.0f} MB ({max_chars:,} characters). "
            "Paste fewer or shorter sequences, or upload them as a file."
        )
    return text


def split_fasta(text: str, *, max_chars: int | None = MAX_TEXT_CHARS) -> list[FastaRecord]:
    """Split text into FASTA records; text without any '>' header is a single record.
    max_chars limits pasted text; None for a file's text (files have their own size limit)."""
    text = _check_text(text, max_chars)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    records: list[FastaRecord] = []
    header: str | None = None
    body: list[str] = []
    start = 1
    for number, line in enumerate(lines, start=1):  # per line, not per residue
        if INVISIBLE.sub("", line).strip().startswith(">"):  # a byte-order mark may precede the '>'
            if header is not None or any(part.strip() for part in body):
                records.append(FastaRecord(header, tuple(body), start))
            header, body, start = line[line.index(">") + 1 :].strip(), [], number
        else:
            if header is None and not body:
                start = number
            body.append(line)
    if header is not None or any(part.strip() for part in body):
        records.append(FastaRecord(header, tuple(body), start))
    return records


def _who(record_name: str | None) -> str:
    """How an error names the sequence: "Sequence 'P1'" for a named FASTA record, else "The sequence"."""
    return f"Sequence '{record_name}'" if record_name else "The sequence"


def _bad_character_error(
    record_name: str | None, char: str, position: int, residues: str
) -> InvalidSequenceError:
    """Build the error for a character that is not an amino-acid letter."""
    who = _who(record_name)
    shown = describe_character(char)
    hint = ""
    if char in "-.":
        hint = " It looks like an alignment gap: remove gap characters before pasting."
    elif char.isdigit():
        hint = " Remove position numbers and other digits."
    message = (
        f"{who} has {shown} at position {position}, which is not an amino-acid letter. "
        f"Use one-letter codes ({_EXAMPLE_LETTERS}, ...); X, B, Z, J, U and O are read as "
        f"unknown residues.{hint}"
    )
    return InvalidSequenceError(message, character=char, position=position, residues=residues)


def _clean_body(lines: list[str], record_name: str | None, max_length: int) -> tuple[str, list[str]]:
    """Clean the sequence lines of one record and return (sequence, notes)."""
    notes: list[str] = []
    text, removed = strip_invisible("\n".join(lines))
    if removed:
        notes.append(removed)
        lines = text.split("\n")
    if any(line.lstrip().startswith(";") for line in lines):
        lines = [line for line in lines if not line.lstrip().startswith(";")]
        notes.append("Ignored FASTA comment lines starting with ';'.")
    lines, numbered = strip_numbering(lines)
    if numbered:
        notes.append("Removed the position numbers of a GenBank/EMBL-style numbered sequence block.")
    raw = _WHITESPACE.sub("", "".join(lines))
    if raw.endswith("*"):
        raw = raw[:-1]
        notes.append("Removed the trailing '*' (stop codon).")
    bad = _BAD_CHAR.search(raw)
    if bad is not None:
        char, position = bad.group(), bad.start() + 1
        if char == "*":
            raise InvalidSequenceError(
                f"{_who(record_name)} has a stop codon '*' at position {position}, inside the sequence. "
                "Only one '*' at the very end is accepted; remove it or check the translation.",
                character=char,
                position=position,
                residues=raw,
            )
        miscounted = None if numbered else miscounted_number(lines)
        if miscounted is not None:  # point at the number that is off, not at the first digit
            number, position, sentence = miscounted
            raise InvalidSequenceError(
                f"{_who(record_name)} has the number {number} at position {position}, among its "
                f"amino-acid letters.{sentence}",
                character=number[0],
                position=position,
                residues=raw,
            )
        raise _bad_character_error(record_name, char, position, raw)
    if _HAS_LOWER.search(raw):
        notes.append("Converted lowercase letters to uppercase.")
    sequence = raw.upper()
    if len(sequence) > max_length:
        raise InvalidSequenceError(
            f"{_who(record_name)} is {len(sequence):,} residues long; the limit is {max_length:,} residues. "
            "Shorten it (for example, predict one domain at a time)."
        )
    return sequence, notes


def _unknown_note(sequence: str, positions: tuple[int, ...]) -> str:
    """Describe the ambiguous or rare letters found in a sequence."""
    shown = ", ".join(f"{sequence[p - 1]} at {p}" for p in positions[:10])
    more = f" and {len(positions) - 10:,} more" if len(positions) > 10 else ""
    count = len(positions)
    noun = "letter" if count == 1 else "letters"
    return f"{count:,} ambiguous or rare {noun} ({shown}{more}) will be read as the unknown residue."


def _clean_record(record: FastaRecord, default_id: str, named: bool, max_length: int) -> CleanedSequence:
    """Clean one raw record into a CleanedSequence."""
    header, header_note = (
        strip_invisible(record.header, " from the FASTA header", spaces=" ")
        if (record.header)
        else (record.header, None)
    )
    parts = header.split(None, 1) if header else []
    record_id = parts[0] if parts else default_id
    description = parts[1] if len(parts) > 1 else ""
    name = record_id if (named or header) else None
    if not any(line.strip() for line in record.lines):
        if header is not None:
            raise InvalidSequenceError(
                f"The FASTA header '>{header[:80]}' (line {record.line_number}) is not followed by a "
                "sequence. Put the protein sequence on the lines below its header."
            )
        raise InvalidSequenceError(
            "No sequence was given. Paste a protein sequence in one-letter code, for example MVLSPADKTN."
        )
    sequence, notes = _clean_body(list(record.lines), name, max_length)
    if header_note:
        notes.insert(0, header_note)
    if not sequence:
        raise InvalidSequenceError(
            f"{'Sequence ' + repr(name) if name else 'The sequence'} is empty after cleaning. "
            "Paste a protein sequence in one-letter code, for example MVLSPADKTN."
        )
    positions = tuple(m.start() + 1 for m in _AMBIGUOUS.finditer(sequence))
    if positions:
        notes.append(_unknown_note(sequence, positions))
    return CleanedSequence(record_id, sequence, positions, tuple(notes), description)


def _no_sequence_error() -> InvalidSequenceError:
    """The error for empty or whitespace-only input."""
    return InvalidSequenceError(
        "No sequence was given. Paste a protein sequence in one-letter code, for example MVLSPADKTN."
    )


def clean_sequence(text: str, *, max_length: int = DEFAULT_MAX_LENGTH) -> CleanedSequence:
    """Clean one pasted protein sequence (optionally with a FASTA header) or raise InvalidSequenceError."""
    max_length = _LIMIT.check(max_length, "max_length")
    records = split_fasta(text)
    if not records:
        raise _no_sequence_error()
    if len(records) > 1:
        raise InvalidSequenceError(
            f"The text holds {len(records):,} sequences (FASTA records), but one sequence is expected "
            "here. Paste a single sequence, or use the batch input for several."
        )
    return _clean_record(records[0], "seq1", False, max_length)


def unique_ids(records: list[CleanedSequence]) -> list[CleanedSequence]:
    """Make record ids unique by appending _2, _3, ... to repeated ids."""
    seen: dict[str, int] = {}
    taken = {record.id for record in records}
    result: list[CleanedSequence] = []
    for record in records:
        count = seen.get(record.id, 0) + 1
        seen[record.id] = count
        if count == 1:
            result.append(record)
            continue
        new_id = f"{record.id}_{count}"
        while new_id in taken:
            count += 1
            new_id = f"{record.id}_{count}"
        taken.add(new_id)
        note = f"Renamed from '{record.id}' because that id was already used by an earlier record."
        result.append(dataclasses.replace(record, id=new_id, notes=record.notes + (note,)))
    return result


def parse_sequences(
    text: str,
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_records: int = DEFAULT_MAX_RECORDS,
    max_chars: int | None = MAX_TEXT_CHARS,
    source: str = "The text",
) -> list[CleanedSequence]:
    """Clean every FASTA record in text (text without '>' is one sequence); ids made unique.
    A file's text is read with max_chars=None (files have their own size limit) and source naming it."""
    max_length = _LIMIT.check(max_length, "max_length")
    max_records = _LIMIT.check(max_records, "max_records")
    records = split_fasta(text, max_chars=max_chars)
    if not records:
        raise _no_sequence_error()
    if len(records) > max_records:
        raise InvalidSequenceError(
            f"{source} holds {len(records):,} sequences (FASTA records); the limit is {max_records:,}. "
            "Split the input into smaller batches."
        )
    named = len(records) > 1
    cleaned = [_clean_record(r, f"seq{i}", named, max_length) for i, r in enumerate(records, start=1)]
    return unique_ids(cleaned)
