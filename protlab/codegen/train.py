"""Write the Train page's "Show me the PyTorch" script: templates/train_script.py with the page's settings.

The template is a complete, runnable plain-PyTorch training script; this module only rewrites the values in
its settings block (the data, split, model and every TrainConfig field that changes the arithmetic).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from protlab.codegen.script_template import Code, fill_settings, read_template
from protlab.errors import ConfigError

__all__ = ["TrainScriptSettings", "training_script"]

_TEMPLATE = "train_script.py"  # in protlab/codegen/templates/
_MODEL_KINDS = ("cnn", "dual")  # the model classes the template defines

_SCRIPT_SETTINGS = {  # script setting -> TrainConfig field it is written from
    "BATCH_SIZE": "batch_size",
    "EPOCHS": "epochs",
    "PATIENCE": "patience",
    "SCHEDULER": "scheduler",
    "PLATEAU_FACTOR": "plateau_factor",
    "PLATEAU_PATIENCE": "plateau_patience",
    "WARMUP_STEPS": "warmup_steps",
    "WARMUP_FRACTION": "warmup_fraction",
    "GRAD_CLIP": "grad_clip",
    "GRAD_ACCUM_STEPS": "grad_accum_steps",
    "LABEL_SMOOTHING": "label_smoothing",
    "CLASS_WEIGHTING": "class_weighting",
    "EVAL_BATCH_SIZE": "eval_batch_size",
    "SEED": "seed",
    "DEVICE": "device",
    "MIXED_PRECISION": "mixed_precision",
    "CPU_BF16": "cpu_bf16",
}
# The other TrainConfig fields: optimizer, lr, weight_decay and momentum become OPTIMIZER and
# OPTIMIZER_OPTIONS; max_length is not needed (runs never cut sequences and the loaders already dropped longer
# ones); batch_events, batch_event_every (the app's progress messages), num_threads and flush_denormal (speed
# only; the script always flushes) do not change the arithmetic.


@dataclass(frozen=True)
class TrainScriptSettings:
    """Everything the Train page chose, as plain values the script is written from."""

    data_source: str = "bundled"  # "bundled" for DeepSol, otherwise the uploaded file's name
    label_cutoff: float | None = None  # labels that are measurements: soluble at or above this value
    sample_size: int | None = None  # rows drawn at random before splitting; None keeps every row
    split_method: str = "stratified"  # "stratified" or "homology"
    identity: float = 0.4  # homology split: sequences at least this identical share a cluster
    val_fraction: float = 0.1  # share of rows in the validation set
    test_fraction: float = 0.1  # share of rows in the test set
    model_kind: str = "cnn"  # "cnn" (sequence only) or "dual" (sequence + global features)
    model_config: Mapping[str, Any] = field(default_factory=dict)  # widths, kernel, ... (missing: defaults)
    train_config: Mapping[str, Any] = field(default_factory=dict)  # TrainConfig fields (missing: defaults)


def _optimizer_settings(t: Mapping[str, Any]) -> dict[str, Any]:
    """OPTIMIZER and OPTIMIZER_OPTIONS for the chosen optimizer, from protlab's one optimizer table."""
    from protlab.training.step import optimizer_recipe  # imported when needed: torch loads slowly

    name, options = optimizer_recipe(
        t["optimizer"], lr=t["lr"], weight_decay=t["weight_decay"], momentum=t["momentum"]
    )
    return {"OPTIMIZER": Code(f"torch.optim.{name}"), "OPTIMIZER_OPTIONS": dict(options)}


def _configs(s: TrainScriptSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The full training and model settings: the page's values over TrainConfig's and the model's defaults."""
    from protlab.models.cnn import CNNConfig
    from protlab.models.dual import DualInputConfig
    from protlab.training.config import TrainConfig

    model_defaults = asdict(DualInputConfig() if s.model_kind == "dual" else CNNConfig())
    given_model = {k: v for k, v in s.model_config.items() if v is not None}
    given_train = {k: v for k, v in s.train_config.items() if v is not None}
    return {**TrainConfig().to_dict(), **given_train}, {**model_defaults, **given_model}


def _values(s: TrainScriptSettings) -> dict[str, Any]:
    """Every setting of the template, by name, for these choices."""
    t, model_config = _configs(s)
    return {
        "DATA": s.data_source,
        "LABEL_CUTOFF": s.label_cutoff,
        "SAMPLE_SIZE": s.sample_size,
        "SPLIT": s.split_method,
        "IDENTITY": s.identity,
        "VAL_FRACTION": s.val_fraction,
        "TEST_FRACTION": s.test_fraction,
        "MODEL": s.model_kind,
        "MODEL_CONFIG": model_config,
        **_optimizer_settings(t),
        **{name: t[key] for name, key in _SCRIPT_SETTINGS.items()},
    }


def training_script(settings: TrainScriptSettings) -> str:
    """Return a runnable PyTorch script that repeats the Train page's run with these settings."""
    if settings.model_kind not in _MODEL_KINDS:
        raise ConfigError(
            f"The training script is written for the model kinds {list(_MODEL_KINDS)}; "
            f"got model_kind {settings.model_kind!r}."
        )
    return fill_settings(read_template(_TEMPLATE), _values(settings))
