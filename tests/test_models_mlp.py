"""The MLP builder: parameter counts from the notes, limits checked before allocation, composition model."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from protlab.errors import ConfigError
from protlab.models import CompositionMLP, LayerSpec, MLPConfig, build_mlp, build_model, model_config_dict
from protlab.models import mlp as mlp_module


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_notes_two_layer_network_has_1474_parameters() -> None:
    reference = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
    config = MLPConfig(input_dim=20, layers=[LayerSpec(64)], num_classes=2)
    assert _count(build_mlp(config)) == mlp_module.mlp_parameter_count(config) == _count(reference) == 1474


def test_exercise_two_relu_and_gelu_have_the_same_count() -> None:
    reference = nn.Sequential(
        nn.Linear(20, 128),
        nn.ReLU(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 32),
        nn.ReLU(),
        nn.Linear(32, 4),
    )
    relu = MLPConfig(layers=[LayerSpec(128), LayerSpec(64), LayerSpec(32)], num_classes=4)
    gelu = MLPConfig(layers=[LayerSpec(w, "gelu") for w in (128, 64, 32)], num_classes=4)
    assert _count(build_mlp(relu)) == _count(build_mlp(gelu)) == _count(reference)
    assert any(isinstance(m, nn.GELU) for m in build_mlp(gelu))


@pytest.mark.parametrize("norm", [None, "layernorm", "batchnorm"])
@pytest.mark.parametrize("activation", ["relu", "gelu", "sigmoid", "tanh", "silu", "swish", "leaky_relu"])
def test_arithmetic_count_matches_built_network(activation: str, norm: str | None) -> None:
    config = MLPConfig(
        input_dim=7,
        layers=[LayerSpec(9, activation, 0.2, norm), LayerSpec(5, activation)],
        num_classes=3,
        output_activation="softmax",
    )
    net = build_mlp(config)
    assert _count(net) == mlp_module.mlp_parameter_count(config)
    out = net.eval()(torch.randn(4, 7))
    torch.testing.assert_close(out.sum(dim=1), torch.ones(4))


def test_zero_hidden_layers_is_logistic_regression() -> None:
    net = build_mlp(MLPConfig(layers=[]))
    assert len(net) == 1 and isinstance(net[0], nn.Linear) and _count(net) == 20 * 2 + 2


@pytest.mark.parametrize(
    "config, match",
    [
        (MLPConfig(layers=[LayerSpec(0)]), "width"),
        (MLPConfig(layers=[LayerSpec(-3)]), "width"),
        (MLPConfig(layers=[LayerSpec(mlp_module.MAX_WIDTH + 1)]), "width"),
        (MLPConfig(layers=[LayerSpec(8)] * (mlp_module.MAX_LAYERS + 1)), "at most"),
        (MLPConfig(layers=[LayerSpec(8, "softplus")]), "leaky_relu"),
        (MLPConfig(layers=[LayerSpec(8, norm="groupnorm")]), "batchnorm"),
        (MLPConfig(layers=[LayerSpec(8, dropout=1.5)]), "dropout"),
        (MLPConfig(output_activation="relu"), "output_activation"),
    ],
)
def test_bad_configs_raise_config_error(config: MLPConfig, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_mlp(config)


def test_parameter_limit_is_checked_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a layer was allocated before the limit check")

    monkeypatch.setattr(mlp_module.nn, "Linear", refuse)
    config = MLPConfig(input_dim=4096, layers=[LayerSpec(4096)] * 3)  # about 50M parameters
    with pytest.raises(ConfigError, match="parameters"):
        build_mlp(config)


def test_layers_given_as_dicts_round_trip() -> None:
    model = build_model("mlp", {"layers": [{"width": 16, "activation": "tanh"}]})
    assert isinstance(model, CompositionMLP)
    assert model_config_dict(model)["layers"] == [
        {"width": 16, "activation": "tanh", "dropout": 0.0, "norm": None}
    ]


def test_composition_model_reads_amino_acid_fractions() -> None:
    model = build_model("mlp", {"layers": []}).eval()
    linear = model.net[0]
    tokens = torch.tensor([[1, 1, 2, 21, 0, 0]])  # A A C X + 2 padding
    mask = torch.tensor([[1.0, 1, 1, 1, 0, 0]])
    composition = torch.zeros(1, 20)
    composition[0, 0], composition[0, 1] = 2 / 4, 1 / 4
    with torch.no_grad():
        torch.testing.assert_close(model(tokens, mask), linear(composition))
    with pytest.raises(ConfigError, match="input_dim"):
        build_model("mlp", {"input_dim": 5})


def test_widest_fill_is_the_largest_width_under_the_parameter_cap() -> None:
    def meta_count(*widths: int) -> int:  # torch's count on the meta device: nothing is allocated
        layers = [nn.Linear(a, b, device="meta") for a, b in zip(widths, widths[1:])]
        return sum(p.numel() for layer in layers for p in layer.parameters())

    for inputs, classes, n in ((20, 2, 3), (20, 2, 8), (100_000, 4096, 1)):  # the cap, not MAX_WIDTH, decides
        w = mlp_module.widest_fill(inputs, classes, n)
        assert (
            meta_count(inputs, *[w] * n, classes)
            <= mlp_module.MAX_PARAMETERS
            < meta_count(inputs, *[w + 1] * n, classes)
        )
    assert mlp_module.widest_fill(20, 2, 1) == mlp_module.MAX_WIDTH  # one layer of 4096 fits easily
