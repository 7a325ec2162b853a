"""Tensor origami on an encoded batch: reshape, view, transpose, permute, unsqueeze, squeeze, cat and stack.

The notes' tensor section (x = torch.randn(2, 3, 4)):

    x.view(6, 4)          x.reshape(2, 12)      x.transpose(0, 1)
    x.permute(2, 0, 1)    x.unsqueeze(0)        x.squeeze()

apply_tensor_op(x, "transpose", dim0=1, dim1=2) runs one of them on a tensor after checking its arguments
(an impossible request raises ConfigError naming the argument and saying why, e.g. the element counts of a
reshape), and returns the shapes before and after, the result and the one line of PyTorch that does it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from protlab.alphabet import AMINO_ACIDS
from protlab.checks import Choice
from protlab.errors import ConfigError

OPS = ("reshape", "view", "transpose", "permute", "unsqueeze", "squeeze", "cat", "stack")  # offered ops
MAX_DIMS = 6  # most dimensions a result may have (keeps the shapes readable)
SMALL = 240  # tensors with at most this many elements have their values shown
EXPLAIN = {
    "reshape": "keeps every element in the same order and regroups them; the sizes must multiply to the "
    "same element count (one size may be -1: PyTorch works it out).",
    "view": "is reshape without copying: the result shares memory with the original, which needs the "
    "elements to be laid out in order (a contiguous tensor).",
    "transpose": "swaps two dimensions: element [i, j] becomes element [j, i]. Conv1d wants (batch, "
    "channels, length), so a (batch, length, 20) one-hot batch needs .transpose(1, 2).",
    "permute": "reorders all the dimensions at once: the list says which old dimension goes in each place.",
    "unsqueeze": "adds a dimension of size 1 at the given place, e.g. a batch dimension for one protein.",
    "squeeze": "removes dimensions of size 1 (all of them, or only the one named; another size stays).",
    "cat": "joins tensors end to end along an existing dimension: only that dimension grows.",
    "stack": "puts tensors of the same shape side by side along a new dimension of size 2.",
}  # op -> one sentence on what it does


@dataclass(frozen=True)
class TensorOpResult:
    """One tensor operation as the lesson shows it."""

    shape_before: tuple[int, ...]  # shape of the input tensor
    shape_after: tuple[int, ...]  # shape of the result
    tensor: torch.Tensor  # the result (same dtype as the input, except cat/stack of mixed dtypes)
    code: str  # the one line of PyTorch, e.g. "x.transpose(1, 2)"
    explanation: str  # one sentence on what the operation does


def batch_tensors(tokens: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """The three tensors of an encoded batch: tokens (B, L) int64, mask (B, L) float, one_hot (B, L, 20)."""
    one_hot = torch.nn.functional.one_hot(tokens, len(AMINO_ACIDS) + 2)[:, :, 1 : len(AMINO_ACIDS) + 1]
    return {"tokens": tokens, "mask": mask, "one_hot": one_hot.float()}  # one_hot: (B, L, 20) float32


def shape_text(shape) -> str:
    """A shape as the lesson writes it: (2, 3, 4), (7,) or () for a scalar."""
    shape = tuple(int(s) for s in shape)
    return f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(map(str, shape))})"


def parse_ints(text: str, name: str) -> tuple[int, ...]:
    """'6, 4' or '(2, -1)' -> (6, 4) / (2, -1); anything else raises ConfigError naming `name`."""
    text = str(text)
    parts = [p.strip() for p in text.strip().strip("()[]").split(",")]
    parts = [p for p in parts if p != ""]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        words = " ".join(parts).split()  # '2 3 20': whole numbers written without commas
        spaced = len(words) > len(parts) and all(w.lstrip("-").isdigit() for w in words)
        hint = f" Put commas between the numbers: {', '.join(words)}." if spaced else ""
        raise ConfigError(
            f"{name} must be whole numbers separated by commas, such as 6, 4; got {text[:60]!r}.{hint}"
        ) from None
    if not values:
        raise ConfigError(f"{name} must list at least one whole number, such as 6, 4; got {text[:60]!r}.")
    return values


def _dim(value: object, name: str, ndim: int) -> int:
    """Check a dimension index for a tensor with ndim dimensions (negative counts from the end)."""
    if isinstance(value, bool) or not isinstance(value, int) or not -ndim <= value < ndim:
        raise ConfigError(
            f"{name} must be a dimension of a {ndim}-dimensional tensor, an integer from {-ndim} to "
            f"{ndim - 1}; got {value!r}."
        )
    return value


def _product(sizes) -> str:
    """'2 × 3 × 4 = 24' for a shape."""
    sizes = list(sizes)
    total = math.prod(sizes)
    return f"{' × '.join(map(str, sizes))} = {total:,}" if len(sizes) > 1 else f"{total:,}"


def _check_shape(tensor: torch.Tensor, shape: tuple[int, ...], name: str) -> None:
    """A new shape must hold exactly the tensor's elements (one -1 allowed)."""
    if not 1 <= len(shape) <= MAX_DIMS:
        raise ConfigError(f"{name} must have from 1 to {MAX_DIMS} sizes; got {len(shape)}.")
    bad = [s for s in shape if s == 0 or s < -1]
    if bad or shape.count(-1) > 1:
        raise ConfigError(
            f"{name} sizes must be positive whole numbers, with at most one -1; got {shape_text(shape)}."
        )
    n = tensor.numel()
    have = f"x has shape {shape_text(tensor.shape)}, so {_product(tensor.shape)} elements"
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if n % known:
            raise ConfigError(
                f"{name} {shape_text(shape)} cannot hold the elements: {have}, which is not a multiple of "
                f"the other sizes' product {known:,}, so no size fits in place of -1."
            )
    elif known != n:
        raise ConfigError(
            f"{name} {shape_text(shape)} holds {_product(shape)} elements, but {have}. reshape and view only "
            "regroup elements; they cannot add or drop any, so the sizes must multiply to the same count."
        )


def _code(name: str, op: str, args: tuple) -> str:
    """The one line of PyTorch, written as the notes write it: x.view(6, 4), x.squeeze()."""
    return f"{name}.{op}({', '.join(map(str, args))})"


def _not_contiguous_error(source: str) -> ConfigError:
    """The error for view on a tensor whose elements are not stored in order; source: how it was made."""
    why = (
        f"x = {source} is a slice that keeps only part of each row, so its elements are not stored one "
        "after another"
        if source
        else "this one is not (a slice that keeps only part of each row, or the result of transpose or "
        "permute, is stored with gaps or in another order)"
    )
    return ConfigError(
        f"view needs a contiguous tensor (elements stored in order), and {why}. "
        "Use reshape, or call .contiguous() first."
    )


def apply_tensor_op(
    tensor: torch.Tensor, op: str, *, name: str = "x", source: str = "", **args
) -> TensorOpResult:
    """Apply one of OPS to tensor after checking its arguments; `name` is the variable the code line uses.

    source: the slice the tensor was cut with (e.g. "one_hot[:2, :3]"), named when view refuses it.

    reshape/view: shape=(6, 4); transpose: dim0, dim1; permute: dims=(2, 0, 1); unsqueeze: dim;
    squeeze: dim=None (all size-1 dims); cat/stack: other=tensor, dim, other_name="y".
    """
    Choice(OPS).check(op, "op")
    ndim = tensor.dim()
    allowed = {
        "reshape": {"shape"},
        "view": {"shape"},
        "transpose": {"dim0", "dim1"},
        "permute": {"dims"},
        "unsqueeze": {"dim"},
        "squeeze": {"dim"},
        "cat": {"other", "dim", "other_name"},
        "stack": {"other", "dim", "other_name"},
    }[op]
    extra = sorted(set(args) - allowed)
    if extra:
        raise ConfigError(f"{op} takes {', '.join(sorted(allowed))}; got an unknown argument {extra[0]!r}.")
    if op in ("reshape", "view"):
        shape = tuple(args.get("shape", ()))
        _check_shape(tensor, shape, "shape")
        if op == "view" and not tensor.is_contiguous():
            raise _not_contiguous_error(source)
        result, line = getattr(tensor, op)(*shape), _code(name, op, shape)
    elif op == "transpose":
        d0, d1 = _dim(args.get("dim0"), "dim0", ndim), _dim(args.get("dim1"), "dim1", ndim)
        result, line = tensor.transpose(d0, d1), _code(name, op, (d0, d1))
    elif op == "permute":
        dims = tuple(args.get("dims", ()))
        normal = sorted(d % ndim if isinstance(d, int) and -ndim <= d < ndim else None for d in dims)
        if normal != list(range(ndim)):
            raise ConfigError(
                f"dims must list each of the {ndim} dimensions 0 to {ndim - 1} exactly once (a new order for "
                f"a {ndim}-dimensional tensor); got {shape_text(dims) if dims else '()'}."
            )
        result, line = tensor.permute(*dims), _code(name, op, dims)
    elif op == "unsqueeze":
        if ndim >= MAX_DIMS:
            raise ConfigError(f"unsqueeze would give more than {MAX_DIMS} dimensions; x already has {ndim}.")
        dim = _dim(args.get("dim"), "dim", ndim + 1)
        result, line = tensor.unsqueeze(dim), _code(name, op, (dim,))
    elif op == "squeeze":
        dim = args.get("dim")
        if dim is None:
            result, line = tensor.squeeze(), _code(name, op, ())
        else:
            dim = _dim(dim, "dim", ndim)
            result, line = tensor.squeeze(dim), _code(name, op, (dim,))
    else:
        result, line = _join(tensor, op, name, args)
    return TensorOpResult(tuple(tensor.shape), tuple(result.shape), result, line, f"{op} {EXPLAIN[op]}")


def _join(tensor: torch.Tensor, op: str, name: str, args: dict) -> tuple[torch.Tensor, str]:
    """torch.cat / torch.stack of tensor and args['other'] along args['dim'], after checking the shapes."""
    other = args.get("other")
    if not isinstance(other, torch.Tensor):
        raise ConfigError(f"other must be a tensor to {op} with x; got {type(other).__name__}.")
    other_name = str(args.get("other_name") or "y")
    ndim = tensor.dim()
    dim = _dim(args.get("dim"), "dim", ndim if op == "cat" else ndim + 1)
    before, with_shape = shape_text(tensor.shape), shape_text(other.shape)
    if op == "stack" and tensor.shape != other.shape:
        raise ConfigError(
            f"The other tensor, {other_name}, must have exactly the shape of {name} to stack them; "
            f"{name} is {before} and {other_name} is {with_shape}. "
            "Use cat to join tensors that differ along one dimension."
        )
    if op == "stack" and ndim + 1 > MAX_DIMS:
        raise ConfigError(f"stack would give more than {MAX_DIMS} dimensions; {name} already has {ndim}.")
    if op == "cat":
        same = other.dim() == ndim and all(
            a == b for i, (a, b) in enumerate(zip(tensor.shape, other.shape)) if i != dim % ndim
        )
        if not same:
            raise ConfigError(
                f"The other tensor, {other_name}, must match {name} in every dimension except dim {dim} "
                f"to cat them; {name} is {before} and {other_name} is {with_shape}."
            )
    joined = torch.cat([tensor, other], dim=dim) if op == "cat" else torch.stack([tensor, other], dim=dim)
    return joined, f"torch.{op}([{name}, {other_name}], dim={dim})"


def values_text(tensor: torch.Tensor) -> str | None:
    """The tensor as PyTorch prints it when it has at most SMALL elements, else None."""
    if tensor.numel() > SMALL:
        return None
    return str(tensor)
