"""Loss surfaces and optimizer paths, checked against autograd, finite differences, sklearn, torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error

from protlab.errors import ConfigError
from protlab.lessons import (
    OPTIMIZER_KINDS,
    SURFACES,
    OptimizerSpec,
    Trajectory,
    autograd_gradient,
    get_surface,
    path_table,
    tm_dataset,
)

RNG = np.random.default_rng(0)


def _points(surface, n=5):
    x_min, x_max, y_min, y_max = surface.domain
    return [(float(RNG.uniform(x_min, x_max)), float(RNG.uniform(y_min, y_max))) for _ in range(n)]


@pytest.mark.parametrize("key", list(SURFACES))
def test_hand_gradient_matches_autograd(key):
    surface = SURFACES[key]
    for point in _points(surface):
        assert np.allclose(surface.grad(*point), autograd_gradient(surface, point), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("key", list(SURFACES))
def test_hand_gradient_matches_finite_differences(key):
    surface, h = SURFACES[key], 1e-5
    for p1, p2 in _points(surface):
        d1 = (surface.value((p1 + h, p2)) - surface.value((p1 - h, p2))) / (2 * h)
        d2 = (surface.value((p1, p2 + h)) - surface.value((p1, p2 - h))) / (2 * h)
        g1, g2 = surface.grad(p1, p2)
        assert d1 == pytest.approx(g1, rel=1e-6, abs=1e-5)
        assert d2 == pytest.approx(g2, rel=1e-6, abs=1e-5)


@pytest.mark.parametrize("key", list(SURFACES))
def test_minima_are_stationary_and_grid_matches_values(key):
    surface = SURFACES[key]
    for m in surface.minima:
        assert np.allclose(surface.grad(*m), 0.0, atol=1e-4)
    xs, ys, z = surface.grid(11)
    assert z.shape == (11, 11)
    assert z[3, 7] == pytest.approx(surface.value((xs[7], ys[3])))


def test_tm_mse_is_the_mse_of_the_line_and_its_minimum_is_least_squares():
    x, tm = tm_dataset()
    surface = get_surface("tm_mse")
    assert abs(x.mean()) < 1e-12 and x.std() == pytest.approx(1.0)
    assert 30 < tm.mean() < 90  # realistic melting temperatures in deg C
    w, b = 1.7, 50.0
    assert surface.value((w, b)) == pytest.approx(mean_squared_error(tm, w * x + b))
    fit = LinearRegression().fit(x[:, None], tm)
    assert surface.minima[0] == pytest.approx((fit.coef_[0], fit.intercept_))


def _run(surface, spec, start, n):
    traj = Trajectory(surface, spec, start)
    traj.step(n)
    return np.array([[r.p1, r.p2] for r in traj.records])


def test_sgd_and_momentum_follow_the_hand_formulas():
    surface = SURFACES["valley"]
    start = np.array(surface.start)
    sgd = _run(surface, OptimizerSpec("sgd", 0.03), surface.start, 6)
    mom = _run(surface, OptimizerSpec("momentum", 0.03, momentum=0.8), surface.start, 6)
    p, q, v = start.copy(), start.copy(), np.zeros(2)
    for t in range(1, 7):
        p = p - 0.03 * np.array(surface.grad(*p))
        v = 0.8 * v + np.array(surface.grad(*q))  # torch's form: v <- mu v + g, p <- p - lr v
        q = q - 0.03 * v
        assert np.allclose(sgd[t], p) and np.allclose(mom[t], q)


def test_adam_follows_the_hand_formula_with_bias_correction():
    surface, lr, (b1, b2), eps = SURFACES["himmelblau"], 0.1, (0.9, 0.999), 1e-8
    path = _run(surface, OptimizerSpec("adam", lr), surface.start, 8)
    p, m, v = np.array(surface.start), np.zeros(2), np.zeros(2)
    for t in range(1, 9):
        g = np.array(surface.grad(*p))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        assert np.allclose(path[t], p, rtol=1e-9)


def test_records_hold_the_gradient_and_loss_at_each_point():
    surface = SURFACES["tm_mse"]
    traj = Trajectory(surface, OptimizerSpec("momentum", 0.05), surface.start)
    traj.step(5)
    for r in traj.records:
        assert (r.grad1, r.grad2) == pytest.approx(surface.grad(r.p1, r.p2))
        assert r.loss == pytest.approx(surface.value((r.p1, r.p2)))
    table = path_table(traj)
    assert list(table.columns) == ["step", "w", "b", "dL/dw", "dL/db", "loss"]
    assert table["step"].tolist() == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("key", list(SURFACES))
@pytest.mark.parametrize("kind", OPTIMIZER_KINDS)
def test_suggested_learning_rates_descend_without_diverging(key, kind):
    surface = SURFACES[key]
    traj = Trajectory(surface, OptimizerSpec(kind, surface.suggested_lr(kind)), surface.start)
    traj.step(60)
    assert not traj.diverged
    assert traj.last.loss < traj.records[0].loss


def test_too_large_learning_rate_diverges_stops_and_says_so():
    surface = SURFACES["bowl"]
    traj = Trajectory(surface, OptimizerSpec("sgd", 5.0), (1.0, 1.0))
    taken = traj.step(100)
    assert traj.diverged and taken < 100
    assert "step" in traj.diverged_reason
    assert traj.left_domain_at() is not None
    assert traj.step(10) == 0  # a diverged path takes no more steps
    assert len(traj.records) == taken + 1


def test_overflow_to_infinity_is_caught_without_crashing():
    surface = SURFACES["himmelblau"]
    traj = Trajectory(surface, OptimizerSpec("sgd", 1000.0), (4.0, 4.0))
    traj.step(50)
    assert traj.diverged
    last = traj.last
    assert not all(math.isfinite(v) for v in (last.p1, last.p2, last.loss)) or abs(last.p1) > 100


TORCH_REFERENCE = {  # the optimizer each kind stands for, written out by hand with torch.optim
    "sgd": lambda p, spec: torch.optim.SGD([p], lr=spec.lr),
    "momentum": lambda p, spec: torch.optim.SGD([p], lr=spec.lr, momentum=spec.momentum),
    "adam": lambda p, spec: torch.optim.Adam([p], lr=spec.lr, betas=spec.betas),
}


def _torch_path(surface, spec, start, n):
    """The path a hand-built torch.optim optimizer takes: n steps of zero_grad, backward, step."""
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = TORCH_REFERENCE[spec.kind](p, spec)
    points = [tuple(p.tolist())]
    for _ in range(n):
        optimizer.zero_grad()
        surface.loss(p[0], p[1]).backward()
        optimizer.step()
        points.append(tuple(p.tolist()))
    return points


@pytest.mark.parametrize("key", sorted(SURFACES))
@pytest.mark.parametrize("kind", OPTIMIZER_KINDS)
def test_each_kind_takes_the_same_path_as_the_torch_optimizer_it_names(key, kind):
    surface = SURFACES[key]
    spec = OptimizerSpec(kind, surface.suggested_lr(kind), momentum=0.7, betas=(0.8, 0.99))
    start = surface.start
    traj = Trajectory(surface, spec, start)
    traj.step(40)
    assert [(r.p1, r.p2) for r in traj.records] == _torch_path(surface, spec, start, traj.last.step)


LR_RANGE = "learning rate must be a number above 0 and at most 10000"


@pytest.mark.parametrize(
    "spec,message",
    [
        (OptimizerSpec("sgd", 0.0), f"{LR_RANGE}; got 0.0. Try 0.1."),
        (OptimizerSpec("sgd", float("inf")), f"{LR_RANGE}; got inf. Try 0.1."),
        (
            OptimizerSpec("rmsprop", 0.1),
            "optimizer must be one of 'sgd', 'momentum' or 'adam'; got 'rmsprop'.",
        ),
        (
            OptimizerSpec("momentum", 0.1, momentum=1.5),
            "momentum must be a number from 0 to below 1; got 1.5. Try 0.9.",
        ),
    ],
)
def test_bad_optimizer_settings_name_the_setting_the_value_and_the_range(spec, message):
    with pytest.raises(ConfigError) as info:
        Trajectory(SURFACES["bowl"], spec, (1.0, 1.0))
    assert str(info.value) == message


def test_bad_surface_and_step_count_are_refused():
    with pytest.raises(ConfigError, match="surface must be one of 'bowl', .* or 'tm_mse'; got 'mountain'"):
        get_surface("mountain")
    traj = Trajectory(SURFACES["bowl"], OptimizerSpec("sgd", 0.1), (1.0, 1.0))
    for bad in (0, 1001, 2.0, True):
        expected = f"number of steps must be an integer from 1 to 1000; got {bad!r}"
        with pytest.raises(ConfigError, match=expected):
            traj.step(bad)
    assert traj.step(np.int64(2)) == 2


def test_diverged_at_names_the_first_step_off_the_map_and_nothing_for_a_good_rate():
    from protlab.lessons.landscape import OptimizerSpec

    bowl = SURFACES["bowl"]
    good, slow, wild = (Trajectory(bowl, OptimizerSpec("sgd", lr), bowl.start) for lr in (0.1, 1.1, 5.0))
    for path in (good, slow, wild):
        path.step(20)
    assert good.diverged_at() is None
    assert slow.diverged_at() == slow.left_domain_at() is not None and not slow.diverged  # grows, not stopped
    assert wild.diverged and wild.diverged_at() == wild.left_domain_at()
