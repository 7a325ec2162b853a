"""Tests for protlab.training.config: defaults, range checks with full-sentence messages, dict round trip."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from protlab.checks import field_rules
from protlab.errors import ConfigError
from protlab.training import CLASS_WEIGHTINGS, DEVICES, OPTIMIZERS, SCHEDULERS, TrainConfig


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("lr", 0, "lr must be"),
        ("lr", -1.0, "lr must be"),
        ("lr", 2e6, "lr must be"),
        ("epochs", 0, "epochs must be"),
        ("batch_size", 0, "batch_size must be an integer from 1 to 4096; got 0"),
        ("optimizer", "rmsprop", "optimizer"),
        ("scheduler", "cosine", "scheduler"),
        ("grad_accum_steps", 0, "grad_accum_steps"),
        ("momentum", 1.0, "momentum"),
        ("device", "tpu", "device"),
        ("batch_size", True, "batch_size"),
        ("lr", float("nan"), "lr"),
        ("warmup_steps", -1, "warmup_steps must be an integer from 0"),
        ("warmup_fraction", 0.0, "warmup_fraction"),
        ("warmup_fraction", 1.5, "warmup_fraction"),
    ],
)
def test_config_validation(field: str, value: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**{field: value}).validate()


def test_config_limits_and_round_trip() -> None:
    TrainConfig(lr=1e6).validate()  # allowed, so divergence can be demonstrated
    with pytest.raises(ConfigError, match="CUDA"):
        TrainConfig(mixed_precision=True, device="cpu").validate()
    cfg = TrainConfig(optimizer="adamw", lr=5e-4, epochs=3)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="Unknown training setting"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_messages_name_the_setting_the_value_and_the_allowed_range() -> None:
    cases = {
        (
            "optimizer",
            "rmsprop",
        ): "optimizer must be one of 'adam', 'adamw', 'sgd' or 'sgd_momentum'; got 'rmsprop'.",
        ("plateau_factor", 1.0): "plateau_factor must be a number above 0 and below 1; got 1.0.",
        ("num_threads", 300): "num_threads must be an integer from 0 to 256 (0 keeps the default); got 300.",
        ("cpu_bf16", "yes"): "cpu_bf16 must be true or false; got 'yes'.",
        ("label_smoothing", 0.6): "label_smoothing must be a number from 0 to 0.5; got 0.6.",
    }
    for (name, value), message in cases.items():
        with pytest.raises(ConfigError) as info:
            TrainConfig(**{name: value}).validate()
        assert str(info.value) == message


def test_numpy_numbers_are_accepted() -> None:
    TrainConfig(batch_size=np.int64(16), lr=np.float64(1e-3), seed=np.int32(3)).validate()
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=np.int64(0)).validate()


def test_every_choice_tuple_is_accepted_and_dict_is_json_friendly() -> None:
    for optimizer in OPTIMIZERS:
        TrainConfig(optimizer=optimizer).validate()
    for scheduler in SCHEDULERS:
        TrainConfig(scheduler=scheduler).validate()
    for weighting in CLASS_WEIGHTINGS:
        TrainConfig(class_weighting=weighting).validate()
    for device in DEVICES:
        if device != "cuda" or torch.cuda.is_available():
            TrainConfig(device=device).validate()
    values = TrainConfig().to_dict()
    assert json.loads(json.dumps(values)) == values
    assert set(values) == {f.name for f in dataclasses.fields(TrainConfig)}


def test_missing_keys_take_defaults_and_bad_values_are_refused() -> None:
    assert TrainConfig.from_dict({"epochs": 3}) == dataclasses.replace(TrainConfig(), epochs=3)
    with pytest.raises(ConfigError, match="epochs must be an integer from 1 to 1000"):
        TrainConfig.from_dict({"epochs": 0})


def test_every_setting_declares_a_range_that_its_default_satisfies() -> None:
    rules = field_rules(TrainConfig)
    assert list(rules) == [f.name for f in dataclasses.fields(TrainConfig)]
    defaults = TrainConfig()
    assert all(rule.ok(getattr(defaults, name)) for name, rule in rules.items())


def test_labels_name_a_setting_as_the_page_or_command_line_shows_it() -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig(batch_size=0).validate({"batch_size": "--batch-size"})
    assert str(info.value) == "--batch-size must be an integer from 1 to 4096; got 0."
    with pytest.raises(ConfigError) as info:
        TrainConfig(lr=0.0).validate({"batch_size": "--batch-size"})  # unlabelled settings keep their name
    assert str(info.value).startswith("lr must be a number above 0 and at most 1e6")
