"""The model classes written into the generated scripts are protlab's own models, weight for weight.

The classes are taken from the script templates (only their imports and definitions are executed) and compared
with protlab.models: the same parameter names and shapes, the same starting weights from the same seed (so a
script's run starts where the app's does), and the same logits on padded batches.
"""

from __future__ import annotations

import ast
from dataclasses import asdict

import pytest
import torch

from protlab.codegen import read_template
from protlab.models import CNNConfig, DualInputConfig, build_model

TEMPLATES = ("train_script.py", "predict_script.py")


def _definitions(template: str) -> dict:
    """A namespace with the template's imports, classes and functions (nothing else of the script is run)."""
    tree = ast.parse(read_template(template))
    kept = [
        node
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef))
    ]
    namespace: dict = {}
    exec(compile(ast.Module(body=kept, type_ignores=[]), template, "exec"), namespace)  # noqa: S102
    return namespace


def _class_source(template: str, name: str) -> str:
    """The source text of one class of a template."""
    source = read_template(template)
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == name)
    return ast.get_source_segment(source, node)


def _batch(vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three proteins of different lengths, padded: tokens (3, 9) int64 and mask (3, 9) float32."""
    generator = torch.Generator().manual_seed(0)
    lengths = torch.tensor([9, 4, 1])
    tokens = torch.randint(1, vocab_size, (3, 9), generator=generator)  # (3, 9)
    mask = (torch.arange(9) < lengths[:, None]).float()  # (3, 9)
    return tokens * mask.long(), mask


@pytest.mark.parametrize("name", ["SolubilityCNN", "DualInputModel"])
def test_both_scripts_define_the_same_classes(name: str) -> None:
    assert _class_source("train_script.py", name) == _class_source("predict_script.py", name)


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("vocab", [21, 22])
def test_the_cnn_is_protlabs_from_its_first_weights(layers: int, vocab: int) -> None:
    config = asdict(CNNConfig(vocab_size=vocab, embed_dim=6, hidden_dim=10, kernel_size=3, num_layers=layers))
    torch.manual_seed(7)
    ours = _definitions("train_script.py")["SolubilityCNN"](**config)
    torch.manual_seed(7)
    theirs = build_model("cnn", config)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for key, value in theirs.state_dict().items():  # the same seed gives the same starting weights
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=0, atol=0)
    ours.eval()
    theirs.eval()
    tokens, mask = _batch(vocab)
    torch.testing.assert_close(ours(tokens, mask), theirs(tokens, mask))


def test_the_dual_input_model_is_protlabs_from_its_first_weights() -> None:
    config = asdict(DualInputConfig(embed_dim=6, hidden_dim=10, global_dim=5))
    torch.manual_seed(8)
    ours = _definitions("train_script.py")["DualInputModel"](**config)
    torch.manual_seed(8)
    theirs = build_model("dual", config)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=0, atol=0)
    theirs.set_feature_stats(torch.arange(5.0), torch.arange(1.0, 6.0))
    ours.load_state_dict(theirs.state_dict())  # buffers included: the feature scaling goes with the weights
    ours.eval()
    theirs.eval()
    tokens, mask = _batch(21)
    features = torch.randn(3, 5, generator=torch.Generator().manual_seed(1)) * 10  # (3, 5) raw features
    torch.testing.assert_close(ours(tokens, features, mask), theirs(tokens, features, mask))


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"mix_channels": 6, "use_dipeptides": False, "stat_clip": 1.0},
        {"use_motifs": False, "vocab_size": 21},
    ],
)
def test_the_solubility_net_is_protlabs(settings: dict) -> None:
    from protlab.models.solubility_net import SolubilityNetConfig

    config = SolubilityNetConfig(embed_dim=6, channels=4, kernel_sizes=(3, 5), terminal_window=3, **settings)
    torch.manual_seed(9)
    theirs = build_model("solubility_net", config.to_dict()).eval()
    tokens, mask = _batch(config.vocab_size)
    theirs.fit_standardizer(tokens, mask)  # non-trivial statistics scaling
    ours = _definitions("predict_script.py")["SolubilityNet"](**config.to_dict()).eval()
    ours.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(ours(tokens, mask), theirs(tokens, mask))
