"""The embedding + first-convolution lookup: equal to the layers as written, never stale after a change."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from protlab.models import fused_conv
from protlab.models.fused_conv import embed_conv_lookup


def _layers(seed: int = 0) -> tuple[nn.Embedding, list[nn.Conv1d]]:
    torch.manual_seed(seed)
    return nn.Embedding(22, 6), [nn.Conv1d(6, 4, k, padding=k // 2) for k in (3, 5)]


def _as_written(embedding: nn.Embedding, convs: list[nn.Conv1d], tokens: torch.Tensor) -> torch.Tensor:
    """Embedding then each Conv1d with zero padding, channels last.  # (B, L, sum H)"""
    x = embedding(tokens).transpose(1, 2)  # (B, E, L)
    return torch.cat([F.conv1d(x, c.weight, c.bias, padding=c.padding) for c in convs], dim=1).transpose(1, 2)


def _lookup(embedding: nn.Embedding, convs: list[nn.Conv1d], tokens: torch.Tensor) -> torch.Tensor:
    return embed_conv_lookup(tokens, [(embedding.weight, c.weight, c.bias) for c in convs])


@torch.no_grad()
def test_lookup_equals_the_layers_and_follows_every_kind_of_weight_change() -> None:
    embedding, convs = _layers()
    tokens = torch.randint(1, 22, (3, 17))
    torch.testing.assert_close(_lookup(embedding, convs, tokens), _as_written(embedding, convs, tokens))
    convs[0].weight.mul_(2.0)  # in place, as an optimizer step does
    torch.testing.assert_close(_lookup(embedding, convs, tokens), _as_written(embedding, convs, tokens))
    embedding.weight.data.add_(0.5)  # in place through .data: no version counter sees this
    torch.testing.assert_close(_lookup(embedding, convs, tokens), _as_written(embedding, convs, tokens))
    convs[1].bias.data = torch.randn(4)  # new storage behind the same parameter
    torch.testing.assert_close(_lookup(embedding, convs, tokens), _as_written(embedding, convs, tokens))
    other_embedding, other_convs = _layers(seed=1)  # another model (its tensors may reuse freed ids)
    torch.testing.assert_close(
        _lookup(other_embedding, other_convs, tokens), _as_written(other_embedding, other_convs, tokens)
    )


@torch.no_grad()
def test_unchanged_weights_reuse_one_table() -> None:
    embedding, convs = _layers(seed=2)
    tokens = torch.randint(1, 22, (2, 9))
    layers = [(embedding.weight, c.weight, c.bias) for c in convs]
    first = fused_conv._lookup_table(layers)
    assert fused_conv._lookup_table(layers) is first
    convs[0].bias.add_(1.0)
    assert fused_conv._lookup_table(layers) is not first
    torch.testing.assert_close(_lookup(embedding, convs, tokens), _as_written(embedding, convs, tokens))
