"""How a classifier did on the test set: the confusion matrix at a threshold and the ROC curve."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from protlab.lessons.result_style import TRAIN_COLOUR, VAL_COLOUR, _layout


def confusion_figure(tn: int, fp: int, fn: int, tp: int, *, threshold: float) -> go.Figure:
    """A 2x2 confusion matrix heat map with counts and row percentages in each cell."""
    counts = np.array([[tn, fp], [fn, tp]], dtype=float)  # (2, 2): rows true class, columns predicted
    row_totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, row_totals, out=np.zeros_like(counts), where=row_totals > 0)
    names = ["TN", "FP", "FN", "TP"]
    text = [
        [f"{names[2 * i + j]}: {int(counts[i, j]):,}<br>({shares[i, j]:.0%} of row)" for j in range(2)]
        for i in range(2)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=["Predicted insoluble (0)", "Predicted soluble (1)"],
            y=["True insoluble (0)", "True soluble (1)"],
            text=text,
            texttemplate="%{text}",
            textfont={"size": 15},
            colorscale="Blues",
            showscale=False,
            hovertemplate="%{y}<br>%{x}<br>%{z:,} proteins<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, f"Confusion matrix at threshold {threshold:.2f}", "Predicted class", "True class")
    fig.update_layout(hovermode="closest")
    return fig


def roc_figure(
    fpr: Sequence[float],
    tpr: Sequence[float],
    *,
    auc: float | None = None,
    point: tuple[float, float] | None = None,
    title: str = "ROC curve on the test set",
) -> go.Figure:
    """The ROC curve with the chance diagonal and, optionally, the current threshold's point."""
    label = "Model" if auc is None or not math.isfinite(auc) else f"Model (AUC = {auc:.3f})"
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1], y=[0, 1], name="Chance (AUC = 0.5)", mode="lines", line={"dash": "dash", "color": "grey"}
    )
    fig.add_scatter(
        x=list(fpr), y=list(tpr), name=label, mode="lines", line={"color": TRAIN_COLOUR, "width": 3}
    )
    if point is not None:
        fig.add_scatter(
            x=[point[0]],
            y=[point[1]],
            name="Chosen threshold",
            mode="markers",
            marker={"size": 12, "color": VAL_COLOUR},
        )
    fig.update_xaxes(range=[0, 1], constrain="domain")
    fig.update_yaxes(range=[0, 1.02], scaleanchor="x", scaleratio=1)
    fig = _layout(
        fig,
        title,
        "False positive rate (insoluble called soluble)",
        "True positive rate (soluble found)",
    )
    fig.update_layout(hovermode="closest")
    return fig
