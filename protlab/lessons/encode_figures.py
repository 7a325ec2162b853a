"""The Encode lesson's figures: a sequence's one-hot matrix, and a padded batch's tokens and mask."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from protlab.alphabet import AMINO_ACIDS
from protlab.lessons.lesson_style import FONT

MAX_LABELLED_ROWS = 60  # longer sequences get a tick label every few residues instead of every one
NICE_STEPS = (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)  # tick spacings for long sequences
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


MIN_GAPPED_CELL_PX = 6  # cells narrower than this get no white gap, which would cover them entirely
PLOT_WIDTH_PX = 700  # about the width a heat-map gets in the page's main column


def cell_gap(cells: int, pixels: float) -> int:
    """White gap (px) between heat-map cells: 1 while each of `cells` gets MIN_GAPPED_CELL_PX, else 0."""
    return 1 if pixels / max(cells, 1) >= MIN_GAPPED_CELL_PX else 0


def row_ticks(rows: list[str]) -> list[str]:
    """Return the row labels to show: all of them, or every k-th (k from NICE_STEPS) for long sequences."""
    if len(rows) <= MAX_LABELLED_ROWS:
        return rows
    step = next((k for k in NICE_STEPS if len(rows) / k <= MAX_LABELLED_ROWS / 2), NICE_STEPS[-1])
    return [rows[0], *rows[step - 1 :: step]]  # position 1, then positions step, 2*step, ...


def onehot_figure(sequence: str, matrix: np.ndarray) -> go.Figure:
    """Heat-map of a (L, 20) one-hot matrix: residues down, amino-acid columns across."""
    n = len(sequence)
    rows = [f"{i + 1} {aa}" for i, aa in enumerate(sequence)]  # unique labels, e.g. "3 L"
    text = np.where(matrix > 0, "1", "") if n <= MAX_LABELLED_ROWS else None
    height = _rows_height(n)
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
            ygap=cell_gap(n, height - 110),  # 110: the top and bottom margins below
            text=text,
            texttemplate="%{text}" if text is not None else None,
            hovertemplate="residue %{y}<br>column %{x}<br>value %{z}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"One-hot matrix, shape ({n}, 20): one row per residue, one column per amino acid",
        height=height,
        margin=dict(l=70, r=20, t=60, b=50),
        font=FONT,
    )
    fig.update_xaxes(title="amino-acid column (alphabet order)", side="bottom", tickangle=0)
    ticks = row_ticks(rows)
    fig.update_yaxes(
        title="position and residue", autorange="reversed", tickmode="array", tickvals=ticks, ticktext=ticks
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
            xgap=cell_gap(width, PLOT_WIDTH_PX),
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
            xgap=cell_gap(width, PLOT_WIDTH_PX),
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
