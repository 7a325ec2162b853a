"""One optimizer step at a time: optimizer factory, learning-rate schedule, mixed precision, accumulation."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from protlab.checks import Choice
from protlab.data.batching import IGNORE_INDEX, Batch
from protlab.errors import ConfigError
from protlab.models import model_forward
from protlab.training.config import OPTIMIZERS, TrainConfig

__all__ = [
    "WARMUP_START_FACTOR",
    "Stepper",
    "build_optimizer",
    "cpu_bf16_available",
    "make_optimizer",
    "optimizer_code",
    "optimizer_recipe",
    "total_optimizer_steps",
    "warmup_length",
    "warmup_lr",
]

WARMUP_START_FACTOR = 1e-4  # warmup starts at lr * 1e-4 (the notes' Exercise 2: 1e-7 -> 1e-3)


def warmup_lr(step: int, lr: float, warmup_steps: int) -> float:
    """Learning rate for optimizer step `step` (0-based): linear from lr * 1e-4 to lr, then constant."""
    frac = min(step / warmup_steps, 1.0)
    return lr * (WARMUP_START_FACTOR + (1.0 - WARMUP_START_FACTOR) * frac)


def total_optimizer_steps(n_rows: int, config: TrainConfig, world: int = 1) -> int:
    """Optimizer steps in a full run: epochs x ceil(batches per process / grad_accum_steps)."""
    batches = math.ceil(math.ceil(n_rows / config.batch_size) / world)  # each process's share
    return config.epochs * math.ceil(batches / config.grad_accum_steps)


def warmup_length(config: TrainConfig, total_steps: int | None) -> int:
    """Steps of linear warm-up: warmup_steps if set, else warmup_fraction of the run (at least 1)."""
    if config.warmup_steps:
        return config.warmup_steps
    if total_steps is None:
        raise ConfigError(
            "warmup_steps is 0, so warm-up lasts warmup_fraction of the run, but the run's total number "
            "of optimizer steps was not given; pass total_steps or set warmup_steps to 1 or more."
        )
    return max(1, round(config.warmup_fraction * total_steps))


def cpu_bf16_available() -> bool:
    """True when this CPU has native bfloat16 matrix units that oneDNN can use."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


# torch.optim class and the settings (besides lr) each optimizer name uses, in torch's argument order
_RECIPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "adam": ("Adam", ("betas", "weight_decay")),  # adaptive step per weight; the notes' default
    "adamw": ("AdamW", ("betas", "weight_decay")),  # Adam with decoupled weight decay
    "sgd": ("SGD", ("weight_decay",)),  # plain gradient descent
    "sgd_momentum": ("SGD", ("momentum", "weight_decay")),  # gradient descent with a running velocity
}
_DEFAULT_MOMENTUM = 0.9  # momentum of 'sgd_momentum' when none is given (TrainConfig's default)


def optimizer_recipe(
    name: str,
    *,
    lr: float,
    weight_decay: float | None = None,
    momentum: float | None = None,
    betas: tuple[float, float] | None = None,
) -> tuple[str, dict]:
    """The torch.optim class name and keyword arguments for an optimizer name.

    lr is always passed; weight_decay, momentum and betas only when given and used by that optimizer
    (otherwise torch's default applies; 'sgd_momentum' without momentum gets 0.9).
    """
    Choice(OPTIMIZERS).check(name, "optimizer")
    class_name, used = _RECIPES[name]
    if name == "sgd_momentum" and momentum is None:
        momentum = _DEFAULT_MOMENTUM
    given = {"weight_decay": weight_decay, "momentum": momentum, "betas": betas}
    return class_name, {"lr": lr, **{key: given[key] for key in used if given[key] is not None}}


def make_optimizer(
    params: Iterable, name: str, *, fused: bool | None = None, **settings: object
) -> torch.optim.Optimizer:
    """Build torch.optim.<Class>(params, **kwargs) from optimizer_recipe(name, **settings); fused if given."""
    class_name, kwargs = optimizer_recipe(name, **settings)
    if fused is not None:
        kwargs["fused"] = fused
    return getattr(torch.optim, class_name)(params, **kwargs)


def optimizer_code(params: str, name: str, **settings) -> str:
    """Python source that builds the same optimizer, e.g. 'torch.optim.SGD(model.parameters(), lr=0.1)'."""
    class_name, kwargs = optimizer_recipe(name, **settings)
    args = "".join(f", {key}={_literal(value)}" for key, value in kwargs.items())
    return f"torch.optim.{class_name}({params}{args})"


def _literal(value: object) -> str:
    """A setting as Python source: plain floats/ints (NumPy scalars unwrapped), tuples element by element."""
    if isinstance(value, (tuple, list)):
        return repr(tuple(float(v) for v in value))
    return repr(value.item() if isinstance(value, np.generic) else value)


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimizer named in config.optimizer over the model's trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("The model has no trainable parameters; build a model with at least one layer.")
    # one fused kernel per step when every weight is float32 on the CPU or a CUDA GPU
    fused = all(p.dtype == torch.float32 and p.device.type in ("cpu", "cuda") for p in params)
    return make_optimizer(
        params,
        config.optimizer,
        lr=config.lr,
        weight_decay=config.weight_decay,
        momentum=config.momentum,
        fused=fused,
    )


def _class_weights(config: TrainConfig, labels: np.ndarray, device: torch.device) -> torch.Tensor | None:
    """Inverse-frequency class weights when config.class_weighting == 'balanced'."""
    if config.class_weighting != "balanced":
        return None
    labels = labels[labels >= 0]  # scored labels only (per-residue sets mark the rest IGNORE_INDEX)
    counts = np.bincount(labels, minlength=2).astype(np.float64)  # (C,)
    weights = counts.sum() / (counts.size * np.maximum(counts, 1.0))
    return torch.tensor(weights, dtype=torch.float32, device=device)


class Stepper:
    """Owns optimizer, LR schedule, mixed precision and gradient accumulation for one training run."""

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        device: torch.device,
        train_labels: np.ndarray,
        total_steps: int | None = None,
    ) -> None:
        """total_steps: the run's optimizer steps (total_optimizer_steps), for a warm-up set as a fraction."""
        self.model, self.config, self.device = model, config, device
        self.warmup_steps = warmup_length(config, total_steps) if config.scheduler == "warmup" else 0
        self.optimizer = build_optimizer(model, config)
        self.plateau = None
        if config.scheduler == "plateau":
            self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode="min", factor=config.plateau_factor, patience=config.plateau_patience
            )
        cuda_amp = bool(config.mixed_precision and device.type == "cuda")
        cpu_amp = config.cpu_bf16 and device.type == "cpu" and cpu_bf16_available()
        self.amp = cuda_amp or cpu_amp
        self.amp_dtype = torch.float16 if cuda_amp and not torch.cuda.is_bf16_supported() else torch.bfloat16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)
        self.weights = _class_weights(config, train_labels, device)
        self.steps = 0  # optimizer steps taken

    @property
    def lr(self) -> float:
        """Current learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    def loss(self, batch: Batch) -> torch.Tensor:
        """Forward pass and training loss for one batch (autocast when mixed precision / CPU bf16 is on)."""
        with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            logits = model_forward(self.model, batch)  # (B, C), or (B, L, C) from a per-residue model
        # per-residue logits (B*L, C) and labels (B*L,) are flattened; IGNORE_INDEX labels do not count
        return F.cross_entropy(
            logits.float().flatten(0, -2),
            batch.labels.flatten(),
            weight=self.weights,
            label_smoothing=self.config.label_smoothing,
            ignore_index=IGNORE_INDEX,
        )

    def backward(self, loss: torch.Tensor, group_size: int) -> None:
        """Accumulate this micro-batch's gradient, scaled so a group averages like one big batch."""
        self.scaler.scale(loss / group_size).backward()

    def step(self) -> float:
        """Clip, step and zero the gradients; returns the gradient norm (nan when clipping is off)."""
        if self.config.scheduler == "warmup":
            for group in self.optimizer.param_groups:
                group["lr"] = warmup_lr(self.steps, self.config.lr, self.warmup_steps)
        norm = float("nan")
        if self.config.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            norm_t = nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            norm = float(norm_t)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.steps += 1
        return norm

    def end_epoch(self, val_loss: float) -> None:
        """Let ReduceLROnPlateau look at the validation loss."""
        if self.plateau is not None:
            self.plateau.step(val_loss)
