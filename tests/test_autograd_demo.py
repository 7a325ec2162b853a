"""The notes' autograd examples, recomputed here with torch and by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from protlab.errors import ConfigError
from protlab.lessons import activation_curves, linear_gradient_check, polynomial_gradient, tm_one_step


def test_polynomial_gradient_is_the_notes_7_and_9():
    result = polynomial_gradient((2.0, 3.0))
    x = torch.tensor([2.0, 3.0], requires_grad=True)
    (grad,) = torch.autograd.grad((x**2 + 3 * x).sum(), x)
    assert result.autograd == grad.tolist() == [7.0, 9.0]
    assert result.by_hand == [7.0, 9.0]
    assert result.z == pytest.approx(4 + 6 + 9 + 9)


def test_polynomial_gradient_rejects_bad_input():
    with pytest.raises(ConfigError, match="finite"):
        polynomial_gradient((float("nan"),))
    with pytest.raises(ConfigError, match="x values"):
        polynomial_gradient(())


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_linear_gradient_check_matches_autograd_recomputed_here(seed):
    r = linear_gradient_check(10, seed)
    assert len(r.x) == len(r.y) == 10
    x, y = torch.tensor(r.x, dtype=torch.float64), torch.tensor(r.y, dtype=torch.float64)
    w = torch.tensor([r.w], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([r.b], dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.mse_loss(w * x + b, y)
    loss.backward()
    assert r.loss == pytest.approx(float(loss.detach()))
    assert r.grad_w_autograd == pytest.approx(float(w.grad), rel=1e-12)
    assert r.grad_b_autograd == pytest.approx(float(b.grad), rel=1e-12)
    residual = np.array(r.x) * r.w + r.b - np.array(r.y)
    assert r.grad_w_hand == pytest.approx(2 * np.mean(np.array(r.x) * residual), rel=1e-12)
    assert r.max_abs_diff < 1e-12


def test_tm_one_step_follows_the_notes_and_lowers_the_loss():
    r = tm_one_step(n_proteins=100, n_features=10, lr=0.01, seed=3)
    g = torch.Generator().manual_seed(3)
    X = torch.randn(100, 10, generator=g)
    y = torch.randn(100, 1, generator=g) * 10 + 60
    W = torch.randn(10, 1, generator=g, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    loss = torch.nn.functional.mse_loss(X @ W + b, y)
    loss.backward()
    after = torch.nn.functional.mse_loss(X @ (W - 0.01 * W.grad) + (b - 0.01 * b.grad), y)
    assert r.loss_before == pytest.approx(float(loss.detach()), rel=1e-5)
    assert r.loss_after == pytest.approx(float(after.detach()), rel=1e-5)
    assert r.loss_after < r.loss_before


def test_tm_one_step_validates_its_arguments():
    with pytest.raises(ConfigError, match="lr"):
        tm_one_step(lr=0)
    with pytest.raises(ConfigError, match="n_proteins"):
        tm_one_step(n_proteins=0)


def test_activation_curves_derivatives_match_finite_differences():
    curves = activation_curves(["relu", "gelu", "sigmoid", "tanh", "silu", "leaky_relu"], n=101)
    z = np.array(curves["z"])
    assert len(curves["curves"]) == 6
    for name, curve in curves["curves"].items():
        value, slope = np.array(curve["value"]), np.array(curve["derivative"])
        numeric = np.gradient(value, z)
        away_from_kink = np.abs(z) > 0.1  # ReLU-like functions have a kink at 0
        assert np.allclose(slope[away_from_kink][1:-1], numeric[away_from_kink][1:-1], atol=2e-2), name
    sig = np.array(curves["curves"]["sigmoid"]["value"])
    assert np.allclose(curves["curves"]["sigmoid"]["derivative"], sig * (1 - sig))
    assert np.allclose(curves["curves"]["relu"]["derivative"], (z > 0).astype(float))


def test_activation_curves_reject_unknown_names():
    with pytest.raises(ConfigError, match="activation.*'softplus'"):
        activation_curves(["softplus"])
