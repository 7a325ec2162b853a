"""Tests for protlab.runs.spec: a RunSpec is checked before any thread starts, and summarised without data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from protlab.data import LabelledData
from protlab.errors import ConfigError, ProtlabError
from protlab.runs import RunSpec
from protlab.training import TrainConfig

DATA = LabelledData(["MKV" * 5, "ACDE" * 4], np.array([0, 1], dtype=np.int64), ["a", "b"])


@pytest.mark.parametrize(
    "changes,message",
    [
        ({}, "A run needs exactly one data source: give either data or data_path."),
        (
            {"data": DATA, "data_path": "x.csv"},
            "A run needs exactly one data source: give either data or data_path.",
        ),
        (
            {"data": DATA, "split_method": "random"},
            "split_method must be 'stratified' or 'homology'; got 'random'.",
        ),
        (
            {"data": DATA, "split_params": {"identity": 0.5}},
            "Unknown split settings ['identity']; allowed are "
            "['seed', 'test_fraction', 'train_fraction', 'val_fraction'].",
        ),
    ],
)
def test_validate_messages(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        RunSpec(**changes).validate()
    assert str(info.value) == message


def test_model_and_training_settings_are_checked_too() -> None:
    RunSpec(data=DATA, split_method="homology", split_params={"identity": 0.5, "seed": 1}).validate()
    with pytest.raises(ProtlabError):
        RunSpec(data=DATA, model_kind="no-such-model").validate()
    with pytest.raises(ConfigError, match="lr must be"):
        RunSpec(data=DATA, train_config=TrainConfig(lr=0)).validate()


def test_summary_is_json_friendly_and_holds_no_sequences() -> None:
    spec = RunSpec(
        name="x" * 500,
        data=DATA,
        data_description="two rows",
        model_config={"hidden_dim": 8},
        train_config=TrainConfig(epochs=3),
    )
    summary = spec.summary()
    text = json.dumps(summary)
    assert "MKV" not in text and len(summary["name"]) == 200
    assert summary["n_rows"] == 2 and summary["data"] == "two rows"
    assert summary["train_config"] == TrainConfig(epochs=3).to_dict()
    from_path = RunSpec(data_path="my.csv").summary()
    assert from_path["n_rows"] is None and from_path["data"] == "my.csv"
