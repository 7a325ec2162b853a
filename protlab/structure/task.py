"""The lesson's experiment: which proteins train, validate and test a per-residue model, and how it is scored.

CB513 is split at random into training and validation proteins; TS115 without its two CB513 relatives is the
test set. The three are kept as one ResidueData (CB513 first, TS115 after) with a protlab Split of row
indices, so a run tokenises once and takes subsets, exactly as the solubility runs do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from protlab.data.batching import TokenizedSet
from protlab.data.splits import Split
from protlab.structure.data import (
    RELATED_TEST_IDS,
    SS3_CLASSES,
    ResidueData,
    load_bundled_structure,
    structure_split,
    tokenize_structure,
)
from protlab.structure.inference import ResidueInference, predict_residues
from protlab.structure.metrics import majority_q3

__all__ = [
    "DEFAULT_VAL_FRACTION",
    "STRUCTURE_TASK",
    "prepare_structure",
    "score_structure",
    "structure_predictions",
    "structure_task_data",
]

DEFAULT_VAL_FRACTION = 0.1  # share of CB513 proteins held out for validation (model choice, early stopping)
STRUCTURE_TASK = "secondary_structure"  # RunSpec.task of per-residue runs (protlab.runs dispatches on it)


def structure_task_data(
    *, val_fraction: float = DEFAULT_VAL_FRACTION, seed: int = 42
) -> tuple[ResidueData, Split]:
    """CB513 (random train / validation proteins) followed by TS115 minus RELATED_TEST_IDS (test)."""
    cb513, ts115 = load_bundled_structure("cb513"), load_bundled_structure("ts115")
    train, val = structure_split(len(cb513), val_fraction=val_fraction, seed=seed)
    both = ResidueData(
        cb513.ids + ts115.ids,
        cb513.sequences + ts115.sequences,
        cb513.ss3 + ts115.ss3,
        cb513.resolved + ts115.resolved,
        "CB513 + TS115",
        list(cb513.notes),  # the split notes below name the TS115 proteins left out
    )
    test = np.arange(len(cb513), len(both), dtype=np.int64)
    notes = (
        f"{len(train)} CB513 proteins train and {len(val)} validate (random split, seed {seed}); the "
        f"{len(test)} TS115 proteins test, without {' and '.join(RELATED_TEST_IDS)} (relatives in CB513)."
    )
    return both, Split(train.astype(np.int64), val.astype(np.int64), test, "random proteins", notes=notes)


def score_structure(model: torch.nn.Module, test: TokenizedSet, train: TokenizedSet) -> dict:
    """Test metrics (Q3, per-class precision/recall, confusion), the all-majority baseline and predictions."""
    result = predict_residues(model, test, device="cpu")
    train_labels = train.residue_labels[:-1]  # (T_train,) int8; the trailing entry is the gather sentinel
    return {
        "test": result.metrics(),
        "baseline": majority_q3(train_labels, result.labels),
        "test_loss": result.loss,
        "inference": result,
    }


def prepare_structure(
    *,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    seed: int = 42,
) -> tuple[ResidueData, Split, dict[str, TokenizedSet]]:
    """The task's proteins, their split and the 'train' / 'val' / 'test' sets, tokenised once with labels."""
    data, split = structure_task_data(val_fraction=val_fraction, seed=seed)
    full = tokenize_structure(data)
    return data, split, {part: full.subset(getattr(split, part)) for part in ("train", "val", "test")}


def structure_predictions(test: ResidueData, inference: ResidueInference) -> pd.DataFrame:
    """One row per test protein: id, true states, resolved mask and predicted states (a letter a residue)."""
    predicted = ["".join(SS3_CLASSES[k] for k in p.argmax(axis=1)) for p in inference.probs]
    return pd.DataFrame({"id": test.ids, "ss3": test.ss3, "resolved": test.resolved, "predicted": predicted})
