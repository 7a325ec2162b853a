"""ProtLab: protein machine learning for the classroom, without a user interface."""

from protlab.alphabet import AMINO_ACIDS, PAD_INDEX, UNKNOWN_INDEX, VOCAB_SIZE
from protlab.errors import (
    CheckpointError,
    ConfigError,
    DataFormatError,
    InvalidSequenceError,
    ProtlabError,
    RunError,
    TrainingDivergedError,
)

__version__ = "0.1.0"

__all__ = [
    "AMINO_ACIDS",
    "PAD_INDEX",
    "UNKNOWN_INDEX",
    "VOCAB_SIZE",
    "CheckpointError",
    "ConfigError",
    "DataFormatError",
    "InvalidSequenceError",
    "ProtlabError",
    "RunError",
    "TrainingDivergedError",
]
