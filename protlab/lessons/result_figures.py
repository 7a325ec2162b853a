"""Plotly figures for training runs and predictions, built from plain data (no user interface here).

One import for figures that live one idea per module: result_style.py (colours, layout, axes),
run_curves.py (one run per epoch), run_comparison.py (several runs), evaluation_figures.py (test-set
confusion and ROC), prediction_figures.py (one prediction) and distribution_figures.py (lengths, features).
"""

from __future__ import annotations

from protlab.lessons.distribution_figures import feature_distribution_figure, length_histogram
from protlab.lessons.evaluation_figures import confusion_figure, roc_figure
from protlab.lessons.prediction_figures import attribution_figure, probability_figure
from protlab.lessons.result_style import (
    FIG_HEIGHT,
    INSOLUBLE_COLOUR,
    METRIC_COLOURS,
    METRIC_NAMES,
    SOLUBLE_COLOUR,
    TRAIN_COLOUR,
    VAL_COLOUR,
    VAL_METRICS,
    _layout,
    epoch_dtick,
    log_ticks,
)
from protlab.lessons.run_comparison import runs_overlay, runs_table
from protlab.lessons.run_curves import history_frame, loss_curves, lr_curve, metric_curves

__all__ = [
    "FIG_HEIGHT",
    "INSOLUBLE_COLOUR",
    "METRIC_COLOURS",
    "METRIC_NAMES",
    "SOLUBLE_COLOUR",
    "TRAIN_COLOUR",
    "VAL_COLOUR",
    "VAL_METRICS",
    "_layout",  # the shared layout, for the other figure modules
    "attribution_figure",
    "confusion_figure",
    "epoch_dtick",
    "feature_distribution_figure",
    "history_frame",
    "length_histogram",
    "log_ticks",
    "loss_curves",
    "lr_curve",
    "metric_curves",
    "probability_figure",
    "roc_figure",
    "runs_overlay",
    "runs_table",
]
