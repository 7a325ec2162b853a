"""Several runs side by side: their curves overlaid on one chart, and one table row per run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from protlab.lessons.lesson_style import PATH_DASHES, PATH_SYMBOLS
from protlab.lessons.result_style import METRIC_NAMES, _epoch_axis, _layout

# one colour per run, in order
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
# the settings a student can change, as (column, path in a run's spec summary), in table order; the model's
# own settings (embed_dim, dropout, ...) and the split's (identity, ...) follow under their names
SETTINGS = (
    ("model", ("model_kind",)),
    ("data", ("data",)),
    ("split", ("split_method",)),
    ("optimizer", ("train_config", "optimizer")),
    ("learning rate", ("train_config", "lr")),
    ("weight decay", ("train_config", "weight_decay")),
    ("momentum", ("train_config", "momentum")),
    ("batch size", ("train_config", "batch_size")),
    ("epochs asked", ("train_config", "epochs")),
    ("patience", ("train_config", "patience")),
    ("schedule", ("train_config", "scheduler")),
    ("warm-up share", ("train_config", "warmup_fraction")),
    ("gradient clip", ("train_config", "grad_clip")),
    ("accumulation steps", ("train_config", "grad_accum_steps")),
    ("label smoothing", ("train_config", "label_smoothing")),
    ("class weighting", ("train_config", "class_weighting")),
    ("longest protein", ("train_config", "max_length")),
    ("seed", ("train_config", "seed")),
)
TEST_SET_SETTINGS = ("data", "split", "seed")  # what decides which proteins a run is tested on (with split_*)


def runs_overlay(
    histories: Mapping[str, pd.DataFrame],
    *,
    metric: str = "loss",
    title: str | None = None,
    colours: Mapping[str, str] | None = None,
) -> go.Figure:
    """Several runs on one chart, one colour per run (colours[name], else by position): training (dashed) and
    validation (solid) loss, or one validation metric per epoch when metric is e.g. 'auc'."""
    colours = colours or {}
    fig = go.Figure()
    for i, (name, history) in enumerate(histories.items()):
        colour = colours.get(name, PALETTE[i % len(PALETTE)])
        if history.empty:
            continue
        if metric == "loss":
            fig.add_scatter(
                x=history["epoch"],
                y=history["train_loss"],
                name=f"{name}: training",
                mode="lines",
                line={"color": colour, "dash": "dash"},
                legendgroup=name,
            )
        column = "val_loss" if metric == "loss" else f"val_{metric}"
        if column in history:
            fig.add_scatter(
                x=history["epoch"],
                y=history[column],
                name=f"{name}: validation",
                mode="lines+markers",
                legendgroup=name,
                **_validation_style(colour, None if metric == "loss" else (i, len(histories))),
            )
    label = METRIC_NAMES.get(metric, metric)
    if metric == "loss":
        fig = _layout(
            fig,
            title or "Compare runs: loss per epoch (dashed: training, solid: validation)",
            "Epoch",
            "Cross-entropy loss (nats)",
            height=460,
        )
    else:
        fig = _layout(fig, title or f"Compare runs: validation {label} per epoch", "Epoch", label, height=460)
        span = metric_range([h[f"val_{metric}"] for h in histories.values() if f"val_{metric}" in h], metric)
        if span is not None:  # never past what the metric can reach (one point alone autoranges to +-0.5)
            fig.update_yaxes(range=span)
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0.0},
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )
    longest = max(histories.values(), key=len, default=pd.DataFrame())
    _epoch_axis(fig, longest)
    return fig


def _validation_style(colour: str, place: tuple[int, int] | None) -> dict:
    """A run's validation curve in its colour. On a one-metric chart (place = run i of n) earlier runs are
    wider and later ones broken, each with its own marker, so runs with the same scores (e.g. MCC 0 at every
    epoch) all stay visible; on the loss chart the solid line tells validation from training."""
    if place is None:
        return {"line": {"color": colour}}
    i, n = place
    width = 2 + 2 * (n - 1 - i)  # runs drawn after this one
    return {
        "line": {"color": colour, "width": width, "dash": PATH_DASHES[i % len(PATH_DASHES)]},
        "marker": {"color": colour, "symbol": PATH_SYMBOLS[i % len(PATH_SYMBOLS)], "size": 5 + width},
    }


def metric_range(columns: Sequence[pd.Series], metric: str) -> list[float] | None:
    """A y range around the values, padded, inside the metric's limits (None when nothing is finite)."""
    low_limit, high_limit = (-1.0, 1.0) if metric == "mcc" else (0.0, 1.0)
    values = pd.concat(list(columns), ignore_index=True) if columns else pd.Series(dtype=float)
    values = pd.to_numeric(values, errors="coerce").dropna()
    if values.empty:
        return None
    low, high = float(values.min()), float(values.max())
    pad = max(0.05, 0.1 * (high - low))
    return [max(low_limit, low - pad), min(high_limit, high + pad)]


def run_settings(record: Mapping[str, Any]) -> dict[str, Any]:
    """A run's settings a student can change, by column (SETTINGS, then the split's and the model's)."""
    spec = record.get("spec") or {}
    settings = {}
    for column, path in SETTINGS:
        value: Any = spec
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        settings[column] = value
    settings.update({f"split {k}".replace("_", " "): v for k, v in (spec.get("split_params") or {}).items()})
    settings.update({k.replace("_", " "): v for k, v in (spec.get("model_config") or {}).items()})
    return settings


def compared_settings(records: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """(the settings that differ between the runs, in table order; {setting: value} the runs all share)."""
    settings = [run_settings(record) for record in records.values()]
    columns = list(dict.fromkeys(column for one in settings for column in one))
    differ = [c for c in columns if len({repr(one.get(c)) for one in settings}) > 1]
    return differ, {c: settings[0][c] for c in columns if c not in differ and settings}


def test_set_differences(records: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The settings that pick the test proteins (data, split and its settings, seed) and differ."""
    differ, _ = compared_settings(records)
    return [c for c in differ if c in TEST_SET_SETTINGS or c.startswith("split ")]


def runs_table(
    records: Mapping[str, Mapping[str, Any]], histories: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """One row per run to compare: the settings that differ between the runs, test AUC and MCC, the test set's
    size, epochs run, best validation loss and the validation AUC at that epoch."""
    differ, _ = compared_settings(records)
    rows = []
    for name, record in records.items():
        settings = run_settings(record)
        history = histories.get(name, pd.DataFrame())
        test = dict(record.get("test_metrics") or {})
        best = history.loc[history["val_loss"].idxmin()] if "val_loss" in history and len(history) else {}
        rows.append(
            {
                "run": name,
                **{column: settings.get(column) for column in differ},
                "test AUC": test.get("auc"),
                "test MCC": test.get("mcc"),
                "test proteins": test.get("n"),
                "epochs run": len(history),
                "best val loss": best.get("val_loss") if len(best) else None,
                "val AUC at best": best.get("val_auc") if len(best) else None,
            }
        )
    return pd.DataFrame(rows)


def overlapping_intervals(spans: Mapping[str, tuple[float, float]]) -> list[tuple[str, str]]:
    """The pairs of runs whose (low, high) intervals overlap, in the order the runs are given."""
    names = list(spans)
    return [
        (a, b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if spans[a][0] <= spans[b][1] and spans[b][0] <= spans[a][1]
    ]
