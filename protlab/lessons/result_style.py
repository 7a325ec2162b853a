"""The look the run and prediction figures share: colours, metric names, one layout, epoch and log axes."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

SOLUBLE_COLOUR = "#1b9e77"  # green-teal: soluble / helps solubility
INSOLUBLE_COLOUR = "#d95f02"  # orange: insoluble / hurts solubility
TRAIN_COLOUR = "#1f77b4"  # blue: training-set curves
VAL_COLOUR = "#d62728"  # red: validation-set curves
FIG_HEIGHT = 360  # pixels; two figures side by side stay readable at 1280x800
VAL_METRICS = ("auc", "accuracy", "mcc")  # validation metrics plotted per epoch
METRIC_COLOURS = {"auc": "#1f77b4", "accuracy": "#ff7f0e", "mcc": "#2ca02c"}  # one colour per metric curve
METRIC_NAMES = {
    "auc": "AUC-ROC",
    "accuracy": "Accuracy",
    "mcc": "MCC",
    "f1": "F1",
    "precision": "Precision",
    "recall": "Recall",
}


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = FIG_HEIGHT) -> go.Figure:
    """Apply the shared layout: title, axis labels, legend above the plot, readable margins."""
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"},
        height=height,
        margin={"l": 60, "r": 20, "t": 45, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0.0},
        hovermode="x unified",
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def epoch_dtick(n_epochs: int) -> int:
    """Spacing of integer epoch ticks so that about ten labels at most fit under a half-width chart."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500):
        if n_epochs <= 10 * step:
            return step
    return int(10 ** math.ceil(math.log10(max(n_epochs, 1) / 10)))


def _epoch_axis(fig: go.Figure, history: pd.DataFrame) -> None:
    """Integer epoch ticks, spaced by the number of epochs (never '0 1 2 3 ...' running together)."""
    n = int(history["epoch"].max()) if "epoch" in history and not history.empty else 1
    fig.update_xaxes(tick0=1, dtick=epoch_dtick(n), tickformat="d", rangemode="normal")


def log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Readable tick values and labels for a positive log axis from low to high (1-2-5 steps or decades)."""
    lo, hi = math.floor(math.log10(low)), math.ceil(math.log10(high))
    mantissas = (1,) if hi - lo > 3 else (1, 2, 5) if hi - lo > 1 else (1, 2, 3, 5)
    values = [m * 10.0**k for k in range(lo, hi + 1) for m in mantissas]
    values = [v for v in values if low / 1.001 <= v <= high * 1.001] or [10.0 ** round(math.log10(low))]
    return values, [f"{v:g}" for v in values]
