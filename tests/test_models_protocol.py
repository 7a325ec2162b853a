"""The model protocol: every kind satisfies it, build_model refuses classes that do not, fit hooks agree."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from protlab import models
from protlab.alphabet import AMINO_ACIDS
from protlab.data import TokenizedSet, features_frame, make_batch
from protlab.errors import ConfigError
from protlab.models import (
    FitsTrainingRows,
    ProteinClassifier,
    available_kinds,
    build_model,
    model_vocab_size,
    register_model,
)

CONFIGS = {
    "ensemble": {"members": [{"kind": "cnn", "config": {}}, {"kind": "dual", "config": {}}]},
    "solubility_net": {"channels": 4, "kernel_sizes": [3]},
}


def _sequences(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(np.array(list(AMINO_ACIDS)), int(rng.integers(5, 80)))) for _ in range(n)]


@pytest.mark.parametrize("kind", ["cnn", "dual", "mlp", "ensemble", "solubility_net"])
def test_every_kind_states_what_it_reads(kind: str) -> None:
    model = build_model(kind, CONFIGS.get(kind, {}))
    assert isinstance(model, ProteinClassifier) and kind in available_kinds()
    assert model.uses_features == bool(list(model.feature_names))
    tokens = torch.randint(1, 21, (3, 12))  # (B, L) int64
    mask = torch.ones(3, 12)  # (B, L) float32
    inputs = (torch.randn(3, len(model.feature_names)), mask) if model.uses_features else (mask,)
    assert model(tokens, *inputs).shape == (3, 2)
    assert model_vocab_size(model) in (21, 22)


def test_build_model_refuses_a_class_without_the_protocol(monkeypatch) -> None:
    monkeypatch.setattr(models, "_REGISTRY", dict(models._REGISTRY))  # the test kind is forgotten afterwards

    @dataclass
    class BareConfig:
        width: int = 4  # hidden units

    class Bare(nn.Module):
        def __init__(self, config: BareConfig) -> None:
            super().__init__()
            self.fc = nn.Linear(config.width, 2)

    register_model("bare_test_model", BareConfig, Bare)
    with pytest.raises(ConfigError, match=r"without \['uses_features', 'feature_names', 'vocab_size'\]"):
        build_model("bare_test_model")


def test_dual_fit_hook_uses_the_training_features() -> None:
    model = build_model("dual", {"embed_dim": 4, "hidden_dim": 4})
    seqs = _sequences(30)
    features = features_frame(seqs)[model.feature_names].to_numpy(np.float64)  # (N, F)
    model.fit_training_rows(TokenizedSet.from_sequences(seqs, vocab_size=21, features=features))
    np.testing.assert_allclose(model.feature_mean.numpy(), features.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(model.feature_std.numpy(), features.std(axis=0), rtol=1e-4)
    with pytest.raises(ConfigError, match="has none"):
        model.fit_training_rows(TokenizedSet.from_sequences(seqs, vocab_size=21))


def test_chunked_standardiser_fit_equals_one_batch_and_ensembles_fit_members() -> None:
    seqs = _sequences(40, seed=2) + ["M" * 1500]  # one long row forces several chunks
    data = TokenizedSet.from_sequences(seqs)
    torch.manual_seed(0)
    net = build_model("solubility_net", CONFIGS["solubility_net"])
    reference = build_model("solubility_net", CONFIGS["solubility_net"])
    everything = make_batch(data, np.arange(len(data)))
    reference.fit_standardizer(everything.tokens, everything.mask)
    net.fit_training_rows(data)
    torch.testing.assert_close(net.stat_mean, reference.stat_mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(net.stat_std, reference.stat_std, rtol=1e-5, atol=1e-6)
    members = [
        {"kind": "solubility_net", "config": CONFIGS["solubility_net"]},
        {"kind": "cnn", "config": {"vocab_size": 22}},
    ]
    ensemble = build_model("ensemble", {"members": members})
    assert isinstance(ensemble, FitsTrainingRows) and not isinstance(ensemble.members[1], FitsTrainingRows)
    ensemble.fit_training_rows(data)
    torch.testing.assert_close(ensemble.members[0].stat_mean, reference.stat_mean, rtol=1e-5, atol=1e-6)


def test_every_registered_kind_is_listed_before_its_module_is_imported() -> None:
    # In a fresh interpreter only protlab.models is imported: the kinds that register themselves in their own
    # module (or elsewhere in protlab) must be listed, and each name must resolve.
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(models.__file__).resolve().parents[1]
    registered = sorted(
        {
            kind
            for path in root.rglob("*.py")
            for kind in re.findall(r'^\s*register_model\("([a-z0-9_]+)"', path.read_text(), re.M)
            if kind != "my_net"  # the registry docstring's example
        }
    )
    code = (
        "from protlab.models import available_kinds, make_config\n"
        "from protlab.models import _lookup\n"
        "kinds = available_kinds()\n"
        "for kind in kinds: _lookup(kind)\n"
        "print(','.join(kinds))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root.parent, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().split(",") == registered
    assert {"boosted_trees", "composition", "solubility_net", "residue_cnn"} <= set(registered)
