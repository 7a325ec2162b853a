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
    assert "GELU" in _summary(at)["module"].tolist()


def _meta_count(*widths: int) -> int:
    """Parameters of a Linear stack counted by torch on the meta device (nothing is allocated)."""
    layers = [nn.Linear(a, b, device="meta") for a, b in zip(widths, widths[1:])]
    return sum(p.numel() for layer in layers for p in layer.parameters())


def test_number_boxes_take_their_bounds_from_the_models_declared_ranges():
    from protlab.checks import field_rules
    from protlab.models import MAX_LAYERS, LayerSpec, MLPConfig

    at = _page()
    rules = field_rules(MLPConfig)
    for key, rule in (
        ("bn_input", rules["input_dim"]),
        ("bn_classes", rules["num_classes"]),
        ("bn_fill_width", field_rules(LayerSpec)["width"]),
    ):
        box = at.number_input(key=key)
        assert (box.min, box.max) == (rule.low, rule.high), key
    assert (at.number_input(key="bn_fill_n").min, at.number_input(key="bn_fill_n").max) == (0, MAX_LAYERS)
    assert (rules["input_dim"].high, rules["num_classes"].high) == (100_000, 4096)


def test_quick_fill_names_the_parameter_cap_before_the_network_is_refused():
    from protlab.models import MAX_PARAMETERS

    at = _page()
    at.number_input(key="bn_fill_n").set_value(3).run()
    at.number_input(key="bn_fill_width").set_value(4096).run()
    expected = _meta_count(20, 4096, 4096, 4096, 2)
    assert expected == 33_656_834 > MAX_PARAMETERS
    fits = next(n for n in range(4096, 0, -1) if _meta_count(20, n, n, n, 2) <= MAX_PARAMETERS)
    hint = " ".join(c.value for c in at.caption if "Limits:" in c.value)
    assert f"{MAX_PARAMETERS:,} parameters" in hint and f"{expected:,} parameters: over the limit" in hint
    assert f"at most {fits:,} neurons wide fit" in hint
    at.button(key="bn_fill").click().run()
    assert not at.exception
    assert at.error and f"{expected:,}" in at.error[0].value and f"{MAX_PARAMETERS:,}" in at.error[0].value
    at.number_input(key="bn_fill_width").set_value(fits).run()
    assert "within the limit" in " ".join(c.value for c in at.caption)
    at.button(key="bn_fill").click().run()
    assert not at.error and _total(at) == f"{_meta_count(20, fits, fits, fits, 2):,}"


def test_layer_table_names_rows_as_the_diagram_does_and_separates_thousands():
    import json

    at = _page()
    at.button(key="bn_preset_exercise2").click().run()
    summary = _summary(at)
    hidden = [f"hidden layer {i}" for i in (1, 2, 3) for _ in range(2)]  # Linear and ReLU of each
    assert summary["layer"].tolist() == [*hidden, "output layer"]
    diagram = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["annotations"]
    names = [a["text"].split("</b>")[0].removeprefix("<b>") for a in diagram if a.get("text")]
    assert names == ["input", "hidden layer 1", "hidden layer 2", "hidden layer 3", "output layer"]
    assert set(summary["layer"]) == set(names[1:])
    table = next(d for d in at.dataframe if "parameters" in d.value.columns)
    assert json.loads(table.proto.columns)["parameters"]["type_config"]["format"] == "localized"
    assert summary["parameters"].tolist() == [2688, 0, 8256, 0, 2080, 0, 132]


def test_no_hidden_layer_is_logistic_regression():
    at = _page()
    at.button(key="bn_preset_logistic").click().run()
    assert _total(at) == f"{_reference(20, 2):,}"
    assert any("logistic regression" in i.value for i in at.info)


def test_the_no_hidden_layer_note_follows_the_softmax_setting():
    at = _page()
    at.button(key="bn_preset_logistic").click().run()
    note = " ".join(i.value for i in at.info)
    assert "followed by softmax" not in note and "with no softmax" in note and "nn.CrossEntropyLoss" in note
    assert _summary(at)["module"].tolist() == ["Linear"]
    at.checkbox(key="bn_softmax").check().run()
    note = " ".join(i.value for i in at.info)
    assert "followed by softmax over the classes" in note and "(multinomial) logistic regression" in note
    assert _summary(at)["module"].tolist() == ["Linear", "Softmax"]
    at.checkbox(key="bn_softmax").uncheck().run()
    at.number_input(key="bn_classes").set_value(1).run()
    note = " ".join(i.value for i in at.info)
    assert "nn.BCEWithLogitsLoss" in note and "(binary) logistic regression" in note


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
