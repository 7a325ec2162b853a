"""The notes' first debugging check: a working model can learn one batch by heart (its loss goes near 0).

If the loss on a single repeated batch does not fall close to zero, something is wrong before any question
of generalisation: a frozen or disconnected layer, a wrong loss, labels that do not match the inputs,
pooling over the wrong axis, or a learning rate far too small.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from protlab.checks import FloatRange, IntRange
from protlab.data.batching import Batch
from protlab.models import model_forward
from protlab.training.step import make_optimizer

__all__ = ["MAX_OVERFIT_STEPS", "NEAR_ZERO_LOSS", "overfit_one_batch", "overfit_passed"]

MAX_OVERFIT_STEPS = 5000  # most optimizer steps one check may take
NEAR_ZERO_LOSS = 0.05  # a working model gets one batch's cross-entropy below this (0.69 is a coin toss)


def overfit_one_batch(
    model: nn.Module,
    batch: Batch,
    steps: int = 200,
    lr: float = 1e-3,
    *,
    stop_below: float = 0.0,
    max_seconds: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[float]:
    """Train with Adam on one batch only, dropout off; the loss of each step (should approach 0).

    Stops early once the loss is below stop_below, or once max_seconds have passed (a bounded check).
    progress, when given, is called after each step with the fraction of the steps done.
    """
    IntRange(1, MAX_OVERFIT_STEPS).check(steps, "steps")
    FloatRange(0, 1e6, low_open=True).check(lr, "lr")
    FloatRange(0, 10).check(stop_below, "stop_below")
    if max_seconds is not None:
        FloatRange(0, 3600, low_open=True).check(max_seconds, "max_seconds")
    device = next(model.parameters()).device
    batch = batch.to(device)
    optimizer = make_optimizer([p for p in model.parameters() if p.requires_grad], "adam", lr=lr)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd):
            module.eval()  # regularisation off: the check asks whether the model can fit at all
    flushed = torch.set_flush_denormal(True)  # subnormal floats as 0 on the CPU: same result, faster
    try:
        losses: list[float] = []
        for _ in range(steps):
            loss = F.cross_entropy(model_forward(model, batch), batch.labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if progress is not None:
                progress(len(losses) / steps)
            if losses[-1] < stop_below or (deadline is not None and time.monotonic() > deadline):
                break
    finally:
        if flushed:
            torch.set_flush_denormal(False)
        model.eval()
    return losses


def overfit_passed(losses: list[float], near_zero: float = NEAR_ZERO_LOSS) -> bool:
    """True when the last loss of an overfit_one_batch run is below near_zero."""
    return bool(losses) and losses[-1] < near_zero
