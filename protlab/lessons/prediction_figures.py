"""One prediction explained: P(soluble) against the threshold, and each residue's push either way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from protlab.lessons.result_style import INSOLUBLE_COLOUR, SOLUBLE_COLOUR, _layout

MAX_LETTER_TICKS = 60  # on a full-width chart, proteins up to this length show every letter under its bar


def attribution_figure(
    sequence: str, contributions: Sequence[float], *, max_letters: int = MAX_LETTER_TICKS
) -> go.Figure:
    """Per-residue contributions to the log-odds of soluble as bars coloured by sign, letters on hover
    (and under the bars for proteins of up to max_letters residues)."""
    values = np.asarray(contributions, dtype=float)  # (L,)
    if values.shape != (len(sequence),):
        raise ValueError(
            f"contributions must have one value per residue ({len(sequence)}); got {values.shape}."
        )
    positions = np.arange(1, len(sequence) + 1)
    colours = np.where(values >= 0, SOLUBLE_COLOUR, INSOLUBLE_COLOUR)
    fig = go.Figure(
        go.Bar(
            x=positions,
            y=values,
            marker={"color": colours, "line": {"width": 0}},
            customdata=list(sequence),
            name="Contribution",
            hovertemplate="Residue %{customdata}%{x}<br>Contribution %{y:+.4f}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line={"color": "black", "width": 1})
    fig = _layout(
        fig,
        "Green: pushes towards soluble · orange: towards insoluble",
        "Residue position",
        "Contribution to log-odds of soluble",
    )
    fig.update_layout(hovermode="closest", bargap=0.0, showlegend=False)
    if len(sequence) <= max_letters:  # short enough to name every bar: letter over position
        ticks = [f"{aa}<br>{i}" for i, aa in enumerate(sequence, start=1)]
        fig.update_xaxes(tickmode="array", tickvals=positions.tolist(), ticktext=ticks, tickangle=0)
    return fig


LABEL_WIDTH = 0.08  # share of the 0-1 axis the bar's "0.123" label takes up


def label_position(p_soluble: float, threshold: float) -> str:
    """Where the bar's value goes so that the dashed threshold line never runs through it.

    'inside' (anchored at the bar's start, 0 to LABEL_WIDTH) for a bar long enough to hold it and a threshold
    clear of that strip, else 'outside' (just past the bar's end) when the threshold is clear of that strip,
    else 'none' (the value is in the hover and beside the chart).
    """
    if p_soluble >= LABEL_WIDTH + 0.02 and threshold > LABEL_WIDTH + 0.02:
        return "inside"
    if not p_soluble - 0.01 <= threshold <= p_soluble + LABEL_WIDTH + 0.02:
        return "outside"
    return "none"


def probability_figure(p_soluble: float, *, threshold: float) -> go.Figure:
    """A horizontal bar from 0 to 1 showing P(soluble) against the decision threshold."""
    colour = SOLUBLE_COLOUR if p_soluble >= threshold else INSOLUBLE_COLOUR
    fig = go.Figure(
        go.Bar(
            x=[p_soluble],
            y=["P(soluble)"],
            orientation="h",
            marker={"color": colour},
            text=[f"{p_soluble:.3f}"],
            textposition=label_position(p_soluble, threshold),
            insidetextanchor="start",
            hovertemplate="P(soluble) = %{x:.3f}<extra></extra>",
        )
    )
    fig.add_vline(
        x=threshold,
        line={"color": "black", "dash": "dash", "width": 2},
        annotation_text=f"threshold {threshold:.2f}",
        annotation_position="top",
    )
    fig.update_xaxes(range=[0, 1.08], title_text="Probability of being soluble in E. coli", dtick=0.1)
    fig.update_layout(height=170, margin={"l": 90, "r": 20, "t": 40, "b": 50}, showlegend=False)
    return fig
