"""Reading the descent paths: coinciding lines, bouncing paths, flat losses and table digits, against geometry
worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from protlab.lessons import SURFACES, OptimizerSpec, Trajectory, path_table
from protlab.lessons.descent_reading import (
    bounce_note,
    bouncing,
    coincide_note,
    coinciding_pairs,
    column_formats,
    flat_loss_note,
    loss_floor,
    shared_length,
    significant_digits,
)

BOWL = SURFACES["bowl"]


def _walk(surface, kind: str, lr: float, steps: int, start=None) -> Trajectory:
    """One optimizer's path after `steps` steps."""
    path = Trajectory(surface, OptimizerSpec(kind, lr), start or surface.start)
    path.step(steps)
    return path


def test_shared_length_counts_only_the_stretch_on_the_other_line():
    under = np.array([[0.0, 0.5], [1.0, 0.5]])  # a horizontal line across the map
    along = np.array([[0.2, 0.5], [0.7, 0.5]])  # half a map width on it
    across = np.array([[0.5, 0.0], [0.5, 1.0]])  # crosses it at one point only
    assert shared_length(along, under) == pytest.approx(0.5)
    assert shared_length(across, under) == 0.0


def test_sgd_and_momentum_on_the_bowl_share_one_line_and_the_note_names_them():
    # on p1² + p2² the gradient (2 p1, 2 p2) points at the origin, so SGD and momentum both move along the
    # line from the start to the minimum: they coincide; Adam steps by sign first, off that line
    paths = [_walk(BOWL, kind, BOWL.suggested_lr(kind), 20) for kind in ("sgd", "momentum", "adam")]
    start = np.array(BOWL.start)
    for r in paths[0].records + paths[1].records:  # the reference: every point is a multiple of the start
        assert abs(start[0] * r.p2 - start[1] * r.p1) < 1e-9
    assert coinciding_pairs(paths) == [(0, 1)]
    note = coincide_note(paths)
    assert "SGD (lr 0.1) and SGD + momentum (lr 0.05) run along the same line" in note
    assert "Adam" not in note


def test_paths_on_different_lines_do_not_coincide():
    mirrored = (-BOWL.start[0], BOWL.start[1])  # SGD from the mirror point walks the mirror line
    paths = [_walk(BOWL, "sgd", 0.1, 20), _walk(BOWL, "sgd", 0.1, 20, start=mirrored)]
    assert coinciding_pairs(paths) == [] and coincide_note(paths) == ""


def test_paths_that_fly_off_together_coincide_up_to_the_edge():
    paths = [_walk(BOWL, kind, 100.0, 5) for kind in ("sgd", "momentum")]  # same first step, off the map
    assert all(p.diverged_at() == 1 for p in paths)
    assert coinciding_pairs(paths) == [(0, 1)]


def test_lr_one_on_the_bowl_bounces_between_two_points():
    path = _walk(BOWL, "sgd", 1.0, 20)
    # the reference: p ← p − 1 · 2p = −p, so the point alternates between the start and its mirror image
    for r in path.records:
        assert (r.p1, r.p2) == pytest.approx(tuple((-1) ** r.step * v for v in BOWL.start))
    assert path.diverged_at() is None and bouncing(path)
    note = bounce_note(path)
    assert "SGD (lr 1) bounces back and forth" in note
    assert "overshoots the minimum by about as much as it was away" in note and "try 0.5" in note


@pytest.mark.parametrize(
    "lr,why",
    [(0.1, "converges straight"), (0.95, "bounces but converges"), (1.1, "diverges"), (1e-6, "creeps")],
)
def test_converging_creeping_or_diverging_paths_are_not_called_bouncing(lr, why):
    assert not bouncing(_walk(BOWL, "sgd", lr, 20)), why


def test_the_valley_bounces_across_while_it_settles_along():
    valley = SURFACES["valley"]  # L = ½(p1² + 25 p2²): with lr 0.08, p2 ← (1 − 25 · 0.08) p2 = −p2
    path = _walk(valley, "sgd", 0.08, 80)
    assert path.last.p2 == pytest.approx(valley.start[1] * (-1) ** 80)
    assert bouncing(path) and not bouncing(_walk(valley, "sgd", 0.07, 80))


def test_loss_floor_is_zero_or_the_lowest_possible_loss():
    assert loss_floor([_walk(BOWL, "sgd", 0.1, 5)]) == 0.0
    saddle = SURFACES["saddle"]  # L(0, ±1) = 1/4 − 1/2
    assert loss_floor([_walk(saddle, "sgd", 0.1, 5)]) == pytest.approx(-0.25)


def test_a_tiny_learning_rate_gets_a_note_stating_how_little_the_loss_moved():
    paths = [_walk(BOWL, kind, 1e-6, 20) for kind in ("sgd", "momentum", "adam")]
    moved = max(max(r.loss for r in p.records) - min(r.loss for r in p.records) for p in paths)
    note = flat_loss_note(paths)
    assert f"none changed by more than {moved:.3g}" in note
    assert f"{moved / 15.25:.2%} of this axis" in note and "starts at 0" in note
    assert flat_loss_note([_walk(BOWL, kind, 0.1, 20) for kind in ("sgd", "adam")]) == ""


def test_significant_digits_separate_every_change():
    assert significant_digits([15.25, 9.76, 6.2464]) == 6  # the fewest shown
    assert significant_digits([3.0, 3.0, 3.0]) == 6
    creeping = -3.0 * (1 - 2e-6) ** np.arange(20)  # SGD with lr 1e-6 on the bowl, by hand
    digits = significant_digits(creeping)
    shown = [f"{v:.{digits}g}" for v in creeping]
    assert all(a != b for a, b in zip(shown, shown[1:]))
    assert f"{creeping[1]:.6g}" == f"{creeping[2]:.6g}"  # six digits would hide the change


def test_column_formats_make_every_step_of_a_creeping_path_visible():
    table = path_table(_walk(BOWL, "sgd", 1e-6, 20))
    formats = column_formats(table)
    assert set(formats) == {"p1", "p2", "dL/dp1", "dL/dp2", "loss"}  # not the integer step column
    for name, fmt in formats.items():
        shown = [fmt % v for v in table[name]]
        assert all(a != b for a, b in zip(shown, shown[1:])), name


@pytest.mark.parametrize(("surface", "lr"), [("bowl", 5.0), ("himmelblau", 1.0), ("himmelblau", 10_000.0)])
def test_a_diverged_path_is_offered_the_largest_tenth_of_its_rate_that_stays_on_course(surface, lr):
    from protlab.lessons.descent_reading import TRIAL_STEPS, divergence_note, stable_learning_rate

    s = SURFACES[surface]
    path = Trajectory(s, OptimizerSpec("sgd", lr), s.start)
    path.step(20)
    assert path.diverged_at() is not None
    suggested = stable_learning_rate(path)
    assert suggested is not None and suggested < lr

    def diverges(rate: float) -> bool:
        trial = Trajectory(s, OptimizerSpec("sgd", rate), s.start)
        trial.step(TRIAL_STEPS)
        return trial.diverged_at() is not None

    assert not diverges(suggested) and diverges(suggested * 10)  # 10x larger (up to lr itself) diverges
    note = divergence_note(path)
    assert f"{suggested:g} stays on course" in note and f"diverged at step {path.diverged_at()}" in note


def test_the_note_names_both_the_step_a_path_left_the_map_and_the_step_it_was_stopped_at():
    from protlab.lessons.descent_reading import divergence_note

    s = SURFACES["valley"]
    path = Trajectory(s, OptimizerSpec("sgd", 1.0), s.start)
    path.step(20)
    assert path.diverged and path.diverged_at() < path.last.step  # off the map first, exploded later
    note = divergence_note(path)
    assert f"left the map at step {path.diverged_at()}" in note
    assert f"stopped it at step {path.last.step}" in note and "the last row of its table" in note
    bowl = Trajectory(SURFACES["bowl"], OptimizerSpec("sgd", 1.1), SURFACES["bowl"].start)
    bowl.step(5)  # off the map and growing, but its numbers have not run away: not stopped
    assert not bowl.diverged and bowl.diverged_at() is not None and "stopped" not in divergence_note(bowl)
    bowl = Trajectory(SURFACES["bowl"], OptimizerSpec("sgd", 1.5), SURFACES["bowl"].start)
    bowl.step(20)
    assert f"diverged at step {bowl.diverged_at()}" in divergence_note(bowl)


def test_the_suggested_rate_is_worked_out_once_per_path_on_the_lesson_surfaces():
    from protlab.lessons.descent_reading import _stable_rate_on, stable_learning_rate

    s = SURFACES["bowl"]
    path = Trajectory(s, OptimizerSpec("sgd", 7.0), s.start)
    path.step(5)
    first = stable_learning_rate(path)
    hits = _stable_rate_on.cache_info().hits
    assert stable_learning_rate(path) == first and _stable_rate_on.cache_info().hits == hits + 1


def test_a_path_whose_current_point_hides_under_a_minimums_star_is_named():
    from protlab.lessons.descent_reading import STAR_RADIUS, at_minimum_note

    bowl = SURFACES["bowl"]
    paths = [Trajectory(bowl, OptimizerSpec(kind, 0.1), bowl.start) for kind in ("sgd", "adam")]
    for path in paths:
        path.step(23)
    x_min, x_max, y_min, y_max = bowl.domain
    radius = STAR_RADIUS * max(x_max - x_min, y_max - y_min)
    # the bowl's minimum is (0, 0)
    near = [p.spec.label for p in paths if np.hypot(p.last.p1, p.last.p2) <= radius]
    assert near == ["SGD (lr 0.1)"]  # SGD has arrived; Adam is still on its way
    assert at_minimum_note(paths) == (
        "SGD (lr 0.1) has reached a minimum: its current point (the square) lies under the gold star."
    )
    assert at_minimum_note(paths[1:]) == ""
    paths[1].step(400)
    assert at_minimum_note(paths).startswith("SGD (lr 0.1) and Adam (lr 0.1) have reached a minimum")
