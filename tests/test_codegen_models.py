"""The model classes written into the training script are protlab's own models, weight for weight."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch

from protlab.codegen import cnn_code, dual_code
from protlab.models import CNNConfig, DualInputConfig, DualInputModel, SolubilityCNN

PRELUDE = "import torch, torch.nn as nn, torch.nn.functional as F\nfrom protlab.alphabet import PAD_INDEX\n"


def _run(source: str, features: list[str] | None = None) -> dict:
    """Execute generated model source and return its namespace."""
    namespace: dict = {}
    exec(compile(PRELUDE + f"FEATURES = {features!r}\n" + source, "<generated>", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_generated_cnn_is_protlabs_cnn(layers: int) -> None:
    config = CNNConfig(embed_dim=8, hidden_dim=12, kernel_size=3, num_layers=layers, dropout=0.0)
    ours, theirs = _run(cnn_code(asdict(config)))["model"], SolubilityCNN(config)
    ours.load_state_dict(theirs.state_dict())  # same parameter names and shapes
    ours.eval(), theirs.eval()
    tokens = torch.tensor([[1, 5, 9, 2, 0, 0], [3, 3, 4, 7, 8, 20]])  # (2, 6) with padding in row 0
    mask = (tokens > 0).float()
    torch.testing.assert_close(ours(tokens, mask), theirs(tokens, mask))


def test_generated_dual_model_has_protlabs_parameters() -> None:
    config = DualInputConfig()
    ours = _run(dual_code(asdict(config)), list(config.feature_names))["model"]
    theirs = DualInputModel(config)
    shapes = {k: tuple(v.shape) for k, v in theirs.named_parameters()}
    assert {k: tuple(v.shape) for k, v in ours.named_parameters()} == shapes


def test_the_chosen_settings_are_written_in() -> None:
    source = cnn_code(asdict(CNNConfig(embed_dim=16, hidden_dim=40, kernel_size=5, num_layers=2, dropout=0.25)))
    assert "embed_dim=16" in source and "hidden_dim=40" in source and "kernel_size=5" in source
    assert "num_layers=2" in source and "dropout=0.25" in source
    dual = dual_code(asdict(DualInputConfig(global_dim=7)))
    assert "global_dim=7" in dual and "num_global_features=len(FEATURES)" in dual
