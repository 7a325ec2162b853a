"""The Build-a-network lesson's figures and words: activations and their slopes, the layer stack as boxes,
the layer table named as the diagram names it, and notes that follow the student's settings."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from protlab.lessons.lesson_style import FONT, PALETTE
from protlab.models.mlp import (
    MAX_LAYERS,
    MAX_PARAMETERS,
    MAX_WIDTH,
    LayerSpec,
    MLPConfig,
    mlp_parameter_count,
    widest_fill,
)


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


def block_names(types: list[str]) -> list[str]:
    """The diagram's name of each summary row ('hidden layer 1', ..., 'output layer'); a Linear starts one."""
    starts = [i == 0 or t == "Linear" for i, t in enumerate(types)]
    numbers = [sum(starts[: i + 1]) for i in range(len(types))]  # 1-based layer number of each row
    last = numbers[-1] if numbers else 0
    return ["output layer" if n == last else f"hidden layer {n}" for n in numbers]


def network_blocks(summary: pd.DataFrame) -> list[dict]:
    """Group summary rows into blocks that each start at a Linear layer: label, shape and parameters."""
    blocks: list[dict] = []
    for name, row in zip(block_names(summary["type"].tolist()), summary.itertuples(index=False)):
        if not blocks or blocks[-1]["name"] != name:
            blocks.append({"name": name, "parts": [], "shape": row.output_shape, "parameters": 0})
        blocks[-1]["parts"].append(row.type)
        blocks[-1]["shape"] = row.output_shape
        blocks[-1]["parameters"] += int(row.parameters)
    return blocks


def layer_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as the page shows it: each module under the name the diagram gives its layer."""
    return pd.DataFrame(
        {
            "layer": block_names(summary["type"].tolist()),
            "module": summary["type"],
            "output_shape": summary["output_shape"],
            "parameters": summary["parameters"].astype("int64"),
        }
    )


def no_hidden_note(num_classes: int, output_activation: str | None) -> str:
    """What a network without hidden layers is, for the chosen output (softmax, sigmoid or raw logits)."""
    kind = "binary" if num_classes == 1 else "multinomial"
    if output_activation == "softmax" and num_classes == 1:
        what = "a single linear layer followed by softmax over its one output, which is always 1."
        return f"No hidden layers: the network is {what} See the warning below."
    if output_activation == "softmax":
        what = f"a single linear layer followed by softmax over the classes: ({kind}) logistic regression."
    elif output_activation == "sigmoid":
        what = "a single linear layer followed by a sigmoid on each output: one logistic regression each."
    else:
        one = num_classes == 1
        squash, loss = ("sigmoid", "BCEWithLogitsLoss") if one else ("softmax", "CrossEntropyLoss")
        what = (
            f"a single linear layer that outputs raw scores (logits), with no {squash}. Together with the "
            f"{squash} that nn.{loss} applies in training, this is ({kind}) logistic regression."
        )
    return f"No hidden layers: the network is {what} It can only draw straight decision boundaries."


def fill_note(n_layers: int, width: int, input_dim: int, num_classes: int) -> str:
    """The quick fill's limits, and what N layers of this width would cost on these inputs and classes."""
    limits = (
        f"Limits: at most {MAX_LAYERS} hidden layers, each 1 to {MAX_WIDTH:,} neurons wide, and "
        f"{MAX_PARAMETERS:,} parameters in all."
    )
    if n_layers == 0:
        return f"{limits} 0 layers leaves only the output layer (logistic regression)."
    if n_layers > MAX_LAYERS:
        return f"{limits} {n_layers} layers is more than {MAX_LAYERS}."
    hidden = [width] * n_layers if n_layers <= 3 else [width, width, "…", width]
    shape = " → ".join(w if isinstance(w, str) else f"{w:,}" for w in [input_dim, *hidden, num_classes])
    total = mlp_parameter_count(MLPConfig(input_dim, [LayerSpec(width)] * n_layers, num_classes))
    layers = f"{n_layers} layer{'s' if n_layers > 1 else ''}"
    counted = f"{layers} of {width:,} here ({shape}) would have {total:,} parameters"
    if total <= MAX_PARAMETERS:
        return f"{limits} {counted}: within the limit."
    widest = widest_fill(input_dim, num_classes, n_layers)
    return f"{limits} {counted}: over the limit. With {layers}, at most {widest:,} neurons wide fit."


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
