"""Plotly figures of the bias-variance lab: final losses against size with the regions shaded, and the
learning curves of every sweep point side by side (built from sweep_results' table and epoch rows)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from protlab.lessons.bias_variance import Regions, mark_regions
from protlab.lessons.result_figures import FIG_HEIGHT, TRAIN_COLOUR, VAL_COLOUR
from protlab.lessons.result_style import epoch_dtick

__all__ = ["REGION_STYLE", "learning_curves_figure", "loss_vs_size_figure", "region_spans"]

# region label -> (legend text, fill colour); 'good' points are left unshaded
REGION_STYLE = {
    "under-fit": ("Under-fitting (high bias)", "rgba(255, 165, 0, 0.18)"),
    "over-fit": ("Over-fitting (high variance)", "rgba(148, 103, 189, 0.20)"),
}


def region_spans(x, labels: list[str]) -> list[tuple[str, float, float]]:
    """(label, left, right) of each run of equally labelled neighbours on a log axis (x sorted, positive).

    A span reaches halfway (in log terms) to the neighbouring points, and as far past the end points.
    """
    logs = np.log10(np.asarray(x, dtype=float))  # (P,)
    if logs.size == 1:
        return [(labels[0], logs[0] - 0.25, logs[0] + 0.25)] if labels[0] in REGION_STYLE else []
    mids = (logs[1:] + logs[:-1]) / 2  # (P-1,) boundaries between neighbours
    edges = np.concatenate([[2 * logs[0] - mids[0]], mids, [2 * logs[-1] - mids[-1]]])  # (P+1,)
    spans, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if labels[start] in REGION_STYLE:
                spans.append((labels[start], float(edges[start]), float(edges[i])))
            start = i
    return spans


def loss_vs_size_figure(
    table: pd.DataFrame, x: str, *, x_title: str, title: str
) -> tuple[go.Figure, Regions]:
    """Final training and validation loss against table[x] (log axis), regions shaded and labelled."""
    rows = table.dropna(subset=["train_loss", "val_loss"]).sort_values(x)
    regions = mark_regions(rows["train_loss"], rows["val_loss"])
    fig = go.Figure()
    for label, left, right in region_spans(rows[x], regions.labels):
        text, colour = REGION_STYLE[label]
        fig.add_vrect(x0=10**left, x1=10**right, fillcolor=colour, line_width=0, layer="below")
        fig.add_annotation(  # on a log axis an annotation's x is the log10 of the value
            x=(left + right) / 2, y=1.0, yref="paper", yanchor="top", text=text.replace(" (", "<br>("),
            showarrow=False, font={"size": 11},
        )  # fmt: skip
    hover = "%{y:.3f}<extra>%{fullData.name}</extra>"
    fig.add_scatter(
        x=rows[x], y=rows["train_loss"], name="Training loss", mode="lines+markers",
        line={"color": TRAIN_COLOUR}, hovertemplate=hover,
    )  # fmt: skip
    fig.add_scatter(
        x=rows[x], y=rows["val_loss"], name="Validation loss", mode="lines+markers",
        line={"color": VAL_COLOUR}, hovertemplate=hover,
    )  # fmt: skip
    best = rows.iloc[regions.best]
    fig.add_scatter(
        x=[best[x]], y=[best["val_loss"]], name="Lowest validation loss", mode="markers",
        marker={"symbol": "star", "size": 15, "color": "gold", "line": {"color": "black", "width": 1}},
        hovertemplate=hover,
    )  # fmt: skip
    values = rows[x].to_numpy(float)
    ends = _log_ends(values)
    fig.update_xaxes(
        type="log", range=ends, tickvals=values, ticktext=[f"{v:,.0f}" for v in values], title_text=x_title
    )
    low = float(min(rows["train_loss"].min(), rows["val_loss"].min()))
    high = float(max(rows["train_loss"].max(), rows["val_loss"].max()))
    pad = max(0.02, 0.1 * (high - low))
    fig.update_yaxes(title_text="Final loss (cross-entropy, nats)", range=[low - pad, high + 3 * pad])
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"},
        height=FIG_HEIGHT + 20,
        margin={"l": 60, "r": 20, "t": 45, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0.0},
        hovermode="x unified",
    )
    return fig, regions


def _log_ends(values) -> list[float]:
    """The x range of a log axis (in log10 units): half a neighbour spacing past both end points."""
    logs = np.log10(np.asarray(values, dtype=float))  # (P,)
    half = (logs[1] - logs[0]) / 2 if logs.size > 1 else 0.25
    last = (logs[-1] - logs[-2]) / 2 if logs.size > 1 else 0.25
    return [float(logs[0] - half), float(logs[-1] + last)]


def learning_curves_figure(table: pd.DataFrame, histories: dict[str, list[dict]]) -> go.Figure:
    """Small multiples: one panel per (share of training rows, width), training and validation loss per epoch.

    Rows are training-set sizes (smallest on top), columns model widths (smallest on the left); the y axes are
    shared so the panels can be compared at a glance.
    """
    widths = sorted(table["width"].unique())
    fractions = sorted(table["fraction"].unique())
    titles = []
    for fraction in fractions:
        for width in widths:
            row = table[(table["width"] == width) & (table["fraction"] == fraction)].iloc[0]
            titles.append(f"width {width} · {int(row['n_train'])} train")
    fig = make_subplots(
        rows=len(fractions), cols=len(widths), shared_xaxes=True, shared_yaxes=True,
        subplot_titles=titles, horizontal_spacing=0.03, vertical_spacing=0.1,
    )  # fmt: skip
    for r, fraction in enumerate(fractions, start=1):
        for c, width in enumerate(widths, start=1):
            row = table[(table["width"] == width) & (table["fraction"] == fraction)].iloc[0]
            events = histories.get(row["key"]) or []
            if not events:
                continue
            epochs = [e["epoch"] for e in events]
            first = r == 1 and c == 1
            for column, name, colour in (
                ("train_loss", "Training loss", TRAIN_COLOUR),
                ("val_loss", "Validation loss", VAL_COLOUR),
            ):
                fig.add_scatter(
                    x=epochs, y=[e[column] for e in events], name=name, mode="lines",
                    line={"color": colour, "width": 1.5}, legendgroup=name, showlegend=first,
                    row=r, col=c,
                )  # fmt: skip
    fig.update_annotations(font_size=11)
    longest = max((len(events) for events in histories.values() if events), default=1)
    fig.update_xaxes(tick0=1, dtick=epoch_dtick(longest), tickformat="d")  # whole epochs, never 1.5
    fig.update_xaxes(title_text="epoch", row=len(fractions))
    fig.update_yaxes(title_text="loss", col=1)
    fig.update_layout(
        height=max(FIG_HEIGHT, 170 * len(fractions) + 120),
        margin={"l": 55, "r": 10, "t": 40, "b": 80},
        # below the panels: above them it sat under the chart's toolbar
        legend={"orientation": "h", "yanchor": "top", "y": -60 / (170 * len(fractions)), "x": 0.0},
        hovermode="x unified",
    )
    _clip_y(fig, histories)
    return fig


def _clip_y(fig: go.Figure, histories: dict[str, list[dict]]) -> None:
    """A shared y range from the 2nd to the 98th percentile, so one early spike does not flatten the rest."""
    values = [e[c] for events in histories.values() for e in events for c in ("train_loss", "val_loss")]
    values = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(values) >= 2:
        low, high = np.percentile(values, [2, 98])
        pad = max(0.01, 0.08 * (high - low))
        fig.update_yaxes(range=[low - pad, high + pad])
