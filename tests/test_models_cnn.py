"""SolubilityCNN against the notes' own ProteinSolubilityClassifier, padding exactness
and the overfit check.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from protlab.errors import ConfigError
from protlab.models import CNNConfig, SolubilityCNN, build_model, model_config_dict, model_forward
from protlab.models.kernels import dropout_multiplier
from protlab.training import cpu_bf16_available


class ProteinSolubilityClassifier(nn.Module):
    """Reference: the course notes' section-7 network, retyped from the notes."""

    def __init__(self, vocab_size=21, embed_dim=64, hidden_dim=128, num_classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.conv1 = nn.Conv1d(embed_dim, hidden_dim, kernel_size=5, padding=2)
        self.conv2 = nn.Conv1d(hidden_dim, hidden_dim, kernel_size=5, padding=2)
        self.fc = nn.Linear(hidden_dim, num_classes)
        self.dropout = nn.Dropout(0.3)

    def forward(self, x, mask=None):
        x = self.embedding(x)
        x = x.transpose(1, 2)
        x = F.relu(self.conv1(x))
        x = self.dropout(x)
        x = F.relu(self.conv2(x))
        if mask is not None:
            mask = mask.unsqueeze(1)
            x = (x * mask).sum(dim=2) / mask.sum(dim=2).clamp(min=1)
        else:
            x = x.mean(dim=2)
        x = self.fc(x)
        return x


def test_default_parameter_count_matches_the_notes() -> None:
    reference = sum(p.numel() for p in ProteinSolubilityClassifier().parameters())
    assert sum(p.numel() for p in SolubilityCNN().parameters()) == reference == 124_738


def test_notes_state_dict_loads_and_outputs_agree() -> None:
    torch.manual_seed(0)
    notes = ProteinSolubilityClassifier().eval()
    ours = SolubilityCNN().eval()
    ours.load_state_dict(notes.state_dict())
    tokens = torch.randint(1, 21, (4, 30))
    with torch.no_grad():
        torch.testing.assert_close(ours(tokens), notes(tokens))
        torch.testing.assert_close(ours(tokens, torch.ones(4, 30)), notes(tokens, torch.ones(4, 30)))


def test_output_does_not_depend_on_extra_padding() -> None:
    torch.manual_seed(1)
    model = SolubilityCNN().eval()
    seq = torch.randint(1, 21, (9,))
    outs = []
    for width in (9, 10, 50):
        tokens = torch.zeros(1, width, dtype=torch.long)
        tokens[0, :9] = seq
        mask = (tokens != 0).float()
        with torch.no_grad():
            outs.append(model(tokens, mask))
    torch.testing.assert_close(outs[0], outs[1])
    torch.testing.assert_close(outs[0], outs[2])


def test_batched_equals_one_at_a_time() -> None:
    torch.manual_seed(2)
    model = SolubilityCNN(CNNConfig(vocab_size=22, num_layers=3)).eval()
    lengths = [5, 17, 12]
    tokens = torch.zeros(3, 17, dtype=torch.long)
    for i, n in enumerate(lengths):
        tokens[i, :n] = torch.randint(1, 22, (n,))
    mask = (tokens != 0).float()
    with torch.no_grad():
        batched = model(tokens, mask)
        single = torch.cat([model(tokens[i : i + 1, :n]) for i, n in enumerate(lengths)])
    torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-5)


def test_configurable_shapes_and_parameter_count() -> None:
    config = CNNConfig(vocab_size=22, embed_dim=16, hidden_dim=32, kernel_size=3, num_layers=1, num_classes=3)
    model = SolubilityCNN(config)
    expected = 22 * 16 + (16 * 32 * 3 + 32) + (32 * 3 + 3)
    assert sum(p.numel() for p in model.parameters()) == expected
    assert model(torch.randint(0, 22, (2, 11)), torch.ones(2, 11)).shape == (2, 3)


@pytest.mark.parametrize(
    "field, value",
    [
        ("kernel_size", 4),
        ("num_layers", 0),
        ("vocab_size", 20),
        ("dropout", 1.0),
        ("hidden_dim", -1),
        ("embed_dim", 2.5),
    ],
)
def test_bad_config_raises_config_error_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        SolubilityCNN(CNNConfig(**{field: value}))


def test_build_model_round_trips_the_config() -> None:
    model = build_model("cnn", {"hidden_dim": 32, "num_layers": 3})
    again = build_model("cnn", model_config_dict(model))
    assert model_config_dict(again) == model_config_dict(model)
    with pytest.raises(ConfigError, match="hiden_dim"):
        build_model("cnn", {"hiden_dim": 32})
    with pytest.raises(ConfigError, match="Unknown model kind"):
        build_model("transformer", {})


def test_model_forward_uses_batch_attributes() -> None:
    class FakeBatch:
        tokens = torch.randint(1, 21, (2, 8))
        mask = torch.ones(2, 8)
        features = None

    model = SolubilityCNN().eval()
    with torch.no_grad():
        torch.testing.assert_close(model_forward(model, FakeBatch()), model(FakeBatch.tokens, FakeBatch.mask))


def test_can_overfit_a_single_batch() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread avoids oversubscribing a shared CPU
    try:
        _overfit()
    finally:
        torch.set_num_threads(threads)


def _overfit() -> None:
    torch.manual_seed(0)
    model = SolubilityCNN()
    tokens = torch.randint(1, 21, (16, 12))  # short sequences keep the 200 steps fast
    labels = torch.randint(0, 2, (16,))
    mask = torch.ones(16, 12)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(200):
        loss = F.cross_entropy(model(tokens, mask), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


class MultiplierDropout(nn.Module):
    """nn.Dropout(p) drawn with dropout_multiplier in the (B, L, H) order SolubilityCNN stores its
    activations in on the CPU: gives the notes' model SolubilityCNN's masks."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stored = torch.Size([x.shape[0], x.shape[2], x.shape[1]])  # (B, L, H)
        return x * dropout_multiplier(stored, self.p, None, x.dtype, x.device).transpose(1, 2)


def test_fused_first_layer_matches_the_notes_in_training_including_gradients() -> None:
    torch.manual_seed(3)
    notes = ProteinSolubilityClassifier()
    ours = SolubilityCNN()
    ours.load_state_dict(notes.state_dict())
    notes.dropout = MultiplierDropout(0.3)
    tokens = torch.randint(0, 21, (4, 25))  # includes token 0 (the notes' unknown/padding) inside sequences
    labels = torch.tensor([0, 1, 1, 0])
    grads = []
    for model in (notes, ours):
        torch.manual_seed(11)  # the same dropout mask for both
        F.cross_entropy(model(tokens), labels).backward()
        grads.append({name: p.grad for name, p in model.named_parameters()})
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, rtol=1e-4, atol=1e-6)
    assert torch.count_nonzero(grads[1]["embedding.weight"][0]) == 0  # padding row never trained


def test_hooked_plain_path_equals_fused_path_with_padding() -> None:
    torch.manual_seed(4)
    model = SolubilityCNN(CNNConfig(vocab_size=22)).eval()
    tokens = torch.randint(1, 22, (3, 20))
    tokens[0, 12:] = 0
    mask = (tokens != 0).float()
    with torch.no_grad():
        fused = model(tokens, mask)
        handle = model.embedding.register_forward_hook(lambda module, inputs, output: None)
        plain = model(tokens, mask)
        handle.remove()
    torch.testing.assert_close(fused, plain, rtol=1e-4, atol=1e-5)


def test_a_hook_on_a_later_convolution_sees_its_output() -> None:
    torch.manual_seed(14)
    model = SolubilityCNN(CNNConfig(num_layers=3)).eval()
    tokens = torch.randint(1, 21, (2, 30))
    seen = []
    handle = model.conv3.register_forward_hook(lambda module, inputs, output: seen.append(output.shape))
    with torch.no_grad():
        hooked = model(tokens)
    handle.remove()
    assert seen == [(2, 128, 30)]  # nn.Conv1d ran, so the hook ran
    with torch.no_grad():
        torch.testing.assert_close(model(tokens), hooked, rtol=1e-4, atol=1e-5)  # the fused path agrees


def test_dropout_is_off_in_eval_mode_and_when_the_dropout_module_is_off() -> None:
    torch.manual_seed(6)
    model = SolubilityCNN()
    tokens = torch.randint(1, 21, (2, 30))
    with torch.no_grad():
        reference = model.eval()(tokens)
        model.train()
        model.dropout.eval()  # the overfit check turns dropout modules off this way
        assert torch.equal(model(tokens), reference)
        model.dropout.train()
        assert not torch.equal(model(tokens), reference)


def _bf16_step(model: SolubilityCNN, tokens: torch.Tensor, bf16: bool, hooked: bool) -> tuple:
    """Logits (float) and parameter gradients of one cross-entropy step, under CPU bf16 autocast or not."""
    handle = model.embedding.register_forward_hook(lambda module, inputs, output: None) if hooked else None
    model.zero_grad()
    mask = (tokens != 0).float()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(tokens, mask)  # (B, 2)
    F.cross_entropy(logits.float(), torch.tensor([0, 1, 1, 0])).backward()
    if handle:
        handle.remove()
    return logits.float().detach(), {name: p.grad.clone() for name, p in model.named_parameters()}


def test_bf16_channels_last_path_is_as_accurate_as_autocasts_own_path() -> None:
    torch.manual_seed(12)
    model = SolubilityCNN(CNNConfig(dropout=0.0, num_layers=3)).train()
    tokens = torch.randint(1, 21, (4, 60))
    tokens[1, 40:] = 0  # padding: a leak into the convolutions would show as a large error
    tokens[3, 10:] = 0
    exact = _bf16_step(model, tokens, bf16=False, hooked=False)  # fp32
    fused = _bf16_step(model, tokens, bf16=True, hooked=False)  # bf16, channels-last lookup path
    plain = _bf16_step(model, tokens, bf16=True, hooked=True)  # bf16, nn.Embedding + nn.Conv1d

    def error(run: tuple, name: str | None) -> float:
        ours, reference = (run[0], exact[0]) if name is None else (run[1][name], exact[1][name])
        return ((ours - reference).norm() / reference.norm()).item()

    for name in [None, *exact[1]]:
        assert error(fused, name) <= 1.25 * error(plain, name) + 0.01, name


class _Conv2dInputs(torch.overrides.TorchFunctionMode):
    """Record whether each conv2d call's input is channels-last."""

    def __init__(self) -> None:
        super().__init__()
        self.channels_last: list[bool] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is F.conv2d:
            self.channels_last.append(args[0].is_contiguous(memory_format=torch.channels_last))
        return func(*args, **(kwargs or {}))


def _activation_copies_in_convolutions(profile, batch: int) -> list:
    """Shapes of the (batch, ...) tensors cloned anywhere inside a convolution, forward or backward."""

    def inside_a_convolution(event) -> bool:
        parent = event.cpu_parent
        while parent is not None:
            if "convolution" in parent.name:
                return True
            parent = parent.cpu_parent
        return False

    return [
        event.input_shapes[0]
        for event in profile.events()
        if event.name == "aten::clone"
        and event.input_shapes[0][:1] == [batch]  # an activation or its gradient, not a weight
        and inside_a_convolution(event)
    ]


@pytest.mark.parametrize("bf16", [False, True])
def test_cpu_training_keeps_activations_channels_last_without_layout_copies(bf16: bool) -> None:
    torch.manual_seed(13)
    model = SolubilityCNN(CNNConfig(num_layers=3)).train()
    tokens = torch.randint(1, 21, (4, 50))
    recorder = _Conv2dInputs()
    with recorder, torch.profiler.profile(record_shapes=True) as profile:
        _bf16_step(model, tokens, bf16=bf16, hooked=False)
    assert recorder.channels_last == [True, True]  # conv2 and conv3; conv1 is the lookup
    copies = _activation_copies_in_convolutions(profile, batch=4)
    if not bf16 or cpu_bf16_available():  # bf16 without native units may take another kernel
        assert copies == []
    hooked = _Conv2dInputs()
    with hooked:
        _bf16_step(model, tokens, bf16=bf16, hooked=True)
    assert hooked.channels_last == []  # watched layers: the plain path through nn.Embedding and nn.Conv1d
