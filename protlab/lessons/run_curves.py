"""One run's curves per epoch: its epoch events as a table, loss, validation metrics and learning rate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from protlab.lessons.result_style import (
    METRIC_COLOURS,
    METRIC_NAMES,
    TRAIN_COLOUR,
    VAL_COLOUR,
    VAL_METRICS,
    _epoch_axis,
    _layout,
    log_ticks,
)


def _event_row(event: Any) -> dict[str, Any]:
    """Flatten one epoch event (dataclass or dict) into a row with val_<metric> columns."""
    row = dict(asdict(event) if is_dataclass(event) else event)
    for name, value in dict(row.pop("val_metrics", None) or {}).items():
        row.setdefault(f"val_{name}", value)
    return row


def history_frame(events: Sequence[Any]) -> pd.DataFrame:
    """Turn a run's per-epoch events (EpochEvent objects or dicts) into one row per epoch."""
    rows = [_event_row(e) for e in events]
    rows = [r for r in rows if "train_loss" in r and "epoch" in r]  # keep epoch events, drop batch events
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["epoch", "train_loss", "val_loss", "lr"])
    return frame.drop_duplicates("epoch", keep="last").sort_values("epoch").reset_index(drop=True)


def loss_curves(history: pd.DataFrame, *, title: str = "Loss per epoch") -> go.Figure:
    """Training and validation loss against epoch; the best validation epoch is marked."""
    fig = go.Figure()
    if not history.empty:
        fig.add_scatter(
            x=history["epoch"],
            y=history["train_loss"],
            name="Training loss",
            mode="lines+markers",
            line={"color": TRAIN_COLOUR},
        )
        if "val_loss" in history:
            fig.add_scatter(
                x=history["epoch"],
                y=history["val_loss"],
                name="Validation loss",
                mode="lines+markers",
                line={"color": VAL_COLOUR},
            )
            best = history.loc[history["val_loss"].idxmin()]
            fig.add_scatter(
                x=[best["epoch"]],
                y=[best["val_loss"]],
                name="Best validation epoch",
                mode="markers",
                marker={
                    "symbol": "star",
                    "size": 14,
                    "color": "gold",
                    "line": {"color": "black", "width": 1},
                },
            )
    _epoch_axis(fig, history)
    mark_best_epoch(fig, history)
    return _layout(fig, title, "Epoch", "Cross-entropy loss (nats)")


MCC_AXIS = "y2"  # MCC (-1 to 1) gets its own lower panel; AUC and accuracy (0 to 1) share the upper one


def best_epoch(history: pd.DataFrame) -> int | None:
    """The epoch with the lowest validation loss (the weights a run keeps), or None without validation."""
    if "val_loss" not in history or history["val_loss"].dropna().empty:
        return None
    return int(history.loc[history["val_loss"].idxmin(), "epoch"])


def mark_best_epoch(fig: go.Figure, history: pd.DataFrame) -> go.Figure:
    """A dotted vertical line, labelled 'best epoch', through every panel at the lowest validation loss."""
    best = best_epoch(history)
    if best is not None:
        fig.add_shape(
            type="line",
            x0=best,
            x1=best,
            y0=0,
            y1=1,
            xref="x",
            yref="paper",
            line={"dash": "dot", "color": "grey"},
        )
        fig.add_annotation(
            x=best,
            y=1,
            xref="x",
            yref="paper",
            text=f"best epoch ({best})",
            showarrow=False,
            yanchor="bottom",
        )
    return fig


def metric_curves(
    history: pd.DataFrame,
    metrics: Sequence[str] = VAL_METRICS,
    *,
    title: str = "Validation metrics per epoch",
) -> go.Figure:
    """Validation metrics per epoch: AUC and accuracy (0 to 1) above, MCC (-1 to 1) in a panel below.

    The figure's layout.meta['metric_axes'] names the y axis of each metric, so reference lines land beside
    their curve (add_reference_lines reads it).
    """
    fig = go.Figure()
    split = "mcc" in metrics and len(metrics) > 1
    axes = {name: (MCC_AXIS if split and name == "mcc" else "y") for name in metrics}
    for name in metrics:
        column = f"val_{name}"
        if column in history:
            fig.add_scatter(
                x=history["epoch"],
                y=history[column],
                name=METRIC_NAMES.get(name, name),
                mode="lines+markers",
                line={"color": METRIC_COLOURS.get(name)},
                yaxis=axes[name],
            )
    _epoch_axis(fig, history)
    mark_best_epoch(fig, history)
    if not split:
        fig.update_yaxes(range=[-0.05 if "mcc" not in metrics else -1.02, 1.02])
        return _layout(fig, title, "Epoch", "Score (MCC from -1 to 1, others 0 to 1)")
    _layout(fig, title, "Epoch", "AUC, accuracy")  # short: the title runs along its panel's height only
    fig.update_layout(
        meta={"metric_axes": axes},
        hovermode="x",  # one unified box would mix the two panels' scales
        yaxis={"domain": [0.46, 1.0], "range": [-0.05, 1.02]},
        yaxis2={
            "domain": [0.0, 0.3],
            "range": [-1.05, 1.05],
            "anchor": "x",
            "title": {"text": "MCC"},
            "tickvals": [-1, 0, 1],
        },
        xaxis={"anchor": "y2"},
    )
    return fig


def lr_curve(history: pd.DataFrame, *, title: str = "Learning rate per epoch") -> go.Figure:
    """The optimizer's learning rate at the end of each epoch, on a log scale."""
    fig = go.Figure()
    if "lr" in history and not history.empty:
        fig.add_scatter(
            x=history["epoch"],
            y=history["lr"],
            name="Learning rate",
            mode="lines+markers",
            line={"color": "#7570b3", "shape": "hv"},
        )
        rates = history["lr"].astype(float)
        rates = rates[rates > 0]
        if len(rates):
            low, high = float(rates.min()), float(rates.max())
            low, high = min(low, high / 3.2), max(high, low * 3.2)  # a flat schedule still gets half a decade
            values, labels = log_ticks(low / 1.25, high * 1.25)
            fig.update_yaxes(
                range=[math.log10(low / 1.25), math.log10(high * 1.25)], tickvals=values, ticktext=labels
            )
    fig.update_yaxes(type="log")
    _epoch_axis(fig, history)
    return _layout(fig, title, "Epoch", "Learning rate (log scale)")


def validation_below_training(history: pd.DataFrame) -> bool:
    """True when the last epoch's validation loss is below its training loss (which surprises students)."""
    if history.empty or not {"train_loss", "val_loss"} <= set(history.columns):
        return False
    last = history.iloc[-1]
    return bool(
        pd.notna(last["val_loss"]) and pd.notna(last["train_loss"]) and last["val_loss"] < last["train_loss"]
    )
