"""Every training setting in one validated dataclass, with the allowed choices and range checks."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from protlab.errors import ConfigError

__all__ = ["TrainConfig", "OPTIMIZERS", "SCHEDULERS", "DEVICES", "CLASS_WEIGHTINGS"]

OPTIMIZERS = ("adam", "adamw", "sgd", "sgd_momentum")  # the notes' Exercise 4 compares these
SCHEDULERS = ("plateau", "warmup", "none")
DEVICES = ("auto", "cpu", "cuda")
CLASS_WEIGHTINGS = ("none", "balanced")


@dataclass
class TrainConfig:
    """Every training setting; the defaults follow the notes' solubility case study."""

    optimizer: str = "adam"  # 'adam', 'adamw', 'sgd' or 'sgd_momentum'
    lr: float = 1e-3  # learning rate (peak rate when warming up); above 0, at most 1e6 (so divergence can be shown)
    weight_decay: float = 0.0  # L2 penalty (Adam/SGD) or decoupled decay (AdamW); 0 to 1
    momentum: float = 0.9  # used by 'sgd_momentum' only; 0 to below 1
    batch_size: int = 32  # sequences per mini-batch, 1 to 4096
    epochs: int = 20  # passes over the training set, 1 to 1000
    patience: int = 5  # stop after this many epochs without a lower val loss; 0 = never stop early
    scheduler: str = "plateau"  # 'plateau' (ReduceLROnPlateau), 'warmup' (linear warmup, then constant) or 'none'
    plateau_factor: float = 0.5  # ReduceLROnPlateau: multiply the lr by this when val loss stalls
    plateau_patience: int = 2  # ReduceLROnPlateau: epochs without improvement before the lr is cut
    warmup_steps: int = 1000  # optimizer steps of linear warmup from lr * 1e-4 up to lr
    grad_clip: float = 1.0  # max gradient norm; 0 turns clipping off
    grad_accum_steps: int = 1  # mini-batches whose gradients add up to one optimizer step (Exercise 3)
    seed: int = 42  # seeds Python, NumPy and PyTorch and the batch order
    device: str = "auto"  # 'auto' (CUDA when present), 'cpu' or 'cuda'
    mixed_precision: bool = False  # autocast + GradScaler; only on a CUDA GPU
    max_length: int = 2000  # longest sequence accepted for training (longer ones are dropped by the data layer)
    batch_events: bool = False  # send a BatchEvent after every batch (else every batch_event_every batches)
    batch_event_every: int = 10  # BatchEvent interval when batch_events is False
    label_smoothing: float = 0.0  # cross-entropy label smoothing, 0 to 0.5
    class_weighting: str = "none"  # 'none' or 'balanced' (weights inversely proportional to class counts)
    eval_batch_size: int = 64  # sequences per batch when validating (no gradients, so larger is fine)
    num_threads: int = 0  # torch CPU threads; 0 leaves PyTorch's default
    cpu_bf16: bool = True  # bf16 autocast on CPUs with native bf16 (AVX512-BF16/AMX): ~1.4x faster, same AUC
    flush_denormal: bool = True  # treat subnormal floats as 0 on the CPU while training (up to 5x faster, same results)

    def validate(self) -> None:
        """Raise ConfigError naming the first setting outside its allowed range."""
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _number("lr", self.lr, 0.0, 1e6, "a number above 0 and at most 1e6 (1e-3 is a good start)", low_open=True)
        _number("weight_decay", self.weight_decay, 0.0, 1.0, "a number from 0 to 1")
        _number("momentum", self.momentum, 0.0, 1.0, "a number from 0 up to but not including 1", high_open=True)
        _integer("batch_size", self.batch_size, 1, 4096)
        _integer("epochs", self.epochs, 1, 1000, " (at least 1 epoch is needed to learn anything)")
        _integer("patience", self.patience, 0, 1000, " (0 turns early stopping off)")
        _choice("scheduler", self.scheduler, SCHEDULERS)
        _number("plateau_factor", self.plateau_factor, 0.0, 1.0, "a number above 0 and below 1",
                low_open=True, high_open=True)
        _integer("plateau_patience", self.plateau_patience, 0, 1000)
        _integer("warmup_steps", self.warmup_steps, 1, 1_000_000)
        _number("grad_clip", self.grad_clip, 0.0, 1e6, "a number from 0 (off) to 1e6")
        _integer("grad_accum_steps", self.grad_accum_steps, 1, 1024)
        _integer("seed", self.seed, 0, 2**32 - 1)
        _choice("device", self.device, DEVICES)
        for name in ("mixed_precision", "batch_events", "flush_denormal", "cpu_bf16"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false; got {getattr(self, name)!r}.")
        if self.mixed_precision and (self.device == "cpu" or not torch.cuda.is_available()):
            raise ConfigError("mixed_precision needs a CUDA GPU; this machine has none (or device is 'cpu'). "
                              "Turn mixed precision off.")
        _integer("max_length", self.max_length, 1, 100_000)
        _integer("batch_event_every", self.batch_event_every, 1, 100_000)
        _number("label_smoothing", self.label_smoothing, 0.0, 0.5, "a number from 0 to 0.5")
        _choice("class_weighting", self.class_weighting, CLASS_WEIGHTINGS)
        _integer("eval_batch_size", self.eval_batch_size, 1, 4096)
        _integer("num_threads", self.num_threads, 0, 256, " (0 keeps the default)")

    def to_dict(self) -> dict:
        """All settings as a plain JSON-friendly dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build and validate a config from a dict; unknown keys are refused, missing keys take defaults."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"Unknown training setting(s) {unknown}; allowed settings are {sorted(known)}.")
        config = cls(**values)
        config.validate()
        return config


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    """Raise ConfigError unless value is one of `allowed`."""
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}.")


def _integer(name: str, value: object, low: int, high: int, hint: str = "") -> None:
    """Raise ConfigError unless value is an integer in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}{hint}; got {value!r}.")


def _number(name: str, value: object, low: float, high: float, allowed: str,
            low_open: bool = False, high_open: bool = False) -> None:
    """Raise ConfigError unless value is a finite number in the given range."""
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        raise ConfigError(f"{name} must be {allowed}; got {value!r}.")

