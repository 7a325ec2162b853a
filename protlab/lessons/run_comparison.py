"""Several runs side by side: their curves overlaid on one chart, and one table row per run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from protlab.lessons.result_style import METRIC_NAMES, _epoch_axis, _layout


def runs_overlay(
    histories: Mapping[str, pd.DataFrame], *, metric: str = "loss", title: str | None = None
) -> go.Figure:
    """Several runs on one chart, one colour per run: training (dashed) and validation (solid) loss,
    or one validation metric per epoch when metric is e.g. 'auc'."""
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    fig = go.Figure()
    for i, (name, history) in enumerate(histories.items()):
        colour = palette[i % len(palette)]
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
                line={"color": colour},
                legendgroup=name,
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


def runs_table(
    records: Mapping[str, Mapping[str, Any]], histories: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """One row per run to compare: settings, epochs run, best validation loss and AUC, test AUC and MCC."""
    rows = []
    for name, record in records.items():
        train = dict(record.get("spec", {}).get("train_config", {}))
        history = histories.get(name, pd.DataFrame())
        test = dict(record.get("test_metrics") or {})
        best = history.loc[history["val_loss"].idxmin()] if "val_loss" in history and len(history) else {}
        rows.append(
            {
                "run": name,
                "optimizer": train.get("optimizer"),
                "learning rate": train.get("lr"),
                "weight decay": train.get("weight_decay"),
                "epochs run": len(history),
                "best val loss": best.get("val_loss") if len(best) else None,
                "val AUC at best": best.get("val_auc") if len(best) else None,
                "test AUC": test.get("auc"),
                "test MCC": test.get("mcc"),
            }
        )
    return pd.DataFrame(rows)
