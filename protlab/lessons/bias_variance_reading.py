"""What a bias-variance sweep shows, in words read from its own final losses (never a fixed claim), and what
its "width" means: the network each run trains, read from the sweep's own model settings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from protlab.lessons.bias_variance import mark_regions, sweep_model_config

NOTES_WIDTH = 64  # the notes' hidden width (Build a network's first preset: 20 → 64 → 2)
COUNT_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}


def number_text(value: float, digits: int = 3, signed: bool = False) -> str:
    """value with `digits` decimals ('+' first when signed); never '-0.000', what rounds to 0 reads 0.000."""
    value = round(float(value), digits) + 0.0  # adding 0.0 turns -0.0 into 0.0
    return f"{value:+.{digits}f}" if signed and value != 0 else f"{value:.{digits}f}"


def _model(kind: str):  # -> the kind's config dataclass at width 1
    """The sweep's model settings of this kind, as the run system reads them."""
    from protlab.models import make_config

    return make_config(kind, sweep_model_config(kind, 1))


def sweep_shape(kind: str, width: int | str = "w") -> str:
    """The network of one width as a chain: '20 → 64 → 64 → 2' (MLP), '16 → 64 filters → 2' (CNN)."""
    cfg, w = _model(kind), width if isinstance(width, str) else f"{width:,}"
    if kind == "mlp":
        return " → ".join([str(cfg.input_dim), *[w] * len(cfg.layers), str(cfg.num_classes)])
    return " → ".join([str(cfg.embed_dim), *[f"{w} filters"] * cfg.num_layers, str(cfg.num_classes)])


def _layers(n: int, what: str) -> str:
    """'two hidden layers', 'one convolution layer', ..."""
    return f"{COUNT_WORDS.get(n, n)} {what} layer{'s' if n != 1 else ''}"


def architecture_note(kind: str) -> str:
    """What 'width w' means in this sweep, with the notes' one-layer network set beside it for the MLP."""
    from protlab.models import LayerSpec, MLPConfig, mlp_parameter_count

    cfg = _model(kind)
    if kind != "mlp":
        return (
            f"Every run trains the notes' 1D-CNN with **{_layers(cfg.num_layers, 'convolution')} of w "
            f"filters** (kernel {cfg.kernel_size}) over {cfg.embed_dim}-number residue embeddings, averaged "
            f"over the protein, then a linear layer: {sweep_shape(kind)}."
        )
    n, w = len(cfg.layers), NOTES_WIDTH
    here = mlp_parameter_count(MLPConfig(cfg.input_dim, [LayerSpec(w)] * n, cfg.num_classes))
    notes = mlp_parameter_count(MLPConfig(cfg.input_dim, [LayerSpec(w)], cfg.num_classes))
    return (
        f"Every run trains a composition MLP with **{_layers(n, 'hidden')} of width w**: {sweep_shape(kind)} "
        f"({cfg.input_dim} amino-acid fractions in, {cfg.num_classes} classes out). For comparison, at the "
        f"notes' width of {w}, whether or not this sweep tries it, the network is "
        f"{sweep_shape(kind, w)} with {here:,} parameters, one hidden layer more than the notes' "
        f"{cfg.input_dim} → {w} → {cfg.num_classes} on Build a network ({notes:,} parameters)."
    )


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
    gap = _change(first["gap"], last["gap"], tol)
    g0, g1 = number_text(first["gap"], signed=True), number_text(last["gap"], signed=True)
    if gap == "falls":
        lines.append(f"The gap (validation minus training) narrows from {g0} to {g1}: less variance.")
    elif gap == "rises":
        lines.append(f"The gap (validation minus training) widens from {g0} to {g1}.")
    else:
        lines.append(f"The gap (validation minus training) stays about the same ({g0} and {g1}).")
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
    below = rows[[number_text(g).startswith("-") for g in rows["gap"]]]  # below zero as shown, not -0.000
    if below.empty:
        return ""
    row = below.loc[below["gap"].idxmin()]
    return (
        f"Validation loss below training loss (gap {number_text(row['gap'])} at width {int(row['width']):,}, "
        f"{int(row['n_train']):,} proteins) is not an error: the training loss is the mean over the epoch's "
        "batches while the weights were still changing, whereas validation is scored once with the final "
        "weights; with small sets the validation proteins can also simply be easier."
    )
