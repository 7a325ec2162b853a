"""EnsembleModel's member weights: the weighted mean of the members' probabilities, kept in checkpoints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from protlab.data import pad_batch
from protlab.errors import ConfigError
from protlab.models import EnsembleModel, build_model, load_checkpoint, model_config_dict, save_checkpoint
from protlab.recipe_book import Member
from tests.conftest import random_proteins

CNN = {"vocab_size": 22, "embed_dim": 8, "hidden_dim": 8}


def _members(n: int) -> list[torch.nn.Module]:
    """n small CNNs with different random weights, in eval mode."""
    out = []
    for seed in range(n):
        torch.manual_seed(seed)
        out.append(build_model("cnn", CNN).eval())
    return out


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Padded tokens (B, L) and mask (B, L) of a few random proteins."""
    return pad_batch(random_proteins(6, (10, 40), seed=1))


@pytest.mark.parametrize("weights", [None, [1.0, 1.0, 2.0], [0.2, 5, 1e-3]])
def test_the_ensemble_is_the_weighted_mean_of_its_members_probabilities(weights: list[float] | None) -> None:
    members = _members(3)
    tokens, mask = _batch()
    with torch.no_grad():
        probs = np.stack([torch.softmax(m(tokens, mask), dim=1).numpy() for m in members])  # (M, B, 2)
        got = torch.exp(EnsembleModel(members, weights).eval()(tokens, mask)).numpy()  # (B, 2)
    shares = np.ones(3) if weights is None else np.asarray(weights, dtype=float)
    expected = np.tensordot(shares / shares.sum(), probs, axes=1)  # (B, 2)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_weights_travel_through_the_config_and_a_checkpoint(tmp_path) -> None:
    model = EnsembleModel(_members(2), [3.0, 1.0]).eval()
    config = model_config_dict(model)
    assert config["weights"] == [3.0, 1.0]
    path = save_checkpoint(tmp_path / "ens.pt", model, kind="ensemble", model_config=config)
    loaded = load_checkpoint(path).model.eval()
    tokens, mask = _batch()
    torch.testing.assert_close(loaded(tokens, mask), model(tokens, mask))
    rebuilt = build_model("ensemble", config)
    assert rebuilt.weights == [3.0, 1.0]


def test_an_unweighted_ensemble_keeps_its_former_config() -> None:
    assert set(model_config_dict(EnsembleModel(_members(2)))) == {"members"}


@pytest.mark.parametrize("weights", [[1.0], [1.0, -1.0], [1.0, 0.0], [1.0, math.nan], [True, 1.0], "11"])
def test_bad_weights_are_refused_naming_the_setting(weights: object) -> None:
    with pytest.raises(ConfigError, match="weights must be None .* 2 positive numbers"):
        EnsembleModel(_members(2), weights)
    members = [{"kind": "cnn", "config": CNN}] * 2
    with pytest.raises(ConfigError, match="weights"):
        build_model("ensemble", {"members": members, "weights": weights})


@pytest.mark.parametrize("weight", [0.0, -1.0, math.inf, "2"])
def test_a_recipe_member_needs_a_positive_weight(weight: object) -> None:
    with pytest.raises(ConfigError, match="weight"):
        Member("cnn", CNN, 7, weight=weight)
