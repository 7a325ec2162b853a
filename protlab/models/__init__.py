"""The model registry: build any ProtLab model from its kind and a plain config dict.

A model kind is a name ("cnn", "dual", "mlp", "ensemble", or one added with register_model)
mapped to a dataclass config and an nn.Module class. To add a model:

    register_model("my_net", MyNetConfig, MyNet)

MyNet(config) must build the network; if the class defines a classmethod from_config(config),
that is used instead. A kind whose module is protlab/models/<kind>.py is imported on first use,
so checkpoints of such a kind load without importing that module beforehand. What a model provides
is stated once in protlab/models/protocol.py (ProteinClassifier, checked by build_model): forward(tokens
(B, L) int64, mask (B, L) float32) -> (B, C) logits, or forward(tokens, features (B, F) float32, mask)
when uses_features is True, plus feature_names and vocab_size; a model whose input scaling is fitted on
the training rows also provides fit_training_rows (FitsTrainingRows).
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from protlab.alphabet import VOCAB_SIZE
from protlab.errors import ConfigError
from protlab.models.cnn import CNNConfig, SolubilityCNN
from protlab.models.dual import DualInputConfig, DualInputModel
from protlab.models.ensemble import EnsembleConfig, EnsembleModel
from protlab.models.mlp import (
    ACTIVATIONS,
    MAX_LAYERS,
    MAX_PARAMETERS,
    MAX_WIDTH,
    NORMS,
    CompositionMLP,
    LayerSpec,
    MLPConfig,
    build_mlp,
    mlp_parameter_count,
)
from protlab.models.protocol import FitsTrainingRows, ProteinClassifier, missing_members
from protlab.models.summary import count_parameters, on_meta_device, summarize
from protlab.training.device import model_device

_REGISTRY: dict[str, tuple[type, type[nn.Module]]] = {}
_OWN_MODULE = ("boosted_trees", "composition", "solubility_net")  # kinds protlab/models/<kind>.py registers
_ELSEWHERE = {  # kinds defined outside protlab/models: their module
    "residue_cnn": "protlab.structure.model",
    "residue_mlp": "protlab.structure.mlp",
}


def register_model(kind: str, config_cls: type, model_cls: type[nn.Module]) -> None:
    """Make build_model(kind, config_dict) build model_cls from config_cls(**config_dict)."""
    if not isinstance(kind, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", kind):
        raise ConfigError(f"A model kind must be a short lowercase name like 'cnn'; got {kind!r}.")
    if not dataclasses.is_dataclass(config_cls):
        raise ConfigError(f"config_cls for model kind {kind!r} must be a dataclass; got {config_cls!r}.")
    _REGISTRY[kind] = (config_cls, model_cls)


def available_kinds() -> list[str]:
    """Names of every model kind: those registered so far and those whose module registers them when used."""
    return sorted(set(_REGISTRY) | set(_OWN_MODULE) | set(_ELSEWHERE))


def _lookup(kind: object) -> tuple[type, type[nn.Module]]:
    """Find a registered kind, importing protlab/models/<kind>.py (or its module in _ELSEWHERE) once."""
    if isinstance(kind, str) and kind in _ELSEWHERE and kind not in _REGISTRY:
        importlib.import_module(_ELSEWHERE[kind])
    if isinstance(kind, str) and kind not in _REGISTRY and re.fullmatch(r"[a-z][a-z0-9_]{0,39}", kind):
        if (Path(__file__).parent / f"{kind}.py").is_file():
            importlib.import_module(f"{__name__}.{kind}")
    if kind not in _REGISTRY:
        raise ConfigError(f"Unknown model kind {kind!r}; the known kinds are {available_kinds()}.")
    return _REGISTRY[kind]


def make_config(kind: str, config: dict[str, Any] | None = None) -> Any:
    """Turn a plain dict into kind's validated config dataclass, naming any unknown keys."""
    config_cls, _ = _lookup(kind)
    config = dict(config or {})
    allowed = [f.name for f in dataclasses.fields(config_cls)]
    unknown = sorted(k for k in config if k not in allowed)
    if unknown:
        raise ConfigError(
            f"Unknown setting(s) {unknown} for model kind {kind!r}; the allowed settings are {allowed}."
        )
    try:
        cfg = config_cls(**config)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"The settings for model kind {kind!r} are not valid: {exc}.") from exc
    if hasattr(cfg, "validate"):
        cfg.validate()
    return cfg


def build_model(kind: str, config: dict[str, Any] | None = None) -> nn.Module:
    """Build a fresh model of the given kind from a plain config dict."""
    cfg = make_config(kind, config)
    _, model_cls = _lookup(kind)
    from_config = getattr(model_cls, "from_config", None)
    model = from_config(cfg) if callable(from_config) else model_cls(cfg)
    if not hasattr(model, "config"):
        model.config = cfg
    if not isinstance(model, ProteinClassifier):
        raise ConfigError(
            f"Model kind {kind!r} built a {type(model).__name__} without {missing_members(model)}; a ProtLab "
            "model must provide config, uses_features, feature_names, vocab_size and forward "
            "(see protlab.models.ProteinClassifier)."
        )
    return model


def parameter_count(kind: str, config: dict[str, Any] | None = None) -> int:
    """Trainable parameters of a model of this kind, counted on the meta device (no memory for weights)."""
    with on_meta_device():
        return count_parameters(build_model(kind, config), trainable_only=True)


def model_kind(model: nn.Module) -> str:
    """The registered kind whose class built this model."""
    for kind, (_, model_cls) in _REGISTRY.items():
        if type(model) is model_cls:
            return kind
    raise ConfigError(f"{type(model).__name__} is not a registered ProtLab model class; register it first.")


def model_config_dict(model: nn.Module) -> dict[str, Any]:
    """The model's config as a plain dict that build_model(kind, dict) turns back into the same model."""
    if isinstance(model, EnsembleModel):
        members = [{"kind": model_kind(m), "config": model_config_dict(m)} for m in model.members]
        return {"members": members} | ({} if model.weights is None else {"weights": model.weights})
    if not isinstance(model, ProteinClassifier) or not dataclasses.is_dataclass(model.config):
        raise ConfigError(f"{type(model).__name__} has no dataclass .config, so it cannot be described.")
    return dataclasses.asdict(model.config)


def model_vocab_size(model: ProteinClassifier) -> int:
    """Vocabulary size the model's tokens must use (22 when the model reads either)."""
    return int(model.vocab_size) if model.vocab_size is not None else VOCAB_SIZE


def model_forward(model: ProteinClassifier, batch: Any) -> torch.Tensor:
    """Run model on a Batch (tokens, mask, features) and return (B, C) logits."""
    has_tensors = next(model.parameters(), None) is not None or next(model.buffers(), None) is not None
    device = model_device(model) if has_tensors else batch.tokens.device
    tokens = batch.tokens.to(device, non_blocking=True)  # (B, L) int64
    mask = None if batch.mask is None else batch.mask.to(device, non_blocking=True)  # (B, L) float32
    if model.uses_features:
        if batch.features is None:
            raise ConfigError(
                f"{type(model).__name__} needs global features, but the batch has none; "
                "build the data set with features."
            )
        return model(tokens, batch.features.to(device, non_blocking=True), mask)  # features (B, F)
    return model(tokens, mask)


register_model("cnn", CNNConfig, SolubilityCNN)
register_model("dual", DualInputConfig, DualInputModel)
register_model("mlp", MLPConfig, CompositionMLP)
register_model("ensemble", EnsembleConfig, EnsembleModel)

__all__ = [
    "CNNConfig",
    "FORMAT",
    "VERSION",
    "LoadedCheckpoint",
    "load_checkpoint",
    "save_checkpoint",
    "ACTIVATIONS",
    "NORMS",
    "MAX_WIDTH",
    "MAX_LAYERS",
    "MAX_PARAMETERS",
    "CompositionMLP",
    "DualInputConfig",
    "DualInputModel",
    "EnsembleConfig",
    "EnsembleModel",
    "FitsTrainingRows",
    "ProteinClassifier",
    "missing_members",
    "LayerSpec",
    "MLPConfig",
    "SolubilityCNN",
    "available_kinds",
    "build_mlp",
    "build_model",
    "count_parameters",
    "make_config",
    "mlp_parameter_count",
    "model_config_dict",
    "model_forward",
    "model_kind",
    "model_vocab_size",
    "on_meta_device",
    "parameter_count",
    "register_model",
    "summarize",
]


# Checkpoints build models through the registry above, so they are imported last.
from protlab.models.checkpoint import (  # noqa: E402
    FORMAT,
    VERSION,
    LoadedCheckpoint,
    load_checkpoint,
    save_checkpoint,
)
