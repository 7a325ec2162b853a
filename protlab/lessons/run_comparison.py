"""Several runs side by side: their curves overlaid on one chart, and one table row per run."""

from __future__ import annotations

from collections.abc import Mapping
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
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0.0},
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )
    longest = max(histories.values(), key=len, default=pd.DataFrame())
    _epoch_axis(fig, longest)
    return fig


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
