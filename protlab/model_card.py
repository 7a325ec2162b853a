"""The JSON model card written beside a recipe's checkpoint: what was trained, on what split, how well."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from protlab.files import atomic_write

if TYPE_CHECKING:
    from protlab.recipe_book import Recipe

__all__ = ["CALIBRATION_BINS", "write_card"]

CALIBRATION_BINS = 10  # equal-width P(soluble) bins of the model card's reliability table


def write_card(
    path: Path,
    recipe: Recipe,
    model: torch.nn.Module,
    metrics: dict,
    summary: dict,
    extra: dict,
    notes: dict | None = None,
    split_settings: dict | None = None,
) -> Path:
    """Write the JSON model card that travels with a checkpoint (atomically)."""
    card = {
        "name": recipe.name,
        "description": recipe.description,
        "architecture": {
            "members": [asdict(m) for m in recipe.members()],
            "parameters": int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
        },
        "training": {"settings": recipe.train, "seconds": extra["training_seconds"]},
        "data": summary,
        "split": {
            "method": recipe.split,
            "seed": recipe.split_seed,
            **(split_settings or {}),
            "leak_check": extra["leak_check"],
            "held_out_rows": extra["held_out_rows"],
        },
        "threshold": extra["threshold"],
        "metrics": metrics,
        "calibration": {
            "bins": extra["calibration"],
            "brier": metrics["test_ci"]["brier"]["value"],
            "note": f"Held-out test proteins in {CALIBRATION_BINS} equal-width bins of predicted P(soluble): "
            "mean_p is the mean prediction, observed the fraction actually soluble.",
        },
        "date": _dt.date.today().isoformat(),
        "command": f"python -m protlab train <data.csv> --recipe {recipe.name} --out <model.pt>",
        **(notes or {}),
    }
    return atomic_write(path, json.dumps(card, indent=1, default=float) + "\n")
