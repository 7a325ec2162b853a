"""The CNNs' hand-written autograd pieces against the plain PyTorch they replace, in both layouts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from protlab.models.kernels import (
    _LookupConv,
    _WeightedSum,
    conv_in_layout,
    dropout_like,
    dropout_multiplier,
    is_channels_last,
    masked_mean,
)


def test_dropout_multiplier_keeps_one_minus_p_and_the_expectation() -> None:
    torch.manual_seed(5)
    n = 400_000
    for p in (0.1, 0.3, 0.5):
        m = dropout_multiplier(torch.Size([n]), p, None, torch.float32, torch.device("cpu"))  # (n,)
        kept = (m > 0).double().mean().item()
        assert abs(kept - (1 - p)) < 5 * (p * (1 - p) / n) ** 0.5  # five standard errors
        assert m.unique().tolist() == [0.0, pytest.approx(1 / (1 - p), rel=1e-4)]
        assert abs(m.double().mean().item() - 1.0) < 5 * (p / (1 - p) / n) ** 0.5
    a, b = (
        dropout_multiplier(torch.Size([1000]), 0.3, None, torch.float32, torch.device("cpu")) for _ in "ab"
    )
    assert not torch.equal(a, b)  # fresh draws each call


def test_dropout_multiplier_zeroes_padding_and_follows_the_seed() -> None:
    keep = torch.tensor([[[1.0, 1.0, 0.0, 0.0]]]).expand(2, 1, 4)  # (B, 1, L)
    torch.manual_seed(1)
    m = dropout_multiplier(torch.Size([2, 3, 4]), 0.3, keep, torch.float32, torch.device("cpu"))
    assert (m[:, :, 2:] == 0).all()
    torch.manual_seed(1)
    assert torch.equal(
        m[:, :, :2], dropout_multiplier(torch.Size([2, 3, 4]), 0.3, None, torch.float32, "cpu")[:, :, :2]
    )


def test_lookup_conv_matches_embedding_bag_plus_bias_in_values_and_gradients() -> None:
    torch.manual_seed(7)
    index = torch.randint(0, 30, (4, 25, 5))  # (B, L, K); repeated rows within a position count twice
    table = torch.randn(30, 16, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(16, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(4, 16, 25, dtype=torch.float64)  # (B, H, L)
    ours = _LookupConv.apply(index, table, bias)
    theirs = (F.embedding_bag(index.reshape(-1, 5), table, mode="sum").view(4, 25, 16) + bias).transpose(1, 2)
    torch.testing.assert_close(ours, theirs)
    assert ours.is_contiguous()  # laid out as Conv1d's output, so the next convolution copies nothing
    torch.testing.assert_close(
        torch.autograd.grad(ours, (table, bias), grad), torch.autograd.grad(theirs, (table, bias), grad)
    )


def test_masked_mean_matches_the_plain_masked_average_and_its_gradient() -> None:
    torch.manual_seed(8)
    x = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)  # (B, H, L)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=torch.float64)
    ours = masked_mean(x, mask)
    theirs = (x * mask[:, None]).sum(2) / mask.sum(1, keepdim=True)
    torch.testing.assert_close(ours, theirs)
    grad = torch.randn(3, 4, dtype=torch.float64)
    torch.testing.assert_close(torch.autograd.grad(ours, x, grad), torch.autograd.grad(theirs, x, grad))
    assert torch.autograd.gradcheck(_WeightedSum.apply, (x, mask / mask.sum(1, keepdim=True)))


def test_lookup_conv_channels_last_matches_embedding_bag_plus_bias() -> None:
    torch.manual_seed(9)
    index = torch.randint(0, 30, (4, 25, 5))  # (B, L, K); repeated rows within a position count twice
    table = torch.randn(30, 16, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(16, dtype=torch.float64, requires_grad=True)
    ours = _LookupConv.apply(index, table, bias, True)  # (B, H, 1, L)
    theirs = (F.embedding_bag(index.reshape(-1, 5), table, mode="sum").view(4, 25, 16) + bias).transpose(1, 2)
    assert ours.shape == (4, 16, 1, 25) and is_channels_last(ours)
    torch.testing.assert_close(ours.squeeze(2), theirs)
    grad = (
        torch.randn(4, 25, 16, dtype=torch.float64).permute(0, 2, 1).unsqueeze(2)
    )  # channels-last (B, H, 1, L)
    assert is_channels_last(grad)
    expected = torch.autograd.grad(theirs, (table, bias), grad.squeeze(2))
    torch.testing.assert_close(torch.autograd.grad(ours, (table, bias), grad), expected)
    again = _LookupConv.apply(index, table, bias, True)  # a gradient in the other layout: the same result
    torch.testing.assert_close(torch.autograd.grad(again, (table, bias), grad.contiguous()), expected)


def test_masked_mean_gradient_keeps_a_length_major_layout() -> None:
    torch.manual_seed(10)
    stored = torch.randn(3, 6, 4, dtype=torch.float64)  # (B, L, H) in memory
    x = stored.transpose(1, 2).requires_grad_()  # (B, H, L) view
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=torch.float64)
    ours = masked_mean(x, mask)
    theirs = (x * mask[:, None]).sum(2) / mask.sum(1, keepdim=True)
    torch.testing.assert_close(ours, theirs)
    grad = torch.randn(3, 4, dtype=torch.float64)
    (ours_grad,) = torch.autograd.grad(ours, x, grad)
    torch.testing.assert_close(ours_grad, torch.autograd.grad(theirs, x, grad)[0])
    assert ours_grad.stride(1) == 1  # stored (B, L, H) like x, so the convolution before it copies nothing
    four_d = x.unsqueeze(2)  # (B, H, 1, L) channels-last
    assert is_channels_last(four_d)
    torch.testing.assert_close(masked_mean(four_d, mask), theirs)


def test_dropout_like_keeps_the_layout_zeroes_padding_and_drops_p() -> None:
    torch.manual_seed(11)
    x = torch.ones(8, 64, 1, 300).contiguous(memory_format=torch.channels_last)  # (B, H, 1, L)
    keep = torch.ones(8, 1, 1, 300)
    keep[:, :, :, 200:] = 0  # the last 100 positions are padding
    m = dropout_like(x, 0.3, keep)
    assert m.shape == x.shape and is_channels_last(m)
    assert (m[..., 200:] == 0).all()
    kept = (m[..., :200] > 0).double().mean().item()
    n = 8 * 64 * 200
    assert abs(kept - 0.7) < 5 * (0.21 / n) ** 0.5
    torch.manual_seed(12)
    flat = dropout_like(torch.ones(8, 64, 300), 0.3, keep.squeeze(2))  # contiguous (B, H, L), as on a GPU
    torch.manual_seed(12)
    four_d = dropout_like(x, 0.3, keep)
    assert flat.shape == (8, 64, 300)
    assert torch.equal(flat, four_d.squeeze(2))  # one seed, the same masks in either layout


def test_conv_in_layout_matches_conv1d_with_padding_and_dilation() -> None:
    torch.manual_seed(13)
    conv = torch.nn.Conv1d(6, 5, kernel_size=5, padding=6, dilation=3).double()
    stored = torch.randn(2, 40, 6, dtype=torch.float64)  # (B, L, C) in memory
    x = stored.transpose(1, 2).unsqueeze(2).requires_grad_()  # (B, C, 1, L) channels-last
    assert is_channels_last(x)
    ours = conv_in_layout(conv, x)
    plain_x = stored.transpose(1, 2).contiguous().requires_grad_()
    theirs = conv(plain_x)  # (B, 5, 40)
    assert is_channels_last(ours)
    torch.testing.assert_close(ours.squeeze(2), theirs)
    grad = torch.randn_like(theirs)
    (ours_grad,) = torch.autograd.grad(ours, x, grad.unsqueeze(2))
    torch.testing.assert_close(ours_grad.squeeze(2), torch.autograd.grad(theirs, plain_x, grad)[0])
    assert conv_in_layout(conv, plain_x).is_contiguous()  # a (B, C, L) input goes through nn.Conv1d
