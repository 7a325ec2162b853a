"""DualInputModel against the notes' DualInputProteinModel."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from protlab.data import NOTES_GLOBAL_FEATURES
from protlab.errors import ConfigError
from protlab.models import DualInputConfig, DualInputModel, build_model, model_config_dict


class DualInputProteinModel(nn.Module):
    """Reference: the fundamentals note's dual-input model, retyped from the notes."""

    def __init__(self, vocab_size=21, embed_dim=64, num_global_features=5, hidden_dim=128, num_classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.conv = nn.Conv1d(embed_dim, hidden_dim, kernel_size=5, padding=2)
        self.relu = nn.ReLU()
        self.global_fc = nn.Linear(num_global_features, 32)
        self.classifier = nn.Linear(hidden_dim + 32, num_classes)

    def forward(self, sequence, global_features, mask=None):
        x = self.embedding(sequence)
        x = x.transpose(1, 2)
        x = self.relu(self.conv(x))
        if mask is not None:
            mask_expanded = mask.unsqueeze(1)
            x = (x * mask_expanded).sum(dim=2) / mask_expanded.sum(dim=2).clamp(min=1)
        else:
            x = x.mean(dim=2)
        g = self.relu(self.global_fc(global_features))
        combined = torch.cat([x, g], dim=1)
        return self.classifier(combined)


def test_defaults_follow_the_notes() -> None:
    model = DualInputModel()
    assert model.uses_features is True
    assert model.feature_names == list(NOTES_GLOBAL_FEATURES)
    reference = DualInputProteinModel()
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())


def test_matches_reference_with_identity_scaling_and_standardises_inside() -> None:
    torch.manual_seed(0)
    reference = DualInputProteinModel().eval()
    model = DualInputModel().eval()
    model.load_state_dict(
        reference.state_dict() | {"feature_mean": torch.zeros(5), "feature_std": torch.ones(5)}
    )
    tokens = torch.randint(0, 21, (3, 12))
    mask = (tokens != 0).float()
    raw = torch.rand(3, 5) * torch.tensor([50_000.0, 10.0, 2.0, 60.0, 400.0])
    with torch.no_grad():
        torch.testing.assert_close(model(tokens, raw, mask), reference(tokens, raw, mask))
        mean, std = raw.mean(0), raw.std(0)
        model.set_feature_stats(mean, std)
        torch.testing.assert_close(model(tokens, raw, mask), reference(tokens, (raw - mean) / std, mask))
    assert "feature_mean" in model.state_dict()


def test_set_feature_stats_validates() -> None:
    model = DualInputModel()
    with pytest.raises(ConfigError, match="one mean and one std"):
        model.set_feature_stats([0.0] * 4, [1.0] * 5)
    with pytest.raises(ConfigError, match="finite"):
        model.set_feature_stats([float("nan")] * 5, [1.0] * 5)
    model.set_feature_stats([1.0] * 5, [0.0] * 5)  # a constant feature: left unscaled, not divided by zero
    assert torch.equal(model.feature_std, torch.ones(5))


def test_feature_names_are_validated_and_round_trip() -> None:
    with pytest.raises(ConfigError, match="unknown features"):
        DualInputModel(DualInputConfig(feature_names=["molecular_weight", "colour"]))
    model = build_model("dual", {"feature_names": ["gravy", "length"], "hidden_dim": 16})
    assert model.global_fc.in_features == 2
    assert model_config_dict(build_model("dual", model_config_dict(model))) == model_config_dict(model)
    assert model(torch.randint(1, 21, (2, 7)), torch.randn(2, 2), torch.ones(2, 7)).shape == (2, 2)


def test_the_cpu_path_is_channels_last_and_equals_the_watched_module_path() -> None:
    torch.manual_seed(5)
    model = DualInputModel()
    tokens = torch.randint(1, 21, (3, 25))
    tokens[1, 15:] = 0
    mask = (tokens != 0).float()
    features = torch.randn(3, len(NOTES_GLOBAL_FEATURES))
    inputs: list[bool] = []

    class Conv2dInputs(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func is torch.nn.functional.conv2d:
                inputs.append(args[0].is_contiguous(memory_format=torch.channels_last))
            return func(*args, **(kwargs or {}))

    def logits_and_grads() -> tuple:
        model.zero_grad()
        logits = model(tokens, features, mask)  # (B, 2)
        logits[:, 1].sum().backward()
        return logits.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}

    with Conv2dInputs():
        fast = logits_and_grads()
    assert inputs == [True]
    seen = []
    handle = model.conv.register_forward_hook(lambda module, args, out: seen.append(tuple(out.shape)))
    plain = logits_and_grads()  # a watched convolution runs as nn.Conv1d
    handle.remove()
    assert seen == [(3, model.config.hidden_dim, 25)]
    torch.testing.assert_close(fast[0], plain[0], rtol=1e-5, atol=1e-6)
    for name, grad in plain[1].items():
        torch.testing.assert_close(fast[1][name], grad, rtol=1e-4, atol=1e-6)
