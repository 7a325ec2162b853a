"""The Gradient-descent lesson's figures: optimizer paths on a loss surface's contours, and loss per step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from protlab.lessons.descent_reading import loss_floor
from protlab.lessons.landscape import Surface, Trajectory
from protlab.lessons.lesson_style import FONT, PALETTE, PATH_DASHES, PATH_SYMBOLS, whole_tick_step

LOG_DECADES = 3  # a loss this many powers of ten above the start gets a log axis (a blown-up path)
MIN_LOG_DECADES = 2  # a log loss axis spans at least this many powers of ten (no zooming into a sliver)


def path_style(i: int, n: int) -> dict:
    """Colour, width, dash and step marker of path i of n: earlier paths wider, later ones broken lines."""
    wider = n - 1 - i  # paths drawn after this one
    width = 2 + 2.5 * wider
    return dict(
        colour=PALETTE[i % len(PALETTE)],
        width=width,
        dash=PATH_DASHES[i % len(PATH_DASHES)],
        symbol=PATH_SYMBOLS[i % len(PATH_SYMBOLS)],
        size=4 + width,
    )


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
    for i, traj in enumerate(trajectories):  # earlier paths wider, later dashed: one under another shows
        _add_path(fig, traj, path_style(i, len(trajectories)))
    mx, my = zip(*surface.minima)
    fig.add_trace(  # drawn last: a path that ends on a minimum does not hide its star
        go.Scatter(
            x=mx,
            y=my,
            mode="markers",
            name="minimum",
            marker=dict(symbol="star", size=15, color="gold", line=dict(color="black", width=1)),
        )
    )
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


def _off_map_gaps(
    surface: Surface, steps: np.ndarray, p1: np.ndarray, p2: np.ndarray
) -> tuple[list, list, list]:
    """steps, p1, p2 with a gap (None) between two points that both lie off the map: a straight line between
    them can cross the whole map (even its minimum) although the path jumped from one to the other."""
    x_min, x_max, y_min, y_max = surface.domain
    off = (p1 < x_min) | (p1 > x_max) | (p2 < y_min) | (p2 > y_max)  # (n,)
    xs, ys, ss = [], [], []
    for i in range(len(p1)):
        if i and off[i] and off[i - 1]:
            xs.append(None), ys.append(None), ss.append(None)
        xs.append(p1[i]), ys.append(p2[i]), ss.append(steps[i])
    return ss, xs, ys


def _add_path(fig: go.Figure, traj: Trajectory, style: dict) -> None:
    """Draw one path in its style (path_style) with start and end markers, and where it left the map."""
    steps, p1, p2 = _finite_points(traj)
    label, colour = traj.spec.label, style["colour"]
    gapped_steps, gapped_x, gapped_y = _off_map_gaps(traj.surface, steps, p1, p2)
    fig.add_trace(
        go.Scatter(
            x=gapped_x,
            y=gapped_y,
            mode="lines+markers",
            name=label,
            legendgroup=label,
            line=dict(color=colour, width=style["width"], dash=style["dash"]),
            marker=dict(size=style["size"], color=colour, symbol=style["symbol"]),
            customdata=gapped_steps,
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
    event = "diverged at step" if traj.diverged_at() == left else "left the map at step"
    if left is not None and left > 0:
        prev, here = traj.records[left - 1], traj.records[left]
        outside = (here.p1, here.p2) if np.isfinite(here.p1) and np.isfinite(here.p2) else (prev.p1, prev.p2)
        ex, ey = exit_point(traj.surface, (prev.p1, prev.p2), outside)
        fig.add_trace(
            go.Scatter(
                x=[ex],
                y=[ey],
                mode="markers",
                name=f"{label}: {event} {left}",
                legendgroup=label,
                marker=dict(symbol="triangle-up", size=16, color=colour, line=dict(color="black", width=1)),
                hovertemplate=f"{label} {event} {left}<extra></extra>",
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


def needs_log_scale(trajectories: Sequence[Trajectory]) -> bool:
    """Whether a path's loss rose more than LOG_DECADES powers of ten above the starting loss (it blew up)."""
    if not trajectories:
        return False
    surface = trajectories[0].surface
    best = min(surface.value(m) for m in surface.minima)
    start = min(t.records[0].loss for t in trajectories) - best
    peak = max((r.loss for t in trajectories for r in t.records if np.isfinite(r.loss)), default=best) - best
    return start > 0 and peak > start * 10**LOG_DECADES


def step_ticks(last_step: int) -> int:
    """Distance between whole-number ticks on a step axis running 0..last_step (1, 2, 5, 10, 20, ...)."""
    return whole_tick_step(last_step)  # at most lesson_style.MAX_WHOLE_TICKS ticks


def _loss_range(ys: list[np.ndarray], floor: float, log_scale: bool) -> list[float]:
    """The loss axis range: from the floor (0 or the lowest loss) on a linear axis, MIN_LOG_DECADES on log."""
    shown = np.concatenate([y[np.isfinite(y)] for y in ys] + [np.zeros(0)])
    if log_scale:
        top = np.log10(shown.max()) if len(shown) else 1.0
        low = min(np.log10(shown.min()), top - MIN_LOG_DECADES) if len(shown) else top - MIN_LOG_DECADES
        return [low - 0.1 * (top - low), top + 0.1 * (top - low)]
    top = max(float(shown.max()), floor) if len(shown) else floor + 1
    pad = 0.05 * (top - floor) if top > floor else 1.0
    return [floor - pad, top + pad]


def loss_figure(trajectories: Sequence[Trajectory], log_scale: bool = False) -> go.Figure:
    """Loss against step for every path; on a log scale the distance to the best loss is shown.

    The linear axis starts at 0 (or the lowest possible loss, when below 0) so that a tiny change is not
    zoomed into a steep drop; the step axis has whole-number ticks only.
    """
    fig = go.Figure()
    surface = trajectories[0].surface if trajectories else None
    best = min(surface.value(m) for m in surface.minima) if surface else 0.0
    shown, last_step = [], 0
    for i, traj in enumerate(trajectories):  # styled as on the map: equal losses stay visible
        style = path_style(i, len(trajectories))
        steps = np.array([r.step for r in traj.records], dtype=float)
        loss = np.array([r.loss for r in traj.records], dtype=float)
        finite = np.isfinite(loss)
        y = np.clip(loss - best, 1e-16, None) if log_scale else loss
        shown.append(y[finite])
        last_step = max(last_step, int(steps[-1]))
        fig.add_trace(
            go.Scatter(
                x=steps[finite],
                y=y[finite],
                mode="lines+markers",
                name=traj.spec.label,
                line=dict(color=style["colour"], width=style["width"], dash=style["dash"]),
                marker=dict(size=style["size"], color=style["colour"], symbol=style["symbol"]),
            )
        )
        at = traj.diverged_at()  # the step the page's warning and the map name
        if at is not None:
            cross = np.flatnonzero(finite & (steps <= at))[-1:]  # that step, or the last finite loss before
            fig.add_trace(
                go.Scatter(
                    x=steps[cross],
                    y=y[cross],
                    mode="markers",
                    name=f"{traj.spec.label}: diverged at step {at}",
                    marker=dict(symbol="x", size=8 + 2 * style["width"], color=style["colour"]),
                )
            )
    label = surface.loss_label if surface else "loss"
    end = max(last_step, 1)
    ticks = dict(tick0=0, dtick=step_ticks(end), tickformat="d")  # whole steps only, never 0.2, 0.4, ...
    fig.update_xaxes(title="step", range=[-0.03 * end, 1.03 * end], **ticks)
    floor = loss_floor(trajectories) if trajectories else 0.0
    fig.update_yaxes(
        title=f"{label} − lowest possible (log scale)" if log_scale else label,
        type="log" if log_scale else "linear",
        exponentformat="power" if log_scale else "B",
        range=_loss_range(shown, floor, log_scale),
    )
    fig.update_layout(
        title="Loss after each step",
        height=400,
        font=FONT,
        margin=dict(l=70, r=20, t=60, b=90),
        legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
    )
    return fig
