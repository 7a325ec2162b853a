"""The course notes' autograd examples, computed live and returned as plain numbers for the pages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from protlab.checks import Choice, FloatRange, IntRange
from protlab.errors import ConfigError
from protlab.models.mlp import ACTIVATIONS


@dataclass(frozen=True)
class PolynomialGrad:
    """z = sum(x_i^2 + 3 x_i) and its gradient, by autograd and by hand."""

    x: list[float]  # the input values
    z: float  # the scalar that backward() starts from
    autograd: list[float]  # x.grad after z.backward()
    by_hand: list[float]  # 2 x_i + 3


def polynomial_gradient(values: tuple[float, ...] = (2.0, 3.0)) -> PolynomialGrad:
    """Differentiate z = sum(x^2 + 3x) with torch.autograd and with the formula 2x + 3."""
    if not values or not all(np.isfinite(v) for v in values):
        raise ConfigError(f"x values must be one or more finite numbers; got {values!r}. Try 2, 3.")
    x = torch.tensor(values, dtype=torch.float32, requires_grad=True)  # (n,)
    z = (x**2 + 3 * x).sum()  # () scalar
    z.backward()
    return PolynomialGrad(
        x=[float(v) for v in values],
        z=float(z.detach()),
        autograd=x.grad.tolist(),
        by_hand=[2 * float(v) + 3 for v in values],
    )


@dataclass(frozen=True)
class LinearGradCheck:
    """Exercise 3: MSE gradient of y = W x + b by hand (chain rule) and by autograd."""

    x: list[float]  # the inputs of the batch
    y: list[float]  # the targets of the batch
    w: float  # the current weight
    b: float  # the current bias
    loss: float  # MSE at (w, b)
    grad_w_hand: float  # 2/n sum x_i (W x_i + b - y_i)
    grad_b_hand: float  # 2/n sum (W x_i + b - y_i)
    grad_w_autograd: float  # W.grad after loss.backward()
    grad_b_autograd: float  # b.grad after loss.backward()
    max_abs_diff: float  # largest disagreement between the two


def linear_gradient_check(n: int = 10, seed: int = 0) -> LinearGradCheck:
    """Compute Exercise 3's MSE gradients on n random points both ways (float64)."""
    IntRange(1, 10_000, tip="Exercise 3 uses 10.").check(n, "n", label="batch size n")
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g, dtype=torch.float64)  # (n,)
    y = 3.0 * x + 1.0 + 0.5 * torch.randn(n, generator=g, dtype=torch.float64)  # (n,)
    w = torch.randn(1, generator=g, dtype=torch.float64).requires_grad_()  # (1,)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # (1,)
    loss = ((w * x + b - y) ** 2).mean()
    loss.backward()
    residual = (w * x + b - y).detach()  # (n,)
    grad_w_hand = float(2.0 / n * (x * residual).sum())
    grad_b_hand = float(2.0 / n * residual.sum())
    diff = max(abs(grad_w_hand - float(w.grad)), abs(grad_b_hand - float(b.grad)))
    return LinearGradCheck(
        x=x.tolist(),
        y=y.tolist(),
        w=float(w.detach()),
        b=float(b.detach()),
        loss=float(loss.detach()),
        grad_w_hand=grad_w_hand,
        grad_b_hand=grad_b_hand,
        grad_w_autograd=float(w.grad),
        grad_b_autograd=float(b.grad),
        max_abs_diff=diff,
    )


@dataclass(frozen=True)
class OneStepResult:
    """The notes' Tm regression: loss before and after one plain gradient step."""

    n_proteins: int  # rows of X
    n_features: int  # columns of X
    lr: float  # learning rate of the step
    loss_before: float  # MSE in deg C squared before the step
    loss_after: float  # MSE after W -= lr * W.grad, b -= lr * b.grad
    grad_w_norm: float  # length of the weight gradient
    grad_b: float  # the bias gradient


def tm_one_step(
    n_proteins: int = 100, n_features: int = 10, lr: float = 0.01, seed: int = 0
) -> OneStepResult:
    """Run the notes' melting-temperature example: random X, Tm ~ 60 +- 10 deg C, one SGD step."""
    IntRange(1, 100_000).check(n_proteins, "n_proteins")
    IntRange(1, 1000).check(n_features, "n_features")
    FloatRange(0, 10, low_open=True, tip="The notes use 0.01.").check(lr, "lr")
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n_proteins, n_features, generator=g)  # (N, F) features
    y = torch.randn(n_proteins, 1, generator=g) * 10 + 60  # (N, 1) Tm in deg C
    W = torch.randn(n_features, 1, generator=g).requires_grad_()  # (F, 1)
    b = torch.zeros(1, requires_grad=True)  # (1,)
    loss = ((X @ W + b - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        W -= lr * W.grad
        b -= lr * b.grad
        loss_after = ((X @ W + b - y) ** 2).mean()
    return OneStepResult(
        n_proteins,
        n_features,
        lr,
        float(loss.detach()),
        float(loss_after),
        float(W.grad.norm()),
        float(b.grad[0]),
    )


def make_activation(name: str) -> nn.Module:
    """Return the torch.nn activation module for a name in protlab.models.mlp.ACTIVATIONS."""
    Choice(tuple(ACTIVATIONS)).check(name, "activation")
    return ACTIVATIONS[name]()


def activation_curves(names: list[str], z_min: float = -4.0, z_max: float = 4.0, n: int = 201) -> dict:
    """Return z (n,) and, per activation, its values and derivative (autograd) as lists."""
    if not z_min < z_max:
        raise ConfigError(f"z_min must be below z_max; got {z_min} and {z_max}.")
    z = torch.linspace(z_min, z_max, n, dtype=torch.float64)  # (n,)
    curves: dict[str, dict[str, list[float]]] = {}
    for name in dict.fromkeys(names):
        zz = z.clone().requires_grad_()
        out = make_activation(name)(zz)  # (n,)
        (grad,) = torch.autograd.grad(
            out.sum(), zz
        )  # elementwise derivative, since out_i depends on z_i only
        curves[name] = {"value": out.detach().tolist(), "derivative": grad.tolist()}
    return {"z": z.tolist(), "curves": curves}
