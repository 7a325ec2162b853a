"""One optimizer step at a time: optimizer, learning-rate schedule, mixed precision and gradient accumulation."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from protlab.data.batching import Batch
from protlab.errors import ConfigError
from protlab.models import model_forward
from protlab.training.config import TrainConfig

__all__ = ["Stepper", "build_optimizer", "warmup_lr", "cpu_bf16_available", "WARMUP_START_FACTOR"]

WARMUP_START_FACTOR = 1e-4  # warmup starts at lr * 1e-4 (the notes' Exercise 2: 1e-7 -> 1e-3)


def warmup_lr(step: int, lr: float, warmup_steps: int) -> float:
    """Learning rate for optimizer step `step` (0-based): linear from lr * 1e-4 to lr, then constant."""
    frac = min(step / warmup_steps, 1.0)
    return lr * (WARMUP_START_FACTOR + (1.0 - WARMUP_START_FACTOR) * frac)


def cpu_bf16_available() -> bool:
    """True when this CPU has native bfloat16 matrix units that oneDNN can use."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Create the optimizer named in config ('sgd', 'sgd_momentum', 'adam', 'adamw')."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("The model has no trainable parameters; build a model with at least one layer.")
    fused = all(p.dtype == torch.float32 and p.device.type in ("cpu", "cuda") for p in params)  # one kernel per step
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused)
    if config.optimizer == "sgd_momentum":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay,
                               fused=fused)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused)


def _class_weights(config: TrainConfig, labels: np.ndarray, device: torch.device) -> torch.Tensor | None:
    """Inverse-frequency class weights when config.class_weighting == 'balanced'."""
    if config.class_weighting != "balanced":
        return None
    counts = np.bincount(labels, minlength=2).astype(np.float64)  # (2,)
    weights = counts.sum() / (2.0 * np.maximum(counts, 1.0))
    return torch.tensor(weights, dtype=torch.float32, device=device)


class Stepper:
    """Owns optimizer, LR schedule, mixed precision and gradient accumulation for one training run."""

    def __init__(
        self, model: nn.Module, config: TrainConfig, device: torch.device, train_labels: np.ndarray
    ) -> None:
        self.model, self.config, self.device = model, config, device
        self.optimizer = build_optimizer(model, config)
        self.plateau = None
        if config.scheduler == "plateau":
            self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode="min", factor=config.plateau_factor, patience=config.plateau_patience)
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
            logits = model_forward(self.model, batch)  # (B, 2)
        return F.cross_entropy(logits.float(), batch.labels, weight=self.weights,
                               label_smoothing=self.config.label_smoothing)

    def backward(self, loss: torch.Tensor, group_size: int) -> None:
        """Accumulate this micro-batch's gradient, scaled so a group averages like one big batch."""
        self.scaler.scale(loss / group_size).backward()

    def step(self) -> float:
        """Clip, step and zero the gradients; returns the gradient norm (nan when clipping is off)."""
        if self.config.scheduler == "warmup":
            for group in self.optimizer.param_groups:
                group["lr"] = warmup_lr(self.steps, self.config.lr, self.config.warmup_steps)
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

