"""Per-residue secondary-structure data: read and check the CSVs, split them, tokenise with residue labels.

A file has one protein per row: `id`, `sequence`, `ss3` (one of H, E, C per residue) and `resolved` (1 where
the residue was seen in the structure, 0 where it was not), each label string exactly as long as its
sequence; an `ss8` column may be present and is ignored. Unresolved residues keep their sequence letter
(the model reads them) but get IGNORE_INDEX as label, so no loss or metric ever counts them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from protlab.alphabet import AMBIGUOUS_LETTERS, AMINO_ACIDS, VOCAB_SIZE
from protlab.data.batching import IGNORE_INDEX, TokenizedSet
from protlab.data.file_text import Source, decode_text, read_source
from protlab.errors import ConfigError, DataFormatError

__all__ = [
    "RELATED_TEST_IDS",
    "SS3_CLASSES",
    "SS3_NAMES",
    "STRUCTURE_DATA_DIR",
    "ResidueData",
    "load_bundled_structure",
    "load_structure_csv",
    "residue_labels",
    "structure_split",
    "tokenize_structure",
]

SS3_CLASSES = "HEC"  # class index -> letter: 0 helix, 1 strand, 2 coil
SS3_NAMES = {"H": "helix", "E": "strand", "C": "coil"}  # letter -> plain name
STRUCTURE_DATA_DIR = Path(__file__).resolve().parents[2] / "assets" / "structure"  # cb513.csv, ts115.csv
# TS115 proteins with a CB513 relative (>= 30% identity over >= 80% of both sequences): not in test figures
RELATED_TEST_IDS = ("TS115_4", "TS115_41")
_BUNDLED = {"cb513": "cb513.csv", "ts115": "ts115.csv"}  # bundled set name -> file in STRUCTURE_DATA_DIR
_REQUIRED = ("id", "sequence", "ss3", "resolved")  # columns every structure CSV needs
_SEQUENCE = re.compile(f"[{AMINO_ACIDS}{AMBIGUOUS_LETTERS}]+")  # one-letter codes, uppercase
_SS3 = re.compile(f"[{SS3_CLASSES}]+")
_RESOLVED = re.compile("[01]+")
_LETTER_TO_CLASS = np.full(256, -1, dtype=np.int64)  # byte -> class index (-1: not a 3-state letter)
_LETTER_TO_CLASS[[ord(c) for c in SS3_CLASSES]] = np.arange(len(SS3_CLASSES))


@dataclass
class ResidueData:
    """Proteins with one secondary-structure label per residue and a resolved mask."""

    ids: list[str]  # protein ids, unique
    sequences: list[str]  # one-letter codes, uppercase (X, Z, U ... read as unknown)
    ss3: list[str]  # H / E / C per residue, as long as the sequence
    resolved: list[str]  # '1' / '0' per residue: '0' residues are never scored
    source: str = ""  # where the proteins came from, for messages and run summaries
    notes: list[str] = field(default_factory=list)  # what loading changed (duplicates dropped, ...)

    def __len__(self) -> int:
        """Number of proteins."""
        return len(self.sequences)

    @property
    def lengths(self) -> np.ndarray:
        """Residues per protein.  # (N,) int64"""
        return np.fromiter((len(s) for s in self.sequences), dtype=np.int64, count=len(self))

    @property
    def n_residues(self) -> int:
        """All residues, resolved or not."""
        return int(self.lengths.sum())

    @property
    def n_scored(self) -> int:
        """Residues that count in the loss and the metrics (resolved ones)."""
        return sum(r.count("1") for r in self.resolved)

    def subset(self, indices: np.ndarray | list[int]) -> ResidueData:
        """The proteins at `indices`, in that order."""
        idx = [int(i) for i in indices]
        return ResidueData(
            [self.ids[i] for i in idx],
            [self.sequences[i] for i in idx],
            [self.ss3[i] for i in idx],
            [self.resolved[i] for i in idx],
            self.source,
            list(self.notes),
        )

    def without(self, ids: tuple[str, ...] | list[str]) -> ResidueData:
        """The same proteins minus those whose id is in `ids`."""
        drop = set(ids)
        return self.subset([i for i, name in enumerate(self.ids) if name not in drop])

    def class_counts(self) -> dict[str, int]:
        """Scored residues per class letter, e.g. {'H': 49006, 'E': 31921, 'C': 59559}."""
        labels = residue_labels(self)
        counts = np.bincount(labels[labels >= 0], minlength=len(SS3_CLASSES))
        return {letter: int(counts[i]) for i, letter in enumerate(SS3_CLASSES)}

    def frame(self) -> pd.DataFrame:
        """One row per protein: id, length, scored residues and the fraction of each class."""
        rows = []
        for name, seq, ss3, res in zip(self.ids, self.sequences, self.ss3, self.resolved):
            scored = [s for s, r in zip(ss3, res) if r == "1"]
            n = max(len(scored), 1)
            rows.append(
                {
                    "id": name,
                    "length": len(seq),
                    "scored": len(scored),
                    **{f"frac_{c}": scored.count(c) / n for c in SS3_CLASSES},
                }
            )
        return pd.DataFrame(rows, columns=["id", "length", "scored", *[f"frac_{c}" for c in SS3_CLASSES]])


def _row_problem(row: int, name: str, seq: str, ss3: str, resolved: str) -> str | None:
    """The first thing wrong with one protein row, as a sentence naming file line and id; None if fine."""
    where = f"Line {row} (id {name!r})"
    if not seq:
        return f"{where} has an empty sequence; every row needs a protein sequence."
    if not _SEQUENCE.fullmatch(seq):
        bad = next(c for c in seq if not _SEQUENCE.fullmatch(c))
        return (
            f"{where}: the sequence contains {bad!r}, which is not an uppercase one-letter amino-acid code "
            f"({AMINO_ACIDS}, or {AMBIGUOUS_LETTERS} for unknown residues)."
        )
    for column, value, pattern, allowed in (
        ("ss3", ss3, _SS3, "H, E or C"),
        ("resolved", resolved, _RESOLVED, "1 or 0"),
    ):
        if len(value) != len(seq):
            return (
                f"{where}: {column} has {len(value)} characters but the sequence has {len(seq)} residues; "
                "the labels must give exactly one character per residue."
            )
        if not pattern.fullmatch(value):
            bad = next(c for c in value if not pattern.fullmatch(c))
            return f"{where}: {column} contains {bad!r}; each character must be {allowed}."
    if "1" not in resolved:
        return f"{where} has no resolved residue (resolved is all 0), so nothing in it could be scored."
    return None


def _read_table(source: Source, filename: str | None) -> tuple[pd.DataFrame, str]:
    """The CSV as strings with lower-case column names; (table, display name)."""
    data, name = read_source(source, filename)
    text, _ = decode_text(data, name, wanted=f"CSV (comma-separated, with columns {', '.join(_REQUIRED)})")
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataFormatError(f"The file '{name}' is not a readable CSV table ({err}).") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in _REQUIRED if c not in table.columns]
    if missing:
        raise DataFormatError(
            f"The file '{name}' lacks the column(s) {missing}; a secondary-structure CSV needs the columns "
            f"{list(_REQUIRED)} (its columns are {list(table.columns)})."
        )
    if table.empty:
        raise DataFormatError(f"The file '{name}' has a header but no proteins; add one row per protein.")
    return table, name


def load_structure_csv(source: Source, filename: str | None = None) -> ResidueData:
    """Read and check a per-residue CSV (id, sequence, ss3, resolved); exact duplicate rows are dropped once.

    Raises DataFormatError naming the file line for the first misaligned or unreadable row.
    """
    table, name = _read_table(source, filename)
    cols = [table[c].str.strip() for c in _REQUIRED]
    seen: dict[tuple[str, str, str], str] = {}
    kept: list[tuple[str, str, str, str]] = []
    ids: set[str] = set()
    for row, (pid, seq, ss3, res) in enumerate(zip(*cols), start=2):
        problem = _row_problem(row, pid, seq, ss3, res)
        if problem:
            raise DataFormatError(f"{name}: {problem}")
        if pid in ids:
            raise DataFormatError(
                f"{name}: line {row} repeats the id {pid!r}; every protein needs its own id."
            )
        ids.add(pid)
        if (seq, ss3, res) in seen:
            continue  # the same protein with the same labels again: counting it twice would only weight it
        seen[(seq, ss3, res)] = pid
        kept.append((pid, seq, ss3, res))
    notes = []
    if len(kept) < len(table):
        notes.append(
            f"{len(table) - len(kept)} rows repeat another row's sequence and labels exactly; "
            "each was kept once."
        )
    pids, seqs, ss3s, ress = (list(column) for column in zip(*kept))
    return ResidueData(pids, seqs, ss3s, ress, name, notes)


def load_bundled_structure(name: str, *, drop_related: bool = True) -> ResidueData:
    """The bundled 'cb513' (training/validation) or 'ts115' (test) set; TS115 drops RELATED_TEST_IDS."""
    if name not in _BUNDLED:
        raise ConfigError(f"name must be one of {sorted(_BUNDLED)}; got {name!r}.")
    path = STRUCTURE_DATA_DIR / _BUNDLED[name]
    if not path.is_file():
        raise DataFormatError(f"The bundled structure file {path} is missing; reinstall ProtLab's assets.")
    data = load_structure_csv(path)
    if name == "ts115" and drop_related:
        data = data.without(RELATED_TEST_IDS)
        data.notes.append(f"Left out {', '.join(RELATED_TEST_IDS)}: each has a relative in CB513.")
    data.source = name.upper()
    return data


def residue_labels(data: ResidueData) -> np.ndarray:
    """Class index of every residue, proteins back to back; IGNORE_INDEX where unresolved.  # (T,) int64"""
    ss3 = np.frombuffer("".join(data.ss3).encode("ascii"), dtype=np.uint8)  # (T,)
    resolved = np.frombuffer("".join(data.resolved).encode("ascii"), dtype=np.uint8) == ord("1")  # (T,) bool
    return np.where(resolved, _LETTER_TO_CLASS[ss3], IGNORE_INDEX)


def tokenize_structure(
    data: ResidueData, *, vocab_size: int = VOCAB_SIZE, max_length: int = 100_000
) -> TokenizedSet:
    """Tokenise once with per-residue labels (make_batch gives (B, L) labels, IGNORE_INDEX where unscored)."""
    return TokenizedSet.from_sequences(
        data.sequences, vocab_size=vocab_size, max_length=max_length, residue_labels=residue_labels(data)
    )


def structure_split(n: int, *, val_fraction: float = 0.1, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Random protein-level split of n proteins into (train, val) index arrays, reproducible by seed."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ConfigError(f"A split needs at least 2 proteins; got {n!r}.")
    if (
        isinstance(val_fraction, bool)
        or not isinstance(val_fraction, (int, float))
        or not 0 < val_fraction < 1
    ):
        raise ConfigError(
            f"val_fraction must be a number between 0 and 1 (for example 0.1); got {val_fraction!r}."
        )
    n_val = min(max(1, round(n * val_fraction)), n - 1)
    order = np.random.default_rng(seed).permutation(n)  # (n,)
    return np.sort(order[n_val:]), np.sort(order[:n_val])
