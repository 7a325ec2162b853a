"""The descent figures keep every optimizer's path visible, never blow up a tiny loss change, and count steps
in whole numbers."""

from __future__ import annotations

import numpy as np
import pytest

from protlab.lessons import SURFACES, OptimizerSpec, Trajectory, contour_figure, loss_figure
from protlab.lessons.descent_figures import step_ticks

BOWL = SURFACES["bowl"]
KINDS = ("sgd", "momentum", "adam")


def _paths(lr: float, steps: int, surface=BOWL) -> list[Trajectory]:
    """SGD, momentum and Adam with one learning rate, after `steps` steps."""
    paths = [Trajectory(surface, OptimizerSpec(kind, lr), surface.start) for kind in KINDS]
    for path in paths:
        path.step(steps)
    return paths


def _lines(fig, paths) -> list:
    """The path traces (one per optimizer) of a figure, in the paths' order."""
    by_name = {t.name: t for t in fig.data}
    return [by_name[p.spec.label] for p in paths]


@pytest.mark.parametrize("figure", [lambda ps: contour_figure(BOWL, ps, grid=21), loss_figure])
def test_each_path_has_its_own_dash_marker_and_width_so_coinciding_paths_stay_visible(figure):
    paths = _paths(0.1, 20)
    lines = _lines(figure(paths), paths)
    assert len({t.line.dash for t in lines}) == 3 and lines[0].line.dash == "solid"
    assert len({t.marker.symbol for t in lines}) == 3
    widths = [t.line.width for t in lines]
    assert widths == sorted(widths, reverse=True) and widths[0] - widths[1] >= 2  # a clear fringe shows
    assert [t.line.color for t in lines] == [t.marker.color for t in lines]


def test_a_tiny_change_of_the_loss_is_drawn_on_an_axis_from_zero_to_the_start():
    paths = _paths(1e-6, 20)  # the loss falls from 15.25 by about 0.05 %
    low, high = loss_figure(paths).layout.yaxis.range
    assert low <= 0 and high >= 15.25
    assert high - low < 1.2 * 15.25  # and no more than a small margin beyond


def test_a_loss_below_zero_keeps_its_lowest_possible_value_on_the_axis():
    saddle = SURFACES["saddle"]  # its minima are at L = −0.25
    low, high = loss_figure(_paths(0.1, 30, saddle)).layout.yaxis.range
    assert low <= -0.25 and high >= saddle.value(saddle.start)


def test_a_log_axis_spans_at_least_two_powers_of_ten():
    low, high = loss_figure(_paths(1e-6, 20), log_scale=True).layout.yaxis.range  # log10 units
    assert high - low >= 2
    assert low <= np.log10(15.25) - 2 and high >= np.log10(15.25)


@pytest.mark.parametrize(
    "last,dtick", [(0, 1), (1, 1), (7, 1), (10, 1), (11, 2), (20, 2), (45, 5), (1000, 100)]
)
def test_step_ticks_are_whole_numbers_at_most_ten_of_them(last, dtick):
    assert step_ticks(last) == dtick


def test_a_path_diverged_at_step_one_gets_whole_step_ticks():
    paths = _paths(100.0, 20)[:2]  # SGD and momentum blow up and stop at step 1
    assert all(p.diverged and p.diverged_at() == p.last.step == 1 for p in paths)
    axis = loss_figure(paths, log_scale=True).layout.xaxis
    assert (axis.tick0, axis.dtick, axis.tickformat) == (0, 1, "d")
    low, high = axis.range
    assert low < 0 < 1 < high and high < 2  # ticks at 0 and 1 only


def test_no_line_joins_two_points_off_the_map():
    valley = SURFACES["valley"]
    path = Trajectory(valley, OptimizerSpec("sgd", 1.0), valley.start)
    path.step(20)  # leaves the map at step 1, runs away at step 2
    (line,) = _lines(contour_figure(valley, [path], grid=21), [path])
    x_min, x_max, y_min, y_max = valley.domain

    def off(x, y):
        return not (x_min <= x <= x_max and y_min <= y <= y_max)

    points = list(zip(line.x, line.y))
    assert sum(x is None for x, _ in points) >= 1  # broken where it jumps between off-map points
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        if None not in (xa, xb):
            assert not (off(xa, ya) and off(xb, yb)), ((xa, ya), (xb, yb))
    steps = [s for s in line.customdata if s is not None]
    assert steps == [r.step for r in path.records]  # every point still drawn, with its step for the hover
