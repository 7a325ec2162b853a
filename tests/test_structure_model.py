"""ResidueCNN keeps the length, ignores padding, sees exactly its receptive field, loads from disk."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from protlab.data import pad_batch
from protlab.errors import ConfigError
from protlab.models import build_model, load_checkpoint, model_config_dict, save_checkpoint
from protlab.structure import ResidueCNN, ResidueCNNConfig, receptive_field
from tests.conftest import random_proteins

SMALL = ResidueCNNConfig(embed_dim=8, channels=12, kernel_size=3, dilations=[1, 2, 4], dropout=0.0)


def test_output_keeps_the_length_and_padding_never_changes_a_residue():
    torch.manual_seed(0)
    model = ResidueCNN(SMALL).eval()
    seqs = random_proteins(3, (5, 30), seed=1)
    tokens, mask = pad_batch(seqs)
    batched = model(tokens, mask)  # (B, L, 3)
    assert batched.shape == (*tokens.shape, 3)
    for i, seq in enumerate(seqs):
        alone_tokens, _ = pad_batch([seq])
        alone = model(alone_tokens, None)[0]  # (L_i, 3), no padding at all
        torch.testing.assert_close(batched[i, : len(seq)], alone, rtol=1e-5, atol=1e-6)


def test_a_residue_sees_exactly_its_receptive_field():
    torch.manual_seed(0)
    model = ResidueCNN(SMALL).eval()
    reach = (receptive_field(SMALL) - 1) // 2  # 1 * (1 + 1 + 2 + 4) = 8 residues each side
    assert reach == 8
    tokens, _ = pad_batch(random_proteins(1, 41, seed=2))
    centre = 20

    def moved(position: int) -> bool:
        changed = tokens.clone()
        changed[0, position] = changed[0, position] % 20 + 1  # another residue
        return not torch.allclose(model(tokens)[0, centre], model(changed)[0, centre])

    assert moved(centre + reach) and moved(centre - reach)
    assert not moved(centre + reach + 1) and not moved(centre - reach - 1)


def test_checkpoints_round_trip_and_load_without_importing_the_structure_package(tmp_path: Path):
    model = build_model("residue_cnn", dataclasses.asdict(SMALL))
    path = save_checkpoint(
        tmp_path / "ss.pt", model, kind="residue_cnn", model_config=model_config_dict(model)
    )
    loaded = load_checkpoint(path)
    tokens, mask = pad_batch(["MKTAYIAKQR", "GW"])
    torch.testing.assert_close(loaded.model(tokens, mask), model.eval()(tokens, mask))
    code = (
        "from protlab.models import load_checkpoint; import sys; m = load_checkpoint(sys.argv[1]).model; "
        "print(type(m).__name__, m.per_residue)"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=root, timeout=120
    )
    assert out.stdout.split() == ["ResidueCNN", "True"], out.stderr


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("kernel_size", 4, "odd"),
        ("dilations", [1, 0], "dilation"),
        ("dilations", "124", "list"),
        ("channels", 0, "channels"),
        ("dropout", 1.0, "dropout"),
    ],
)
def test_bad_settings_are_refused(setting, value, words):
    with pytest.raises(ConfigError, match=words):
        build_model("residue_cnn", {setting: value})


class _Conv2dInputs(torch.overrides.TorchFunctionMode):
    """Record whether each conv2d call's input is channels-last."""

    def __init__(self) -> None:
        super().__init__()
        self.channels_last: list[bool] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.nn.functional.conv2d:
            self.channels_last.append(args[0].is_contiguous(memory_format=torch.channels_last))
        return func(*args, **(kwargs or {}))


def _logits_and_grads(model: ResidueCNN, tokens: torch.Tensor, mask: torch.Tensor) -> tuple:
    model.zero_grad()
    logits = model(tokens, mask)  # (B, L, 3)
    (logits * torch.linspace(-1, 1, logits.numel()).view_as(logits)).sum().backward()
    return logits.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}


def test_the_cpu_runs_channels_last_and_agrees_with_the_plain_convolutions():
    torch.manual_seed(3)
    model = ResidueCNN(SMALL).train()  # dropout 0: both paths see the same network
    tokens, mask = pad_batch(random_proteins(3, (5, 30), seed=4))
    recorder = _Conv2dInputs()
    with recorder:
        fast = _logits_and_grads(model, tokens, mask)
    assert recorder.channels_last == [True] * (2 + len(SMALL.dilations))  # conv_in, every block, the head
    assert fast[0].is_contiguous()  # (B, L, 3) as the loss reads it
    seen = []
    handle = model.blocks[1].conv.register_forward_hook(lambda m, i, out: seen.append(tuple(out.shape)))
    plain = _logits_and_grads(model, tokens, mask)  # a watched convolution: every layer runs as a module
    handle.remove()
    assert seen == [(3, SMALL.channels, tokens.shape[1])]
    torch.testing.assert_close(fast[0], plain[0], rtol=1e-5, atol=1e-6)
    for name, grad in plain[1].items():
        torch.testing.assert_close(fast[1][name], grad, rtol=1e-4, atol=1e-6)
