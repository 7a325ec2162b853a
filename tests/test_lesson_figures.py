"""Lesson figures show the right data, stay inside the surface's domain and label their axes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from protlab.data import one_hot, pad_batch
from protlab.lessons import (
    SURFACES,
    OptimizerSpec,
    Trajectory,
    activation_curves,
    activation_figure,
    batch_figure,
    contour_figure,
    exit_point,
    loss_figure,
    network_blocks,
    network_figure,
    onehot_figure,
)
from protlab.models import LayerSpec, MLPConfig, build_mlp, count_parameters, summarize


def test_onehot_figure_shows_the_one_hot_matrix_with_labelled_axes():
    matrix = one_hot("MVLSPAD").numpy()
    fig = onehot_figure("MVLSPAD", matrix)
    assert np.array_equal(np.array(fig.data[0].z), matrix)
    assert fig.data[0].y[1] == "2 V" and len(fig.data[0].x) == 20
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert "(7, 20)" in fig.layout.title.text


def test_onehot_figure_height_stays_bounded_for_long_sequences():
    seq = "MK" * 400
    fig = onehot_figure(seq, one_hot(seq).numpy())
    assert fig.layout.height <= 720
    assert fig.layout.yaxis.showticklabels is not False


@pytest.mark.parametrize("length", [7, 60, 150, 300, 800])
def test_onehot_cells_keep_room_to_be_seen_at_every_length(length):
    """A white gap as wide as the cells would paint over them: an 800-residue matrix showed blank."""
    seq = ("MVLSPADKTNVKAAWGKVGA" * 40)[:length]
    fig = onehot_figure(seq, one_hot(seq).numpy())
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b  # rows share this height
    row_px = plot_px / length
    assert row_px - fig.data[0].ygap >= 0.5 * row_px  # a gap never takes more than half a row
    assert fig.data[0].ygap == (1 if row_px >= 6 else 0)  # short sequences keep the grid lines


def test_batch_figure_cells_keep_room_to_be_seen_for_long_proteins():
    tokens, mask = pad_batch(["MK" * 600, "MVLSPAD"])
    fig = batch_figure(tokens.numpy(), mask.numpy(), ["long", "short"])
    assert all(trace.xgap == 0 for trace in fig.data)  # 1,200 columns: under 1 px each
    tokens, mask = pad_batch(["MVLSPAD", "MKT"])
    assert all(trace.xgap == 1 for trace in batch_figure(tokens.numpy(), mask.numpy(), ["a", "b"]).data)


def test_long_onehot_figure_labels_every_few_rows():
    seq = "MVLSPADKTNVKAAWGKVGA" * 5 + "MVLSPADK"  # 108 residues, like thioredoxin
    fig = onehot_figure(seq, one_hot(seq).numpy())
    ticks = list(fig.layout.yaxis.tickvals)
    assert ticks[0] == "1 M" and "10 N" in ticks and "100 A" in ticks
    assert 5 <= len(ticks) <= 30 and set(ticks) <= set(fig.data[0].y)
    assert list(fig.layout.yaxis.ticktext) == ticks


def test_batch_figure_holds_tokens_and_mask():
    tokens, mask = pad_batch(["MVLSPAD", "MK", "ACD"])
    fig = batch_figure(tokens.numpy(), mask.numpy(), ["a", "b", "c"])
    assert np.array_equal(np.array(fig.data[0].z), tokens.numpy())
    assert np.array_equal(np.array(fig.data[1].z), mask.numpy())
    titles = [a.text for a in fig.layout.annotations]
    assert any("(3, 7)" in t for t in titles)


def test_exit_point_lies_on_the_domain_edge():
    surface = SURFACES["bowl"]  # domain -4..4 in both directions
    x, y = exit_point(surface, (0.0, 0.0), (8.0, 2.0))
    assert (x, y) == pytest.approx((4.0, 1.0))
    x, y = exit_point(surface, (1.0, 1.0), (1.0, -9.0))
    assert (x, y) == pytest.approx((1.0, -4.0))


def _all_xy(fig):
    for trace in fig.data:
        if trace.type == "scatter":
            yield from zip(trace.x, trace.y)


def test_contour_view_stays_on_the_domain_when_a_path_diverges():
    surface = SURFACES["bowl"]
    good = Trajectory(surface, OptimizerSpec("adam", 0.2), surface.start)
    bad = Trajectory(surface, OptimizerSpec("sgd", 50.0), surface.start)
    good.step(10), bad.step(50)
    assert bad.diverged
    fig = contour_figure(surface, [good, bad], grid=31)
    assert tuple(fig.layout.xaxis.range) == surface.domain[:2]
    assert tuple(fig.layout.yaxis.range) == surface.domain[2:]
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert all(np.isfinite(x) and np.isfinite(y) for x, y in _all_xy(fig) if x is not None)  # None: a gap
    exits = [t for t in fig.data if t.name and ("left the map" in t.name or "diverged at step" in t.name)]
    assert len(exits) == 1
    ((ex, ey),) = zip(exits[0].x, exits[0].y)
    x_min, x_max, y_min, y_max = surface.domain
    assert x_min - 1e-9 <= ex <= x_max + 1e-9 and y_min - 1e-9 <= ey <= y_max + 1e-9
    names = {t.name for t in fig.data}
    assert good.spec.label in names and bad.spec.label in names
    assert fig.data[-1].name == "minimum"  # on top: a path ending on a minimum never hides its star
    widths = [t.line.width for t in fig.data if t.name in (good.spec.label, bad.spec.label)]
    assert widths[0] > widths[1]  # the first path is wider, so it still shows under a later one


def test_loss_figure_log_scale_plots_positive_gaps_and_marks_divergence():
    surface = SURFACES["saddle"]  # its losses go negative
    ok = Trajectory(surface, OptimizerSpec("sgd", 0.1), surface.start)
    ok.step(20)
    blown = Trajectory(surface, OptimizerSpec("sgd", 5.0), surface.start)
    blown.step(40)
    fig = loss_figure([ok, blown], log_scale=True)
    assert fig.layout.yaxis.type == "log"
    assert all(y > 0 for y in fig.data[0].y)
    at = blown.diverged_at()
    (cross,) = [t for t in fig.data if "diverged" in (t.name or "")]
    assert cross.name.endswith(f"diverged at step {at}")  # the step the map and the page's warning name
    assert list(cross.x) == [max(r.step for r in blown.records if r.step <= at and np.isfinite(r.loss))]
    linear = loss_figure([ok], log_scale=False)
    assert linear.data[0].y[-1] == pytest.approx(ok.last.loss)


def test_loss_figure_draws_earlier_paths_wider_so_equal_losses_stay_visible():
    surface = SURFACES["bowl"]
    paths = [Trajectory(surface, OptimizerSpec(kind, 5.0), surface.start) for kind in ("sgd", "momentum")]
    for path in paths:  # both blow up in the same steps: equal losses, one line over the other
        path.step(30)
    assert all(p.diverged_at() is not None for p in paths)
    fig = loss_figure(paths, log_scale=True)
    lines = [t for t in fig.data if t.name in [p.spec.label for p in paths]]
    crosses = [t for t in fig.data if "diverged at step" in (t.name or "")]
    assert lines[0].line.width > lines[1].line.width
    assert lines[0].marker.size > lines[1].marker.size
    assert len(crosses) == 2 and crosses[0].marker.size > crosses[1].marker.size


def test_activation_figure_has_a_value_and_a_slope_trace_per_activation():
    fig = activation_figure(activation_curves(["relu", "gelu"]), {"relu": "ReLU", "gelu": "GELU"})
    assert len(fig.data) == 4
    assert {t.name for t in fig.data} == {"ReLU", "GELU"}


def test_network_blocks_and_diagram_add_up_to_the_model():
    config = MLPConfig(20, [LayerSpec(128, "relu", 0.1, "layernorm"), LayerSpec(64)], 4, "softmax")
    model = build_mlp(config)
    summary = summarize(model, torch.randn(32, 20))
    blocks = network_blocks(summary)
    assert [b["name"] for b in blocks] == ["hidden layer 1", "hidden layer 2", "output layer"]
    assert blocks[0]["parts"] == ["Linear", "LayerNorm", "ReLU", "Dropout"]
    assert sum(b["parameters"] for b in blocks) == count_parameters(model)
    assert blocks[-1]["shape"] == "(32, 4)"
    fig = network_figure(summary, 20)
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "(32, 20)" in texts and "(32, 128)" in texts and f"{blocks[0]['parameters']:,} parameters" in texts
