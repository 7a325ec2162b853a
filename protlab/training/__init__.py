"""The training engine: settings, optimizer step, events, loop, metrics, device choice
and multi-process runs.
"""

from __future__ import annotations

from protlab.lazy import lazy_exports

# module (under this package) -> the public names it defines; each module is imported on first use
_EXPORTS: dict[str, tuple[str, ...]] = {
    "bootstrap": ("BOOTSTRAP_SAMPLES", "BOOTSTRAP_SEED", "bootstrap_intervals"),
    "config": ("CLASS_WEIGHTINGS", "DEVICES", "OPTIMIZERS", "SCHEDULERS", "TrainConfig"),
    "device": ("DEVICE_NAMES", "device_label", "mixed_precision_available", "resolve_device"),
    "distributed": (
        "any_rank",
        "broadcast_from_main",
        "cleanup",
        "distributed_session",
        "global_mean",
        "init_from_env",
        "is_distributed",
        "is_main",
        "launched_by_torchrun",
        "local_device",
        "rank",
        "shard_batches",
        "sync_gradients",
        "world_size",
        "wrap_model",
    ),
    "events": ("BatchEvent", "EpochEvent", "TrainResult"),
    "inference": ("Inference", "predict_probabilities"),
    "loop": ("evaluate", "set_seed", "train_model"),
    "metrics": (
        "brier_score",
        "calibration_bins",
        "compute_metrics",
        "confusion",
        "majority_baseline",
        "mcc_at_thresholds",
        "mcc_from_counts",
        "roc_points",
        "single_class_call",
    ),
    "sanity": ("MAX_OVERFIT_STEPS", "NEAR_ZERO_LOSS", "overfit_one_batch", "overfit_passed"),
    "step": (
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
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]  # the lazy table is the API
