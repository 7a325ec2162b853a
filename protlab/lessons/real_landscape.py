"""The loss landscape of a trained network: a 2-D slice through its weights (Li et al., 2018).

Around the trained weights θ* pick two random directions δ and η with the same shapes as the weights, rescale
each filter of a direction to the norm of the same filter of θ* ("filter normalisation", so that the slice
looks the same whatever the scale of each layer), and evaluate the loss of θ* + α·δ + β·η on a fixed sample
of proteins over a grid of (α, β). Weights with one dimension (biases, normalisation layers) get a zero
direction, as in the paper ("ignore biasbn"). A training path (weights saved after each epoch) is drawn by
projecting θ_t − θ* onto the plane of δ and η (least squares). The grid becomes a smooth 2-D Surface (bicubic
interpolation, with autograd gradients), so the lesson's optimizers can be stepped on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from protlab.checks import Choice, FloatRange, IntRange, check_fields, setting
from protlab.data.batching import Batch, TokenizedSet, make_batch, sorted_batch_indices
from protlab.data.loading import LabelledData
from protlab.errors import ConfigError
from protlab.lessons.landscape import Surface

Weights = dict[str, torch.Tensor]  # parameter name -> tensor, as in model.named_parameters()
Progress = Callable[[float], None]  # called with the fraction done, 0..1

SAMPLE_BATCH = 64  # proteins per forward pass when the loss is evaluated
SAMPLE_TOKENS = 32 * 1024  # padded tokens per forward pass
DIRECTION_KINDS = ("random", "path")  # how the two directions of the slice are chosen
PATH_FILL = 0.8  # with 'path' directions the training path reaches this fraction of the span


@dataclass(frozen=True)
class SliceSettings:
    """Where and how finely the slice is evaluated."""

    n_proteins: int = setting(256, IntRange(8, 2048))  # proteins of the fixed sample the loss is averaged on
    grid: int = setting(21, IntRange(5, 61))  # grid points along each direction (grid x grid evaluations)
    span: float = setting(1.0, FloatRange(0.01, 10.0))  # α and β run from −span to +span
    seed: int = setting(0, IntRange(0, 2**31 - 1))  # seed of the sample and of the two directions
    # 'random': two random filter-normalised directions; 'path': the two main directions of the training path
    # (PCA of the kept epochs, Li et al.'s section 7: random directions are nearly orthogonal to the path)
    directions: str = setting("random", Choice(DIRECTION_KINDS))

    def validate(self) -> None:
        """Raise ConfigError if a setting is outside its allowed range."""
        check_fields(self)

    @property
    def axis(self) -> np.ndarray:
        """The grid values of α (and β).  # (grid,) float64"""
        return np.linspace(-self.span, self.span, self.grid)


@dataclass
class LossSlice:
    """The loss on a grid around θ*: losses[i, j] is the loss at (alphas[j], betas[i])."""

    alphas: np.ndarray  # (n,) float64 steps along direction 1
    betas: np.ndarray  # (m,) float64 steps along direction 2
    losses: np.ndarray  # (m, n) float64 mean cross-entropy per protein
    n_proteins: int  # proteins the loss is averaged over
    centre_loss: float  # the loss at θ* itself (α = β = 0)


# ---------------------------------------------------------------- the sample and the loss


def sample_batches(model: nn.Module, data: LabelledData, n_proteins: int, seed: int) -> list[Batch]:
    """Draw n proteins of data (fixed by seed) and tokenise them for model in length-sorted batches."""
    from protlab.runs.prep import tokenise_for_model

    IntRange(1).check(n_proteins, "n_proteins")
    rows = np.sort(np.random.default_rng(seed).permutation(len(data))[: min(n_proteins, len(data))])
    subset = LabelledData([data.sequences[i] for i in rows], data.labels[rows], [data.ids[i] for i in rows])
    tokens: TokenizedSet = tokenise_for_model(model, subset)
    order = sorted_batch_indices(tokens.lengths, batch_size=SAMPLE_BATCH, token_budget=SAMPLE_TOKENS)
    return [make_batch(tokens, idx) for idx in order]


def _logits(model: nn.Module, state: Mapping[str, torch.Tensor], batch: Batch) -> torch.Tensor:
    """The model's logits on a batch with its parameters replaced by state.  # (B, C)"""
    if getattr(model, "uses_features", False):
        return functional_call(model, dict(state), (batch.tokens, batch.features, batch.mask))
    return functional_call(model, dict(state), (batch.tokens, batch.mask))


def mean_loss(model: nn.Module, batches: Sequence[Batch], state: Mapping[str, torch.Tensor]) -> float:
    """Mean cross-entropy per protein of the model with parameters state (eval mode, no gradients)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for batch in batches:
                logits = _logits(model, state, batch)
                total += float(F.cross_entropy(logits.double(), batch.labels, reduction="sum"))
                count += len(batch)
    finally:
        model.train(was_training)
    return total / max(count, 1)


# ---------------------------------------------------------------- directions


def weights_of(model: nn.Module) -> Weights:
    """A detached copy of the model's parameters (buffers are not part of a direction)."""
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def filter_normalised_directions(model: nn.Module, seed: int) -> tuple[Weights, Weights]:
    """Two random directions, each filter rescaled to the norm of the same filter of the weights.

    A 'filter' is a slice along the first dimension: one output channel of a convolution, one neuron of a
    linear layer, one token's row of an embedding. One-dimensional parameters (biases, normalisation
    weights) and frozen ones get zeros, so the slice never moves them.
    """
    IntRange(0, 2**31 - 1).check(seed, "seed")
    generator = torch.Generator().manual_seed(seed)
    directions: list[Weights] = [{}, {}]
    for name, p in model.named_parameters():
        w = p.detach()
        for direction in directions:
            if w.dim() <= 1 or not p.requires_grad:
                direction[name] = torch.zeros_like(w)
                continue
            d = torch.randn(w.shape, generator=generator, dtype=w.dtype)  # same shape as the weight
            w_norms = w.reshape(w.shape[0], -1).norm(dim=1)  # (filters,)
            d_norms = d.reshape(d.shape[0], -1).norm(dim=1)  # (filters,)
            scale = w_norms / (d_norms + 1e-10)  # (filters,)
            direction[name] = d * scale.reshape(-1, *([1] * (w.dim() - 1)))
    return directions[0], directions[1]


def point_weights(origin: Weights, directions: tuple[Weights, Weights], alpha: float, beta: float) -> Weights:
    """θ* + α·δ + β·η, parameter by parameter."""
    d1, d2 = directions
    return {name: w + alpha * d1[name] + beta * d2[name] for name, w in origin.items()}


# ---------------------------------------------------------------- the slice


def loss_surface(
    model: nn.Module,
    batches: Sequence[Batch],
    directions: tuple[Weights, Weights],
    alphas: np.ndarray,
    betas: np.ndarray | None = None,
    progress: Progress | None = None,
) -> LossSlice:
    """The loss at θ* + α·δ + β·η for every (α, β) of the grid (θ* is the model's current weights)."""
    betas = alphas if betas is None else betas
    alphas, betas = np.asarray(alphas, dtype=np.float64), np.asarray(betas, dtype=np.float64)
    if alphas.ndim != 1 or betas.ndim != 1 or alphas.size < 2 or betas.size < 2:
        raise ConfigError(
            f"The grid needs at least 2 values along each axis; got {alphas.size} and {betas.size}."
        )
    origin = weights_of(model)
    losses = np.zeros((betas.size, alphas.size))  # (m, n)
    for i, beta in enumerate(betas):
        for j, alpha in enumerate(alphas):
            losses[i, j] = mean_loss(model, batches, point_weights(origin, directions, alpha, beta))
        if progress is not None:
            progress((i + 1) / betas.size)
    n_proteins = sum(len(b) for b in batches)
    return LossSlice(alphas, betas, losses, n_proteins, mean_loss(model, batches, origin))


def project_path(
    weights_list: Sequence[Mapping[str, torch.Tensor]], origin: Weights, directions: tuple[Weights, Weights]
) -> np.ndarray:
    """(α, β) of each θ_t: the least-squares coefficients of θ_t − θ* on δ and η.  # (T, 2) float64"""
    names = [n for n in origin if bool(directions[0][n].any() or directions[1][n].any())]
    if not names:
        raise ConfigError("The directions are zero everywhere, so nothing can be projected onto them.")
    basis = torch.stack(
        [torch.cat([d[n].reshape(-1).double() for n in names]) for d in directions], dim=1
    )  # (P, 2)
    centre = torch.cat([origin[n].reshape(-1).double() for n in names])  # (P,)
    points = np.zeros((len(weights_list), 2))
    for t, weights in enumerate(weights_list):
        missing = [n for n in names if n not in weights]
        if missing:
            raise ConfigError(
                f"Saved weights {t} lack the parameters {missing[:3]}; they are of another model."
            )
        offset = torch.cat([weights[n].reshape(-1).double() for n in names]) - centre  # (P,)
        points[t] = torch.linalg.lstsq(basis, offset.unsqueeze(1)).solution.squeeze(1).numpy()
    return points


def path_directions(
    weights_list: Sequence[Mapping[str, torch.Tensor]], origin: Weights
) -> tuple[Weights, Weights]:
    """The two principal directions of θ_t − θ* over the kept epochs, scaled: the path reaches ±PATH_FILL."""
    if len(weights_list) < 3:
        raise ConfigError(
            "Directions along the training path need at least 3 kept epochs; "
            f"this model has {len(weights_list)}."
        )
    names = list(origin)
    centre = torch.cat([origin[n].reshape(-1).double() for n in names])  # (P,)
    offsets = torch.stack(
        [torch.cat([w[n].reshape(-1).double() for n in names]) - centre for w in weights_list]
    )  # (T, P)
    _, _, vh = torch.linalg.svd(offsets, full_matrices=False)  # rows of vh: principal directions, (T, P)
    out = []
    for k in range(2):
        axis = vh[k]  # (P,) unit length
        reach = float((offsets @ axis).abs().max())  # the path's largest step along this axis
        axis = axis * (reach / PATH_FILL if reach > 0 else 1.0)
        pieces, start = {}, 0
        for n in names:
            size = origin[n].numel()
            pieces[n] = axis[start : start + size].reshape(origin[n].shape).to(origin[n].dtype)
            start += size
        out.append(pieces)
    return out[0], out[1]


# ---------------------------------------------------------------- the slice as a Surface


def _catmull_rom(p0, p1, p2, p3, t: torch.Tensor) -> torch.Tensor:
    """The Catmull-Rom cubic through p1 (t = 0) and p2 (t = 1); exact for quadratics."""
    return 0.5 * (
        2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3
    )


def _interpolator(sl: LossSlice) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A broadcasting torch function (α, β) -> loss: bicubic (Catmull-Rom) through the grid, flat outside."""
    table = torch.tensor(sl.losses, dtype=torch.float64)  # (m, n)
    m, n = table.shape
    a0, da = float(sl.alphas[0]), float(sl.alphas[1] - sl.alphas[0])
    b0, db = float(sl.betas[0]), float(sl.betas[1] - sl.betas[0])

    def loss(alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        alpha, beta = torch.broadcast_tensors(torch.as_tensor(alpha), torch.as_tensor(beta))
        x = ((alpha.double() - a0) / da).clamp(0, n - 1)  # grid coordinates; flat beyond the edge
        y = ((beta.double() - b0) / db).clamp(0, m - 1)
        col = x.detach().floor().clamp(max=n - 2).long()  # cell of each point
        row = y.detach().floor().clamp(max=m - 2).long()
        tx, ty = x - col, y - row  # position inside the cell, 0..1 (gradients flow through these)
        rows = []
        for k in (-1, 0, 1, 2):
            r = (row + k).clamp(0, m - 1)
            cols = [table[r, (col + c).clamp(0, n - 1)] for c in (-1, 0, 1, 2)]
            rows.append(_catmull_rom(*cols, tx))
        return _catmull_rom(*rows, ty)

    return loss


def slice_surface(sl: LossSlice, title: str, start: tuple[float, float] | None = None) -> Surface:
    """The slice as a Surface the lesson's optimizers can descend (gradients by autograd)."""
    loss = _interpolator(sl)

    def grad(a: float, b: float) -> tuple[float, float]:
        point = torch.tensor([a, b], dtype=torch.float64, requires_grad=True)
        loss(point[0], point[1]).backward()
        return float(point.grad[0]), float(point.grad[1])

    span_a, span_b = float(sl.alphas[-1] - sl.alphas[0]), float(sl.betas[-1] - sl.betas[0])
    i, j = np.unravel_index(int(np.argmin(sl.losses)), sl.losses.shape)
    rise = max(float(sl.losses.max() - sl.losses.min()), 1e-6)
    sgd_lr = 0.1 * max(span_a, span_b) ** 2 / rise  # about a tenth of the view per step on the slopes
    if start is None:
        start = (float(sl.alphas[0] + 0.1 * span_a), float(sl.betas[-1] - 0.15 * span_b))
    return Surface(
        key="real_slice",
        title=title,
        description="A 2-D slice through the trained network's weights; the loss between grid points is "
        "interpolated.",
        formula=f"L(α, β) = mean cross-entropy of θ* + α·δ + β·η on {sl.n_proteins} proteins",
        loss=loss,
        grad=grad,
        domain=(float(sl.alphas[0]), float(sl.alphas[-1]), float(sl.betas[0]), float(sl.betas[-1])),
        start=start,
        minima=((float(sl.alphas[j]), float(sl.betas[i])),),
        axis_labels=("α: along direction δ", "β: along direction η"),
        loss_label="cross-entropy",
        code="slice_loss(p1, p2)",
        default_lr=tuple(_round(v) for v in (sgd_lr, sgd_lr / 5, 0.05 * max(span_a, span_b))),
    )


def _round(value: float) -> float:
    """Round a learning rate to one significant digit (friendlier in a number box)."""
    return float(f"{value:.1g}")
