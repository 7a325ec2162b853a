"""ui.url_state: settings from the address are checked, applied once and written back beside ?student=."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest


def _script():
    """A page with one choice, one integer and one number kept in the address."""
    import streamlit as st

    from protlab.checks import FloatRange, IntRange
    from ui.url_state import UrlParam, choice, copy_link, float_value, int_value, read_url, write_url

    params = [
        UrlParam("shape", "t_shape", choice(["bowl", "ridge"]), default="bowl"),
        UrlParam("steps", "t_steps", int_value(IntRange(1, 100)), default=10),
        UrlParam("lr", "t_lr", float_value(FloatRange(0, 10, low_open=True)), default=0.1),
    ]
    read_url("t", params)
    shape = st.selectbox("shape", ["bowl", "ridge"], key="t_shape")
    steps = st.number_input("steps", 1, 100, 10, key="t_steps")
    lr = st.number_input("lr", 0.0001, 10.0, 0.1, key="t_lr", format="%g")
    write_url("t", params, {"shape": shape, "steps": steps, "lr": lr})
    copy_link("t", params)


def _q(at: AppTest, name: str) -> str:
    """A query parameter of the test's address as text (AppTest keeps the ones set before a run as lists)."""
    value = at.query_params[name]
    return value[-1] if isinstance(value, list) else value


def _app(**query) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=60)
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


def test_good_values_from_the_address_set_the_widgets_and_stay_in_the_address():
    at = _app(shape="ridge", steps="42", lr="0.5", student="abcdefghijklmnop1234")
    assert not at.exception and not at.warning
    assert at.selectbox(key="t_shape").value == "ridge"
    assert at.number_input(key="t_steps").value == 42
    assert at.number_input(key="t_lr").value == 0.5
    assert _q(at, "shape") == "ridge" and _q(at, "steps") == "42"
    assert _q(at, "student") == "abcdefghijklmnop1234"


def test_a_bad_value_falls_back_to_the_default_with_a_notice_naming_parameter_and_value():
    at = _app(shape="**cube**", steps="1000", lr="nan", student="abcdefghijklmnop1234")
    assert not at.exception
    assert at.selectbox(key="t_shape").value == "bowl"
    assert at.number_input(key="t_steps").value == 10
    assert at.number_input(key="t_lr").value == 0.1
    notes = [w.value for w in at.warning]
    assert len(notes) == 3
    assert "**shape**" in notes[0] and r"\*\*cube\*\*" in notes[0]  # the value is shown literally
    assert "**steps**" in notes[1] and "1000" in notes[1] and "from 1 to 100" in notes[1]
    assert "**lr**" in notes[2] and "nan" in notes[2]
    assert "shape" not in at.query_params and "steps" not in at.query_params
    assert _q(at, "student") == "abcdefghijklmnop1234"


def test_widget_changes_win_over_the_link_and_are_written_back():
    at = _app(steps="42")
    at.number_input(key="t_steps").set_value(7).run()
    assert at.number_input(key="t_steps").value == 7
    assert _q(at, "steps") == "7"
    at.selectbox(key="t_shape").set_value("bowl").run()  # the default is left out of the address
    assert "shape" not in at.query_params


def test_a_rerun_with_an_older_address_does_not_undo_the_students_change():
    at = _app(steps="42")
    at.number_input(key="t_steps").set_value(7).run()
    at.number_input(key="t_steps").set_value(8).run()
    at.query_params["steps"] = "7"  # the browser had not caught up with the last address yet
    at.run()
    assert at.number_input(key="t_steps").value == 8
    assert _q(at, "steps") == "8"


def test_copy_link_carries_the_settings_but_never_the_student_token():
    at = _app(shape="ridge", student="abcdefghijklmnop1234")
    link = at.code[0].value
    assert "shape=ridge" in link and "steps=10" in link and "student" not in link  # defaults spelled out


GD_PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "gradient_descent.py")


def _gd(**query) -> AppTest:
    at = AppTest.from_file(GD_PAGE, default_timeout=180)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_gradient_descent_link_replays_the_same_paths():
    import pandas as pd

    from protlab.lessons import SURFACES, OptimizerSpec, Trajectory, path_table
    from ui.common import restart_run_manager

    token = "Descent-Student-0123456789"
    try:
        at = _gd(
            surface="valley",
            opt="sgd,adam",
            lr_sgd="0.01",
            x0="1.5",
            momentum="0.5",
            steps="7",
            student=token,
        )
        assert not at.warning
        tables = [d.value for d in at.dataframe if "loss" in d.value.columns]
        assert len(tables) == 2
        valley = SURFACES["valley"]
        start = (1.5, valley.start[1])
        reference = Trajectory(valley, OptimizerSpec("sgd", 0.01, momentum=0.5), start)
        reference.step(7)
        pd.testing.assert_frame_equal(tables[0], path_table(reference))
        assert len(tables[1]) == 8  # Adam at the surface's suggested rate, 7 steps after the start
        assert _q(at, "steps") == "7" and _q(at, "student") == token and _q(at, "opt") == "sgd,adam"
        link = next(c.value for c in at.code if "surface=valley" in c.value)
        assert "lr_sgd=0.01" in link and "steps=7" in link and "student" not in link
        at.button(key="gd_step").click().run()  # a step by the student goes into the address
        assert (
            _q(at, "steps") == "8"
            and len([d for d in at.dataframe if "loss" in d.value.columns][0].value) == 9
        )
    finally:
        restart_run_manager(stop_runs=True)


def test_bad_gradient_descent_link_values_fall_back_with_a_notice():
    from ui.common import restart_run_manager

    try:
        at = _gd(surface="cliff", opt="sgd,rmsprop", lr_sgd="-1", x0="inf", steps="999999")
        notes = " ".join(w.value for w in at.warning)
        for name in ("surface", "opt", "lr_sgd", "x0", "steps"):
            assert f"**{name}**" in notes
        assert at.selectbox(key="gd_surface").value == "bowl"
        assert len([d for d in at.dataframe if "loss" in d.value.columns]) == 3
    finally:
        restart_run_manager(stop_runs=True)


def test_options_value_matches_options_as_the_address_writes_them():
    import pytest

    from protlab.errors import ConfigError
    from ui.url_state import options_value

    rates = options_value([3e-4, 1e-3, 2e-3])
    assert rates("0.002", "lr") == 2e-3 and rates(" 0.0003 ", "lr") == 3e-4
    dilations = options_value([[], [1, 2]], lambda d: ",".join(map(str, d)) or "none")
    assert dilations("1,2", "dil") == [1, 2] and dilations("none", "dil") == []
    with pytest.raises(ConfigError, match=r"^lr must be one of 0.0003, 0.001, 0.002; got '0.2'"):
        rates("0.2", "lr")


TRAIN_PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "train.py")


def _train(**query) -> AppTest:
    from ui.router import ROUTED_RUN

    at = AppTest.from_file(TRAIN_PAGE, default_timeout=300)
    at.session_state[ROUTED_RUN] = True  # as when app.py runs the page
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_train_link_sets_the_model_and_settings_and_bad_values_fall_back():
    from protlab.models import CNNConfig
    from protlab.training import TrainConfig
    from ui.common import restart_run_manager

    token = "Training-Student-0123456789"
    try:
        at = _train(
            student=token, filters="48", kernel="5", lr="0.01", batch="64", optimizer="sgd", epochs="3"
        )
        assert not at.warning
        assert (
            at.number_input(key="hidden_dim").value == 48 and at.select_slider(key="kernel_size").value == 5
        )
        assert at.select_slider(key="lr").value == 0.01 and at.select_slider(key="batch_size").value == 64
        assert at.selectbox(key="optimizer").value == "sgd" and at.number_input(key="epochs").value == 3
        assert _q(at, "student") == token and _q(at, "lr") == "0.01"
        link = next(c.value for c in at.code if "filters=48" in c.value)
        assert "optimizer=sgd" in link and "student" not in link
        bad = _train(lr="0.5", kernel="4", filters="0", optimizer="rmsprop")
        notes = " ".join(w.value for w in bad.warning)
        for name in ("lr", "kernel", "filters", "optimizer"):
            assert f"**{name}**" in notes
        assert bad.select_slider(key="lr").value == TrainConfig().lr
        assert bad.number_input(key="hidden_dim").value == CNNConfig().hidden_dim
    finally:
        restart_run_manager(stop_runs=True)
