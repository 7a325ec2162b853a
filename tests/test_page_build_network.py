"""The Build-a-network page counts parameters of real models and refuses bad settings before building."""

from __future__ import annotations

from pathlib import Path

import torch.nn as nn
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "build_network.py")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _total(at: AppTest) -> str:
    return {m.label: m.value for m in at.metric}["Total parameters"]


def _summary(at: AppTest):
    """Return the layer-by-layer summary table."""
    return next(d.value for d in at.dataframe if "parameters" in d.value.columns)


def _reference(*widths: int) -> int:
    layers = [nn.Linear(a, b) for a, b in zip(widths, widths[1:])]
    return sum(p.numel() for layer in layers for p in layer.parameters())


def test_notes_preset_has_1474_parameters():
    at = _page()
    at.button(key="bn_preset_notes").click().run()
    assert _total(at) == f"{_reference(20, 64, 2):,}" == "1,474"
    summary = _summary(at)
    assert summary["parameters"].sum() == 1474
    assert "(32, 64)" in summary.iloc[:, 2].tolist()


def test_exercise2_then_gelu_switch_keeps_the_total():
    at = _page()
    at.button(key="bn_preset_exercise2").click().run()
    expected = f"{_reference(20, 128, 64, 32, 4):,}"
    assert _total(at) == expected
    at.button(key="bn_gelu").click().run()
    assert _total(at) == expected
    message = " ".join(s.value for s in at.success)
    assert "unchanged" in message and "no weights" in message
    assert "GELU" in _summary(at)["type"].tolist()


def test_too_wide_layer_is_refused_with_the_validation_message():
    at = _page()
    at.number_input(key="bn_fill_n").set_value(2).run()
    at.number_input(key="bn_fill_width").set_value(10_000).run()
    at.button(key="bn_fill").click().run()
    assert not at.exception
    assert at.error and "10000" in at.error[0].value and "width" in at.error[0].value
    at.button(key="bn_preset_notes").click().run()  # the page stays usable
    assert not at.error and _total(at) == "1,474"


def test_zero_width_and_too_many_layers_are_refused():
    at = _page()
    at.number_input(key="bn_fill_width").set_value(0).run()
    at.button(key="bn_fill").click().run()
    assert at.error and "got 0" in at.error[0].value
    at.number_input(key="bn_fill_width").set_value(8).run()
    at.number_input(key="bn_fill_n").set_value(100).run()
    at.button(key="bn_fill").click().run()
    assert at.error and "100" in at.error[0].value and "layers" in at.error[0].value


def test_no_hidden_layer_is_logistic_regression():
    at = _page()
    at.button(key="bn_preset_logistic").click().run()
    assert _total(at) == f"{_reference(20, 2):,}"
    assert any("logistic regression" in i.value for i in at.info)


def test_generated_code_is_shown_for_the_current_network():
    at = _page()
    at.button(key="bn_preset_exercise2").click().run()
    code = " ".join(c.value for c in at.code)
    assert "nn.Sequential(" in code and "nn.Linear(32, 4)" in code and "class ProteinMLP(nn.Module)" in code


def _q(at: AppTest, name: str):
    """A query parameter as text, or None (AppTest keeps those set before a run as lists)."""
    value = at.query_params.get(name)
    return value[-1] if isinstance(value, list) else value


def _linked(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_messages_name_the_widgets_not_the_code():
    at = _page()
    at.number_input(key="bn_input").set_value(0).run()
    assert at.error and at.error[0].value.startswith("Input size must be an integer from 1 to")
    assert "got 0." in at.error[0].value and "input_dim" not in at.error[0].value
    at.number_input(key="bn_input").set_value(20).run()
    at.number_input(key="bn_classes").set_value(0).run()
    assert at.error and at.error[0].value.startswith("Number of classes must be an integer from 1 to")


def test_softmax_over_one_class_is_explained():
    at = _page()
    assert not at.warning
    at.number_input(key="bn_classes").set_value(1).run()
    assert not at.warning  # one logit without softmax is fine (a sigmoid comes in the loss)
    at.checkbox(key="bn_softmax").check().run()
    assert any("always 1" in w.value and "sigmoid" in w.value for w in at.warning)


def test_a_link_rebuilds_the_same_network():
    token = "Network-Student-0123456789"
    at = _linked(
        input="30", classes="3", softmax="true", layers="128:gelu:0.1:layernorm,16:tanh:0:none", student=token
    )
    assert not at.warning and not at.error
    summary = _summary(at)
    reference = nn.Sequential(
        nn.Linear(30, 128),
        nn.LayerNorm(128),
        nn.GELU(),
        nn.Dropout(0.1),
        nn.Linear(128, 16),
        nn.Tanh(),
        nn.Linear(16, 3),
        nn.Softmax(dim=-1),
    )
    assert summary["parameters"].sum() == sum(p.numel() for p in reference.parameters())
    assert _total(at) == f"{sum(p.numel() for p in reference.parameters()):,}"
    assert _q(at, "student") == token and _q(at, "layers") == "128:gelu:0.1:layernorm,16:tanh:0:none"
    link = next(c.value for c in at.code if "layers=" in c.value)
    assert "input=30" in link and "softmax=true" in link and "student" not in link
    at.button(key="bn_preset_notes").click().run()  # the student's changes win and go into the address
    assert _q(at, "layers") is None and _q(at, "input") is None and _q(at, "student") == token


def test_bad_link_values_fall_back_with_a_notice():
    at = _linked(input="0", classes="two", softmax="maybe", layers="64:relu:0:none,0:relu:0:none")
    notes = " ".join(w.value for w in at.warning)
    for name in ("input", "classes", "softmax", "layers"):
        assert f"**{name}**" in notes
    assert at.number_input(key="bn_input").value == 20 and at.number_input(key="bn_classes").value == 2
    assert _total(at) == f"{_reference(20, 64, 2):,}"
    assert not at.error
