"""The Build-a-network lesson's table and notes: rows named as the diagram names them, words that follow the
settings, and the quick fill's parameter count against torch's own."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from protlab.lessons.network_figures import (
    block_names,
    fill_note,
    layer_table,
    network_blocks,
    no_hidden_note,
)
from protlab.models import MAX_PARAMETERS, LayerSpec, MLPConfig, build_mlp, summarize


def _summary(config: MLPConfig):
    """The layer summary of the built network on a batch of 4."""
    return summarize(build_mlp(config), torch.randn(4, config.input_dim))


def _meta_count(*widths: int) -> int:
    """Parameters of a Linear stack counted by torch on the meta device (nothing is allocated)."""
    layers = [nn.Linear(a, b, device="meta") for a, b in zip(widths, widths[1:])]
    return sum(p.numel() for layer in layers for p in layer.parameters())


def test_layer_table_uses_the_diagrams_names_and_torchs_counts() -> None:
    config = MLPConfig(20, [LayerSpec(32, norm="layernorm", dropout=0.1), LayerSpec(8)], 3, "softmax")
    model = build_mlp(config)
    table = layer_table(_summary(config))
    assert table["layer"].tolist() == ["hidden layer 1"] * 4 + ["hidden layer 2"] * 2 + ["output layer"] * 2
    assert table["module"].tolist() == [type(m).__name__ for m in model]
    assert table["parameters"].tolist() == [sum(p.numel() for p in m.parameters()) for m in model]
    blocks = network_blocks(_summary(config))
    assert [b["name"] for b in blocks] == list(dict.fromkeys(table["layer"]))
    assert [b["parameters"] for b in blocks] == table.groupby("layer", sort=False)[
        "parameters"
    ].sum().tolist()


def test_block_names_number_hidden_layers_from_one() -> None:
    assert block_names(["Linear"]) == ["output layer"]
    assert block_names(["Linear", "ReLU", "Linear", "Softmax"]) == [
        "hidden layer 1",
        "hidden layer 1",
        "output layer",
        "output layer",
    ]
    assert block_names([]) == []


@pytest.mark.parametrize(
    ("classes", "output", "present", "absent"),
    [
        (
            2,
            None,
            ["with no softmax", "nn.CrossEntropyLoss", "(multinomial) logistic regression"],
            ["followed by"],
        ),
        (
            1,
            None,
            ["with no sigmoid", "nn.BCEWithLogitsLoss", "(binary) logistic regression"],
            ["followed by"],
        ),
        (
            4,
            "softmax",
            ["followed by softmax over the classes", "(multinomial) logistic regression"],
            ["logits"],
        ),
        (3, "sigmoid", ["followed by a sigmoid on each output"], ["softmax"]),
        (1, "softmax", ["softmax over its one output, which is always 1"], ["logistic regression"]),
    ],
)
def test_no_hidden_note_says_what_the_output_layer_really_does(classes, output, present, absent) -> None:
    note = no_hidden_note(classes, output)
    assert note.startswith("No hidden layers:")
    assert all(p in note for p in present), note
    assert not any(a in note for a in absent), note


def test_fill_note_counts_like_torch_and_names_the_cap() -> None:
    over = fill_note(3, 4096, 20, 2)
    assert f"{_meta_count(20, 4096, 4096, 4096, 2):,} parameters: over the limit" in over
    assert "33,656,834" in over and f"{MAX_PARAMETERS:,} parameters in all" in over
    fits = max(w for w in range(3000, 4097) if _meta_count(20, w, w, w, 2) <= MAX_PARAMETERS)
    assert f"With 3 layers, at most {fits:,} neurons wide fit." in over
    within = fill_note(2, 64, 20, 2)
    assert (
        f"{_meta_count(20, 64, 64, 2):,} parameters: within the limit" in within
        and "20 → 64 → 64 → 2" in within
    )
    assert "20 → 8 → 8 → … → 8 → 2" in fill_note(6, 8, 20, 2)
    widest = fill_note(1, 4096, 100_000, 4096)  # the largest input and output the boxes allow
    fits = max(w for w in range(1, 4097) if _meta_count(100_000, w, 4096) <= MAX_PARAMETERS)
    assert f"With 1 layer, at most {fits:,} neurons wide fit." in widest
    assert "logistic regression" in fill_note(0, 64, 20, 2)
