"""How proteins are spread: lengths by class, and a query protein's features among the training proteins."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from protlab.lessons.result_style import INSOLUBLE_COLOUR, SOLUBLE_COLOUR, TRAIN_COLOUR, VAL_COLOUR, _layout


def length_histogram(
    lengths: Sequence[int], labels: Sequence[int] | None = None, *, title: str = "Sequence lengths"
) -> go.Figure:
    """Histogram of sequence lengths, split by class when labels are given."""
    lengths = np.asarray(lengths)
    fig = go.Figure()
    if labels is None:
        fig.add_histogram(x=lengths, name="All sequences", nbinsx=60, marker={"color": TRAIN_COLOUR})
    else:
        labels = np.asarray(labels)
        for value, name, colour in (
            (0, "Insoluble (0)", INSOLUBLE_COLOUR),
            (1, "Soluble (1)", SOLUBLE_COLOUR),
        ):
            fig.add_histogram(
                x=lengths[labels == value], name=name, nbinsx=60, opacity=0.65, marker={"color": colour}
            )
        fig.update_layout(barmode="overlay")
    fig = _layout(fig, title, "Sequence length (residues)", "Number of proteins")
    fig.update_layout(hovermode="closest")
    if len(lengths) and np.ptp(lengths) < 10:  # (nearly) one length: whole residues, not ticks like 79.6
        fig.update_xaxes(tickformat="d", dtick=1)
    return fig


WHISKERS = (1, 99)  # percentiles the whiskers reach: the full range squashed the boxes of skewed features


def feature_distribution_figure(
    reference: pd.DataFrame,
    query: Mapping[str, float] | pd.DataFrame,
    columns: Sequence[str],
    labels: Mapping[str, str] | None = None,
    *,
    query_name: str = "Your sequence",
    reference_name: str = "training proteins",
) -> go.Figure:
    """One box plot per feature for the reference proteins, with the query sequence(s) marked."""
    labels = dict(labels or {})
    legend_name = reference_name[:1].upper() + reference_name[1:]  # 'Training proteins', 'DeepSol proteins'
    queries = pd.DataFrame([query]) if isinstance(query, Mapping) else query
    n_cols = min(3, len(columns))
    n_rows = math.ceil(len(columns) / n_cols)
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        subplot_titles=[labels.get(c, c) for c in columns],
        vertical_spacing=0.16 if n_rows > 1 else 0.1,
        horizontal_spacing=0.08,
    )
    for i, column in enumerate(columns):
        row, col = divmod(i, n_cols)
        values = reference[column].dropna().to_numpy(dtype=float)  # (N,)
        low, q1, median, q3, high = np.percentile(values, [WHISKERS[0], 25, 50, 75, WHISKERS[1]])
        fig.add_box(
            x=[legend_name],
            q1=[q1],
            median=[median],
            q3=[q3],
            lowerfence=[low],
            upperfence=[high],
            name=legend_name,
            boxpoints=False,
            marker={"color": "#9e9e9e"},
            showlegend=i == 0,
            legendgroup="ref",
            row=row + 1,
            col=col + 1,
        )
        fig.add_scatter(
            y=queries[column],
            x=[legend_name] * len(queries),
            mode="markers",
            name=query_name,
            marker={
                "color": VAL_COLOUR,
                "size": 13,
                "symbol": "diamond",
                "line": {"color": "black", "width": 1},
            },
            showlegend=i == 0,
            legendgroup="query",
            row=row + 1,
            col=col + 1,
            hovertemplate=f"{labels.get(column, column)}: %{{y:.3f}}<extra>{query_name}</extra>",
        )
        fig.update_xaxes(showticklabels=False, row=row + 1, col=col + 1)
        shown = np.concatenate([[low, high], queries[column].dropna().to_numpy(dtype=float)])  # what must fit
        pad = 0.08 * max(float(np.ptp(shown)), 1e-9)
        fig.update_yaxes(range=[shown.min() - pad, shown.max() + pad], row=row + 1, col=col + 1)
    fig.update_layout(
        title={
            "text": f"Your protein among the {reference_name} (box: middle 50%, whiskers: middle 98%)",
            "x": 0.0,
        },
        height=300 * n_rows + 100,
        margin={"l": 60, "r": 20, "t": 90, "b": 70},
        # below the panels: above them it ran into the title on a laptop-wide page
        legend={"orientation": "h", "yanchor": "top", "y": -0.04, "xanchor": "left", "x": 0.0},
    )
    return fig
