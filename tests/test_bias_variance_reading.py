"""The bias-variance sentences follow the numbers they are given, whichever way they point."""

from __future__ import annotations

import pandas as pd

from protlab.lessons.bias_variance_reading import (
    architecture_note,
    data_reading,
    negative_gap_note,
    number_text,
    size_reading,
    sweep_shape,
)


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


def test_numbers_never_read_minus_zero() -> None:
    assert [number_text(v) for v in (-0.0002, -0.0, 0.0, -0.003, 0.0126)] == [
        "0.000",
        "0.000",
        "0.000",
        "-0.003",
        "0.013",
    ]
    assert [number_text(v, signed=True) for v in (-0.0002, 0.012, -0.011)] == ["0.000", "+0.012", "-0.011"]
    assert f"{-0.0002:.3f}" == "-0.000"  # what plain formatting shows


def test_a_gap_that_rounds_to_zero_is_not_called_negative() -> None:
    rows = _rows("n_train", [36, 72], [0.6722, 0.5], [0.6720, 0.6])
    assert negative_gap_note(rows) == ""
    text = " ".join(data_reading(rows))
    assert "-0.000" not in text and "0.000" in text


def test_the_sweeps_network_is_the_model_the_runs_build() -> None:
    import torch.nn as nn

    from protlab.lessons.bias_variance import sweep_model_config
    from protlab.models import build_model

    def linear_count(*widths: int) -> int:  # torch's count for Linear layers of these widths
        return sum(p.numel() for a, b in zip(widths, widths[1:]) for p in nn.Linear(a, b).parameters())

    for width in (1, 64, 256):
        built = build_model("mlp", sweep_model_config("mlp", width))
        widths = [int(w.replace(",", "")) for w in sweep_shape("mlp", width).split(" → ")]
        assert widths == [20, width, width, 2]
        assert sum(p.numel() for p in built.parameters()) == linear_count(*widths)
    assert sweep_shape("mlp") == "20 → w → w → 2" and sweep_shape("cnn", 8) == "16 → 8 filters → 2"
    note = architecture_note("mlp")
    assert "two hidden layers of width w" in note and "20 → w → w → 2" in note
    assert f"20 → 64 → 64 → 2 with {linear_count(20, 64, 64, 2):,} parameters" in note
    assert "For comparison, at the notes' width of 64" in note and "width 64 here" not in note
    assert f"20 → 64 → 2 on Build a network ({linear_count(20, 64, 2):,} parameters)" in note
    cnn = build_model("cnn", sweep_model_config("cnn", 8))
    assert (cnn.conv1.out_channels, cnn.conv1.kernel_size, cnn.embedding.embedding_dim) == (8, (9,), 16)
    assert "one convolution layer of w filters** (kernel 9) over 16-number" in architecture_note("cnn")
