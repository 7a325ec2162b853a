"""The bias-variance lab's backend: sweep specs and their keys, reuse of finished runs, regions, results."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from protlab.errors import ConfigError
from protlab.lessons import (
    SweepConfig,
    advance_sweep,
    learning_curves_figure,
    loss_vs_size_figure,
    mark_regions,
    region_spans,
    spec_key,
    summary_key,
    sweep_points,
    sweep_results,
)
from tests.conftest import deepsol_sample

OWNER = "student-0123456789abcdef"
TINY = SweepConfig("mlp", (1, 8, 64), (0.5, 1.0), 80, 300, 2, 1e-2, 16, 0)  # 6 points, nothing trained here


@pytest.fixture(scope="module")
def data():
    return deepsol_sample(300, max_length=300, seed=11)


@pytest.fixture
def manager(tmp_path):
    """A run manager on a temporary store whose dispatcher is closed: submitted runs stay queued."""
    from protlab.runs import ClassSettings, RunManager

    manager = RunManager(tmp_path / "runs", ClassSettings(workers=1))
    manager.close()
    yield manager


def fake_finished_run(
    manager, owner: str, spec, train: list[float], val: list[float], state="finished", error=None
):
    """Write an ended run of spec with these epoch losses into the manager's store, as a worker would."""
    from protlab.runs.store import new_run_id, queued_record, write_record, write_spec

    run_id = new_run_id()
    folder = manager.root / run_id
    folder.mkdir(parents=True)
    write_spec(folder, spec)
    record = queued_record(run_id, owner, spec)
    record.update(state=state, progress=1.0, error=error)
    write_record(folder, record)
    rows = [{"epoch": i + 1, "train_loss": t, "val_loss": v} for i, (t, v) in enumerate(zip(train, val))]
    pd.DataFrame(rows).to_csv(folder / "history.csv", index=False)
    manager.index.add(owner, run_id)
    return run_id


def test_sweep_points_cover_the_grid_with_valid_distinct_specs(data) -> None:
    points = sweep_points(TINY, data)
    assert [(p.width, p.fraction) for p in points] == [(w, f) for f in (1.0, 0.5) for w in (1, 8, 64)]
    assert len({p.key for p in points}) == len(points)
    for point in points:
        point.spec.validate()
        assert point.spec.model_config["layers"] == [{"width": point.width}] * 2
        assert point.spec.train_config.patience == 0 and point.spec.train_config.epochs == TINY.epochs
        assert point.spec.split_params.get("train_fraction", 1.0) == point.fraction
        assert point.key == spec_key(point.spec)


def test_parameter_counts_match_the_built_models(data) -> None:
    from protlab.models import build_model

    for point in sweep_points(TINY, data)[::2]:
        model = build_model(point.spec.model_kind, point.spec.model_config)
        assert point.parameters == sum(p.numel() for p in model.parameters())


def test_keys_are_stable_and_change_with_the_data_or_a_setting(data) -> None:
    first, again = sweep_points(TINY, data), sweep_points(TINY, data)
    assert [p.key for p in first] == [p.key for p in again]
    other_sample = sweep_points(replace(TINY, seed=1), data)
    more_epochs = sweep_points(replace(TINY, epochs=3), data)
    assert not {p.key for p in first} & {p.key for p in other_sample}
    assert not {p.key for p in first} & {p.key for p in more_epochs}
    renamed = replace(first[0].spec, name="another display name")
    assert spec_key(renamed) == first[0].key  # the display name is not part of the result


def test_training_shares_keep_one_validation_set_and_nest_the_training_rows(data) -> None:
    from protlab.runs import prepare_run

    points = [p for p in sweep_points(TINY, data) if p.width == 8]
    full, half = (prepare_run(p.spec).split for p in points)
    assert np.array_equal(half.val, full.val) and np.array_equal(half.test, full.test)
    assert set(half.train) < set(full.train)
    assert [len(full.train), len(half.train)] == [p.n_train for p in points]
    labels = points[0].spec.data.labels
    assert abs(labels[half.train].mean() - labels[full.train].mean()) < 0.05  # stratified share


def test_a_training_share_outside_0_to_1_is_refused(data) -> None:
    spec = sweep_points(TINY, data)[0].spec
    for bad in (0.0, 1.5, "half"):
        with pytest.raises(ConfigError, match="train_fraction"):
            replace(spec, split_params={**spec.split_params, "train_fraction": bad}).validate()


def test_a_sample_larger_than_the_short_proteins_is_refused(data) -> None:
    with pytest.raises(ConfigError, match="sample_size must be at most"):
        sweep_points(replace(TINY, sample_size=5000), data)
    with pytest.raises(ConfigError, match="widths"):
        sweep_points(replace(TINY, widths=(0,)), data)


def test_a_stored_run_has_the_key_of_its_spec(manager, data) -> None:
    point = sweep_points(TINY, data)[3]
    fake_finished_run(manager, OWNER, point.spec, [0.7, 0.6], [0.7, 0.65])
    (row,) = manager.list_runs(OWNER)
    assert summary_key(row["spec"]) == point.key


def test_advance_reuses_finished_points_and_submits_the_rest_one_at_a_time(manager, data) -> None:
    points = sweep_points(TINY, data)
    for point in points[:2]:
        fake_finished_run(manager, OWNER, point.spec, [0.7], [0.7])
    first = advance_sweep(manager, OWNER, points)
    assert summary_key(manager.status(first, OWNER).spec) == points[2].key  # the first point without a run
    assert advance_sweep(manager, OWNER, points) is None  # one run at a time: it waits for the queued one
    manager.stop(first, OWNER)  # cancelled
    second = advance_sweep(manager, OWNER, points)
    assert summary_key(manager.status(second, OWNER).spec) == points[3].key  # a cancelled point is skipped
    manager.stop(second, OWNER)
    again = advance_sweep(manager, OWNER, points, retry=True)  # Run the sweep pressed again
    assert summary_key(manager.status(again, OWNER).spec) == points[2].key
    submitted = [r for r in manager.list_runs(OWNER) if r["state"] != "finished"]
    assert len(submitted) == 3 and len(manager.list_runs(OWNER)) == 5  # nothing finished was trained again


def test_an_interrupted_point_is_submitted_again_and_a_finished_sweep_submits_nothing(manager, data) -> None:
    points = sweep_points(TINY, data)
    for point in points[1:]:
        fake_finished_run(manager, OWNER, point.spec, [0.7], [0.7])
    fake_finished_run(manager, OWNER, points[0].spec, [0.7], [0.7], state="interrupted")
    run_id = advance_sweep(manager, OWNER, points)
    assert summary_key(manager.status(run_id, OWNER).spec) == points[0].key
    manager.stop(run_id, OWNER)
    fake_finished_run(manager, OWNER, points[0].spec, [0.7], [0.7])
    assert advance_sweep(manager, OWNER, points, retry=True) is None


def test_an_unrelated_run_of_the_student_makes_the_sweep_wait(manager, data) -> None:
    from protlab.runs import RunSpec

    manager.submit(RunSpec(data=data, model_kind="mlp"), OWNER)  # e.g. a Train page run
    assert advance_sweep(manager, OWNER, sweep_points(TINY, data)) is None


def test_result_table_from_fake_finished_runs(manager, data) -> None:
    points = sweep_points(TINY, data)
    curves = {}
    for i, point in enumerate(points[:4]):
        train = [0.7 - 0.01 * i * e for e in range(3)]
        val = [0.7 - 0.005 * e + 0.01 * i for e in range(3)]
        curves[point.key] = (train, val)
        fake_finished_run(manager, OWNER, point.spec, train, val)
    fake_finished_run(manager, "someone-else-0123456", points[4].spec, [0.5], [0.5])  # not this student's
    table, histories = sweep_results(manager, OWNER, points)
    assert list(table["state"]) == ["finished"] * 4 + ["not started"] * 2
    for _, row in table.iloc[:4].iterrows():
        train, val = curves[row["key"]]
        assert row["train_loss"] == pytest.approx(train[-1]) and row["val_loss"] == pytest.approx(val[-1])
        assert row["gap"] == pytest.approx(val[-1] - train[-1])
        assert row["best_val_loss"] == pytest.approx(min(val))
        assert [e["val_loss"] for e in histories[row["key"]]] == pytest.approx(val)
    assert table.iloc[4:][["train_loss", "val_loss"]].isna().all().all()
    assert list(table["n_train"]) == [p.n_train for p in points]


def test_regions_of_a_model_size_sweep() -> None:
    # small models: both losses high and close; large: training falls, validation climbs back
    train = [0.69, 0.66, 0.60, 0.45, 0.30]
    val = [0.69, 0.665, 0.64, 0.68, 0.75]
    regions = mark_regions(train, val)
    assert regions.best == int(np.argmin(val)) == 2
    assert regions.labels == ["under-fit", "under-fit", "good", "over-fit", "over-fit"]


def test_regions_of_a_training_size_sweep() -> None:
    # few proteins: memorised (low training, high validation loss); the gap closes as data grows
    train = [0.20, 0.35, 0.50, 0.55]
    val = [0.90, 0.75, 0.61, 0.60]
    assert mark_regions(train, val).labels == ["over-fit", "over-fit", "good", "good"]


def test_flat_curves_mark_nothing_and_bad_input_is_refused() -> None:
    assert set(mark_regions([0.69, 0.6901, 0.6899], [0.70, 0.7001, 0.6999]).labels) == {"good"}
    assert set(mark_regions([0.672, 0.672], [0.668, 0.671]).labels) == {"good"}  # a few thousandths: noise
    with pytest.raises(ConfigError):
        mark_regions([0.5, math.nan], [0.5, 0.6])
    with pytest.raises(ConfigError):
        mark_regions([0.5], [0.5, 0.6])


def test_region_spans_reach_halfway_to_the_neighbours_on_a_log_axis() -> None:
    spans = region_spans([1, 10, 100, 1000], ["under-fit", "good", "over-fit", "over-fit"])
    assert spans == [("under-fit", -0.5, 0.5), ("over-fit", 1.5, 3.5)]


def test_figures_shade_the_regions_and_draw_every_finished_curve(manager, data) -> None:
    points = sweep_points(TINY, data)
    full = [p for p in points if p.fraction == 1.0]
    for point, (t, v) in zip(full, [(0.69, 0.69), (0.55, 0.62), (0.2, 0.8)]):
        fake_finished_run(manager, OWNER, point.spec, [0.7, t], [0.7, v])
    table, histories = sweep_results(manager, OWNER, points)
    done = table[table["state"] == "finished"]
    fig, regions = loss_vs_size_figure(done, "width", x_title="width", title="t")
    assert regions.labels == ["under-fit", "good", "over-fit"]
    shaded = [shape for shape in fig.layout.shapes if shape.type == "rect"]
    assert len(shaded) == 2
    assert list(fig.data[1].y) == pytest.approx([0.69, 0.62, 0.8])  # validation losses by width
    low, high = fig.layout.xaxis.range  # a log axis: its range and annotations are in log10 units
    assert low < math.log10(1) and high > math.log10(64)
    labels = [a for a in fig.layout.annotations if "fitting" in a.text]
    assert len(labels) == 2 and all(low < a.x < high for a in labels)
    assert labels[0].x == pytest.approx(math.log10(1)) and labels[1].x == pytest.approx(math.log10(64))
    curves = learning_curves_figure(table, histories)
    assert len(curves.data) == 2 * len(done)
    assert len(curves.layout.annotations) == len(points)  # one titled panel per point


def test_generated_sweep_code_runs_and_prints_one_line_per_point(capsys) -> None:
    from protlab.codegen import sweep_code

    config = SweepConfig("mlp", (1, 4), (0.5, 1.0), 60, 200, 1, 1e-2, 16, 0)
    exec(compile(sweep_code(config), "<sweep>", "exec"), {"__name__": "__main__"})
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("width")]
    assert len(lines) == 4
    from protlab.data import load_bundled

    data_points = sweep_points(config, load_bundled()[0])
    in_code_order = sorted(data_points, key=lambda p: (p.width, p.fraction))  # widths outside, shares inside
    assert [int(line.split("|")[1].split()[0]) for line in lines] == [p.n_train for p in in_code_order]
    cnn = sweep_code(replace(config, model_kind="cnn"))
    compile(cnn, "<cnn>", "exec")
    assert "nn.Conv1d(16, width, kernel_size=9" in cnn
