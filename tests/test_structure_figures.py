"""The lesson's figures draw what they are given: state codes per residue, shares, confusion rows, curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from protlab.lessons import structure_figures as sf


def test_strips_colour_each_residue_by_its_state_and_grey_the_unresolved_ones():
    fig = sf.structure_figure(
        "MKTAYIA",
        {"true": "HHECCEH", "predicted": "HHHCCEE"},
        resolved="1101111",
        probs=np.full((7, 3), 1 / 3),
    )
    strip = fig.data[0]
    assert list(strip.y) == ["true", "predicted"]
    assert np.asarray(strip.z).tolist() == [[0, 0, 3, 2, 2, 1, 0], [0, 0, 0, 2, 2, 1, 1]]  # 3: not resolved
    lines = [t for t in fig.data if t.name in ("P(H)", "P(E)", "P(C)")]
    assert [t.name for t in lines] == ["P(H)", "P(E)", "P(C)"] and np.allclose(lines[0].y, 1 / 3)


def test_confusion_rows_are_shares_of_each_true_state():
    cm = np.array([[8, 1, 1], [0, 5, 5], [2, 2, 16]])
    fig = sf.confusion_figure(cm)
    np.testing.assert_allclose(np.asarray(fig.data[0].z), cm / cm.sum(axis=1, keepdims=True))
    assert "16<br>80%" in np.asarray(fig.data[0].text)[2][2]


def test_class_balance_and_lengths_follow_the_counts():
    counts = {"train": {"H": 30, "E": 20, "C": 50}, "test": {"H": 10, "E": 0, "C": 10}}
    fig = sf.class_balance_figure(counts)
    shares = {t.name: list(t.y) for t in fig.data}
    assert shares["helix (H)"] == [0.3, 0.5] and shares["coil (C)"] == [0.5, 0.5]
    hist = sf.length_histogram({"train": [10, 20, 30], "test": [5]})
    assert [len(t.x) for t in hist.data] == [3, 1] and "3 proteins" in hist.data[0].name
    assert all(t.histnorm == "percent" for t in hist.data)  # a 1-protein set is as tall as a big one
    assert hist.layout.barmode == "group"  # side by side: no set hidden under another


@pytest.mark.parametrize("baseline", [None, 0.38])
def test_curves_plot_loss_and_validation_q3(baseline):
    history = pd.DataFrame(
        {"epoch": [1, 2], "train_loss": [1.0, 0.8], "val_loss": [0.9, 0.85], "val_q3": [0.55, 0.6]}
    )
    fig = sf.q3_curves(history, baseline)
    assert [t.name for t in fig.data] == ["train loss", "validation loss", "validation Q3"]
    assert list(fig.data[2].y) == [0.55, 0.6]
    assert len(fig.layout.shapes) == (baseline is not None)
    metrics = {"q3": 0.7, **{f"{k}_{s}": 0.5 for k in ("precision", "recall") for s in "HEC"}}
    assert "Q3 0.700" in sf.per_class_figure(metrics, {"q3": 0.38, "majority_class": 2}).layout.title.text


@pytest.mark.parametrize("length", [1, 2, 3, 12, 108, 700])
def test_residue_axes_tick_whole_positions_only(length):
    sequence = ("MKTAYIAKQR" * 70)[:length]
    probs = np.full((length, 3), 1 / 3)
    fig = sf.structure_figure(sequence, {"predicted": "C" * length}, probs=probs)
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):
        assert float(axis.dtick).is_integer() and float(axis.tick0).is_integer()
        assert length / axis.dtick <= 10  # few enough ticks to read
