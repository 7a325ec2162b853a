"""Every training setting in one dataclass; each field carries its allowed range (protlab.checks)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import torch

from protlab.checks import Choice, Flag, FloatRange, IntRange, check_fields, setting
from protlab.errors import ConfigError

__all__ = ["CLASS_WEIGHTINGS", "DEVICES", "OPTIMIZERS", "SCHEDULERS", "TrainConfig"]

OPTIMIZERS = ("adam", "adamw", "sgd", "sgd_momentum")  # the notes' Exercise 4 compares these
SCHEDULERS = ("plateau", "warmup", "none")
DEVICES = ("auto", "cpu", "cuda")
CLASS_WEIGHTINGS = ("none", "balanced")
_EPOCHS_NOTE = "at least 1 epoch is needed to learn anything"


@dataclass
class TrainConfig:
    """Every training setting with its allowed range; the defaults follow the notes' solubility case study."""

    optimizer: str = setting("adam", Choice(OPTIMIZERS))  # 'adam', 'adamw', 'sgd' or 'sgd_momentum'
    # learning rate (peak rate when warming up); allowed up to 1e6 so that divergence can be shown
    lr: float = setting(1e-3, FloatRange(0, 1e6, low_open=True, note="1e-3 is a good start"))
    weight_decay: float = setting(0.0, FloatRange(0, 1))  # L2 penalty (Adam/SGD) or decoupled decay (AdamW)
    momentum: float = setting(0.9, FloatRange(0, 1, high_open=True))  # used by 'sgd_momentum' only
    batch_size: int = setting(32, IntRange(1, 4096))  # sequences per mini-batch
    epochs: int = setting(20, IntRange(1, 1000, note=_EPOCHS_NOTE))  # passes over the training set
    # stop after this many epochs without a lower val loss
    patience: int = setting(5, IntRange(0, 1000, note="0 turns early stopping off"))
    # 'plateau' (ReduceLROnPlateau), 'warmup' (linear warmup, then constant) or 'none'
    scheduler: str = setting("plateau", Choice(SCHEDULERS))
    # ReduceLROnPlateau: multiply the lr by this when val loss stalls
    plateau_factor: float = setting(0.5, FloatRange(0, 1, low_open=True, high_open=True))
    plateau_patience: int = setting(2, IntRange(0, 1000))  # ReduceLROnPlateau: epochs without improvement
    # optimizer steps from lr * 1e-4 up to lr; 0 takes warmup_fraction of the run's steps instead
    warmup_steps: int = setting(0, IntRange(0, 1_000_000, note="0 uses warmup_fraction of the run"))
    # share of the run's optimizer steps spent warming up when warmup_steps is 0 (0.1: the first 10%)
    warmup_fraction: float = setting(0.1, FloatRange(0, 1, low_open=True))
    grad_clip: float = setting(1.0, FloatRange(0, 1e6, note="0 turns clipping off"))  # max gradient norm
    grad_accum_steps: int = setting(1, IntRange(1, 1024))  # mini-batches per optimizer step (Exercise 3)
    seed: int = setting(42, IntRange(0, 2**32 - 1))  # seeds Python, NumPy and PyTorch and the batch order
    device: str = setting("auto", Choice(DEVICES))  # 'auto' (CUDA when present), 'cpu' or 'cuda'
    mixed_precision: bool = setting(False, Flag())  # autocast + GradScaler; only on a CUDA GPU
    max_length: int = setting(2000, IntRange(1, 100_000))  # longest training sequence (longer: dropped)
    batch_events: bool = setting(False, Flag())  # a BatchEvent per batch (else every batch_event_every)
    batch_event_every: int = setting(10, IntRange(1, 100_000))  # BatchEvent interval if batch_events is off
    label_smoothing: float = setting(0.0, FloatRange(0, 0.5))  # cross-entropy label smoothing
    # 'none' or 'balanced' (weights inversely proportional to class counts)
    class_weighting: str = setting("none", Choice(CLASS_WEIGHTINGS))
    eval_batch_size: int = setting(64, IntRange(1, 4096))  # sequences per validation batch (no gradients)
    num_threads: int = setting(0, IntRange(0, 256, note="0 keeps the default"))  # torch CPU threads
    # bf16 autocast on CPUs with native bf16 (AVX512-BF16/AMX): ~1.4x faster, same AUC
    cpu_bf16: bool = setting(True, Flag())
    # treat subnormal floats as 0 on the CPU while training (up to 5x faster, same results)
    flush_denormal: bool = setting(True, Flag())

    def validate(self, labels: Mapping[str, str] | None = None) -> None:
        """Raise ConfigError naming the first setting outside its range (labels: names a page shows)."""
        check_fields(self, labels)
        if self.mixed_precision and (self.device == "cpu" or not torch.cuda.is_available()):
            raise ConfigError(
                "mixed_precision needs a CUDA GPU; this machine has none (or device is 'cpu'). "
                "Turn mixed precision off."
            )

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
