"""Plotly figures for the Encode, Gradient-descent and Build-a-network lessons (no user interface here)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from protlab.alphabet import AMINO_ACIDS
from protlab.lessons.landscape import Surface, Trajectory

PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]  # one colour per path
FONT = dict(size=13)
MAX_LABELLED_ROWS = 60  # longer sequences get no per-residue tick labels
_PAD_EDGE = 0.5 / 21  # token 0 (padding) sits below this fraction of the 0..21 colour range
TOKEN_COLOURS = [
    [0.0, "#eeeeee"],
    [_PAD_EDGE, "#eeeeee"],
    [_PAD_EDGE, "#3b528b"],
    [0.5, "#21918c"],
    [1.0, "#fde725"],
]  # padding light grey, residues blue -> green -> yellow


def _rows_height(n_rows: int, per_row: int = 22, base: int = 140, cap: int = 720) -> int:
    """Return a figure height that gives each heat-map row room for its label."""
    return int(min(cap, max(260, base + per_row * n_rows)))


def onehot_figure(sequence: str, matrix: np.ndarray) -> go.Figure:
    """Heat-map of a (L, 20) one-hot matrix: residues down, amino-acid columns across."""
    n = len(sequence)
    rows = [f"{i + 1} {aa}" for i, aa in enumerate(sequence)]  # unique labels, e.g. "3 L"
    text = np.where(matrix > 0, "1", "") if n <= MAX_LABELLED_ROWS else None
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=list(AMINO_ACIDS),
            y=rows,
            zmin=0,
            zmax=1,
            showscale=False,
            colorscale=[[0, "#f4f6fa"], [1, "#1f4e9a"]],
            xgap=1,
            ygap=1,
            text=text,
            texttemplate="%{text}" if text is not None else None,
            hovertemplate="residue %{y}<br>column %{x}<br>value %{z}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"One-hot matrix, shape ({n}, 20): one row per residue, one column per amino acid",
        height=_rows_height(n),
        margin=dict(l=70, r=20, t=60, b=50),
        font=FONT,
    )
    fig.update_xaxes(title="amino-acid column (alphabet order)", side="bottom", tickangle=0)
    fig.update_yaxes(
        title="position and residue", autorange="reversed", showticklabels=n <= MAX_LABELLED_ROWS
    )
    return fig


def batch_figure(tokens: np.ndarray, mask: np.ndarray, ids: Sequence[str]) -> go.Figure:
    """Side-by-side heat-maps of a padded batch: token indices (B, Lmax) and mask (B, Lmax)."""
    b, width = tokens.shape
    show_text = width <= 40
    fig = make_subplots(
        rows=2,
        cols=1,
        vertical_spacing=0.18,
        subplot_titles=(
            f"tokens, shape ({b}, {width}): 0 = padding",
            f"mask, shape ({b}, {width}): 1 = real residue",
        ),
    )
    positions = list(range(1, width + 1))
    fig.add_trace(
        go.Heatmap(
            z=tokens,
            x=positions,
            y=list(ids),
            colorscale=TOKEN_COLOURS,
            zmin=0,
            zmax=21,
            showscale=False,
            text=tokens.astype(str) if show_text else None,
            texttemplate="%{text}" if show_text else None,
            xgap=1,
            ygap=1,
            hovertemplate="%{y}, position %{x}: token %{z}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Heatmap(
            z=mask,
            x=positions,
            y=list(ids),
            colorscale=[[0, "#eeeeee"], [1, "#2ca02c"]],
            zmin=0,
            zmax=1,
            showscale=False,
            text=mask.astype(int).astype(str) if show_text else None,
            texttemplate="%{text}" if show_text else None,
            xgap=1,
            ygap=1,
            hovertemplate="%{y}, position %{x}: mask %{z}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    fig.update_xaxes(title="position in the sequence", row=2, col=1)
    for row in (1, 2):
        fig.update_yaxes(title="sequence", autorange="reversed", row=row, col=1)
    fig.update_layout(
        height=_rows_height(2 * b, per_row=34, base=220, cap=900),
        margin=dict(l=80, r=20, t=50, b=50),
        font=FONT,
    )
    return fig


# ---------------------------------------------------------------- gradient descent


def _finite_points(trajectory: Trajectory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return steps, p1, p2 of the finite, not absurdly distant points of a path."""
    x_min, x_max, y_min, y_max = trajectory.surface.domain
    limit = 1e4 * max(x_max - x_min, y_max - y_min)
    pts = [
        (r.step, r.p1, r.p2)
        for r in trajectory.records
        if np.isfinite(r.p1) and np.isfinite(r.p2) and abs(r.p1) < limit and abs(r.p2) < limit
    ]
    arr = np.array(pts, dtype=float).reshape(-1, 3)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def exit_point(
    surface: Surface, inside: tuple[float, float], outside: tuple[float, float]
) -> tuple[float, float]:
    """Return where the segment from an inside point to an outside point crosses the domain's edge."""
    x_min, x_max, y_min, y_max = surface.domain
    (x0, y0), (x1, y1) = inside, outside
    t = 1.0
    for start, end, low, high in ((x0, x1, x_min, x_max), (y0, y1, y_min, y_max)):
        if end > high:
            t = min(t, (high - start) / (end - start))
        elif end < low:
            t = min(t, (low - start) / (end - start))
    return x0 + t * (x1 - x0), y0 + t * (y1 - y0)


def contour_figure(surface: Surface, trajectories: Sequence[Trajectory], grid: int = 121) -> go.Figure:
    """Contour map of a surface with each optimizer's path; the view stays on the surface's domain."""
    xs, ys, z = surface.grid(grid)
    if surface.log_contours:
        shown, bar_title = np.log10(1.0 + z - z.min()), f"log10(1 + {surface.loss_label} − min)"
    else:
        shown, bar_title = z, surface.loss_label
    fig = go.Figure(
        go.Contour(
            x=xs,
            y=ys,
            z=shown,
            colorscale="Blues",
            reversescale=True,
            ncontours=25,
            line=dict(width=0.5),
            colorbar=dict(title=dict(text=bar_title, side="right"), thickness=14),
            hovertemplate=(
                f"{surface.axis_labels[0]}: %{{x:.2f}}<br>{surface.axis_labels[1]}: %{{y:.2f}}<extra></extra>"
            ),
            name="loss",
        )
    )
    mx, my = zip(*surface.minima)
    fig.add_trace(
        go.Scatter(
            x=mx,
            y=my,
            mode="markers",
            name="minimum",
            marker=dict(symbol="star", size=15, color="gold", line=dict(color="black", width=1)),
        )
    )
    for i, traj in enumerate(trajectories):
        _add_path(fig, traj, PALETTE[i % len(PALETTE)])
    x_min, x_max, y_min, y_max = surface.domain
    fig.update_xaxes(title=surface.axis_labels[0], range=[x_min, x_max], autorange=False, constrain="domain")
    fig.update_yaxes(title=surface.axis_labels[1], range=[y_min, y_max], autorange=False)
    if surface.axis_labels[0].startswith("parameter") and surface.axis_labels[1].startswith("parameter"):
        fig.update_yaxes(scaleanchor="x", scaleratio=1)  # same units on both axes: keep circles round
    fig.update_layout(
        title=f"{surface.title}: {surface.formula}",
        height=560,
        font=FONT,
        margin=dict(l=70, r=20, t=60, b=120),
        legend=dict(orientation="h", yanchor="top", y=-0.14, xanchor="left", x=0),
    )
    return fig


def _add_path(fig: go.Figure, traj: Trajectory, colour: str) -> None:
    """Draw one path with start and end markers, and a marker where it left the map."""
    steps, p1, p2 = _finite_points(traj)
    label = traj.spec.label
    fig.add_trace(
        go.Scatter(
            x=p1,
            y=p2,
            mode="lines+markers",
            name=label,
            legendgroup=label,
            line=dict(color=colour, width=2),
            marker=dict(size=5, color=colour),
            customdata=steps,
            hovertemplate=f"{label}<br>step %{{customdata:.0f}}<br>(%{{x:.3f}}, %{{y:.3f}})<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=p1[:1],
            y=p2[:1],
            mode="markers",
            name=f"{label}: start",
            legendgroup=label,
            showlegend=False,
            marker=dict(symbol="circle-open", size=14, color=colour, line=dict(width=3)),
            hovertemplate="start<extra></extra>",
        )
    )
    left = traj.left_domain_at()
    if left is not None and left > 0:
        prev, here = traj.records[left - 1], traj.records[left]
        outside = (here.p1, here.p2) if np.isfinite(here.p1) and np.isfinite(here.p2) else (prev.p1, prev.p2)
        ex, ey = exit_point(traj.surface, (prev.p1, prev.p2), outside)
        fig.add_trace(
            go.Scatter(
                x=[ex],
                y=[ey],
                mode="markers",
                name=f"{label}: left the map at step {left}",
                legendgroup=label,
                marker=dict(symbol="triangle-up", size=16, color=colour, line=dict(color="black", width=1)),
                hovertemplate=f"{label} left the plotted area at step {left}<extra></extra>",
            )
        )
    elif len(p1):
        symbol = "x" if traj.diverged else "square"
        fig.add_trace(
            go.Scatter(
                x=p1[-1:],
                y=p2[-1:],
                mode="markers",
                name=f"{label}: end",
                legendgroup=label,
                showlegend=False,
                marker=dict(symbol=symbol, size=12, color=colour, line=dict(color="black", width=1)),
                hovertemplate=f"end, step {int(steps[-1])}<extra></extra>",
            )
        )


def loss_figure(trajectories: Sequence[Trajectory], log_scale: bool = False) -> go.Figure:
    """Loss against step for every path; on a log scale the distance to the best loss is shown."""
    fig = go.Figure()
    surface = trajectories[0].surface if trajectories else None
    best = min(surface.value(m) for m in surface.minima) if surface else 0.0
    for i, traj in enumerate(trajectories):
        steps = np.array([r.step for r in traj.records], dtype=float)
        loss = np.array([r.loss for r in traj.records], dtype=float)
        finite = np.isfinite(loss)
        y = np.clip(loss - best, 1e-16, None) if log_scale else loss
        colour = PALETTE[i % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=steps[finite],
                y=y[finite],
                mode="lines+markers",
                name=traj.spec.label,
                line=dict(color=colour, width=2),
                marker=dict(size=4),
            )
        )
        if traj.diverged:
            fig.add_trace(
                go.Scatter(
                    x=steps[finite][-1:],
                    y=y[finite][-1:],
                    mode="markers",
                    name=f"{traj.spec.label}: diverged",
                    marker=dict(symbol="x", size=14, color=colour),
                )
            )
    label = surface.loss_label if surface else "loss"
    fig.update_xaxes(title="step")
    fig.update_yaxes(
        title=f"{label} − lowest possible (log scale)" if log_scale else label,
        type="log" if log_scale else "linear",
        exponentformat="power" if log_scale else "B",
    )
    fig.update_layout(
        title="Loss after each step",
        height=400,
        font=FONT,
        margin=dict(l=70, r=20, t=60, b=90),
        legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
    )
    return fig


# ---------------------------------------------------------------- networks


def activation_figure(curves: dict, labels: dict[str, str] | None = None) -> go.Figure:
    """Two panels: each activation f(z) and its derivative f'(z) (from autograd_demo.activation_curves)."""
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
