"""File arguments of the command line: which argument names a file, and which output paths are safe.

    looks_like_path("proteins.fasta")  -> True   (a separator or a file extension: a file, even if missing)
    file_or_sequence("proteins")        -> refused: no such file, and small letters are not a sequence here
    check_output("in.fasta", ["in.fasta"], "--out")  -> refused before any work: it is the input

An output is refused when it is an input (the same file, also through a symbolic or hard link), a
folder, in a folder that does not exist, or in a folder that cannot be written; the command then
writes it atomically (protlab.files), so an existing file is replaced only after success.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from protlab.errors import DataFormatError, InvalidSequenceError

_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,7}$")  # .fasta, .fa, .csv, .txt, .pt, .gz, ...
_LOWERCASE = re.compile("[a-z]")


def looks_like_path(argument: str) -> bool:
    """True when the argument has a path separator or ends in a file extension (sequences have neither)."""
    return "/" in argument or "\\" in argument or os.sep in argument or bool(_EXTENSION.search(argument))


def file_or_sequence(argument: str) -> Path | None:
    """The file an argument names (it exists or looks like a path), or None when it is a sequence.

    A missing file that looks like a path is an error naming it; so is a word with small letters, which
    is neither a file nor a sequence as the command line takes them (capital letters, or --sequence).
    """
    path = Path(argument)
    if path.exists():
        if not path.is_file():
            raise DataFormatError(f"'{argument}' is a folder, not a file; give the path of a file inside it.")
        return path
    if looks_like_path(argument):
        raise DataFormatError(
            f"The file '{argument}' does not exist (looked in {Path.cwd()}); check the path. "
            "To give a protein sequence itself, use --sequence."
        )
    if _LOWERCASE.search(argument):
        raise DataFormatError(
            f"'{argument[:60]}' is not a file in {Path.cwd()}, and a sequence given on the command line is "
            f"written in capital letters. Give an existing file, or the sequence with --sequence "
            f"'{argument[:60]}'."
        )
    return None


def _same(a: Path, b: Path) -> bool:
    """a and b are one file (links followed; hard links share an inode), or one path when either is new."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_output(
    out: str | Path, inputs: list[str | Path | None], option: str = "--out", example: str = "output.csv"
) -> Path:
    """Refuse an output path that is an input, a folder, or not writable; returns it as a Path.

    Called before any work starts, so a refused output costs nothing.
    """
    path = Path(out)
    if path.is_dir():
        raise DataFormatError(
            f"{option} '{out}' is a folder; give a file name inside it, such as '{path / example}'."
        )
    for source in inputs:
        if source is not None and _same(Path(source), path):
            raise DataFormatError(
                f"{option} '{out}' is the same file as the input '{source}'; writing it would destroy the "
                "input. Choose another output file."
            )
    folder = path.parent
    if not folder.is_dir():
        raise DataFormatError(
            f"The folder of {option} '{out}' does not exist; create it or choose another path."
        )
    if path.exists() and not path.is_file():
        raise DataFormatError(f"{option} '{out}' exists and is not a regular file; choose another path.")
    try:  # the only reliable test of writability: make (and remove) a file there
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".check")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise DataFormatError(
            f"{option} '{out}' cannot be written: the folder '{folder}' is not writable "
            f"({err.strerror or err}). Choose another folder."
        ) from None
    return path


def read_input(argument: str | None, sequence: str | None = None):  # -> tuple[PredictInput, bool]
    """The proteins a command names: a file (read as the app reads uploads: one decoder, the file limits,
    bad records listed rather than fatal), a sequence in capital letters, or --sequence text;
    returns (PredictInput, is_file)."""
    from protlab.data.file_text import read_source
    from protlab.errors import ConfigError
    from protlab.predict_input import REJECTED_COLUMNS, PredictInput, clean_protein, read_file

    if (argument is None) == (sequence is None):
        raise ConfigError(
            "Give the proteins either as an input file (or one sequence in capital letters) or with "
            f"--sequence TEXT; got {'both' if sequence is not None else 'neither'}."
        )
    path = None if sequence is not None else file_or_sequence(argument)
    if path is None:
        import pandas as pd

        record = clean_protein(sequence if sequence is not None else argument)
        return PredictInput([record], pd.DataFrame(columns=REJECTED_COLUMNS)), False
    data, name = read_source(path)
    return read_file(data, name), True


def read_proteins(
    argument: str | None, sequence: str | None, *, report: Callable[[str], None], shown: int = 20
):  # -> tuple[PredictInput, bool]
    """read_input, with its notes and the first `shown` left-out records (and a count of the rest) passed
    to report; a file with no usable record is refused. Returns (PredictInput, is_file)."""
    read, is_file = read_input(argument, sequence)
    rejected = read.rejected
    if not read.records:  # refused in one line: the first reason stands for all
        first = rejected["reason"].iloc[0] if len(rejected) else "it holds no sequence."
        raise InvalidSequenceError(
            f"None of the {len(rejected):,} records in {argument} can be used; the first: {first}"
        )
    for note in read.readings + read.notes:
        report(note)
    for row in rejected.head(shown).itertuples(index=False):
        report(f"Left out record {row.record} (line {row.line}, id {row.id}): {row.reason}")
    if len(rejected) > shown:
        report(f"... and {len(rejected) - shown:,} more records left out.")
    return read, is_file
