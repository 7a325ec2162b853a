"""Tensor playground: each op matches torch itself, writes the notes' one-liners, refuses bad arguments."""

from __future__ import annotations

import pytest
import torch

from protlab.data import pad_batch
from protlab.errors import ConfigError
from protlab.lessons import apply_tensor_op, batch_tensors, parse_ints, values_text

NOTES_X = torch.randn(2, 3, 4)  # the notes' x: 2 batches, 3 positions, 4 features


@pytest.mark.parametrize(
    ("op", "args", "code", "expected"),
    [  # the notes' tensor section, line by line
        ("view", {"shape": (6, 4)}, "x.view(6, 4)", NOTES_X.view(6, 4)),
        ("reshape", {"shape": (2, 12)}, "x.reshape(2, 12)", NOTES_X.reshape(2, 12)),
        ("transpose", {"dim0": 0, "dim1": 1}, "x.transpose(0, 1)", NOTES_X.transpose(0, 1)),
        ("permute", {"dims": (2, 0, 1)}, "x.permute(2, 0, 1)", NOTES_X.permute(2, 0, 1)),
        ("unsqueeze", {"dim": 0}, "x.unsqueeze(0)", NOTES_X.unsqueeze(0)),
        ("squeeze", {}, "x.squeeze()", NOTES_X.squeeze()),
    ],
)
def test_the_notes_examples_give_torchs_result_and_the_notes_code(op, args, code, expected):
    result = apply_tensor_op(NOTES_X, op, **args)
    assert result.code == code
    assert result.shape_before == (2, 3, 4)
    assert result.shape_after == tuple(expected.shape)
    assert torch.equal(result.tensor, expected)


def _batch():
    tokens, mask = pad_batch(["MVLSPAD", "MKT", "GIGAV"])
    return batch_tensors(tokens, mask)


def test_batch_tensors_one_hot_matches_torch_one_hot_of_the_tokens():
    tensors = _batch()
    tokens = tensors["tokens"]
    reference = torch.nn.functional.one_hot(tokens, 22)[:, :, 1:21].float()  # padding and unknown: all-zero
    assert torch.equal(tensors["one_hot"], reference)
    assert tensors["one_hot"].shape == (3, 7, 20)
    assert torch.equal(tensors["one_hot"].sum(-1), tensors["mask"])  # one 1 per real residue


def test_conv1d_transpose_on_the_encoded_batch():
    one_hot = _batch()["one_hot"]
    result = apply_tensor_op(one_hot, "transpose", dim0=1, dim1=2, name="one_hot")
    assert result.code == "one_hot.transpose(1, 2)"
    assert result.shape_after == (3, 20, 7)
    conv = torch.nn.Conv1d(20, 8, 3)
    assert conv(result.tensor).shape == (3, 8, 5)  # what nn.Conv1d accepts


def test_reshape_with_minus_one_and_negative_dims_follow_torch():
    one_hot = _batch()["one_hot"]
    assert torch.equal(apply_tensor_op(one_hot, "reshape", shape=(-1, 20)).tensor, one_hot.reshape(-1, 20))
    assert torch.equal(apply_tensor_op(one_hot, "unsqueeze", dim=-1).tensor, one_hot.unsqueeze(-1))
    assert torch.equal(apply_tensor_op(one_hot, "permute", dims=(0, -1, 1)).tensor, one_hot.permute(0, -1, 1))
    one = one_hot[:1]
    assert torch.equal(apply_tensor_op(one, "squeeze", dim=0).tensor, one.squeeze(0))
    assert apply_tensor_op(one, "squeeze", dim=1).shape_after == tuple(one.squeeze(1).shape)  # size 7 stays


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack_of_tokens_and_mask_match_torch(dim):
    tensors = _batch()
    tokens, mask = tensors["tokens"], tensors["mask"]
    cat = apply_tensor_op(tokens, "cat", other=mask, dim=dim, name="tokens", other_name="mask")
    assert torch.equal(cat.tensor, torch.cat([tokens, mask], dim=dim))
    assert cat.code == f"torch.cat([tokens, mask], dim={dim})"
    stack = apply_tensor_op(tokens, "stack", other=mask, dim=dim, name="tokens", other_name="mask")
    assert torch.equal(stack.tensor, torch.stack([tokens, mask], dim=dim))


def test_impossible_reshape_explains_the_element_counts():
    with pytest.raises(ConfigError) as err:
        apply_tensor_op(NOTES_X, "reshape", shape=(5, 5))
    message = str(err.value)
    assert message.startswith("shape (5, 5)")
    assert "5 × 5 = 25" in message and "2 × 3 × 4 = 24" in message
    with pytest.raises(RuntimeError):
        NOTES_X.reshape(5, 5)  # torch refuses it too
    with pytest.raises(ConfigError, match="multiple"):
        apply_tensor_op(NOTES_X, "reshape", shape=(-1, 5))
    with pytest.raises(ConfigError, match="at most one -1"):
        apply_tensor_op(NOTES_X, "reshape", shape=(-1, -1))


@pytest.mark.parametrize(
    ("op", "args", "parameter"),
    [
        ("transpose", {"dim0": 0, "dim1": 3}, "dim1"),
        ("transpose", {"dim0": "1", "dim1": 0}, "dim0"),
        ("permute", {"dims": (0, 0, 1)}, "dims"),
        ("permute", {"dims": (0, 1)}, "dims"),
        ("unsqueeze", {"dim": 4}, "dim"),
        ("squeeze", {"dim": -4}, "dim"),
        ("cat", {"other": torch.zeros(2, 5, 4), "dim": 0}, "other"),
        ("stack", {"other": torch.zeros(2, 3, 5), "dim": 0}, "other"),
        ("reshape", {"shape": (0, 24)}, "shape"),
        ("flip", {}, "op"),
        ("reshape", {"shape": (6, 4), "dim": 0}, "dim"),
    ],
)
def test_bad_arguments_are_refused_naming_the_parameter(op, args, parameter):
    with pytest.raises(ConfigError) as err:
        apply_tensor_op(NOTES_X, op, **args)
    assert parameter in str(err.value)


def test_view_refuses_a_non_contiguous_tensor_as_torch_does():
    swapped = NOTES_X.transpose(0, 1)
    with pytest.raises(RuntimeError):
        swapped.view(6, 4)
    with pytest.raises(ConfigError, match="contiguous"):
        apply_tensor_op(swapped, "view", shape=(6, 4))
    assert torch.equal(apply_tensor_op(swapped, "reshape", shape=(6, 4)).tensor, swapped.reshape(6, 4))


def test_view_on_a_slice_names_the_slice_not_transpose():
    tokens, mask = pad_batch(["MVLSPAD", "MKTAYIAK"])
    one_hot = batch_tensors(tokens, mask)["one_hot"]
    part = one_hot[:2, :3]  # keeps 3 of 8 positions per protein
    with pytest.raises(RuntimeError):
        part.view(-1, 20)
    with pytest.raises(ConfigError) as err:
        apply_tensor_op(part, "view", shape=(-1, 20), source="one_hot[:2, :3]")
    assert "one_hot[:2, :3]" in str(err.value) and "slice" in str(err.value)
    assert "transpose" not in str(err.value)


def test_parse_ints_reads_shapes_and_names_the_field_when_it_cannot():
    assert parse_ints("6, 4", "shape") == (6, 4)
    assert parse_ints("(2, -1)", "shape") == (2, -1)
    assert parse_ints("[2,0,1]", "dims") == (2, 0, 1)
    for bad in ("", "six, 4", "2.5, 4"):
        with pytest.raises(ConfigError, match="^dims"):
            parse_ints(bad, "dims")
    for spaced in ("2 3 20", "2 3, 20", "2, 3  20"):  # never read as the one number 2320 (or 320)
        with pytest.raises(ConfigError, match="Put commas between the numbers: 2, 3, 20"):
            parse_ints(spaced, "shape")


def test_values_are_shown_as_torch_prints_them_only_when_small():
    assert values_text(NOTES_X) == str(NOTES_X)
    assert values_text(torch.zeros(20, 20)) is None


def test_generated_code_runs_and_gives_the_pages_result():
    from protlab.codegen import tensor_ops_code

    sequences = ["MVLSPAD", "MKT", "GIGAV"]
    tensors = _batch()
    x = tensors["one_hot"][:2, :3]
    result = apply_tensor_op(x, "permute", dims=(2, 0, 1))
    code = tensor_ops_code(sequences, ["x = one_hot[:2, :3]  # (2, 3, 20)"], result.code)
    scope: dict = {}
    exec(compile(code, "<tensor_ops_code>", "exec"), scope)  # noqa: S102 - our own generated code
    assert torch.equal(scope["result"], result.tensor)
    assert torch.equal(scope["tokens"], tensors["tokens"])
