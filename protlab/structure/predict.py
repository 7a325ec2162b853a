"""Predict secondary structure for typed sequences: a 3-state string and P(H), P(E), P(C) per residue."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import torch.nn as nn

from protlab.data.batching import TokenizedSet
from protlab.data.encoding import encode_each
from protlab.errors import CheckpointError
from protlab.models import load_checkpoint, model_vocab_size
from protlab.structure.data import SS3_CLASSES
from protlab.structure.inference import predict_residues

__all__ = ["DEFAULT_STRUCTURE_MODEL", "StructurePrediction", "StructurePredictor"]

DEFAULT_STRUCTURE_MODEL = Path(__file__).resolve().parents[2] / "assets" / "models" / "structure.pt"
_DEFAULT_CACHE: dict[tuple[str, int, int], StructurePredictor] = {}
_DEFAULT_LOCK = threading.Lock()


@dataclass
class StructurePrediction:
    """The predicted secondary structure of one protein."""

    id: str  # the protein's id (or 'query')
    sequence: str  # the cleaned sequence
    probs: np.ndarray  # (L, 3) float32 P(H), P(E), P(C) per residue

    @property
    def ss3(self) -> str:
        """One letter per residue: the most likely state (H helix, E strand, C coil)."""
        return "".join(SS3_CLASSES[i] for i in self.probs.argmax(axis=1))

    def aligned(self, width: int = 60, group: int = 10) -> str:
        """The sequence with its states under it, `width` residues a line in groups of `group`, each line
        starting with its first residue's position (as structure predictors print their output)."""
        if width < 1 or group < 1:
            raise ValueError(f"width and group must be positive; got {width} and {group}.")
        digits = len(str(max(1, len(self.sequence))))

        def spaced(line: str) -> str:
            return " ".join(line[i : i + group] for i in range(0, len(line), group))

        blocks = []
        for start in range(0, len(self.sequence), width):
            residues, states = self.sequence[start : start + width], self.ss3[start : start + width]
            blocks.append(f"{start + 1:>{digits}} {spaced(residues)}\n{'':>{digits}} {spaced(states)}")
        return "\n\n".join(blocks)

    def table(self) -> pd.DataFrame:
        """One row per residue: position (1-based), residue, predicted state, P(H), P(E), P(C)."""
        frame = pd.DataFrame(
            {
                "position": np.arange(1, len(self.sequence) + 1),
                "residue": list(self.sequence),
                "ss3": list(self.ss3),
            }
        )
        for i, letter in enumerate(SS3_CLASSES):
            frame[f"P({letter})"] = self.probs[:, i].astype(np.float64).round(4)
        return frame


class StructurePredictor:
    """A per-residue model ready for prediction (eval mode, CPU) with what its checkpoint said about it."""

    def __init__(self, model: nn.Module, meta: Mapping[str, Any] | None = None):
        if not getattr(model, "per_residue", False):
            raise CheckpointError(
                f"This checkpoint holds a {type(model).__name__}, which gives one answer per protein; "
                "secondary structure needs a per-residue model (trained on the Per-residue prediction page)."
            )
        self.model = model.eval()
        self.meta = dict(meta or {})  # kind, metrics, data_summary, history ... from the checkpoint
        self.vocab_size = model_vocab_size(model)

    @classmethod
    def from_checkpoint(cls, source: str | Path | bytes | IO[bytes]) -> StructurePredictor:
        """Load a per-residue ProtLab checkpoint (path, bytes or binary file)."""
        loaded = load_checkpoint(source)
        return cls(loaded.model, loaded.meta)

    @classmethod
    def default(cls) -> StructurePredictor:
        """The bundled structure model (loaded once per file version and reused)."""
        path = DEFAULT_STRUCTURE_MODEL
        if not path.is_file():
            raise CheckpointError(
                f"The bundled structure model {path} is missing; rebuild it with "
                "`python -m protlab.structure --out assets/models/structure.pt`."
            )
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with _DEFAULT_LOCK:
            if key not in _DEFAULT_CACHE:
                _DEFAULT_CACHE.clear()
                _DEFAULT_CACHE[key] = cls.from_checkpoint(path)
            return _DEFAULT_CACHE[key]

    def predict(
        self, sequences: Sequence[str], ids: Sequence[str] | None = None
    ) -> list[StructurePrediction]:
        """Per-residue predictions for cleaned sequences, batched by length, in the given order."""
        encoded = encode_each(sequences, vocab_size=self.vocab_size)
        if not encoded:
            return []
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))  # (N,)
        data = TokenizedSet.from_codes(np.concatenate(encoded), lengths, vocab_size=self.vocab_size)
        probs = predict_residues(self.model, data, device="cpu").probs
        ids = list(ids) if ids is not None else [f"seq{i + 1}" for i in range(len(encoded))]
        return [StructurePrediction(i, s, p) for i, s, p in zip(ids, sequences, probs)]

    def predict_one(self, sequence: str, name: str = "query") -> StructurePrediction:
        """The prediction for one cleaned sequence."""
        return self.predict([sequence], [name])[0]

    def predict_table(self, records: Sequence[Any]) -> pd.DataFrame:
        """id, sequence, ss3 for cleaned records (objects with .id and .sequence)."""
        predictions = self.predict([r.sequence for r in records], [r.id for r in records])
        return pd.DataFrame(
            {
                "id": [p.id for p in predictions],
                "sequence": [p.sequence for p in predictions],
                "ss3": [p.ss3 for p in predictions],
            }
        )
