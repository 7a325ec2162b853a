"""The training engine: settings, optimizer step, events, loop, metrics, device choice
and multi-process runs.
"""

from __future__ import annotations

from protlab.training.bootstrap import (
    BOOTSTRAP_SAMPLES,
    BOOTSTRAP_SEED,
    bootstrap_intervals,
)
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
from protlab.training.distributed import (
    any_rank,
    broadcast_from_main,
    cleanup,
    distributed_session,
    global_mean,
    init_from_env,
    is_distributed,
    is_main,
    launched_by_torchrun,
    local_device,
    rank,
    shard_batches,
    sync_gradients,
    world_size,
    wrap_model,
)
from protlab.training.events import (
    BatchEvent,
    EpochEvent,
    TrainResult,
)
from protlab.training.inference import (
    Inference,
    predict_probabilities,
)
from protlab.training.loop import (
    evaluate,
    set_seed,
    train_model,
)
from protlab.training.metrics import (
    brier_score,
    calibration_bins,
    compute_metrics,
    confusion,
    majority_baseline,
    mcc_from_counts,
    roc_points,
    single_class_call,
)
from protlab.training.sanity import (
    MAX_OVERFIT_STEPS,
    NEAR_ZERO_LOSS,
    overfit_one_batch,
    overfit_passed,
)
from protlab.training.step import (
    WARMUP_START_FACTOR,
    Stepper,
    build_optimizer,
    cpu_bf16_available,
    make_optimizer,
    optimizer_code,
    optimizer_recipe,
    total_optimizer_steps,
    warmup_length,
    warmup_lr,
)

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "BOOTSTRAP_SEED",
    "bootstrap_intervals",
    "Inference",
    "predict_probabilities",
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
    "overfit_passed",
    "MAX_OVERFIT_STEPS",
    "NEAR_ZERO_LOSS",
    "set_seed",
    "confusion",
    "mcc_from_counts",
    "compute_metrics",
    "roc_points",
    "majority_baseline",
    "brier_score",
    "calibration_bins",
    "single_class_call",
    "Stepper",
    "build_optimizer",
    "make_optimizer",
    "optimizer_recipe",
    "optimizer_code",
    "total_optimizer_steps",
    "warmup_length",
    "warmup_lr",
    "cpu_bf16_available",
    "WARMUP_START_FACTOR",
    "launched_by_torchrun",
    "init_from_env",
    "is_distributed",
    "rank",
    "world_size",
    "is_main",
    "local_device",
    "shard_batches",
    "wrap_model",
    "sync_gradients",
    "global_mean",
    "any_rank",
    "broadcast_from_main",
    "cleanup",
    "distributed_session",
]
