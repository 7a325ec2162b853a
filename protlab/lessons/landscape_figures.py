"""Plotly figures of the real network's loss landscape: the slice, the optimizers on it, the training path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from protlab.lessons.figures import contour_figure
from protlab.lessons.landscape import Surface, Trajectory

PATH_COLOUR = "#111111"  # the training path's dashed line
CENTRE_COLOUR = "#ffffff"  # the trained weights' marker: white with a black edge, unlike any path (PALETTE)


def slice_figure(
    surface: Surface,
    trajectories: Sequence[Trajectory],
    path: np.ndarray,
    path_epochs: np.ndarray,
    path_losses: np.ndarray,
) -> go.Figure:
    """The slice's contour map: optimizers' paths, the trained weights, the projected training path."""
    fig = contour_figure(surface, trajectories)
    for trace in fig.data:
        if trace.name == "minimum":
            trace.name = "lowest point of this slice"
    if len(path):
        fig.add_trace(
            go.Scatter(
                x=path[:, 0],
                y=path[:, 1],
                mode="lines+markers+text",
                name="training path (epochs, projected)",
                line=dict(color=PATH_COLOUR, width=2, dash="dash"),
                marker=dict(size=7, color=PATH_COLOUR, symbol="circle"),
                text=[str(int(e)) for e in path_epochs],
                textposition="top center",
                textfont=dict(size=11, color=PATH_COLOUR),
                customdata=np.stack([path_epochs, path_losses], axis=1),
                hovertemplate=(
                    "epoch %{customdata[0]:.0f}<br>α %{x:.3f}, β %{y:.3f}<br>"
                    "true loss of these weights %{customdata[1]:.4f}<extra></extra>"
                ),
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[0.0],
            y=[0.0],
            mode="markers",
            name="trained weights θ* (α = β = 0)",
            marker=dict(symbol="diamond", size=14, color=CENTRE_COLOUR, line=dict(color="black", width=2)),
            hovertemplate="trained weights θ*<br>loss %{customdata:.4f}<extra></extra>",
            customdata=[surface.value((0.0, 0.0))],
        )
    )
    fig.update_layout(title=f"{surface.title}<br><sup>{surface.formula}</sup>", margin=dict(t=80))
    return fig
