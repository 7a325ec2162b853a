"""The run and prediction figures carry the data they are given, with labelled axes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_curve

from protlab.lessons import result_figures as rf


@dataclass
class _Event:
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    val_metrics: dict = field(default_factory=dict)
    lr: float = 1e-3


def _events() -> list:
    return [
        _Event(1, 3, 0.70, 0.69, {"auc": 0.55, "accuracy": 0.58, "mcc": 0.05}, 1e-3),
        {"epoch": 2, "batch": 3, "n_batches": 9, "loss": 0.6},  # a batch event: must be ignored
        _Event(2, 3, 0.60, 0.64, {"auc": 0.65, "accuracy": 0.62, "mcc": 0.20}, 1e-3),
        {
            "epoch": 3,
            "epochs": 3,
            "train_loss": 0.50,
            "val_loss": 0.66,
            "lr": 5e-4,
            "val_metrics": {"auc": 0.66, "accuracy": 0.63, "mcc": 0.22},
        },
    ]


def test_history_frame_flattens_events_and_drops_batch_events() -> None:
    frame = rf.history_frame(_events())
    assert frame["epoch"].tolist() == [1, 2, 3]
    assert frame["val_auc"].tolist() == [0.55, 0.65, 0.66]
    assert frame["lr"].tolist() == [1e-3, 1e-3, 5e-4]


def test_history_frame_of_nothing_is_empty_with_columns() -> None:
    frame = rf.history_frame([])
    assert frame.empty and "train_loss" in frame


def test_loss_curves_plot_both_losses_and_mark_best_epoch() -> None:
    fig = rf.loss_curves(rf.history_frame(_events()))
    names = [t.name for t in fig.data]
    assert names == ["Training loss", "Validation loss", "Best validation epoch"]
    assert list(fig.data[1].y) == [0.69, 0.64, 0.66]
    assert list(fig.data[2].x) == [2]  # the lowest validation loss
    assert fig.layout.xaxis.title.text == "Epoch"
    assert "loss" in fig.layout.yaxis.title.text.lower()


def test_metric_and_lr_curves() -> None:
    history = rf.history_frame(_events())
    metrics = rf.metric_curves(history)
    assert [t.name for t in metrics.data] == ["AUC-ROC", "Accuracy", "MCC"]
    lr = rf.lr_curve(history)
    assert list(lr.data[0].y) == [1e-3, 1e-3, 5e-4]
    assert lr.layout.yaxis.type == "log"


def test_confusion_figure_places_counts_by_true_and_predicted_class() -> None:
    fig = rf.confusion_figure(tn=50, fp=10, fn=5, tp=35, threshold=0.4)
    z = np.asarray(fig.data[0].z)
    assert z.tolist() == [[50, 10], [5, 35]]
    assert "TP: 35" in fig.data[0].text[1][1]
    assert "0.40" in fig.layout.title.text


def test_roc_figure_draws_the_given_curve_and_chance_line() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50)
    p = rng.random(50)
    fpr, tpr, _ = roc_curve(y, p)
    fig = rf.roc_figure(fpr, tpr, auc=0.61, point=(0.2, 0.5))
    assert np.allclose(fig.data[1].x, fpr) and np.allclose(fig.data[1].y, tpr)
    assert "0.610" in fig.data[1].name
    assert fig.data[0].name.startswith("Chance")
    assert fig.layout.xaxis.title.text.startswith("False positive rate")


def test_attribution_figure_colours_by_sign_and_shows_letters() -> None:
    fig = rf.attribution_figure("MKV", [0.1, -0.2, 0.0])
    bar = fig.data[0]
    assert list(bar.x) == [1, 2, 3]
    assert list(bar.customdata) == ["M", "K", "V"]
    assert bar.marker.color[0] == rf.SOLUBLE_COLOUR and bar.marker.color[1] == rf.INSOLUBLE_COLOUR
    assert fig.layout.xaxis.title.text == "Residue position"
    assert fig.layout.yaxis.title.text == "Contribution to log-odds of soluble"
    assert list(fig.layout.xaxis.ticktext) == ["M<br>1", "K<br>2", "V<br>3"]  # a short protein: every letter
    long = rf.attribution_figure("MKV" * 30, [0.0] * 90)
    assert long.layout.xaxis.ticktext is None  # 90 residues: positions only, letters on hover
    narrow = rf.attribution_figure("MKV" * 10, [0.0] * 30, max_letters=20)
    assert narrow.layout.xaxis.ticktext is None  # a half-width chart names fewer


def test_attribution_figure_refuses_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="one value per residue"):
        rf.attribution_figure("MKV", [0.1, 0.2])


def test_probability_figure_colour_follows_threshold() -> None:
    assert rf.probability_figure(0.7, threshold=0.5).data[0].marker.color == rf.SOLUBLE_COLOUR
    assert rf.probability_figure(0.7, threshold=0.8).data[0].marker.color == rf.INSOLUBLE_COLOUR


def test_length_histogram_splits_by_class() -> None:
    fig = rf.length_histogram([100, 200, 300, 400], [0, 1, 1, 0])
    assert sorted(fig.data[0].x.tolist()) == [100, 400]
    assert sorted(fig.data[1].x.tolist()) == [200, 300]
    assert fig.layout.xaxis.title.text == "Sequence length (residues)"


def test_length_histogram_of_one_length_ticks_whole_residues() -> None:
    same = rf.length_histogram([80] * 12)
    assert same.layout.xaxis.dtick == 1 and same.layout.xaxis.tickformat == "d"
    spread = rf.length_histogram([50, 80, 300, 1200])
    assert spread.layout.xaxis.dtick is None  # plotly's own ticks for a real spread


def test_feature_distribution_marks_the_query_in_every_panel() -> None:
    ref = pd.DataFrame({"gravy": np.linspace(-1, 1, 20), "length": np.arange(20) * 10.0})
    fig = rf.feature_distribution_figure(
        ref,
        {"gravy": 0.3, "length": 150.0},
        ["gravy", "length"],
        {"gravy": "GRAVY", "length": "Length (residues)"},
    )
    boxes = [t for t in fig.data if t.type == "box"]
    marks = [t for t in fig.data if t.type == "scatter"]
    assert len(boxes) == 2 and len(marks) == 2
    assert list(marks[0].y) == [0.3] and list(marks[1].y) == [150.0]
    assert [a.text for a in fig.layout.annotations] == ["GRAVY", "Length (residues)"]
    assert boxes[0].name == "Training proteins" and "among the training proteins" in fig.layout.title.text
    for box, column in zip(boxes, ["gravy", "length"]):  # numpy's percentiles, whiskers at the middle 98%
        expected = np.percentile(ref[column], [1, 25, 50, 75, 99])
        got = [box.lowerfence[0], box.q1[0], box.median[0], box.q3[0], box.upperfence[0]]
        np.testing.assert_allclose(got, expected)
    far = rf.feature_distribution_figure(ref, {"gravy": 5.0, "length": 0.0}, ["gravy", "length"])
    low, high = far.layout.yaxis.range  # a protein far outside the whiskers stays on the chart
    assert low < -1 and high > 5.0
    assert "whiskers: middle 98%" in far.layout.title.text
    named = rf.feature_distribution_figure(ref, {"gravy": 0.3}, ["gravy"], reference_name="DeepSol proteins")
    assert named.data[0].name == "DeepSol proteins"
    assert "among the DeepSol proteins" in named.layout.title.text


def test_runs_overlay_has_train_and_val_for_each_run() -> None:
    history = rf.history_frame(_events())
    fig = rf.runs_overlay({"Adam lr=1e-3": history, "SGD lr=1e-2": history})
    assert [t.name for t in fig.data] == [
        "Adam lr=1e-3: training",
        "Adam lr=1e-3: validation",
        "SGD lr=1e-2: training",
        "SGD lr=1e-2: validation",
    ]
    assert fig.data[0].line.color != fig.data[2].line.color


def test_runs_overlay_of_a_validation_metric_draws_one_curve_per_run() -> None:
    history = rf.history_frame(_events())
    fig = rf.runs_overlay({"Adam": history, "SGD": history.iloc[:2]}, metric="auc")
    assert [t.name for t in fig.data] == ["Adam: validation", "SGD: validation"]
    assert list(fig.data[0].y) == [0.55, 0.65, 0.66] and list(fig.data[1].y) == [0.55, 0.65]
    assert fig.layout.yaxis.title.text == "AUC-ROC"
    low, high = fig.layout.yaxis.range
    assert low <= 0.55 and high >= 0.66 and 0 <= low and high <= 1


def test_a_lone_validation_point_keeps_the_axis_inside_the_metrics_limits() -> None:
    import pandas as pd

    one = pd.DataFrame({"epoch": [1], "val_auc": [0.98], "val_mcc": [-0.97]})
    auc = rf.runs_overlay({"one run": one}, metric="auc").layout.yaxis.range
    assert auc[0] < 0.98 <= auc[1] <= 1.0  # plotly alone would run the axis from 0.48 to 1.48
    mcc = rf.runs_overlay({"one run": one}, metric="mcc").layout.yaxis.range
    assert -1.0 <= mcc[0] <= -0.97 < mcc[1]


def test_runs_table_reports_the_best_validation_epoch_and_test_scores() -> None:
    history = rf.history_frame(_events())
    record = {
        "spec": {"train_config": {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.01}},
        "test_metrics": {"auc": 0.7, "mcc": 0.3},
    }
    table = rf.runs_table({"run A": record, "run B": {"spec": {}}}, {"run A": history})
    row = table.set_index("run").loc["run A"]
    assert row["optimizer"] == "adamw" and row["epochs run"] == 3
    assert row["best val loss"] == min(
        e["val_loss"] if isinstance(e, dict) else e.val_loss
        for e in _events()
        if not isinstance(e, dict) or "val_loss" in e
    )
    assert row["val AUC at best"] == 0.65 and row["test MCC"] == 0.3
    assert table.set_index("run").loc["run B", "epochs run"] == 0


def _record(lr: float, data: str, n_rows: int, n_test: int, seed: int = 42) -> dict:
    """A run record as the run manager lists it: the spec summary and the test metrics."""
    return {
        "spec": {
            "model_kind": "cnn",
            "data": data,
            "n_rows": n_rows,
            "split_method": "stratified",
            "split_params": {},
            "model_config": {"embed_dim": 64, "dropout": 0.3},
            "train_config": {"optimizer": "adam", "lr": lr, "batch_size": 32, "epochs": 3, "seed": seed},
        },
        "test_metrics": {"auc": 0.7, "mcc": 0.3, "n": n_test},
    }


def test_the_comparison_shows_the_settings_that_differ_and_what_picks_the_test_proteins() -> None:
    from protlab.lessons import compared_settings, test_set_differences

    small = _record(1e-3, "bundled DeepSol, 1,000 rows sampled from 6,942", 1000, 100)
    full = _record(3e-3, "bundled DeepSol, 6,942 rows", 6942, 695)
    records = {"small": small, "full": full}
    differ, shared = compared_settings(records)
    assert differ == ["data", "learning rate"]  # in the table's order: data first
    assert shared["model"] == "cnn" and shared["optimizer"] == "adam" and shared["embed dim"] == 64
    assert test_set_differences(records) == ["data"]
    table = rf.runs_table(records, {"small": rf.history_frame(_events())})
    assert list(table.columns) == [
        "run",
        "data",
        "learning rate",
        "test AUC",
        "test MCC",
        "test proteins",
        "epochs run",
        "best val loss",
        "val AUC at best",
    ]
    assert table["test proteins"].tolist() == [100, 695] and table["learning rate"].tolist() == [1e-3, 3e-3]
    same_data = {"a": small, "b": _record(3e-3, small["spec"]["data"], 1000, 100)}
    assert compared_settings(same_data)[0] == ["learning rate"] and test_set_differences(same_data) == []
    other_seed = {"a": small, "b": _record(1e-3, small["spec"]["data"], 1000, 100, seed=7)}
    assert test_set_differences(other_seed) == ["seed"]


def test_a_run_keeps_its_colour_whatever_runs_are_overlaid_beside_it() -> None:
    from protlab.lessons import PALETTE

    history = rf.history_frame(_events())
    colours = {"old": PALETTE[0], "new": PALETTE[2]}
    for order in (["old", "new"], ["new", "old"], ["new"]):
        fig = rf.runs_overlay({name: history for name in order}, metric="auc", colours=colours)
        assert {t.name.split(":")[0]: t.line.color for t in fig.data} == {n: colours[n] for n in order}


def test_runs_with_the_same_scores_stay_visible_one_over_the_other() -> None:
    history = rf.history_frame(_events())
    fig = rf.runs_overlay({"first": history, "second": history}, metric="mcc")
    under, over = fig.data
    assert list(under.y) == list(over.y)  # the same curve twice
    assert under.line.width > over.line.width  # the one drawn first is wider, so it shows around the other
    assert over.line.dash != "solid" and under.marker.symbol != over.marker.symbol
    assert under.marker.size > over.marker.size


@pytest.mark.parametrize("metric", ["auc", "mcc"])
def test_a_reference_line_outside_the_runs_values_is_still_drawn_on_the_chart(metric) -> None:
    import pandas as pd

    from protlab.lessons import add_reference_lines, reference_lines

    # the runs' values leave out chance (AUC 0.5) and DeepSol's published MCC (0.55)
    history = pd.DataFrame({"epoch": [1, 2], f"val_{metric}": [0.62, 0.64]})
    fig = rf.runs_overlay({"run": history}, metric=metric)
    lines = reference_lines([metric])
    assert any(not fig.layout.yaxis.range[0] <= line.value <= fig.layout.yaxis.range[1] for line in lines)
    add_reference_lines(fig, lines, 2)
    low, high = fig.layout.yaxis.range
    assert low <= 0.62 and high >= 0.64
    margin = 0.02 * (high - low)  # a line on the frame would hide in it
    assert all(min(line.value - low, high - line.value) > margin for line in lines)


def test_a_half_width_chart_makes_room_for_one_legend_entry_per_row() -> None:
    import math

    from protlab.lessons import add_reference_lines, reference_lines
    from protlab.lessons.reference_lines import LEGEND_ROW_PX

    history = rf.history_frame(_events())
    lines = reference_lines(rf.VAL_METRICS, {"accuracy": 0.6})
    wide = add_reference_lines(rf.metric_curves(history), lines, 3)
    narrow = add_reference_lines(rf.metric_curves(history), lines, 3, legend_columns=1)
    entries = sum(1 for t in narrow.data if t.showlegend is not False and t.name)
    extra = LEGEND_ROW_PX * (entries - math.ceil(entries / 2))
    assert narrow.layout.height - wide.layout.height == extra > 0
    assert narrow.layout.margin.b - wide.layout.margin.b == extra  # the room goes under the axis


def test_runs_tested_on_different_proteins_each_get_their_majority_class_line() -> None:
    from protlab.lessons import BASELINE_GROUP, majority_lines

    (shared,) = majority_lines({"a": 0.6, "b": 0.6, "c": None})  # one test set: one line
    assert (shared.group, shared.metric, shared.value) == (BASELINE_GROUP, "accuracy", 0.6)
    own = majority_lines({"300 rows": 0.6, "600 rows": 0.55})
    assert [(line.group, line.value) for line in own] == [
        (f"{BASELINE_GROUP} of 300 rows", 0.6),
        (f"{BASELINE_GROUP} of 600 rows", 0.55),
    ]
    assert majority_lines({"a": None}) == []


def test_overlapping_intervals_are_the_pairs_that_share_a_value() -> None:
    from protlab.lessons import overlapping_intervals

    spans = {"a": (0.60, 0.70), "b": (0.70, 0.80), "c": (0.81, 0.90), "d": (0.50, 0.95)}
    pairs = [(x, y) for x in spans for y in spans if x < y]
    shared = {(x, y) for x, y in pairs if np.intersect1d(_grid(spans[x]), _grid(spans[y])).size}
    assert set(overlapping_intervals(spans)) == shared == {("a", "b"), ("a", "d"), ("b", "d"), ("c", "d")}


def _grid(span: tuple[float, float]) -> np.ndarray:
    """The interval's values on a 0.01 grid (integers, so that shared values compare exactly)."""
    return np.arange(round(span[0] * 100), round(span[1] * 100) + 1)


def test_reference_lines_carry_the_baseline_and_the_published_scores() -> None:
    from protlab.lessons import BASELINE_GROUP, DEEPSOL_GROUP, add_reference_lines, reference_lines
    from protlab.training import majority_baseline

    y_train, y_test = np.array([0] * 7 + [1] * 3), np.array([0, 0, 0, 1])
    baseline = majority_baseline(y_train, y_test)
    lines = {(line.group, line.metric): line.value for line in reference_lines(rf.VAL_METRICS, baseline)}
    assert lines[(BASELINE_GROUP, "accuracy")] == pytest.approx(np.mean(y_test == 0))
    assert lines[(BASELINE_GROUP, "auc")] == 0.5 and lines[(BASELINE_GROUP, "mcc")] == 0.0
    assert lines[(DEEPSOL_GROUP, "accuracy")] == 0.77 and lines[(DEEPSOL_GROUP, "mcc")] == 0.55
    assert (BASELINE_GROUP, "accuracy") not in {(ln.group, ln.metric) for ln in reference_lines(["accuracy"])}
    history = rf.history_frame(_events())
    fig = add_reference_lines(rf.metric_curves(history), reference_lines(rf.VAL_METRICS, baseline), 3)
    added = [t for t in fig.data if t.legendgroup in (BASELINE_GROUP, DEEPSOL_GROUP)]
    assert len(added) == len(lines) and all(t.showlegend is not False for t in added)  # an entry per line
    names = [t.name for t in added]
    assert len(set(names)) == len(names)  # the AUC and accuracy baselines never share a legend name
    assert f"{BASELINE_GROUP}: Accuracy {np.mean(y_test == 0):.2f}" in names
    assert all(list(t.x) == [1, 3] and t.y[0] == t.y[1] for t in added)


def test_the_reliability_figure_draws_the_calibration_table() -> None:
    from protlab.lessons import reliability_figure
    from protlab.training import calibration_bins

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 80)
    p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.15, 80), 0, 1)
    table = calibration_bins(y, p)
    fig = reliability_figure(table, brier=0.123)
    model = next(t for t in fig.data if t.name == "Model")
    bars = next(t for t in fig.data if t.name == "Proteins per bin")
    np.testing.assert_allclose(model.x, table["mean_p"])
    np.testing.assert_allclose(model.y, table["observed"])
    assert list(bars.y) == table["count"].tolist() and "Brier score 0.123" in fig.layout.title.text


def test_mcc_has_its_own_panel_and_the_best_epoch_is_marked_in_every_curve_figure() -> None:
    from protlab.lessons import add_reference_lines, reference_lines

    history = rf.history_frame(_events())
    fig = add_reference_lines(rf.metric_curves(history), reference_lines(rf.VAL_METRICS), len(history))
    axis_of = {t.name: t.yaxis for t in fig.data if t.legendgroup is None}
    assert axis_of["MCC"] == "y2" and axis_of["AUC-ROC"] == axis_of["Accuracy"] == "y"
    assert fig.layout.yaxis2.range == (-1.05, 1.05) and fig.layout.yaxis.range[0] > -0.1
    lines = [t for t in fig.data if t.legendgroup is not None]
    assert {t.yaxis for t in lines if t.name.split(": ")[1].startswith("MCC")} == {"y2"}
    best = int(history.loc[history["val_loss"].idxmin(), "epoch"])
    for figure in (fig, rf.loss_curves(history)):
        assert [s.x0 for s in figure.layout.shapes] == [best]
        assert f"best epoch ({best})" in figure.layout.annotations[0].text


def test_the_probability_label_never_sits_on_the_threshold_line() -> None:
    from protlab.lessons.prediction_figures import LABEL_WIDTH, label_position

    grid = np.round(np.arange(0.0, 1.0001, 0.01), 2)
    for p in grid:
        for t in grid:
            where = label_position(float(p), float(t))
            span = {"inside": (0.0, LABEL_WIDTH), "outside": (p, p + LABEL_WIDTH)}.get(where)
            assert span is None or not span[0] - 0.005 <= t <= span[1] + 0.005, (p, t, where)
    fig = rf.probability_figure(0.332, threshold=0.36)
    assert fig.data[0].textposition == "inside" and fig.data[0].text == ("0.332",)


def test_a_validation_loss_below_the_training_loss_is_noticed_at_the_last_epoch() -> None:
    import pandas as pd

    from protlab.lessons import validation_below_training

    below = pd.DataFrame({"epoch": [1, 2], "train_loss": [0.70, 0.62], "val_loss": [0.72, 0.60]})
    assert validation_below_training(below)
    assert not validation_below_training(below.iloc[:1])  # epoch 1: validation still above
    assert not validation_below_training(pd.DataFrame({"epoch": [1], "train_loss": [0.7]}))
    assert not validation_below_training(pd.DataFrame())
