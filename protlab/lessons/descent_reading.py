"""What the Gradient-descent paths show, in words and formats read from the paths themselves.

Paths that run along the same line (one drawn over another), a path that bounces between two points
without getting closer, a loss that barely moved, and how many digits the step table needs so that
every change shows.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from protlab.lessons.landscape import SURFACES, OptimizerSpec, Surface, Trajectory

SAME_LINE = 0.01  # points closer than this fraction of the map's width/height count as on the same line
SHARED_LENGTH = 0.15  # paths sharing this much line (in map widths) coincide
SEGMENT_SAMPLES = 5  # points along a segment that must all lie on the other path for it to count
MAX_VERTICES = 300  # a long path is thinned to this many points before comparing paths
BOUNCE_WINDOW = 6  # the last moves checked for bouncing back and forth
REVERSED = -0.9  # cosine between consecutive moves at or below which a move points back
STALLED = 0.01  # relative fall of the loss over the window below which it is not converging
FLAT = 0.02  # a loss moving less than this fraction of the chart's height looks flat
DIGITS = (6, 10)  # fewest and most significant digits shown in the step table


# ---------------------------------------------------------------- paths drawn over each other


def _edge_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """How far along the segment from a (inside) to b (outside) it crosses the map's edge (map units)."""
    t = 1.0
    for d in (0, 1):
        if b[d] > 1:
            t = min(t, (1 - a[d]) / (b[d] - a[d]))
        elif b[d] < 0:
            t = min(t, -a[d] / (b[d] - a[d]))
    return t


def _scaled_points(trajectory: Trajectory) -> np.ndarray:
    """The path as drawn on the map, in map units (0..1 across each axis), cut where it leaves.  # (m, 2)"""
    x_min, x_max, y_min, y_max = trajectory.surface.domain
    pts = np.array([(r.p1, r.p2) for r in trajectory.records], dtype=float).reshape(-1, 2)
    finite = np.isfinite(pts).all(axis=1)
    pts = pts[: len(pts) if finite.all() else int(np.argmin(finite))]  # up to the first NaN or infinity
    scaled = (pts - [x_min, y_min]) / [x_max - x_min, y_max - y_min]  # (m, 2)
    inside = ((scaled >= 0) & (scaled <= 1)).all(axis=1)  # (m,)
    if not inside.all():  # keep the stretch up to the map's edge, as the map draws it
        k = int(np.argmin(inside))
        if k == 0:
            return scaled[:0]
        a, b = scaled[k - 1], scaled[k]
        t = _edge_fraction(a, b)
        scaled = np.vstack([scaled[:k], a + t * (b - a)])
    if len(scaled) > MAX_VERTICES:
        keep = np.unique(np.linspace(0, len(scaled) - 1, MAX_VERTICES).round().astype(int))
        scaled = scaled[keep]
    return scaled


def _distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance of each point (m, 2) to the nearest segment of a polyline (k + 1, 2).  # (m,)"""
    if len(line) == 1:
        return np.linalg.norm(points - line[0], axis=1)
    a, b = line[:-1], line[1:]  # (k, 2) segment ends
    ab = b - a  # (k, 2)
    length2 = np.maximum((ab**2).sum(axis=1), 1e-30)  # (k,)
    t = ((points[:, None, :] - a[None]) * ab[None]).sum(axis=2) / length2  # (m, k)
    nearest = a[None] + np.clip(t, 0, 1)[..., None] * ab[None]  # (m, k, 2)
    return np.linalg.norm(points[:, None, :] - nearest, axis=2).min(axis=1)


def shared_length(path: np.ndarray, under: np.ndarray) -> float:
    """Length of `path` lying along `under` (both (n, 2) polylines in map units): its segments on `under`."""
    if len(path) < 2 or len(under) == 0:
        return 0.0
    a, b = path[:-1], path[1:]  # (k, 2) segment ends
    samples = [a + t * (b - a) for t in np.linspace(0, 1, SEGMENT_SAMPLES)]  # each (k, 2)
    near = np.stack([_distance_to_polyline(p, under) <= SAME_LINE for p in samples])  # (S, k)
    return float((np.linalg.norm(b - a, axis=1) * near.all(axis=0)).sum())


def coinciding_pairs(trajectories: Sequence[Trajectory]) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of paths that share a visible stretch of line (path j is drawn over path i)."""
    points = [_scaled_points(t) for t in trajectories]
    pairs = []
    for j in range(len(points)):
        for i in range(j):
            shared = max(shared_length(points[j], points[i]), shared_length(points[i], points[j]))
            if shared >= SHARED_LENGTH:
                pairs.append((i, j))
    return pairs


def _groups(pairs: list[tuple[int, int]]) -> list[list[int]]:
    """Paths linked by pairs, gathered into groups (each sorted, in order of their first path)."""
    groups: list[set[int]] = []
    for pair in pairs:
        joined = [g for g in groups if g & set(pair)]
        merged = set(pair).union(*joined)
        groups = [g for g in groups if g not in joined] + [merged]
    return sorted((sorted(g) for g in groups), key=lambda g: g[0])


def _names(labels: list[str]) -> str:
    """'A and B', 'A, B and C'."""
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def coincide_note(trajectories: Sequence[Trajectory]) -> str:
    """A sentence naming the paths that run along the same line, or '' when none do."""
    groups = _groups(coinciding_pairs(trajectories))
    if not groups:
        return ""
    named = "; ".join(_names([trajectories[i].spec.label for i in g]) for g in groups)
    return (
        f"{named} run along the same line for part of the way. The path listed later in the legend is "
        "drawn on top, narrower and dashed or dotted, so the wider line under it shows at its edges and in "
        "its gaps, and each optimizer's own step markers show where its steps land."
    )


STAR_RADIUS = 0.025  # a point this close to a minimum (share of the map's larger side) hides under its star


def at_minimum_note(trajectories: Sequence[Trajectory]) -> str:
    """A sentence naming the paths whose current point lies under a minimum's star, or '' when none does."""
    reached = []
    for path in trajectories:
        x_min, x_max, y_min, y_max = path.surface.domain
        radius = STAR_RADIUS * max(x_max - x_min, y_max - y_min)
        last = path.last
        if not path.diverged and any(math.dist((last.p1, last.p2), m) <= radius for m in path.surface.minima):
            reached.append(path.spec.label)
    if not reached:
        return ""
    if len(reached) == 1:
        return f"{reached[0]} has reached a minimum: its current point (the square) lies under the gold star."
    return (
        f"{_names(reached)} have reached a minimum: their current points (the squares) lie under the gold "
        "stars."
    )


# ---------------------------------------------------------------- diverging

MIN_SUGGESTED_LR = 1e-6  # the smallest learning rate a divergence note suggests (the page's smallest)
TRIAL_STEPS = 20  # steps a suggested learning rate is tried for, from the same start


def stable_learning_rate(trajectory: Trajectory) -> float | None:
    """The largest of lr/10, lr/100, ... whose path from the same start stays on course for TRIAL_STEPS.

    Trying rates takes tens of milliseconds, and the page asks again on every rerun while a path stays
    diverged, so answers for the lesson's own surfaces are kept (they depend on nothing else).
    """
    surface, spec, start = trajectory.surface, trajectory.spec, tuple(trajectory.start)
    if SURFACES.get(surface.key) is surface:
        return _stable_rate_on(surface.key, spec, start)
    return _stable_rate(surface, spec, start)


@functools.lru_cache(maxsize=256)
def _stable_rate_on(key: str, spec: OptimizerSpec, start: tuple[float, float]) -> float | None:
    """stable_learning_rate on SURFACES[key], cached."""
    return _stable_rate(SURFACES[key], spec, start)


def _stable_rate(surface: Surface, spec: OptimizerSpec, start: tuple[float, float]) -> float | None:
    """Try lr/10, lr/100, ... down to MIN_SUGGESTED_LR; the first that does not diverge, or None."""
    lr = spec.lr / 10
    while lr >= MIN_SUGGESTED_LR:
        trial = Trajectory(surface, dataclasses.replace(spec, lr=lr), start)
        trial.step(TRIAL_STEPS)
        if trial.diverged_at() is None:
            return lr
        lr /= 10
    return None


def divergence_note(trajectory: Trajectory) -> str:
    """The warning for a diverged path: the one step it diverged at, why, and a learning rate that works."""
    diverged_at, last = trajectory.diverged_at(), trajectory.last.step
    if not trajectory.diverged:
        stopped = ""
    elif last == diverged_at:
        stopped = " ProtLab stopped the path there, as its numbers ran away: the last row of its table."
    else:  # it left the map first, and ran away a few steps later
        stopped = (
            f" It left the map at step {diverged_at}; ProtLab stopped it at step {last}, where its numbers "
            "ran away (the last row of its table)."
        )
    lr = stable_learning_rate(trajectory)
    advice = (
        f"Lower the learning rate (from this start, {lr:g} stays on course) and press Reset."
        if lr is not None
        else "Lower the learning rate by a lot and press Reset."
    )
    return (
        f"**{trajectory.spec.label} diverged at step {diverged_at}:** the learning rate is too "
        "large for this surface, so every step overshoots the valley by more than the last and the loss "
        f"keeps growing.{stopped} {advice}"
    )


# ---------------------------------------------------------------- bouncing back and forth


def _floor(trajectory: Trajectory) -> float:
    """The lowest loss the path could reach: the surface's lowest minimum."""
    return min(trajectory.surface.value(m) for m in trajectory.surface.minima)


def bouncing(trajectory: Trajectory) -> bool:
    """Whether the path jumps back and forth over its last moves while its loss stops falling."""
    if trajectory.diverged_at() is not None or len(trajectory.records) < BOUNCE_WINDOW + 1:
        return False
    recent = trajectory.records[-(BOUNCE_WINDOW + 1) :]
    pts = np.array([(r.p1, r.p2) for r in recent], dtype=float)  # (W + 1, 2)
    moves = np.diff(pts, axis=0)  # (W, 2)
    x_min, x_max, y_min, y_max = trajectory.surface.domain
    size = np.linalg.norm(moves, axis=1)  # (W,)
    if not np.isfinite(pts).all() or size.min() <= 1e-9 * max(x_max - x_min, y_max - y_min):
        return False
    cosine = (moves[:-1] * moves[1:]).sum(axis=1) / (size[:-1] * size[1:])  # (W - 1,)
    first, last = recent[0].loss, recent[-1].loss
    falling = first - last > STALLED * abs(first - _floor(trajectory))
    return bool((cosine <= REVERSED).all() and not falling)


def bounce_note(trajectory: Trajectory) -> str:
    """The one-sentence explanation of a bouncing path, with a smaller rate to try."""
    lr = trajectory.spec.lr
    return (
        f"**{trajectory.spec.label} bounces back and forth without getting closer:** the learning rate is "
        "too large for this surface, so each step overshoots the minimum by about as much as it was away "
        f"and the loss stops falling. Lower the learning rate (try {lr / 2:g}) and press Reset."
    )


# ---------------------------------------------------------------- a loss that barely moves


def loss_floor(trajectories: Sequence[Trajectory]) -> float:
    """The bottom of a linear loss axis: 0, or the lowest possible loss when it is below 0."""
    lows = [_floor(t) for t in trajectories[:1]]
    lows += [r.loss for t in trajectories for r in t.records if np.isfinite(r.loss)]
    return min([0.0, *lows])


def flat_loss_note(trajectories: Sequence[Trajectory]) -> str:
    """A sentence stating how little the losses moved when that is too little to see, else ''."""
    finite = [[r.loss for r in t.records if np.isfinite(r.loss)] for t in trajectories]
    finite = [f for f in finite if len(f) > 1]
    if not finite:
        return ""
    floor, top = loss_floor(trajectories), max(max(f) for f in finite)
    moved = max(max(f) - min(f) for f in finite)
    if top <= floor or moved >= FLAT * (top - floor):
        return ""
    start = trajectories[0].records[0].loss
    steps = max(len(f) - 1 for f in finite)
    return (
        f"The losses barely moved: in {steps} step(s) none changed by more than {moved:.3g} (from about "
        f"{start:.6g}), {moved / (top - floor):.2%} of this axis. The axis starts at {floor:g} so that a "
        "tiny change is not blown up into a steep drop; the table below shows the digits that change."
    )


# ---------------------------------------------------------------- the step table


def significant_digits(values: Sequence[float]) -> int:
    """Significant digits (within DIGITS) at which consecutive values that differ also print differently."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    a, b = v[:-1], v[1:]
    differ = a != b
    if not differ.any():
        return DIGITS[0]
    a, b = a[differ], b[differ]
    top = np.floor(np.log10(np.maximum(np.abs(a), np.abs(b))))  # leading digit's place
    gap = np.floor(np.log10(np.abs(a - b)))  # place of the first digit that differs
    return int(np.clip((top - gap).max() + 2, *DIGITS))  # one digit to spare against rounding


def column_formats(table: pd.DataFrame) -> dict[str, str]:
    """printf formats for the step table's number columns, each with enough digits to show every change."""
    return {
        name: f"%.{significant_digits(table[name])}g"
        for name in table.columns
        if name != "step" and pd.api.types.is_float_dtype(table[name])
    }
