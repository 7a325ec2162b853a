"""The Bias and variance page: the plan renders, Run the sweep queues its first run, finished runs are drawn.

The app's run manager is closed at the start of these tests, so a submitted run stays queued (nothing trains
here); finished runs are written into the temporary run store as a worker would write them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_bias_variance import fake_finished_run
from ui.router import ROUTED_RUN

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "bias_variance.py")
TIMEOUT = 180  # seconds per script run (the first one reads the data and imports torch)
ALICE = "alice-token-0123456789"


def _page(token: str = ALICE, preset: str | None = "tiny") -> AppTest:
    """The page as the router runs it, with the tiny preset chosen."""
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state[ROUTED_RUN] = True
    at.query_params["student"] = token
    at.run()
    if preset is not None and at.radio(key="bv_preset").value != preset:
        at.radio(key="bv_preset").set_value(preset).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _owner(token: str = ALICE) -> str:
    from ui.identity import owner_id

    return owner_id(token)


def _tiny_points():
    from protlab.data import load_bundled
    from protlab.lessons import BV_PRESETS, sweep_points

    return sweep_points(BV_PRESETS["tiny"][1], load_bundled()[0], description="bundled DeepSol")


@pytest.fixture
def idle_runs(app_runs):
    """The app's run manager with its dispatcher closed: runs are accepted and stay queued."""
    app_runs.close()
    return app_runs


def _plan(at: AppTest):
    return at.dataframe[0].value


def test_the_page_shows_the_plan_the_buttons_and_the_code(idle_runs) -> None:
    at = _page(preset=None)
    assert "Bias and variance" in at.title[0].value
    assert at.radio(key="bv_preset").value == "mlp"
    assert len(_plan(at)) == 12  # 4 widths x 3 training-set sizes
    at.radio(key="bv_preset").set_value("tiny").run()
    plan = _plan(at)
    assert list(plan["width"]) == [1, 64, 1, 64] and set(plan["state"]) == {"not run yet"}
    assert at.button(key="bv_start").disabled is False and at.button(key="bv_stop").disabled is True
    code = next(e for e in at.expander if "Show me the PyTorch" in e.label)
    assert "WIDTHS = [1, 64]" in code.get("code")[0].value
    assert any("plots appear here" in i.value for i in at.info)


def test_run_the_sweep_queues_its_first_point_and_stop_cancels_it(idle_runs) -> None:
    from protlab.lessons import summary_key

    at = _page()
    at.button(key="bv_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (row,) = idle_runs.list_runs(_owner())
    assert row["state"] == "queued" and summary_key(row["spec"]) == _tiny_points()[0].key
    assert any("Queued: 1st in line" in i.value for i in at.info)
    assert list(_plan(at)["state"]) == ["queued", "not run yet", "not run yet", "not run yet"]
    assert at.button(key="bv_start").disabled is True
    again = _page()  # a reload: the sweep is still going, nothing new is submitted twice
    assert again.button(key="bv_stop").disabled is False
    assert len(idle_runs.list_runs(_owner())) == 1
    again.button(key="bv_stop").click().run()
    assert idle_runs.list_runs(_owner())[0]["state"] == "cancelled"
    assert again.button(key="bv_start").disabled is False


def test_finished_runs_are_drawn_with_their_regions_and_never_trained_again(idle_runs) -> None:
    points = _tiny_points()
    losses = {
        (1, 0.5): (0.69, 0.69),
        (1, 1.0): (0.68, 0.68),
        (64, 0.5): (0.30, 0.85),
        (64, 1.0): (0.45, 0.66),
    }
    for point in points:
        train, val = losses[point.width, point.fraction]
        fake_finished_run(idle_runs, _owner(), point.spec, [0.7, 0.6, train], [0.7, 0.65, val])
    at = _page()
    plan = _plan(at)
    assert set(plan["state"]) == {"finished"}
    assert list(plan["final validation loss"]) == ["0.680", "0.660", "0.690", "0.850"]  # all the data first
    assert at.button(key="bv_start").disabled is True  # nothing left to train
    assert any("4 already finished" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 3  # loss vs width, loss vs data, learning curves
    captions = " ".join(c.value for c in at.caption)
    assert "Lowest validation loss: width 64." in captions
    assert "Under-fitting (both losses high): width 1." in captions
    assert "Over-fitting (the gap grows): 36 training proteins." in captions
    sizes = at.selectbox[0]  # the model-size plot's training set, named in proteins like the other plot
    assert sizes.label == "Training-set size for the model-size plot"
    assert sizes.options == ["72 training proteins (100%)", "36 training proteins (50%)"]
    curves = at.get("plotly_chart")[-1]
    layout = json.loads(curves.proto.spec)["layout"]
    assert layout["xaxis"]["tickformat"] == "d" and layout["legend"]["y"] < 0  # whole epochs; legend below
    assert len(idle_runs.list_runs(_owner())) == 4
    other = _page(token="bob-token-9876543210xyz")  # another student sees none of it
    assert set(_plan(other)["state"]) == {"not run yet"}


def test_a_failed_point_says_why_and_run_the_sweep_retries_it(idle_runs) -> None:
    from protlab.lessons import summary_key

    points = _tiny_points()
    fake_finished_run(idle_runs, _owner(), points[0].spec, [0.7], [0.7], "failed", "The loss became NaN.")
    for point in points[1:]:
        fake_finished_run(idle_runs, _owner(), point.spec, [0.7], [0.7])
    at = _page()
    assert any("failed: The loss became NaN." in w.value for w in at.warning)
    at.button(key="bv_start").click().run()
    queued = [r for r in idle_runs.list_runs(_owner()) if r["state"] == "queued"]
    assert [summary_key(r["spec"]) for r in queued] == [points[0].key]


def test_another_preset_does_not_take_over_a_running_sweep(idle_runs) -> None:
    at = _page()
    at.button(key="bv_start").click().run()
    at.radio(key="bv_preset").set_value("mlp").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Your sweep *Tiny check" in i.value for i in at.info)
    assert set(_plan(at)["state"]) == {"not run yet"} and at.button(key="bv_stop").disabled is True
    idle_runs.stop(idle_runs.list_runs(_owner())[0]["run_id"], _owner())  # its run ends ...
    at.run()
    assert len(idle_runs.list_runs(_owner())) == 1  # ... and nothing of the MLP sweep was submitted


def test_a_link_opens_its_preset_and_a_bad_one_is_named_and_ignored(idle_runs) -> None:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state[ROUTED_RUN] = True
    at.query_params["student"] = ALICE
    at.query_params["preset"] = "cnn"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="bv_preset").value == "cnn"
    link = next(e for e in at.expander if "Copy link" in e.label).get("code")[0].value
    assert "preset=cnn" in link and ALICE not in link

    bad = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    bad.session_state[ROUTED_RUN] = True
    bad.query_params["student"] = "bob-token-0123456789"
    bad.query_params["preset"] = "huge"
    bad.run()
    assert not bad.exception, [e.value for e in bad.exception]
    assert bad.radio(key="bv_preset").value == "mlp"
    assert any("preset" in w.value and "huge" in w.value for w in bad.warning), [w.value for w in bad.warning]


def test_the_text_follows_the_sweeps_own_numbers(idle_runs) -> None:
    points = _tiny_points()
    losses = {  # the smaller training set has the lower validation loss, and a negative gap
        (1, 0.5): (0.69, 0.68),
        (1, 1.0): (0.68, 0.70),
        (64, 0.5): (0.60, 0.589),
        (64, 1.0): (0.55, 0.66),
    }
    for point in [p for p in points if (p.width, p.fraction) != (1, 0.5)]:
        train, val = losses[point.width, point.fraction]
        fake_finished_run(idle_runs, _owner(), point.spec, [0.7, train], [0.7, val])
    at = _page()
    assert "–" in set(_plan(at)["final validation loss"])  # the unfinished point, not None
    at.selectbox[1].set_value(64).run()
    text = " ".join(c.value for c in at.caption)
    assert "more data did not help" in text and "cure" not in text
    assert "The sweep draws 120 proteins" in text and "(36, 72)" in text
    assert any("-0.011" in i.value and "not an error" in i.value for i in at.info)


def _reference_mlp(*widths: int) -> int:
    """Parameters of Linear layers of these widths with ReLUs between, counted by torch."""
    import torch.nn as nn

    layers = [nn.Linear(a, b) for a, b in zip(widths, widths[1:])]
    return sum(p.numel() for layer in layers for p in layer.parameters())


def test_the_page_says_which_network_a_width_stands_for(idle_runs) -> None:
    at = _page()
    note = " ".join(m.value for m in at.markdown)
    assert "two hidden layers of width w" in note and "20 → w → w → 2" in note
    assert f"20 → 64 → 64 → 2 with {_reference_mlp(20, 64, 64, 2):,} parameters" in note
    assert f"20 → 64 → 2 on Build a network ({_reference_mlp(20, 64, 2):,} parameters)" in note
    plan = _plan(at)
    assert plan["network"].tolist() == ["20 → 1 → 1 → 2", "20 → 64 → 64 → 2"] * 2
    assert plan["parameters"].tolist() == [_reference_mlp(20, w, w, 2) for w in (1, 64)] * 2 == [27, 5634] * 2
    columns = json.loads(at.dataframe[0].proto.columns)
    assert columns["width"]["label"] == "width w"
    assert columns["parameters"]["type_config"]["format"] == "localized"
    at.radio(key="bv_preset").set_value("cnn").run()
    assert "one convolution layer of w filters" in " ".join(m.value for m in at.markdown)
    assert _plan(at)["network"].tolist()[:2] == ["16 → 2 filters → 2", "16 → 8 filters → 2"]


def test_presets_are_named_and_ordered_by_what_they_run(idle_runs) -> None:
    from protlab.lessons import BV_PRESETS

    at = _page(preset=None)
    labels = at.radio(key="bv_preset").options
    assert labels == [label for label, _ in BV_PRESETS.values()] and labels[0].startswith("Tiny check")
    assert not any("Quick" in label for label in labels)  # the quickest is the tiny check, first
    runs = [len(c.widths) * len(c.fractions) for _, c in BV_PRESETS.values()]
    assert runs == sorted(runs) and runs[0] == 4
    for label, config in BV_PRESETS.values():
        assert f"{len(config.widths)} widths × {len(config.fractions)} data sizes" in label
        assert f"{config.sample_size} proteins, {config.epochs} epochs" in label
    old = AppTest.from_file(PAGE, default_timeout=TIMEOUT)  # a link from before the renaming
    old.session_state[ROUTED_RUN] = True
    old.query_params["student"] = ALICE
    old.query_params["preset"] = "quick"
    old.run()
    assert old.radio(key="bv_preset").value == "mlp" and not old.warning


def test_a_gap_that_rounds_to_zero_reads_0_000_never_minus_zero(idle_runs) -> None:
    points = _tiny_points()
    losses = {
        (1, 0.5): (0.822, 0.811),
        (1, 1.0): (0.798, 0.783),
        (64, 0.5): (0.672, 0.668),
        (64, 1.0): (0.67215, 0.67190),  # validation 0.00025 below training: -0.000 at 3 decimals
    }
    for point in points:
        train, val = losses[point.width, point.fraction]
        fake_finished_run(idle_runs, _owner(), point.spec, [0.7, train], [0.7, val])
    at = _page()
    plan = _plan(at)
    assert plan["gap"].tolist() == ["-0.015", "0.000", "-0.011", "-0.004"]  # all the data first
    at.selectbox[1].set_value(64).run()
    shown = [
        *plan["gap"],
        *(c.value for c in at.caption),
        *(i.value for i in at.info),
        *(m.value for m in at.markdown),
    ]
    assert not any("-0.000" in text for text in shown)
    assert any("stays about the same (-0.004 and 0.000)" in text for text in shown)
