"""Hand-written autograd pieces of the CNNs: the fused first layer, masked pooling, cheap dropout.

Each gives the same numbers as the plain PyTorch expression it replaces (the tests compare them) and exists
only because the plain expression spent a measurable share of a CPU training step on copies or slow
backward kernels. Two activation layouts are supported:
- contiguous (B, H, L), what nn.Conv1d takes and gives (fp32 training, inference);
- channels-last (B, H, 1, L), stored as (B, L, H): what the CNN uses on the CPU. oneDNN's convolutions run
  faster on it (fp32 and bf16), and its bf16 kernels copy a contiguous input into it first, forward and
  backward: a sixth of a bf16 training step on an AMX CPU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

DROPOUT_LEVELS = 65536  # dropout compares a 16-bit random number per activation (four per 64-bit draw)


def is_channels_last(x: torch.Tensor) -> bool:
    """True for a 4-D (B, H, 1, L) activation stored as (B, L, H)."""
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)


def conv_in_layout(conv: torch.nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """conv applied to x in x's layout: nn.Conv1d on (B, C, L), or conv2d on channels-last (B, C, 1, L).

    The conv2d sees the same weights as (C_out, C_in, 1, K), with the same padding and dilation; nn.Conv1d
    itself would first copy a channels-last input back to contiguous. Forward hooks on conv are not run
    for a channels-last x: callers take the plain path when a hook watches it.
    """
    if x.dim() == 3:
        return conv(x)  # (B, C_out, L)
    padding, dilation = conv.padding[0], conv.dilation[0]
    return F.conv2d(x, conv.weight.unsqueeze(2), conv.bias, padding=(0, padding), dilation=(1, dilation))


def is_watched(*modules: torch.nn.Module) -> bool:
    """True if a forward hook or pre-hook is registered on any of the modules."""
    return any(m._forward_hooks or m._forward_pre_hooks for m in modules)


class _WeightedSum(torch.autograd.Function):
    """x (B, H, L) summed over L with weights w (B, L) -> (B, H); backward is one broadcast product.

    torch.bmm's own backward forms the (B, H, L) gradient as B outer products of width 1, which ran
    about 4x slower than this broadcast on the CPU and was a few percent of the CNN's training step.
    The gradient is laid out as x was ((B, H, L) or its transpose (B, L, H)), so no layout copy follows.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Sum of x * w over the last axis."""
        ctx.save_for_backward(w)
        ctx.length_major = x.stride(1) == 1 and x.shape[1] > 1  # stored as (B, L, H)
        return torch.bmm(x, w.unsqueeze(2)).squeeze(2)  # (B, H), no (B, H, L) temporary

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Gradient of x only: grad (B, H) spread over L by the weights."""
        (w,) = ctx.saved_tensors
        if ctx.length_major:
            return (w.unsqueeze(2) * grad.unsqueeze(1)).transpose(1, 2), None  # (B, H, L) stored (B, L, H)
        return grad.unsqueeze(2) * w.unsqueeze(1), None  # (B, H, L)


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Average (B, H, L) or channels-last (B, H, 1, L) features over real positions only -> (B, H)."""
    if x.dim() == 4:
        x = x.squeeze(2)  # (B, H, L), a view in either layout
    if mask is None:
        return x.mean(dim=2)
    mask = mask.to(x.dtype)  # (B, L)
    weights = mask / mask.sum(dim=1, keepdim=True).clamp(min=1)  # (B, L): 1 / length at real positions
    return _WeightedSum.apply(x, weights)


def dropout_multiplier(
    shape: torch.Size, p: float, keep: torch.Tensor | None, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """Dropout as a multiplier: 0 with probability p (a multiple of 1/65536), else 1 / (1 - p).  # (shape)

    The same distribution as nn.Dropout, drawn four activations per 64-bit random number instead of
    one double per activation (about 3x cheaper on the CPU, where nn.Dropout's draws took an eighth
    of the CNN's fp32 training step). keep (broadcastable to shape, 0/1), when given, zeroes more.
    """
    numel = math.prod(shape)
    words = torch.empty((numel + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), None)
    bits = words.view(torch.int16)[:numel].view(shape)  # uniform over -32768..32767
    dropped = round(p * DROPOUT_LEVELS)  # how many of the 65536 values drop the activation
    scale = DROPOUT_LEVELS / (DROPOUT_LEVELS - dropped)  # 1 / (1 - p), with p as rounded
    multiplier = (bits >= dropped - DROPOUT_LEVELS // 2).to(dtype)  # (shape) 1.0 = kept
    return multiplier.mul_(scale if keep is None else keep.to(dtype) * scale)


def dropout_like(x: torch.Tensor, p: float, keep: torch.Tensor | None) -> torch.Tensor:
    """dropout_multiplier for x (B, H, L) or channels-last (B, H, 1, L), in x's shape and dtype.

    The random numbers are drawn position by position, in (B, L, H) order, whatever x's layout, so the
    CPU (channels-last) and the GPU (contiguous) draw the same masks from one seed, and so does the
    generated training script.
    """
    if is_channels_last(x):
        stored = (x.shape[0], 1, x.shape[3], x.shape[1])  # (B, 1, L, H): x's memory order
        keep = None if keep is None else keep.permute(0, 2, 3, 1)  # (B, 1, 1, L) -> (B, 1, L, 1)
        return dropout_multiplier(torch.Size(stored), p, keep, x.dtype, x.device).permute(0, 3, 1, 2)
    stored = (x.shape[0], x.shape[2], x.shape[1])  # (B, L, H)
    keep = None if keep is None else keep.transpose(1, 2)  # (B, 1, L) -> (B, L, 1)
    return dropout_multiplier(torch.Size(stored), p, keep, x.dtype, x.device).transpose(1, 2)  # (B, H, L)


class _LookupConv(torch.autograd.Function):
    """Summed table rows plus a bias, laid out as a convolution's output: (B, L, K) indices -> (B, H, L).

    The same values as F.embedding_bag(index, table, mode='sum') + bias, transposed; the transpose is
    written while the bias is added, and the backward reads the gradient as it comes, so no layout copy
    is made either way. With channels_last the output is (B, H, 1, L) stored as (B, L, H), in the
    table's dtype: embedding_bag's own order, so nothing is transposed at all. embedding_bag's own
    backward sorts every index; the table's gradient here is one product with the rows' one-hot counts,
    about 2x faster when the table has few rows (here kernel_size x (vocab + 1)).
    """

    @staticmethod
    def forward(
        ctx, index: torch.Tensor, table: torch.Tensor, bias: torch.Tensor, channels_last: bool = False
    ) -> torch.Tensor:
        """Sum the table rows (R, H) named in each index[b, l] (K of them) and add bias (H,)."""
        batch, length, k = index.shape
        ctx.save_for_backward(index)
        ctx.rows, ctx.channels_last = table.shape[0], channels_last
        summed = F.embedding_bag(index.reshape(-1, k), table, mode="sum").view(batch, length, -1)  # (B, L, H)
        if channels_last:
            out = torch.empty(
                (batch, table.shape[1], 1, length),
                dtype=table.dtype,
                device=table.device,
                memory_format=torch.channels_last,
            )  # (B, H, 1, L) stored as (B, L, H)
            torch.add(summed, bias.to(out.dtype), out=out.permute(0, 2, 3, 1).view(batch, length, -1))
            return out
        out = table.new_empty(batch, table.shape[1], length)  # (B, H, L)
        return torch.add(summed.transpose(1, 2), bias.view(1, -1, 1), out=out)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor, torch.Tensor, None]:
        """Gradients of the table (R, H) and the bias (H,) from the output's gradient."""
        (index,) = ctx.saved_tensors
        batch, length, k = index.shape
        flat = index.reshape(-1, k)  # (B*L, K)
        if ctx.channels_last:
            rows = grad.permute(0, 2, 3, 1).reshape(batch * length, -1)  # (B*L, H), a view when channels-last
            positions = flat.shape[0]
            counts = grad.new_zeros(ctx.rows + 1, positions)  # (R + 1, B*L); last row all ones: the bias
            counts[-1] = 1
            cells = (flat * positions + torch.arange(positions, device=flat.device).unsqueeze(1)).view(-1)
            counts.view(-1).put_(cells, grad.new_ones(cells.numel()), accumulate=True)  # (row, position)
            per_row = counts @ rows  # (R + 1, H): every table row's gradient, then the bias's, in one product
            return None, per_row[:-1], per_row[-1], None
        counts = grad.new_zeros(flat.shape[0], ctx.rows).scatter_add_(1, flat, grad.new_ones(flat.shape))
        per_row = torch.bmm(counts.view(batch, length, ctx.rows).transpose(1, 2), grad.transpose(1, 2))
        return None, per_row.sum(0), grad.sum(dim=(0, 2)), None  # (R, H) summed over B of (B, R, H); (H,)
