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
