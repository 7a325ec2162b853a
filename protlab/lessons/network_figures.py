"""The Build-a-network lesson's figures: activations and their slopes, and the layer stack as boxes."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from protlab.lessons.lesson_style import FONT, PALETTE


def activation_figure(curves: dict, labels: dict[str, str] | None = None) -> go.Figure:
    """Two panels: each activation f(z) and its derivative f'(z) (from lessons.autograd.activation_curves)."""
    labels = labels or {}
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("activation f(z)", "derivative f′(z), by autograd"),
        horizontal_spacing=0.1,
    )
    for i, (name, curve) in enumerate(curves["curves"].items()):
        colour = PALETTE[i % len(PALETTE)]
        shown = labels.get(name, name)
        fig.add_trace(
            go.Scatter(
                x=curves["z"],
                y=curve["value"],
                name=shown,
                legendgroup=name,
                line=dict(color=colour, width=2),
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=curves["z"],
                y=curve["derivative"],
                name=shown,
                legendgroup=name,
                showlegend=False,
                line=dict(color=colour, width=2, dash="dash"),
            ),
            row=1,
            col=2,
        )
    for col in (1, 2):
        fig.update_xaxes(title="input z (a neuron's weighted sum)", row=1, col=col, zeroline=True)
    fig.update_yaxes(title="output f(z)", row=1, col=1)
    fig.update_yaxes(title="slope f′(z)", row=1, col=2)
    fig.update_layout(
        height=380,
        font=FONT,
        margin=dict(l=60, r=20, t=50, b=90),
        legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
    )
    return fig


def network_blocks(summary: pd.DataFrame) -> list[dict]:
    """Group summary rows into blocks that each start at a Linear layer: label, shape and parameters."""
    blocks: list[dict] = []
    for row in summary.itertuples(index=False):
        if row.type == "Linear" or not blocks:
            blocks.append({"parts": [], "shape": row.output_shape, "parameters": 0})
        blocks[-1]["parts"].append(row.type)
        blocks[-1]["shape"] = row.output_shape
        blocks[-1]["parameters"] += int(row.parameters)
    for i, block in enumerate(blocks):
        block["name"] = "output layer" if i == len(blocks) - 1 else f"hidden layer {i + 1}"
    return blocks


def network_figure(summary: pd.DataFrame, input_dim: int, batch: int = 32) -> go.Figure:
    """Draw the layer stack top to bottom as labelled boxes with output shapes and parameter counts."""
    blocks = [{"name": "input", "parts": ["features"], "shape": f"({batch}, {input_dim})", "parameters": 0}]
    blocks += network_blocks(summary)
    n, box_h, gap = len(blocks), 0.62, 1.0
    fig = go.Figure()
    for i, block in enumerate(blocks):
        top = -i * gap
        colour = "#e8f4fd" if i == 0 else ("#e8f5e9" if i == n - 1 else "#fff3e0")
        fig.add_shape(
            type="rect",
            x0=0.05,
            x1=0.95,
            y0=top - box_h,
            y1=top,
            fillcolor=colour,
            line=dict(color="#555", width=1),
        )
        params = "" if i == 0 else f" · {block['parameters']:,} parameters"
        fig.add_annotation(
            x=0.5,
            y=top - box_h / 2,
            showarrow=False,
            font=dict(size=13, color="#222"),
            text=f"<b>{block['name']}</b>: {' → '.join(block['parts'])}<br>"
            f"output shape {block['shape']}{params}",
        )
        if i < n - 1:
            fig.add_annotation(
                x=0.5,
                y=top - gap + 0.02,
                ax=0.5,
                ay=top - box_h - 0.02,
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                showarrow=True,
                arrowhead=2,
                arrowwidth=1.5,
                text="",
            )
    fig.update_xaxes(visible=False, range=[0, 1], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-(n - 1) * gap - box_h - 0.1, 0.1], fixedrange=True)
    fig.update_layout(
        height=int(40 + 72 * n), margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white", showlegend=False
    )
    return fig
