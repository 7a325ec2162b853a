"""summarize and count_parameters against direct inspection of the modules."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from protlab.models import SolubilityCNN, build_model, count_parameters, parameter_count, summarize


def test_summary_rows_shapes_and_counts() -> None:
    model = SolubilityCNN()
    model.train()
    table = summarize(model, torch.randint(1, 21, (1, 7)))
    assert model.training  # mode restored
    assert list(table.columns) == ["name", "type", "output_shape", "parameters"]
    rows = table.set_index("name")
    assert rows.loc["embedding", "output_shape"] == "(1, 7, 64)"
    assert rows.loc["conv2", "output_shape"] == "(1, 128, 7)"
    assert rows.loc["fc", "output_shape"] == "(1, 2)"
    assert rows.loc["conv1", "parameters"] == model.conv1.weight.numel() + model.conv1.bias.numel()
    assert table["parameters"].sum() == sum(p.numel() for p in model.parameters())


def test_summary_leaves_no_hooks_and_no_gradients() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU(), nn.Linear(4, 2)))
    table = summarize(model, torch.randn(5, 3))
    assert list(table["name"]) == ["0", "1.0", "1.1"]
    assert list(table["output_shape"]) == ["(5, 4)", "(5, 4)", "(5, 2)"]
    assert all(not m._forward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_count_parameters_trainable_only() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    model[0].weight.requires_grad_(False)
    assert count_parameters(model) == 3 * 4 + 4 + 4 * 2 + 2
    assert count_parameters(model, trainable_only=True) == 4 + 4 * 2 + 2


@pytest.mark.parametrize(
    "kind,config",
    [
        ("cnn", {}),
        ("cnn", {"embed_dim": 16, "hidden_dim": 40, "num_layers": 3}),
        ("dual", {"global_dim": 8}),
        ("mlp", {}),
    ],
)
def test_parameter_count_on_the_meta_device_equals_the_built_model(kind, config):
    assert parameter_count(kind, config) == count_parameters(build_model(kind, config), trainable_only=True)


def test_meta_build_has_shapes_only_and_never_loads_the_compiler():
    code = (
        "import sys\n"
        "from protlab.models import build_model, on_meta_device\n"
        "with on_meta_device():\n"
        "    model = build_model('cnn', {'hidden_dim': 2048, 'num_layers': 8})\n"
        "print(all(p.is_meta for p in model.parameters()), 'torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]
