"""What a bias-variance sweep shows, in words read from its own final losses (never a fixed claim)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from protlab.lessons.bias_variance import mark_regions


def _change(before: float, after: float, tol: float) -> str:
    """'falls', 'rises' or 'flat': how a loss moves, differences within tol counting as flat."""
    if after < before - tol:
        return "falls"
    if after > before + tol:
        return "rises"
    return "flat"


def _ordered(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows with both final losses, sorted by the swept column."""
    rows = table.dropna(subset=["train_loss", "val_loss"]).sort_values(column)
    return rows[np.isfinite(rows["train_loss"]) & np.isfinite(rows["val_loss"])]


def data_reading(table: pd.DataFrame, column: str = "n_train") -> list[str]:
    """Sentences on how validation loss and the gap move as the training set grows, from these rows."""
    rows = _ordered(table, column)
    if len(rows) < 2:
        return []
    first, last = rows.iloc[0], rows.iloc[-1]
    tol = mark_regions(rows["train_loss"], rows["val_loss"]).tolerance
    x0, x1, v0, v1 = int(first[column]), int(last[column]), first["val_loss"], last["val_loss"]
    val = _change(v0, v1, tol)
    if val == "falls":
        lines = [
            f"Validation loss falls from {v0:.3f} ({x0:,} proteins) to {v1:.3f} ({x1:,}): more data helped."
        ]
    elif val == "rises":
        lines = [
            f"Here validation loss is lower with {x0:,} training proteins ({v0:.3f}) than with {x1:,} "
            f"({v1:.3f}): in this sweep more data did not help. With this few proteins and epochs, which "
            "proteins land in each set matters as much as how many; a larger sweep usually shows validation "
            "loss falling as data grows."
        ]
    else:
        lines = [
            f"Validation loss hardly changes from {x0:,} to {x1:,} training proteins ({v0:.3f} and {v1:.3f}, "
            f"within {tol:.3f} of each other, the noise level here): more data did not change it."
        ]
    g0, g1 = first["gap"], last["gap"]
    gap = _change(g0, g1, tol)
    if gap == "falls":
        lines.append(
            f"The gap (validation minus training) narrows from {g0:+.3f} to {g1:+.3f}: less variance."
        )
    elif gap == "rises":
        lines.append(f"The gap (validation minus training) widens from {g0:+.3f} to {g1:+.3f}.")
    else:
        lines.append(f"The gap (validation minus training) stays about the same ({g0:+.3f} and {g1:+.3f}).")
    return lines


def size_reading(table: pd.DataFrame, column: str = "width") -> list[str]:
    """Sentences on how training and validation loss move as the model grows, from these rows."""
    rows = _ordered(table, column)
    if len(rows) < 2:
        return []
    regions = mark_regions(rows["train_loss"], rows["val_loss"])
    tol, values = regions.tolerance, rows[column].astype(int).tolist()
    t0, t1 = rows["train_loss"].iloc[0], rows["train_loss"].iloc[-1]
    train = _change(t0, t1, tol)
    words = {"falls": "falls", "rises": "rises", "flat": "hardly changes"}[train]
    lines = [f"Training loss {words} from width {values[0]:,} ({t0:.3f}) to width {values[-1]:,} ({t1:.3f})."]
    best = regions.best
    if best == len(values) - 1:
        lines.append("Validation loss is lowest at the largest width: no over-fitting yet at this data size.")
    elif best == 0:
        lines.append(
            f"Validation loss is lowest at the smallest width ({values[0]:,}): the bigger models over-fit "
            "these training proteins."
        )
    else:
        lines.append(
            f"Validation loss is lowest in between, at width {values[best]:,}: smaller models under-fit, "
            "larger ones start to over-fit."
        )
    return lines


def negative_gap_note(table: pd.DataFrame) -> str:
    """Why validation loss can sit below training loss, when a finished point shows it ('' otherwise)."""
    rows = _ordered(table, "n_train")
    below = rows[rows["gap"] < 0]
    if below.empty:
        return ""
    row = below.loc[below["gap"].idxmin()]
    return (
        f"Validation loss below training loss (gap {row['gap']:+.3f} at width {int(row['width']):,}, "
        f"{int(row['n_train']):,} proteins) is not an error: the training loss is the mean over the epoch's "
        "batches while the weights were still changing, whereas validation is scored once with the final "
        "weights; with small sets the validation proteins can also simply be easier."
    )
