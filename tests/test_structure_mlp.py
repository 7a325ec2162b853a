"""The intro note's Exercise 1 model: a 3-layer MLP on one-hot rows, one residue at a time."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from protlab.data import one_hot, pad_batch
from protlab.errors import ConfigError
from protlab.models import build_model, count_parameters
from protlab.runs import RunSpec
from protlab.structure import ResidueMLP, ResidueMLPConfig, layer_shapes, receptive_field, residue_one_hot
from protlab.training import TrainConfig


def test_the_exercise_shapes_one_hot_in_and_three_scores_per_residue_out():
    model = ResidueMLP().eval()
    tokens, mask = pad_batch(["MKTAYIAKQR", "GWVL"])  # (2, 10): the second protein is padded
    assert residue_one_hot(tokens, model.vocab_size).shape == (2, 10, 20)  # (batch, length, 20)
    assert model(tokens, mask).shape == (2, 10, 3)  # (batch, length, 3)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(20, 64), (64, 64), (64, 3)]  # 3 layers


def test_its_one_hot_rows_are_the_encode_lesson_s():
    sequence = "MVLSPADKTNX"  # X: the unknown residue, an all-zero row on the Encode page too
    tokens, _ = pad_batch([sequence])
    torch.testing.assert_close(residue_one_hot(tokens, 22)[0], one_hot(sequence).float())


def test_it_equals_the_plain_mlp_of_the_exercise_applied_at_every_position():
    torch.manual_seed(3)
    model = ResidueMLP(ResidueMLPConfig(hidden_dim=8, dropout=0.0)).eval()
    plain = nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    linears = [m for m in model.layers if isinstance(m, nn.Linear)]
    for i, layer in zip((0, 2, 4), linears):  # Sequential numbers the ReLUs too
        plain[i].load_state_dict(layer.state_dict())
    tokens, mask = pad_batch(["MKTAYIAKQR", "GWVL"])
    x = residue_one_hot(tokens, 22)  # (2, 10, 20)
    torch.testing.assert_close(model(tokens, mask), plain(x.reshape(-1, 20)).reshape(2, 10, 3))


def test_a_residue_s_prediction_depends_on_that_residue_alone():
    model = ResidueMLP(ResidueMLPConfig(dropout=0.0)).eval()
    alone, _ = pad_batch(["MKTAYIAKQR"])
    changed, _ = pad_batch(["GKTAYIAKQW"])  # other residues around position 5 changed
    assert torch.equal(model(alone)[0, 1:9], model(changed)[0, 1:9])
    assert receptive_field(model.config) == 1


def test_build_model_and_the_layer_table_know_the_kind():
    model = build_model("residue_mlp", {"hidden_dim": 32})
    assert count_parameters(model) == (20 * 32 + 32) + (32 * 32 + 32) + (32 * 3 + 3)
    tokens, mask = pad_batch(["MKTAYIAKQR", "GWVL"])
    table = layer_shapes(model, tokens, mask)
    assert table["output_shape"].iloc[-1] == "(2, 10, 3)" and "transpose" not in set(table["type"])
    # the rows read as the model runs: one-hot, then Linear -> ReLU -> Dropout twice, then the output Linear
    assert table["type"].tolist() == ["OneHot", *["Linear", "ReLU", "Dropout"] * 2, "Linear"]
    assert table["output_shape"].tolist()[:2] == ["(2, 10, 20)", "(2, 10, 32)"]
    assert table["parameters"].sum() == count_parameters(model)


def test_a_per_residue_run_may_use_the_exercise_mlp_but_not_a_solubility_model():
    config = dataclasses.asdict(ResidueMLPConfig())
    spec = dict(task="secondary_structure", model_config=config, train_config=TrainConfig(epochs=1))
    RunSpec(name="mlp", model_kind="residue_mlp", **spec).validate()
    with pytest.raises(ConfigError, match="residue_cnn' or 'residue_mlp'"):
        RunSpec(name="cnn", model_kind="cnn", **spec | {"model_config": {}}).validate()


@pytest.mark.parametrize(("field", "value"), [("num_layers", 1), ("hidden_dim", 0), ("dropout", 1.0)])
def test_settings_outside_their_ranges_are_refused_by_name(field, value):
    with pytest.raises(ConfigError, match=field):
        ResidueMLP(ResidueMLPConfig(**{field: value}))
