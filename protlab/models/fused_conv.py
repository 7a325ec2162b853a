"""Inference shortcuts shared by the models: embedding + first convolution as a table lookup.

Used only on plain inference passes (eval mode, no autograd, no hooks), where nothing needs the
intermediate embedding; training and attribution run the layers as written.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


def embed_conv_lookup(
    tokens: torch.Tensor, layers: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]
) -> torch.Tensor:
    """Conv1d layers ('same' zero padding, odd widths) on embedded tokens as one lookup.  # (B, L, sum H)

    layers: (embedding (V, E), conv weight (H, E, k), conv bias (H,) or None) per convolution. Embedding and
    convolution are both linear, so filter offset j reads the table W_j @ E^T (V x H) at the token j places
    away; one summed embedding_bag adds every offset of every layer at once (narrower filters are centred in
    the widest, with zero tables outside them). Channels come out last.
    """
    vocab = layers[0][0].shape[0]
    width = max(weight.shape[2] for _, weight, _ in layers)  # the widest filter
    tables, biases = [], []
    for embed, weight, bias in layers:
        side = (width - weight.shape[2]) // 2
        table = torch.einsum("ve,hek->kvh", embed, weight)  # (k, V, H)
        tables.append(F.pad(table, (0, 0, 0, 1, side, side)))  # (width, V + 1, H); row V: outside the ends
        biases.append(bias if bias is not None else weight.new_zeros(weight.shape[0]))
    table = torch.cat(tables, dim=2)  # (width, V + 1, sum H)
    table[0] += torch.cat(biases)  # every position reads one row of offset 0, so it carries the bias
    padded = F.pad(tokens, (width // 2, width // 2), value=vocab)  # (B, L + width - 1)
    offsets = torch.arange(width, device=tokens.device) * (vocab + 1)  # (width,)
    index = padded.unfold(1, width, 1) + offsets  # (B, L, width) rows of the flattened table
    out = F.embedding_bag(index.reshape(-1, width), table.reshape(width * (vocab + 1), -1), mode="sum")
    return out.view(*tokens.shape, -1)  # (B, L, sum H)


def plain_inference(model: nn.Module) -> bool:
    """True for a forward pass nothing watches: eval mode, no autograd, no hooks on any layer."""
    if model.training or torch.is_grad_enabled():
        return False
    return not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
