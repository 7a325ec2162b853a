"""ui.url_state: settings from the address are checked, applied once and written back beside ?student=."""

from __future__ import annotations

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
    copy_link(params)


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


def test_copy_link_carries_the_settings_but_never_the_student_token():
    at = _app(shape="ridge", student="abcdefghijklmnop1234")
    link = at.code[0].value
    assert "shape=ridge" in link and "student" not in link
