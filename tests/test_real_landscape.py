"""The real loss landscape: slices checked against direct loss evaluations with load_state_dict."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from protlab.errors import ConfigError
from protlab.lessons import (
    LossSlice,
    OptimizerSpec,
    SliceSettings,
    Trajectory,
    filter_normalised_directions,
    loss_surface,
    path_directions,
    project_path,
    sample_batches,
    slice_surface,
    weights_of,
)
from protlab.models import CNNConfig, SolubilityCNN
from tests.conftest import deepsol_sample


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(3)
    config = CNNConfig(vocab_size=22, embed_dim=6, hidden_dim=5, kernel_size=3, num_layers=2)
    return SolubilityCNN(config).eval()


@pytest.fixture(scope="module")
def data():
    return deepsol_sample(40, max_length=150, seed=2)


def _direct_loss(model, data, alpha, beta, directions) -> float:
    """Reference: a copy with θ* + αδ + βη put in by load_state_dict; all proteins in one padded batch."""
    moved = copy.deepcopy(model)
    state = moved.state_dict()
    for name, d1 in directions[0].items():
        state[name] = state[name] + alpha * d1 + beta * directions[1][name]
    moved.load_state_dict(state)
    moved.eval()
    width = max(len(s) for s in data.sequences)
    from protlab.data import encode_numpy

    tokens = torch.zeros(len(data), width, dtype=torch.int64)  # (N, Lmax) padding index 0
    mask = torch.zeros(len(data), width)  # (N, Lmax)
    for i, seq in enumerate(data.sequences):
        tokens[i, : len(seq)] = torch.from_numpy(encode_numpy(seq, vocab_size=22).astype(np.int64))
        mask[i, : len(seq)] = 1.0
    with torch.no_grad():
        logits = moved(tokens, mask)  # (N, 2)
    return float(F.cross_entropy(logits.double(), torch.tensor(data.labels)))


def test_filter_normalisation_matches_each_filter_norm(cnn):
    d1, d2 = filter_normalised_directions(cnn, seed=4)
    params = dict(cnn.named_parameters())
    assert set(d1) == set(params) == set(d2)
    for name, w in params.items():
        for d in (d1, d2):
            assert d[name].shape == w.shape
            if w.dim() == 1:
                assert torch.count_nonzero(d[name]) == 0  # biases are not perturbed (Li et al.'s biasbn)
                continue
            w_norms = w.detach().reshape(w.shape[0], -1).norm(dim=1)
            d_norms = d[name].reshape(w.shape[0], -1).norm(dim=1)
            torch.testing.assert_close(d_norms, w_norms, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(d1["conv2.weight"], d2["conv2.weight"])  # two different directions
    again = filter_normalised_directions(cnn, seed=4)
    assert all(torch.equal(again[0][n], d1[n]) for n in d1)  # the seed fixes them
    other = filter_normalised_directions(cnn, seed=5)
    assert not torch.equal(other[0]["conv1.weight"], d1["conv1.weight"])


def test_padding_row_of_the_embedding_gets_no_direction(cnn):
    d1, _ = filter_normalised_directions(cnn, seed=0)
    assert float(cnn.embedding.weight[0].detach().norm()) == 0.0
    assert float(d1["embedding.weight"][0].norm()) == 0.0


def test_loss_surface_matches_direct_evaluation(cnn, data):
    batches = sample_batches(cnn, data, n_proteins=len(data), seed=0)
    directions = filter_normalised_directions(cnn, seed=1)
    grid = np.linspace(-0.6, 0.6, 3)
    sl = loss_surface(cnn, batches, directions, grid, np.array([-0.3, 0.0, 0.5]))
    assert sl.losses.shape == (3, 3) and sl.n_proteins == len(data)
    for i, j in [(0, 0), (1, 1), (2, 0), (0, 2), (2, 1)]:
        expected = _direct_loss(cnn, data, sl.alphas[j], sl.betas[i], directions)
        assert sl.losses[i, j] == pytest.approx(expected, rel=1e-5)
    assert sl.centre_loss == pytest.approx(_direct_loss(cnn, data, 0.0, 0.0, directions), rel=1e-5)
    assert sl.losses[1, 1] == pytest.approx(sl.centre_loss, rel=1e-9)


def test_loss_surface_leaves_the_model_unchanged_and_reports_progress(cnn, data):
    before = weights_of(cnn)
    seen = []
    loss_surface(
        cnn,
        sample_batches(cnn, data, 10, 0),
        filter_normalised_directions(cnn, 0),
        np.linspace(-1, 1, 4),
        progress=seen.append,
    )
    assert seen == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert all(torch.equal(before[n], p) for n, p in cnn.named_parameters())


def test_sample_is_fixed_by_its_seed(cnn, data):
    a = sample_batches(cnn, data, 12, seed=7)
    b = sample_batches(cnn, data, 12, seed=7)
    c = sample_batches(cnn, data, 12, seed=8)
    ids = [sorted(int(i) for x in s for i in x.index) for s in (a, b)]
    assert ids[0] == ids[1] and sum(len(x) for x in a) == 12
    rows = lambda s: sorted(tuple(t[m > 0].tolist()) for x in s for t, m in zip(x.tokens, x.mask))  # noqa: E731
    assert rows(a) == rows(b) and rows(a) != rows(c)


def test_project_path_recovers_known_coefficients(cnn):
    origin = weights_of(cnn)
    directions = filter_normalised_directions(cnn, seed=2)
    coefficients = [(0.0, 0.0), (0.7, -0.2), (-1.5, 2.0)]
    path = []
    for a, b in coefficients:
        point = {n: origin[n] + a * directions[0][n] + b * directions[1][n] for n in origin}
        point["fc.bias"] = point["fc.bias"] + 3.0  # moves outside the plane are not seen (zero direction)
        path.append(point)
    np.testing.assert_allclose(project_path(path, origin, directions), coefficients, atol=1e-5)
    # least squares: the part of a move orthogonal to both directions does not shift the projection
    d1 = torch.cat([directions[0][n].reshape(-1) for n in origin]).double()
    d2 = torch.cat([directions[1][n].reshape(-1) for n in origin]).double()
    noise = torch.randn(d1.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    basis = torch.stack([d1, d2], dim=1)
    noise = noise - basis @ torch.linalg.lstsq(basis, noise.unsqueeze(1)).solution.squeeze(1)
    flat = torch.cat([origin[n].reshape(-1).double() for n in origin]) + 0.4 * d1 + noise
    pieces, start = {}, 0
    for n, w in origin.items():
        pieces[n] = flat[start : start + w.numel()].reshape(w.shape).float()
        start += w.numel()
    np.testing.assert_allclose(project_path([pieces], origin, directions), [[0.4, 0.0]], atol=1e-4)


def test_project_path_refuses_weights_of_another_model(cnn):
    origin = weights_of(cnn)
    with pytest.raises(ConfigError, match="lack the parameters"):
        project_path([{"other.weight": torch.zeros(3)}], origin, filter_normalised_directions(cnn, 0))


def _bowl_slice() -> LossSlice:
    axis = np.linspace(-1, 1, 21)
    aa, bb = np.meshgrid(axis, axis)  # (m, n) each: bb varies down the rows
    return LossSlice(axis, axis, 0.5 + (aa - 0.2) ** 2 + 2 * (bb + 0.1) ** 2, 10, 0.5 + 0.04 + 0.02)


def test_slice_surface_interpolates_the_grid_with_autograd_gradients():
    sl = _bowl_slice()
    surface = slice_surface(sl, "bowl")
    for i, j in [(0, 0), (5, 17), (20, 20), (10, 3)]:
        assert surface.value((sl.alphas[j], sl.betas[i])) == pytest.approx(sl.losses[i, j], abs=1e-9)
    point, h = (0.33, -0.41), 1e-5
    g = surface.grad(*point)
    fd = (
        (surface.value((point[0] + h, point[1])) - surface.value((point[0] - h, point[1]))) / (2 * h),
        (surface.value((point[0], point[1] + h)) - surface.value((point[0], point[1] - h))) / (2 * h),
    )
    assert g == pytest.approx(fd, rel=1e-4)
    assert g == pytest.approx((2 * (0.33 - 0.2), 4 * (-0.41 + 0.1)), abs=0.02)  # the quadratic's own slope
    assert surface.minima[0] == pytest.approx((0.2, -0.1))
    xs, ys, z = surface.grid(11)
    assert z.shape == (11, 11) and z.min() >= 0.5 - 1e-3


def test_optimizers_descend_the_slice_surface():
    surface = slice_surface(_bowl_slice(), "bowl")
    for kind in ("sgd", "momentum", "adam"):
        path = Trajectory(surface, OptimizerSpec(kind, surface.suggested_lr(kind)), surface.start)
        path.step(60)
        assert not path.diverged
        assert path.last.loss < path.records[0].loss - 0.5
        assert np.hypot(path.last.p1 - 0.2, path.last.p2 + 0.1) < 0.15


def test_settings_are_checked():
    SliceSettings().validate()
    np.testing.assert_allclose(SliceSettings(grid=5, span=2.0).axis, [-2, -1, 0, 1, 2])
    with pytest.raises(ConfigError, match="grid must be an integer from 5 to 61; got 3"):
        SliceSettings(grid=3).validate()
    with pytest.raises(ConfigError, match="at least 2 values"):
        loss_surface(None, [], ({}, {}), np.array([0.0]))


def test_path_directions_span_the_training_path(cnn):
    origin = weights_of(cnn)
    g = torch.Generator().manual_seed(1)
    u = {n: torch.randn(w.shape, generator=g) for n, w in origin.items()}
    v = {n: torch.randn(w.shape, generator=g) for n, w in origin.items()}
    coefficients = [(3.0, 1.0), (2.0, -0.5), (1.0, 0.2), (0.3, 0.1), (0.0, 0.0)]  # a path ending at θ*
    path = [{n: origin[n] + a * u[n] + b * v[n] for n in origin} for a, b in coefficients]
    directions = path_directions(path, origin)
    projected = project_path(path, origin, directions)
    # the path lies in the plane of the two directions: projecting and rebuilding gives it back
    for weights, (a, b) in zip(path, projected):
        for n in origin:
            rebuilt = origin[n] + a * directions[0][n] + b * directions[1][n]
            torch.testing.assert_close(rebuilt, weights[n], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.abs(projected).max(axis=0), [0.8, 0.8], rtol=1e-5)  # the path fills ±0.8
    flat = [torch.cat([d[n].reshape(-1) for n in origin]).double() for d in directions]
    assert abs(float(flat[0] @ flat[1])) < 1e-6 * float(flat[0].norm() * flat[1].norm())  # perpendicular
    with pytest.raises(ConfigError, match="at least 3 kept epochs"):
        path_directions(path[:2], origin)
    with pytest.raises(ConfigError, match="directions must be 'random' or 'path'; got 'sideways'"):
        SliceSettings(directions="sideways").validate()
