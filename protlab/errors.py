"""User-facing errors: every message is a full sentence that says what was wrong and how to fix it."""

from __future__ import annotations


class ProtlabError(Exception):
    """Base class for errors caused by user input; pages and the CLI catch only these."""


class InvalidSequenceError(ProtlabError, ValueError):
    """A protein sequence that cannot be read (bad character, empty, too long)."""

    def __init__(
        self,
        message: str,
        *,
        character: str | None = None,
        position: int | None = None,
        residues: str | None = None,
    ):
        super().__init__(message)
        self.character = character  # the offending character, if any
        self.position = position  # 1-based position of that character, if any
        self.residues = residues  # the text `position` counts in (spaces and numbering gone), if known


class DataFormatError(ProtlabError, ValueError):
    """A data file (CSV or FASTA) that cannot be turned into labelled sequences."""


class MeasuredLabelsError(DataFormatError):
    """A label column of measurements (solubility in percent): usable with a cutoff, not as classes."""

    def __init__(self, message: str, *, column: str, low: float, high: float, median: float) -> None:
        super().__init__(message)
        self.column = column  # the label column's name
        self.low, self.high = low, high  # the range of its values
        self.median = median  # the cutoff to offer first: it splits the proteins in half


class ConfigError(ProtlabError, ValueError):
    """A setting outside its allowed range (training, model or layer settings)."""


class CheckpointError(ProtlabError):
    """A file that is not a loadable ProtLab checkpoint."""


class TrainingDivergedError(ProtlabError):
    """Training produced a NaN or infinite loss."""


class RunError(ProtlabError):
    """A training-run request that cannot be honoured (unknown run, one already running)."""
