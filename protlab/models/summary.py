"""Layer-by-layer model summaries (name, type, output shape, parameters) via forward hooks."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
import torch.nn as nn


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Total number of parameter values (only those with requires_grad when trainable_only)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


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
