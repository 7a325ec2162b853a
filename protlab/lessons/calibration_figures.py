"""The reliability (calibration) diagram of a run's test predictions, built from calibration_bins' table."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from protlab.lessons.result_figures import FIG_HEIGHT, TRAIN_COLOUR, _layout


def reliability_figure(bins: pd.DataFrame, *, brier: float | None = None) -> go.Figure:
    """Observed soluble share against mean predicted P(soluble) per bin (diagonal: calibrated), with counts.

    bins: the table of protlab.training.calibration_bins (bin_low, bin_high, mean_p, observed, count).
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06)
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        name="Perfectly calibrated",
        mode="lines",
        line={"dash": "dash", "color": "grey"},
        row=1,
        col=1,
    )
    ranges = [f"{lo:.1f}-{hi:.1f}" for lo, hi in zip(bins["bin_low"], bins["bin_high"], strict=True)]
    fig.add_scatter(
        x=bins["mean_p"],
        y=bins["observed"],
        name="Model",
        mode="lines+markers",
        line={"color": TRAIN_COLOUR, "width": 2},
        marker={"size": 9},
        customdata=list(zip(ranges, bins["count"], strict=True)),
        hovertemplate="P(soluble) %{customdata[0]}: mean %{x:.2f}, observed %{y:.2f}"
        " (%{customdata[1]:,} proteins)<extra></extra>",
        row=1,
        col=1,
    )
    centres = (bins["bin_low"] + bins["bin_high"]) / 2
    fig.add_bar(
        x=centres,
        y=bins["count"],
        width=bins["bin_high"] - bins["bin_low"],
        name="Proteins per bin",
        marker={"color": "#9ecae1", "line": {"color": "white", "width": 1}},
        text=bins["count"],
        textposition="outside",
        cliponaxis=False,
        hovertemplate="P(soluble) %{x:.2f}: %{y:,} proteins<extra></extra>",
        row=2,
        col=1,
    )
    title = "Calibration on the test set"
    if brier is not None and math.isfinite(brier):
        title += f" (Brier score {brier:.3f})"
    fig = _layout(fig, title, "", "", height=FIG_HEIGHT + 60)  # first: it sets every axis title
    fig.update_xaxes(range=[0, 1], row=1, col=1)
    fig.update_xaxes(range=[0, 1], title_text="Predicted P(soluble)", row=2, col=1)
    fig.update_yaxes(range=[-0.02, 1.02], title_text="Observed share soluble", row=1, col=1)
    top = int(bins["count"].max()) if len(bins) else 1
    fig.update_yaxes(range=[0, top * 1.35], title_text="Proteins", row=2, col=1)
    fig.update_layout(hovermode="closest", showlegend=True)
    return fig
