"""The loss curve of the overfit-one-batch check, on a log scale with the 'near zero' line."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from protlab.lessons.result_figures import TRAIN_COLOUR, VAL_COLOUR, _layout, log_ticks


def overfit_figure(losses: Sequence[float], *, near_zero: float, passed: bool) -> go.Figure:
    """Loss per step on one repeated batch (log scale); a working model falls below near_zero."""
    fig = go.Figure()
    steps = list(range(1, len(losses) + 1))
    fig.add_scatter(
        x=steps,
        y=[max(float(v), 1e-6) for v in losses],  # a log axis cannot show 0
        name="Loss on the one batch",
        mode="lines",
        line={"color": TRAIN_COLOUR if passed else VAL_COLOUR, "width": 2},
    )
    fig.add_scatter(
        x=[1, max(len(losses), 2)],
        y=[near_zero, near_zero],
        name=f"Near zero ({near_zero:g})",
        mode="lines",
        line={"color": "grey", "dash": "dash"},
    )
    values = [max(float(v), 1e-6) for v in losses] + [near_zero]
    low, high = min(values) / 1.5, max(values) * 1.5
    ticks, labels = log_ticks(low, high)
    fig.update_yaxes(type="log", range=[math.log10(low), math.log10(high)], tickvals=ticks, ticktext=labels)
    fig = _layout(fig, "Overfit one batch: loss per step", "Optimizer step", "Cross-entropy loss (log scale)")
    fig.update_layout(height=300)
    return fig
