"""Plotly figures of a mutagenesis table: the 20 x L heat-map of changes and a per-position summary."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from protlab.alphabet import AMINO_ACIDS
from protlab.checks import IntRange
from protlab.lessons.result_figures import INSOLUBLE_COLOUR, SOLUBLE_COLOUR

if TYPE_CHECKING:
    from protlab.mutagenesis import MutationTable

MAP_WINDOW = 100  # residues one heat-map shows at once; longer proteins are viewed a window at a time
MAP_HEIGHT = 520  # pixels: 20 rows of about 22 px plus axes and colour bar
_SCALE = [[0.0, INSOLUBLE_COLOUR], [0.5, "#ffffff"], [1.0, SOLUBLE_COLOUR]]  # less soluble .. more soluble


def position_axis(start: int, stop: int) -> dict:
    """A 1-based residue axis from start to stop: ticks at start and every 10th (or every) residue, no 0."""
    step = 1 if stop - start < 30 else 10 if stop - start < 300 else 50
    ticks = sorted({start, *range(step * math.ceil(start / step), stop + 1, step)} - {0})
    return {"range": [start - 0.5, stop + 0.5], "tickvals": ticks}


def mutation_heatmap(table: MutationTable, start: int = 1, stop: int | None = None) -> go.Figure:
    """Delta P(soluble) for residues start..stop (1-based, inclusive) x 20 substitutions, wild type marked."""
    length = len(table.sequence)
    stop = min(length, start + MAP_WINDOW - 1) if stop is None else stop
    IntRange(1, length).check(start, "start")
    IntRange(start, length).check(stop, "stop")
    positions = np.arange(start, stop + 1)  # (W,) 1-based
    delta = table.delta[start - 1 : stop].T  # (20, W)
    p = table.p_soluble[start - 1 : stop].T  # (20, W)
    wild = table.sequence[start - 1 : stop]
    limit = float(max(np.abs(table.delta).max(), 1e-3))  # one colour scale for the whole protein
    names = np.array([[f"{w}{pos}{aa}" for w, pos in zip(wild, positions)] for aa in AMINO_ACIDS])  # (20, W)
    figure = go.Figure(
        go.Heatmap(
            z=delta,
            x=positions,
            y=list(AMINO_ACIDS),
            zmin=-limit,
            zmax=limit,
            colorscale=_SCALE,
            customdata=np.dstack([names.astype(object), p.astype(object)]),  # (20, W, 2)
            hovertemplate="%{customdata[0]}: P(soluble) %{customdata[1]:.3f}"
            ", change %{z:+.3f}<extra></extra>",
            colorbar=dict(title=dict(text="change in<br>P(soluble)", side="right"), thickness=14),
            xgap=1,
            ygap=1,
        )
    )
    standard = [i for i, w in enumerate(wild) if w in AMINO_ACIDS]
    figure.add_trace(
        go.Scatter(
            x=positions[standard],
            y=[wild[i] for i in standard],
            mode="markers",
            marker=dict(symbol="circle", size=6, color="#222222"),
            name="wild type",
            hovertemplate="wild type %{y}%{x}<extra></extra>",
        )
    )
    figure.update_layout(
        height=MAP_HEIGHT,
        margin=dict(l=60, r=20, t=30, b=50),
        xaxis=dict(
            title="Position in the protein (residue 1 = first)", showgrid=False, **position_axis(start, stop)
        ),
        yaxis=dict(title="New residue", autorange="reversed", dtick=1, showgrid=False),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
        plot_bgcolor="#ffffff",
    )
    return figure


def position_summary_figure(table: MutationTable) -> go.Figure:
    """Per position: the mean change over its substitutions (bars) and the best single change (dots)."""
    summary = table.summary()
    figure = go.Figure()
    colours = np.where(summary["mean_delta"] >= 0, SOLUBLE_COLOUR, INSOLUBLE_COLOUR)
    figure.add_trace(
        go.Bar(
            x=summary["position"],
            y=summary["mean_delta"],
            marker_color=colours,
            name="mean change over the 19 substitutions",
            customdata=summary["wild_type"],
            hovertemplate="%{customdata}%{x}: mean change %{y:+.3f}<extra></extra>",
        )
    )
    best = [
        f"{w}{p}{m}" for w, p, m in zip(summary["wild_type"], summary["position"], summary["best_mutant"])
    ]
    figure.add_trace(
        go.Scatter(
            x=summary["position"],
            y=summary["best_delta"],
            mode="markers",
            marker=dict(size=4, color="#444444"),
            name="most helpful single substitution",
            customdata=best,
            hovertemplate="%{customdata}: change %{y:+.3f}<extra></extra>",
        )
    )
    figure.update_layout(
        height=300,
        margin=dict(l=60, r=20, t=30, b=50),
        xaxis=dict(
            title="Position in the protein (residue 1 = first)", **position_axis(1, len(table.sequence))
        ),
        yaxis_title="Change in P(soluble)",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
        bargap=0.05,
    )
    return figure
