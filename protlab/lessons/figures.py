"""Plotly figures for the Encode, Gradient-descent and Build-a-network lessons (no user interface here).

One import for figures that live one idea per module: lesson_style.py (path colours, font),
encode_figures.py (one-hot matrix, padded batch), descent_figures.py (optimizer paths, loss per step)
and network_figures.py (activations, the layer stack).
"""

from __future__ import annotations

from protlab.lessons.descent_figures import contour_figure, exit_point, loss_figure
from protlab.lessons.encode_figures import MAX_LABELLED_ROWS, TOKEN_COLOURS, batch_figure, onehot_figure
from protlab.lessons.lesson_style import FONT, PALETTE
from protlab.lessons.network_figures import activation_figure, network_blocks, network_figure

__all__ = [
    "FONT",
    "MAX_LABELLED_ROWS",
    "PALETTE",
    "TOKEN_COLOURS",
    "activation_figure",
    "batch_figure",
    "contour_figure",
    "exit_point",
    "loss_figure",
    "network_blocks",
    "network_figure",
    "onehot_figure",
]
