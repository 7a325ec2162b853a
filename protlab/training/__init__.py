"""The training engine: settings, optimizer step, events, loop, metrics and device choice."""

from __future__ import annotations

from protlab.training.config import (
    CLASS_WEIGHTINGS,
    DEVICES,
    OPTIMIZERS,
    SCHEDULERS,
    TrainConfig,
)
from protlab.training.device import (
    DEVICE_NAMES,
    device_label,
    mixed_precision_available,
    resolve_device,
)
from protlab.training.events import (
    BatchEvent,
    EpochEvent,
    TrainResult,
)
from protlab.training.loop import (
    evaluate,
    overfit_one_batch,
    set_seed,
    train_model,
)
from protlab.training.metrics import (
    compute_metrics,
    confusion,
    majority_baseline,
    mcc_from_counts,
    roc_points,
)
from protlab.training.step import (
    WARMUP_START_FACTOR,
    Stepper,
    build_optimizer,
    cpu_bf16_available,
    warmup_lr,
)

__all__ = [
    "TrainConfig",
    "OPTIMIZERS",
    "SCHEDULERS",
    "DEVICES",
    "CLASS_WEIGHTINGS",
    "DEVICE_NAMES",
    "resolve_device",
    "device_label",
    "mixed_precision_available",
    "EpochEvent",
    "BatchEvent",
    "TrainResult",
    "train_model",
    "evaluate",
    "overfit_one_batch",
    "set_seed",
    "confusion",
    "mcc_from_counts",
    "compute_metrics",
    "roc_points",
    "majority_baseline",
    "Stepper",
    "build_optimizer",
    "warmup_lr",
    "cpu_bf16_available",
    "WARMUP_START_FACTOR",
]
