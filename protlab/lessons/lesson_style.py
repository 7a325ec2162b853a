"""The look shared by the Encode, Gradient-descent and Build-a-network figures: path colours and font."""

from __future__ import annotations

# one colour per path; no blue, which would vanish on the blue contour maps of the landscape lessons
PALETTE = ["#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#e377c2", "#8c564b"]
FONT = dict(size=13)  # plotly font of every lesson figure
# one line dash and step-marker symbol per path, so paths drawn over each other stay apart: the first is
# solid and widest, later ones are narrower and broken, letting a line underneath show through the gaps
PATH_DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
PATH_SYMBOLS = ["circle", "triangle-down", "diamond", "cross", "pentagon", "hexagon"]
MAX_WHOLE_TICKS = 10  # at most this many ticks on an axis of whole numbers (steps, residue positions)


def whole_tick_step(span: int, max_ticks: int = MAX_WHOLE_TICKS) -> int:
    """Distance between whole-number ticks over 0..span: the first of 1, 2, 5, 10, 20, ... to max_ticks."""
    for power in range(0, 12):
        for base in (1, 2, 5):
            if max(span, 1) / (base * 10**power) <= max_ticks:
                return base * 10**power
    return 10**12
