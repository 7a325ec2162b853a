"""Proteins to predict, from pasted text or a file: readable records go on, bad ones are listed with why.

One unreadable record (a digit in a sequence, a header without a sequence, a sequence over the length
limit) never blocks the rest of a batch: `read_pasted` and `read_file` return the cleaned records and a
table of the records left out, each with its record number, id, line and reason. Only problems with the
input as a whole (nothing given, text or file too large, too many records, a file that is not text) raise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from protlab.alphabet import AMBIGUOUS_LETTERS
from protlab.data import (
    ALLOWED_LABELS_TEXT,
    DEFAULT_MAX_RECORDS,
    ID_NAMES,
    LABEL_NAMES,
    LABEL_SPELLINGS,
    MAX_FILE_BYTES,  # a file (to predict or to train on): 50 MB, the server's upload limit
    SEQUENCE_NAMES,
    CleanedSequence,
    FastaRecord,
    clean_sequence,
    decode_text,
    find_column,
    is_sequence_cell,
    measurement_summary,
    parse_labels,
    parse_table,
    split_fasta,
    strip_invisible,
    unique_ids,
)
from protlab.data.containers import unpack
from protlab.data.file_text import PREDICT_FILE
from protlab.data.nucleotides import protein_not_nucleotides
from protlab.data.pasted import cut_into_proteins, restore_missing_gt
from protlab.data.tables import header_label
from protlab.data.words import as_typed, looks_like_a_word, protein_not_a_word, sentence_letters, word_message
from protlab.errors import DataFormatError, InvalidSequenceError

MAX_RECORDS = DEFAULT_MAX_RECORDS  # proteins in one batch (pasted or in a file)
REJECTED_COLUMNS = ["record", "id", "line", "reason"]  # the table of records left out


@dataclass
class PredictInput:
    """The readable proteins of one input and the records left out."""

    records: list[CleanedSequence]  # cleaned, ids made unique, in input order
    rejected: pd.DataFrame  # REJECTED_COLUMNS: 1-based record number, id, 1-based line, reason
    notes: list[str] = dataclasses.field(default_factory=list)  # how a file was read (encoding, columns)
    readings: list[str] = dataclasses.field(default_factory=list)  # how text was cut into proteins: check
    labels: list[int] | None = None  # a table's label column, per record: 1, 0, or -1 (blank or unreadable)


def _known_name(word: str) -> str | None:
    """The name of the one known protein that `word` names, for the message (None when none or several)."""
    from protlab.known_proteins import known_protein_named  # the shipped table, read on first need

    protein = known_protein_named(word)
    return protein.name if protein else None


def clean_protein(text: str, shown: str | None = None) -> CleanedSequence:
    """Clean one record; refuse DNA or RNA and words (a protein's name typed instead of its sequence).

    shown is the record as typed, for the message (default: text)."""
    shown = text if shown is None else shown
    try:
        one = protein_not_nucleotides(clean_sequence(text))
    except InvalidSequenceError:  # a sentence's full stop is not an alignment gap: say it is words
        letters = sentence_letters(shown)
        if letters and looks_like_a_word(letters):
            words = as_typed(shown)
            raise InvalidSequenceError(word_message(words, letters, _known_name(words))) from None
        raise
    return protein_not_a_word(one, shown, _known_name)


def _too_many(count: int) -> InvalidSequenceError:
    """The error for a batch over MAX_RECORDS."""
    return InvalidSequenceError(
        f"The input holds {count:,} sequences; the limit is {MAX_RECORDS:,} per batch. "
        "Split it into smaller batches."
    )


def _result(cleaned: list[CleanedSequence], rejected: list[dict], notes: list[str]) -> PredictInput:
    """Bundle the readable records and the rejected rows."""
    return PredictInput(unique_ids(cleaned), pd.DataFrame(rejected, columns=REJECTED_COLUMNS), notes)


def _labels_note(where: str, known: int, total: int) -> str:
    """Say where the labels come from and how many proteins carry one."""
    return f"Labels from {where}: {known:,} of {total:,} proteins carry one, shown beside the calls."


def _clean_fasta(records: list[FastaRecord], notes: list[str]) -> PredictInput:
    """Clean every FASTA record on its own; a record that fails is listed, not raised."""
    if len(records) > MAX_RECORDS:
        raise _too_many(len(records))
    cleaned, rejected, raw_labels = [], [], []
    for number, record in enumerate(records, start=1):
        default_id = f"seq{number}"
        body = "\n".join(record.lines)
        text = body if record.header is None else f">{record.header}\n{body}"
        try:
            one = clean_protein(text, body)
        except InvalidSequenceError as err:
            shown_id = (record.header or "").split(None, 1)[0] if record.header else default_id
            reason = str(err).replace("(line 1)", f"(line {record.line_number})", 1)  # line in the input
            rejected.append({"record": number, "id": shown_id, "line": record.line_number, "reason": reason})
            continue
        cleaned.append(one if record.header is not None else dataclasses.replace(one, id=default_id))
        raw_labels.append(header_label(record.header)[1] if record.header else "")
    labels = parse_labels(pd.Series(raw_labels, dtype=str)).tolist()  # the training reader's spellings
    known = sum(label >= 0 for label in labels)
    if not known:  # headers without labels: nothing to compare
        return _result(cleaned, rejected, notes)
    told = _labels_note("the FASTA headers", known, len(labels))
    return dataclasses.replace(_result(cleaned, rejected, [*notes, told]), labels=labels)


def read_pasted(text: str) -> PredictInput:
    """Proteins from pasted text: FASTA, or plain letters (one protein per block between blank lines)."""
    text, header_notes = restore_missing_gt(text) if isinstance(text, str) else (text, [])
    records = split_fasta(text)  # refuses non-text and text over MAX_TEXT_CHARS
    if not records:
        raise InvalidSequenceError(
            "No sequence was given. Paste a protein sequence in one-letter code, for example MVLSPADKTN."
        )
    records, notes = cut_into_proteins(records)
    return dataclasses.replace(_clean_fasta(records, []), readings=header_notes + notes)


def _no_sequence_column(columns: list[str], name: str, separator: str) -> DataFormatError:
    """Explain a table without a sequence column: a missing header row, or columns named otherwise."""
    cells = [column.strip() for column in columns]
    at = next((i for i, c in enumerate(cells) if is_sequence_cell(c)), None)  # a protein: the row is data
    if at is not None:  # the first row is data: suggest a header for it
        names = ["label" if c.lower() in LABEL_SPELLINGS else f"column{i + 1}" for i, c in enumerate(cells)]
        names[at] = "sequence"
        first_other = next((i for i, n in enumerate(names) if n.startswith("column")), None)
        if first_other is not None:
            names[first_other] = "id"
        return DataFormatError(
            f"The file '{name}' has no header row: its first line already holds a protein sequence (column "
            f"{at + 1}). Add a header line such as '{separator.join(names)}' as the first line of the file, "
            "or give a FASTA file."
        )
    shown = ", ".join(repr(c if len(c) <= 30 else c[:27] + "...") for c in cells[:10])
    more = f" and {len(cells) - 10:,} more" if len(cells) > 10 else ""
    return DataFormatError(
        f"The file '{name}' has no sequence column; its columns are {shown}{more}. Name the column of "
        f"protein sequences one of {', '.join(SEQUENCE_NAMES)} (case does not matter), or give a FASTA file."
    )


def _table_records(text: str, name: str, described: Callable[[str], str]) -> PredictInput:
    """Proteins from a CSV/TSV with a sequence column (and an optional id column), one per row."""
    table, separator, file_format = parse_table(text)  # the training reader's parser and messages
    columns = [str(c) for c in table.columns]
    seq_col, id_col = find_column(columns, SEQUENCE_NAMES), find_column(columns, ID_NAMES)
    if seq_col is None:
        raise _no_sequence_column(columns, name, separator)
    if len(table) > MAX_RECORDS:
        raise _too_many(len(table))
    if table[seq_col].astype(str).str.strip().eq("").all():  # a header and nothing (or blank rows) below
        raise DataFormatError(
            f"The file '{name}' has the column '{seq_col}' but no protein in it: the rows below the header "
            "are missing or empty. Add one protein per row under the header, or give a FASTA file."
        )
    label_col = find_column(columns, LABEL_NAMES)
    label_col = label_col if label_col != seq_col else None
    given = parse_labels(table[label_col].astype(str)) if label_col else None  # (rows,) int64, -1: none
    cleaned, rejected, labels = [], [], []
    for index, seq in enumerate(table[seq_col].astype(str)):
        line = index + 2  # the header is line 1
        raw_id = str(table[id_col].iloc[index]) if id_col else ""
        row_id, id_note = strip_invisible(raw_id, " from the id", spaces=" ")  # no direction mark in an id
        row_id = row_id.strip() or f"row{line}"
        if not "".join(str(v) for v in table.iloc[index]).strip():
            continue  # a blank line
        try:
            one = clean_protein(seq)
            notes = one.notes + ((id_note,) if id_note else ())
            cleaned.append(dataclasses.replace(one, id=row_id, notes=notes))
            labels.append(int(given[index]) if given is not None else -1)
        except InvalidSequenceError as err:
            reason = str(err).replace("The sequence", f"The sequence in column '{seq_col}'", 1)
            rejected.append({"record": index + 1, "id": row_id, "line": line, "reason": reason})
    notes = [
        f"Read the {described(file_format + ' table')} with sequences from column '{seq_col}'"
        + (f" and ids from column '{id_col}'." if id_col else "; ids are the row numbers.")
    ]
    if label_col is None:
        return _result(cleaned, rejected, notes)
    measured = measurement_summary(table[label_col].astype(str).str.strip(), label_col)
    known = sum(label >= 0 for label in labels)
    if measured or not known:
        why = (
            f"{measured} It was not compared with the calls, which are classes."
            if measured
            else f"The column '{label_col}' was not compared with the calls: none of its values is a class "
            f"({ALLOWED_LABELS_TEXT})."
        )
        return _result(cleaned, rejected, [*notes, why])
    told = _labels_note(f"column '{label_col}'", known, len(labels))
    return dataclasses.replace(_result(cleaned, rejected, [*notes, told]), labels=labels)


def read_file(data: bytes, name: str) -> PredictInput:
    """Proteins from an uploaded FASTA file or a CSV/TSV table with a sequence column."""
    if len(data) > MAX_FILE_BYTES:
        raise DataFormatError(
            f"The file '{name}' is {len(data) / 2**20:,.1f} MB; sequence files to predict are limited to "
            f"{MAX_FILE_BYTES // 2**20} MB. Split it into smaller files."
        )
    unpacked = unpack(data, name)  # gzip, ZIP or an Excel workbook: the text inside
    name = unpacked.name
    text, notes = decode_text(unpacked.data, name, wanted=PREDICT_FILE)  # refuses empty and binary files
    notes = unpacked.notes + notes
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = next((line.strip() for line in text.split("\n", 50)[:50] if line.strip()), "")
    readings: list[str] = []
    if "|" in first and not any(sep in first for sep in (",", ";", "\t")):  # a header without its '>'
        text, readings = restore_missing_gt(text)
        first = ">" + first
    if first.startswith(">"):
        return dataclasses.replace(_clean_fasta(split_fasta(text, max_chars=None), notes), readings=readings)
    one_column = find_column([first], SEQUENCE_NAMES) is not None  # a header 'sequence' alone: a table
    if one_column or any(sep in first for sep in (",", ";", "\t")):  # a table: it needs a sequence column
        result = _table_records(text, name, unpacked.described)
        result.notes[:0] = notes
        return result
    records, block_notes = cut_into_proteins(split_fasta(text, max_chars=None))  # plain text
    return dataclasses.replace(_clean_fasta(records, notes), readings=block_notes)


@dataclass(frozen=True)
class LengthRange:
    """The sequence lengths a model learned from."""

    shortest: int  # residues in the shortest training protein
    longest: int  # residues in the longest training protein
    origin: str  # where the range comes from, for the page ("the model's training data", ...)


def training_length_range(meta: Mapping[str, Any], fallback: LengthRange) -> LengthRange:
    """The training lengths a checkpoint records (data_summary min_length/max_length), else fallback."""
    summary = meta.get("data_summary") if isinstance(meta.get("data_summary"), Mapping) else {}
    low, high = summary.get("min_length"), summary.get("max_length")
    if isinstance(low, int) and isinstance(high, int) and 0 < low <= high:
        return LengthRange(low, high, "the model's training data")
    return fallback


def input_flags(sequence: str, lengths: LengthRange) -> list[str]:
    """Why a prediction deserves extra care: a length outside the training range, unknown residues."""
    flags = []
    n = len(sequence)
    if n < lengths.shortest:
        flags.append(f"shorter than any training protein ({n:,} residues; shortest {lengths.shortest:,})")
    elif n > lengths.longest:
        flags.append(f"longer than any training protein ({n:,} residues; longest {lengths.longest:,})")
    unknown = sum(sequence.count(letter) for letter in AMBIGUOUS_LETTERS)
    if unknown:
        letters = ", ".join(sorted({c for c in sequence if c in AMBIGUOUS_LETTERS}))
        plural = "residue" if unknown == 1 else "residues"
        flags.append(f"{unknown:,} unknown {plural} ({letters}), each read as the unknown residue")
    return flags
