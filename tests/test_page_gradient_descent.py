"""The Gradient-descent page steps real optimizers, warns on divergence and checks autograd by hand."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "gradient_descent.py")


@pytest.fixture(autouse=True)
def _close_run_manager():
    """The page asks the app's RunManager for the student's runs: close it after each test."""
    from ui.common import restart_run_manager

    yield
    restart_run_manager(stop_runs=True)


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _tables(at: AppTest) -> dict:
    """Return the per-step tables, keyed by optimizer, in the page's order (SGD, momentum, Adam)."""
    frames = [d.value for d in at.dataframe if "loss" in d.value.columns]
    return dict(zip(("sgd", "momentum", "adam"), frames))


def test_step_adds_a_row_to_every_optimizer_table():
    at = _page()
    before = [len(_tables(at)[k]) for k in ("sgd", "momentum", "adam")]
    at.button(key="gd_step").click().run()
    after = [len(_tables(at)[k]) for k in ("sgd", "momentum", "adam")]
    assert before == [1, 1, 1] and after == [2, 2, 2]
    at.number_input(key="gd_n").set_value(5).run()
    at.button(key="gd_run").click().run()
    assert len(_tables(at)["adam"]) == 7


def test_reset_returns_to_the_start():
    at = _page()
    at.button(key="gd_run").click().run()
    at.button(key="gd_reset").click().run()
    table = _tables(at)["sgd"]
    assert len(table) == 1 and table.iloc[0, 1] == at.number_input(key="gd_start1_bowl").value


def test_huge_learning_rate_shows_the_divergence_warning_without_crashing():
    at = _page()
    at.number_input(key="gd_lr_bowl_sgd").set_value(50.0).run()
    at.button(key="gd_run").click().run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("too large for this surface" in w and "SGD (lr 50)" in w for w in warnings)
    assert len(_tables(at)["sgd"]) < 21  # the diverged path was stopped
    assert len(_tables(at)["adam"]) == 21


def test_tm_surface_table_uses_w_and_b():
    at = _page()
    at.selectbox(key="gd_surface").set_value("tm_mse").run()
    at.button(key="gd_step").click().run()
    assert list(_tables(at)["sgd"].columns) == ["step", "w", "b", "dL/dw", "dL/db", "loss"]


def test_autograd_panel_reproduces_the_notes_examples():
    at = _page()
    poly = next(d.value for d in at.dataframe if "x" in d.value.columns)
    x = torch.tensor([2.0, 3.0], requires_grad=True)
    (x**2 + 3 * x).sum().backward()
    assert poly["autograd: x.grad"].tolist() == x.grad.tolist()
    assert poly["by hand: 2x + 3"].tolist() == [7.0, 9.0]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["dL/dW by hand"] == metrics["dL/dW by autograd"]
    assert metrics["dL/db by hand"] == metrics["dL/db by autograd"]
    before = float(metrics["MSE before the step (°C²)"].replace(",", ""))
    after = float(metrics["MSE after one step (°C²)"].replace(",", ""))
    assert after < before
    assert any("Largest difference" in s.value for s in at.success)


def _step_numbers(at: AppTest) -> tuple[float, float]:
    """The MSE before and after the Tm step, as shown in the two metrics."""
    metrics = {m.label: m.value for m in at.metric}
    before = float(metrics["MSE before the step (°C²)"].replace(",", ""))
    after = float(metrics["MSE after one step (°C²)"].replace(",", ""))
    return before, after


def _step_text(at: AppTest) -> str:
    """Every caption and warning that speaks of the Tm step."""
    texts = [c.value for c in at.caption] + [w.value for w in at.warning]
    return " ".join(t for t in texts if "simulated proteins" in t)


def test_tm_step_text_follows_the_sign_of_the_change():
    at = _page()
    for lr in (0.01, 1.0):
        at.number_input(key="ag_tm_lr").set_value(lr).run()
        assert not at.exception
        before, after = _step_numbers(at)
        text = _step_text(at)
        if after < before:
            assert "lowered the loss" in text and "raised" not in text and "overshot" not in text
        else:
            assert "raised** the loss" in text and "overshot" in text and "smaller learning rate" in text
            assert "lowered" not in text
    # the notes' setting goes downhill and lr 1.0 overshoots (checked with plain torch, not the page)
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(100, 10, generator=g), torch.randn(100, 1, generator=g) * 10 + 60
    W, b = torch.randn(10, 1, generator=g).requires_grad_(), torch.zeros(1, requires_grad=True)
    loss = ((X @ W + b - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        rose = ((X @ (W - 1.0 * W.grad) + (b - 1.0 * b.grad) - y) ** 2).mean() > loss
    assert bool(rose) == (after > before)


def test_real_landscape_is_computed_in_the_background_then_descended():
    from protlab.lessons import SliceSettings, default_source, request_landscape
    from ui.common import run_manager

    at = _page()
    at.number_input(key="rl_n").set_value(16).run()
    at.number_input(key="rl_grid").set_value(5).run()
    assert at.button(key="rl_compute")  # nothing is computed before the student asks
    at.button(key="rl_compute").click().run()
    assert not at.exception, [e.value for e in at.exception]
    settings = SliceSettings(n_proteins=16, grid=5, span=1.0, seed=0)
    deadline = time.monotonic() + 180
    while request_landscape(run_manager().root, default_source(), settings).state != "ready":
        assert time.monotonic() < deadline, "the landscape job did not finish"
        time.sleep(0.5)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    result = request_landscape(run_manager().root, default_source(), settings).result
    assert any(f"{result.slice.centre_loss:.4f}" in s.value for s in at.success)
    at.number_input(key="rl_n_steps").set_value(4).run()
    at.button(key="rl_run").click().run()
    slice_tables = [d.value for d in at.dataframe if "α" in d.value.columns]
    assert [list(t.columns) for t in slice_tables] == [["step", "α", "β", "dL/dα", "dL/dβ", "loss"]] * 3
    assert [len(t) for t in slice_tables] == [5, 5, 5]  # start + 4 steps for SGD, momentum and Adam
    sgd = slice_tables[0]
    assert sgd["loss"].iloc[-1] < sgd["loss"].iloc[0]  # downhill on the real slice
    code = [c.value for c in at.code if "filter" in c.value]
    assert code and "functional_call" in code[0] and "np.linspace(-1.0, 1.0, 5)" in code[0]


def _charts(at: AppTest) -> list[dict]:
    import json

    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_divergence_is_named_once_with_one_step_number_in_text_and_legend():
    at = _page()
    at.number_input(key="gd_lr_bowl_sgd").set_value(5.0).run()
    at.button(key="gd_run").click().run()
    warning = next(w for w in at.warning if "SGD (lr 5)" in w.value)
    assert "diverged at step 1" in warning.value and warning.value.count("diverged at step") == 1
    last = max(at.dataframe[0].value["step"])  # the table's last row: where the path was stopped
    assert last == 2 and f"stopped it at step {last}" in warning.value
    assert warning.proto.icon == ":material/warning:"
    names = [t.get("name", "") for chart in _charts(at) for t in chart["data"]]
    assert "SGD (lr 5): diverged at step 1" in names
    assert not any("left the map" in n for n in names if n.startswith("SGD"))


def test_the_log_scale_is_explained_only_when_the_loss_axis_is_logarithmic():
    at = _page()
    at.button(key="gd_run").click().run()
    factors = "equal heights mean equal *factors*"
    assert not any(factors in c.value for c in at.caption)
    at.checkbox(key="gd_log").check().run()
    assert any(factors in c.value for c in at.caption)


def test_a_slowly_growing_path_is_called_diverged_too():
    at = _page()
    at.number_input(key="gd_lr_bowl_sgd").set_value(1.1).run()
    at.button(key="gd_run").click().run()
    assert any("SGD (lr 1.1) diverged at step" in w.value.replace("*", "") for w in at.warning)


def test_an_exploding_path_switches_the_loss_axis_to_log_with_a_note():
    at = _page()
    at.button(key="gd_run").click().run()
    loss_chart = next(c for c in _charts(at) if c["layout"]["title"]["text"] == "Loss after each step")
    assert loss_chart["layout"]["yaxis"].get("type") != "log"
    at.number_input(key="gd_lr_bowl_sgd").set_value(5.0).run()
    at.button(key="gd_run").click().run()
    loss_chart = next(c for c in _charts(at) if c["layout"]["title"]["text"] == "Loss after each step")
    assert loss_chart["layout"]["yaxis"]["type"] == "log"
    assert any("powers of ten" in c.value for c in at.caption)


def test_changing_a_learning_rate_says_the_path_restarted():
    at = _page()
    at.number_input(key="gd_n").set_value(5).run()
    at.button(key="gd_run").click().run()
    at.number_input(key="gd_lr_bowl_adam").set_value(0.2).run()
    assert any("5 step(s) taken with the old settings were cleared" in i.value for i in at.info)
    assert len(_tables(at)["adam"]) == 1
    at.button(key="gd_step").click().run()
    assert not any("were cleared" in i.value for i in at.info)  # said once


def test_number_boxes_offer_only_values_the_optimizer_accepts():
    from protlab.checks import field_rules
    from protlab.lessons import OptimizerSpec
    from protlab.lessons.landscape import START_RANGE

    at = _page()
    rules = field_rules(OptimizerSpec)
    for key, rule in [
        *((f"gd_lr_bowl_{kind}", rules["lr"]) for kind in ("sgd", "momentum", "adam")),
        ("gd_momentum", rules["momentum"]),
        ("gd_start1_bowl", START_RANGE),
        ("gd_start2_bowl", START_RANGE),
    ]:
        box = at.number_input(key=key)
        assert box.min is not None and box.max is not None, key
        assert rule.ok(box.min) and rule.ok(box.max), (key, box.min, box.max)
    for _ in range(4):  # the "−" button as far as it goes (0.1, 0.05, then the smallest offered)
        at.number_input(key="gd_lr_bowl_sgd").decrement().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
    for _ in range(4):
        at.number_input(key="gd_momentum").increment().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
    at.button(key="gd_run").click().run()
    assert rules["lr"].ok(at.number_input(key="gd_lr_bowl_sgd").value)
    assert [len(_tables(at)[k]) for k in ("sgd", "momentum", "adam")] == [21, 21, 21]


def _formats(at: AppTest, frame_index: int) -> dict[str, str]:
    """The printf format of each column of one step table, as the page hands it to the browser."""
    import json

    frames = [d for d in at.dataframe if "loss" in d.value.columns]
    columns = json.loads(frames[frame_index].proto.columns)
    return {name: c["type_config"]["format"] for name, c in columns.items() if "type_config" in c}


def _loss_chart(at: AppTest) -> dict:
    return next(c for c in _charts(at) if c["layout"]["title"]["text"] == "Loss after each step")


def test_a_tiny_learning_rate_shows_the_digits_that_change_on_an_honest_loss_axis():
    at = _page()
    for kind in ("sgd", "momentum", "adam"):
        at.number_input(key=f"gd_lr_bowl_{kind}").set_value(1e-6).run()
    at.button(key="gd_run").click().run()
    table, formats = _tables(at)["sgd"], _formats(at, 0)
    for name in ("p1", "p2", "dL/dp1", "dL/dp2", "loss"):
        shown = [formats[name] % v for v in table[name]]
        assert all(a != b for a, b in zip(shown, shown[1:])), (name, shown[:3])
    low, high = _loss_chart(at)["layout"]["yaxis"]["range"]
    assert low <= 0 and high >= table["loss"].iloc[0]  # not zoomed to 15.244–15.25
    assert any("losses barely moved" in c.value and "starts at 0" in c.value for c in at.caption)


def test_a_path_bouncing_between_two_points_is_explained():
    at = _page()
    at.number_input(key="gd_lr_bowl_sgd").set_value(1.0).run()
    at.button(key="gd_run").click().run()
    table = _tables(at)["sgd"]
    assert len(table) == 21 and table["loss"].nunique() == 1  # it neither converges nor diverges
    bounces = [w.value for w in at.warning if "bounces back and forth" in w.value]
    assert len(bounces) == 1 and "SGD (lr 1)" in bounces[0]
    assert "overshoots the minimum by about as much as it was away" in bounces[0]
    assert not any("diverged" in w.value for w in at.warning)


def test_coinciding_paths_are_drawn_apart_and_named_under_the_map():
    at = _page()
    at.button(key="gd_run").click().run()
    assert any(
        "SGD (lr 0.1) and SGD + momentum (lr 0.05) run along the same line" in c.value for c in at.caption
    )
    contour = next(c for c in _charts(at) if c["layout"]["title"]["text"].startswith("Round bowl"))
    lines = [t for t in contour["data"] if t.get("name") in ("SGD (lr 0.1)", "SGD + momentum (lr 0.05)")]
    dashes = [t["line"].get("dash", "solid") for t in lines]
    assert len(lines) == 2 and dashes[0] == "solid" and dashes[1] != "solid"


def test_a_path_diverged_at_step_one_gets_whole_step_ticks():
    at = _page()
    for kind in ("sgd", "momentum"):
        at.number_input(key=f"gd_lr_bowl_{kind}").set_value(100.0).run()
    at.number_input(key="gd_lr_bowl_adam").set_value(10_000.0).run()
    at.button(key="gd_run").click().run()
    assert sum("diverged at step 1" in w.value for w in at.warning) == 3
    axis = _loss_chart(at)["layout"]["xaxis"]
    assert (axis["tick0"], axis["dtick"], axis["tickformat"]) == (0, 1, "d")
