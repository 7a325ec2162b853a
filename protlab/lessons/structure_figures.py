"""Plotly figures for the Per-residue prediction lesson: data, structure strips, curves, confusion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from protlab.lessons.lesson_style import FONT, whole_tick_step

__all__ = [
    "STATE_COLOURS",
    "class_balance_figure",
    "confusion_figure",
    "length_histogram",
    "per_class_figure",
    "q3_curves",
    "structure_figure",
]

STATES = "HEC"  # class order of every per-residue model
STATE_COLOURS = {
    "H": "#d62728",
    "E": "#e6a700",
    "C": "#9e9e9e",
    "-": "#e8e8e8",
}  # helix, strand, coil, unresolved
STATE_LABELS = {"H": "helix (H)", "E": "strand (E)", "C": "coil (C)", "-": "not resolved"}
SET_COLOURS = {"train": "#1f77b4", "validation": "#ff7f0e", "test": "#2ca02c"}
_LETTERS_UP_TO = 60  # residue letters are written inside the strip only for proteins this short


def length_histogram(lengths: Mapping[str, Sequence[int]]) -> go.Figure:
    """Side-by-side histograms of protein lengths per set, as shares of each set (small sets stay visible)."""
    fig = go.Figure()
    for name, values in lengths.items():
        fig.add_trace(
            go.Histogram(
                x=list(values),
                name=f"{name} ({len(values)} proteins)",
                histnorm="percent",  # each set sums to 100 %, however many proteins it has
                xbins=dict(size=50),
                marker_color=SET_COLOURS.get(name),
                hovertemplate=f"{name}: %{{y:.1f}}% of its proteins at %{{x}} residues<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        title="Protein lengths (each set as a share of its own proteins)",
        font=FONT,
        height=340,
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(orientation="h", y=-0.25),
    )
    fig.update_xaxes(title="residues per protein")
    fig.update_yaxes(title="share of the set (%)")
    return fig


def class_balance_figure(counts: Mapping[str, Mapping[str, int]]) -> go.Figure:
    """Share of helix / strand / coil among scored residues, one bar group per set."""
    fig = go.Figure()
    for state in STATES:
        sets = list(counts)
        shares = [counts[s].get(state, 0) / max(sum(counts[s].values()), 1) for s in sets]
        fig.add_trace(
            go.Bar(
                x=sets,
                y=shares,
                name=STATE_LABELS[state],
                marker_color=STATE_COLOURS[state],
                text=[f"{v:.0%}" for v in shares],
                textposition="outside",
                hovertemplate=f"{STATE_LABELS[state]}: %{{y:.1%}} of the residues<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        title="Class balance: share of scored residues in each state",
        font=FONT,
        height=340,
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(orientation="h", y=-0.2),
    )
    fig.update_yaxes(title="share of residues", tickformat=".0%", range=[0, 0.62])
    return fig


def _strip_codes(states: str, resolved: str | None) -> np.ndarray:
    """Colour code per residue: 0 H, 1 E, 2 C, 3 not resolved.  # (L,) int64"""
    codes = np.array([STATES.index(s) for s in states], dtype=np.int64)
    if resolved is not None:
        codes[np.frombuffer(resolved.encode("ascii"), dtype=np.uint8) == ord("0")] = 3
    return codes


def _strip_colourscale() -> list:
    """A stepped colourscale that maps the codes 0..3 to the four state colours."""
    colours = [STATE_COLOURS[s] for s in "HEC-"]
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / 4, colour], [(i + 1) / 4, colour]]
    return scale


def structure_figure(
    sequence: str,
    rows: Mapping[str, str],
    *,
    resolved: str | None = None,
    probs: np.ndarray | None = None,
    title: str = "",
) -> go.Figure:
    """Coloured strips (one per entry of rows, e.g. true and predicted) and, if given, P(H/E/C) per residue.

    rows maps a row name to a state string as long as the sequence; resolved ('1'/'0' per residue) greys the
    residues that were not resolved in the true-structure rows (those whose name starts with 'true').
    """
    n = len(sequence)
    names = list(rows)
    positions = np.arange(1, n + 1)
    with_probs = probs is not None
    fig = make_subplots(
        rows=2 if with_probs else 1,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        row_heights=[0.38, 0.62] if with_probs else [1.0],
    )
    z = np.stack(
        [_strip_codes(rows[name], resolved if name.lower().startswith("true") else None) for name in names]
    )  # (R, L)
    text = np.array([list(rows[name]) for name in names]) if n <= _LETTERS_UP_TO else None
    residue_text = np.array([[f"{i + 1} {aa}" for i, aa in enumerate(sequence)]] * len(names))  # (R, L)
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=positions,
            y=names,
            zmin=-0.5,
            zmax=3.5,
            colorscale=_strip_colourscale(),
            showscale=False,
            xgap=0,
            ygap=3,
            text=text,
            texttemplate="%{text}" if text is not None else None,
            customdata=residue_text,
            hovertemplate="%{y}: residue %{customdata}, state %{z}<extra></extra>".replace("%{z}", "%{text}")
            if text is not None
            else "%{y}: residue %{customdata}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if with_probs:
        for i, state in enumerate(STATES):
            fig.add_trace(
                go.Scatter(
                    x=positions,
                    y=probs[:, i],
                    name=f"P({state})",
                    mode="lines",
                    line=dict(color=STATE_COLOURS[state], width=2),
                    hovertemplate=f"residue %{{x}}: P({state}) = %{{y:.2f}}<extra></extra>",
                ),
                row=2,
                col=1,
            )
        fig.update_yaxes(title="probability", range=[0, 1.02], row=2, col=1)
    for state in "HEC-":  # legend entries for the strip colours
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=STATE_LABELS[state],
                marker=dict(color=STATE_COLOURS[state], size=12, symbol="square"),
                showlegend=state != "-" or resolved is not None,
            ),
            row=1,
            col=1,
        )
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_xaxes(title="residue position", row=2 if with_probs else 1, col=1)
    step = whole_tick_step(n)  # whole residues: no position 1.5 on a short protein; 20, 40, ... on a long one
    fig.update_xaxes(tick0=1 if step == 1 else 0, dtick=step)
    top, bottom = (60 if title else 30), 110  # the legend sits in the bottom margin, below the axis title
    height = top + bottom + 42 * len(names) + (260 if with_probs else 0)
    fig.update_layout(
        title=title or None,
        font=FONT,
        height=height,
        margin=dict(l=90, r=20, t=top, b=bottom),
        legend=dict(orientation="h", yanchor="top", x=0, y=-70 / (height - top - bottom)),
        hovermode="closest",
    )
    return fig


def confusion_figure(cm: np.ndarray, title: str = "Confusion matrix (residues)") -> go.Figure:
    """3x3 heat-map: rows the true state, columns the predicted one; counts and the share of each true row."""
    cm = np.asarray(cm, dtype=np.int64)
    shares = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    labels = [STATE_LABELS[s] for s in STATES]
    text = [[f"{cm[i, j]:,}<br>{shares[i, j]:.0%}" for j in range(3)] for i in range(3)]
    fig = go.Figure(
        go.Heatmap(
            z=shares,
            x=labels,
            y=labels,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            text=text,
            texttemplate="%{text}",
            showscale=False,
            hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(title=title, font=FONT, height=360, margin=dict(l=110, r=20, t=50, b=60))
    fig.update_xaxes(title="predicted state", side="bottom")
    fig.update_yaxes(title="true state", autorange="reversed")
    return fig


def per_class_figure(metrics: Mapping[str, float], baseline: Mapping[str, float] | None = None) -> go.Figure:
    """Precision and recall of each state (bars), with Q3 and the majority baseline in the title."""
    fig = go.Figure()
    for kind, colour in (("precision", "#1f77b4"), ("recall", "#ff7f0e")):
        values = [metrics.get(f"{kind}_{s}", float("nan")) for s in STATES]
        fig.add_trace(
            go.Bar(
                x=[STATE_LABELS[s] for s in STATES],
                y=values,
                name=kind,
                marker_color=colour,
                text=[f"{v:.2f}" for v in values],
                textposition="outside",
            )
        )
    title = f"Q3 {metrics.get('q3', float('nan')):.3f}"
    if baseline:
        title += f" · always-{STATES[int(baseline.get('majority_class', 2))]} baseline {baseline['q3']:.3f}"
    fig.update_layout(
        barmode="group",
        title=title,
        font=FONT,
        height=340,
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(orientation="h", y=-0.2),
    )
    fig.update_yaxes(range=[0, 1.08], title="score")
    return fig


def q3_curves(history: pd.DataFrame, baseline: float | None = None) -> go.Figure:
    """Training and validation loss (left axis) and validation Q3 (right axis) per epoch."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for column, name, colour in (
        ("train_loss", "train loss", "#1f77b4"),
        ("val_loss", "validation loss", "#ff7f0e"),
    ):
        if column in history:
            fig.add_trace(
                go.Scatter(
                    x=history["epoch"],
                    y=history[column],
                    name=name,
                    mode="lines+markers",
                    line=dict(color=colour),
                ),
                secondary_y=False,
            )
    if "val_q3" in history:
        fig.add_trace(
            go.Scatter(
                x=history["epoch"],
                y=history["val_q3"],
                name="validation Q3",
                mode="lines+markers",
                line=dict(color="#2ca02c", dash="dot"),
            ),
            secondary_y=True,
        )
    if baseline is not None:
        fig.add_hline(
            y=baseline,
            line=dict(color="#9e9e9e", dash="dash"),
            secondary_y=True,
            annotation_text=f"always coil on the same proteins: Q3 {baseline:.2f}",
            annotation_position="bottom right",
        )
    fig.update_layout(
        title="Loss and Q3 per epoch",
        font=FONT,
        height=340,
        margin=dict(l=60, r=60, t=50, b=50),
        legend=dict(orientation="h", y=-0.25),
    )
    fig.update_xaxes(title="epoch", dtick=1 if len(history) <= 20 else None)
    fig.update_yaxes(title="cross-entropy per residue", secondary_y=False)
    fig.update_yaxes(
        title="Q3", range=[0.3, 0.8], tick0=0.3, dtick=0.1, tickformat=".1f", showgrid=False, secondary_y=True
    )
    return fig
