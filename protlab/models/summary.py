"""Layer-by-layer model summaries (name, type, output shape, parameters) via forward hooks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Total number of parameter values (only those with requires_grad when trainable_only)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


class _SkipInit(TorchFunctionMode):
    """Inside torch.device("meta"): calls that would fill values return shapes only. A meta tensor has no
    values, and PyTorch's meta versions of normal_ and eye load its compiler (a second) on first use."""

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204 (torch's protocol)
        kwargs = kwargs or {}
        if getattr(func, "__module__", None) == "torch.nn.init" or func is torch.Tensor.normal_:
            return args[0] if args else kwargs.get("tensor")
        if func is torch.eye:  # eye(n, m=n, *, dtype=None, ...): only its shape matters here
            n = args[0] if args else kwargs["n"]
            m = args[1] if len(args) > 1 else kwargs.get("m", n)
            return torch.empty(n, m, dtype=kwargs.get("dtype"), device=kwargs.get("device"))
        return func(*args, **kwargs)


@contextmanager
def on_meta_device() -> Iterator[None]:
    """Build modules on the meta device inside the block: shapes only, no memory, no random draws (this
    thread only, like torch.device)."""
    with torch.device("meta"), _SkipInit():
        yield


def _shape_text(output: Any) -> str:
    """Describe a module output's shape, e.g. '(1, 7, 128)'; tuples of tensors are listed."""
    if isinstance(output, torch.Tensor):
        return "(" + ", ".join(str(d) for d in output.shape) + ")"
    if isinstance(output, (tuple, list)):
        return "[" + ", ".join(_shape_text(o) for o in output) + "]"
    return type(output).__name__


def summarize(model: nn.Module, *example_inputs: Any) -> pd.DataFrame:
    """Run example inputs through model in eval mode and tabulate every leaf module."""
    leaves = [(name, m) for name, m in model.named_modules() if name and not any(True for _ in m.children())]
    shapes: dict[str, list[str]] = {name: [] for name, _ in leaves}

    def make_hook(name: str):
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            shapes[name].append(_shape_text(output))

        return hook

    handles = [m.register_forward_hook(make_hook(name)) for name, m in leaves]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*example_inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    rows = [
        {
            "name": name,
            "type": type(m).__name__,
            "output_shape": "; ".join(dict.fromkeys(shapes[name])) or "not used",
            "parameters": sum(p.numel() for p in m.parameters(recurse=False)),
        }
        for name, m in leaves
    ]
    return pd.DataFrame(rows, columns=["name", "type", "output_shape", "parameters"])
