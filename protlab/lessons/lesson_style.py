"""The look shared by the Encode, Gradient-descent and Build-a-network figures: path colours and font."""

from __future__ import annotations

PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]  # one colour per path
FONT = dict(size=13)  # plotly font of every lesson figure
