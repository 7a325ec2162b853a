"""The bias-variance sentences follow the numbers they are given, whichever way they point."""

from __future__ import annotations

import pandas as pd

from protlab.lessons.bias_variance_reading import data_reading, negative_gap_note, size_reading


def _rows(column: str, xs, train, val) -> pd.DataFrame:
    frame = pd.DataFrame({column: xs, "train_loss": train, "val_loss": val, "width": 8, "n_train": xs})
    frame["gap"] = frame["val_loss"] - frame["train_loss"]
    return frame


def test_more_data_helping_and_not_helping_are_both_reported() -> None:
    helped = " ".join(data_reading(_rows("n_train", [36, 72, 144], [0.3, 0.4, 0.5], [0.9, 0.7, 0.55])))
    assert "falls from 0.900" in helped and "narrows" in helped
    hurt = " ".join(data_reading(_rows("n_train", [36, 72], [0.60, 0.55], [0.59, 0.66])))
    assert "did not help" in hurt and "widens" in hurt


def test_model_size_reading_finds_where_validation_loss_is_lowest() -> None:
    rows = pd.DataFrame({"width": [1, 16, 256], "train_loss": [0.7, 0.5, 0.2], "val_loss": [0.72, 0.6, 0.8]})
    text = " ".join(size_reading(rows))
    assert "Training loss falls" in text and "in between, at width 16" in text
    rows["val_loss"] = [0.72, 0.6, 0.5]
    assert "largest width" in " ".join(size_reading(rows))


def test_negative_gap_is_explained_only_when_present() -> None:
    assert negative_gap_note(_rows("n_train", [36, 72], [0.6, 0.5], [0.7, 0.6])) == ""
    note = negative_gap_note(_rows("n_train", [36, 72], [0.600, 0.5], [0.589, 0.6]))
    assert "-0.011" in note and "36" in note
