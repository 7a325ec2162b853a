"""The Per-residue prediction page: data counts, layer shapes, TS115 scores and typed predictions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from protlab.models import build_model, count_parameters
from protlab.structure import ResidueCNNConfig, StructurePredictor, load_bundled_structure
from ui.structure_settings import TABS

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "structure.py")


@pytest.fixture(scope="module")
def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _open(at: AppTest, tab: str) -> AppTest:
    """Switch to one tab (by its short name) and run: only the open tab's content runs."""
    at.session_state["ss_tab"] = TABS[tab]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _chart_keys(at: AppTest) -> set[str]:
    """The keys of the charts drawn in this run."""
    return {c.proto.id for c in at.get("plotly_chart")}


def test_only_the_open_tab_runs_and_closed_tabs_keep_their_settings(page):
    assert any(k.endswith("ss-len") for k in _chart_keys(page))  # the data tab, open at first
    assert not any(k.endswith(("ss-per-class", "ss-predict")) for k in _chart_keys(page))
    _open(page, "model").select_slider(key="ss_channels").set_value(64).run()
    _open(page, "results")
    assert any(k.endswith("ss-per-class") for k in _chart_keys(page))
    assert not any(k.endswith("ss-len") for k in _chart_keys(page)) and "Parameters" not in _metrics(page)
    code = " ".join(c.value for c in page.code)
    assert "channels=64" in code  # the code panel and the address follow the closed Model tab's setting
    assert _q(page, "channels") == "64"
    assert _open(page, "model").select_slider(key="ss_channels").value == 64  # kept while the tab was closed
    page.select_slider(key="ss_channels").set_value(ResidueCNNConfig().channels).run()


def test_data_counts_match_the_bundled_sets(page):
    metrics = _metrics(_open(page, "data"))
    cb513, ts115 = load_bundled_structure("cb513"), load_bundled_structure("ts115")
    n_train, n_val = int(metrics["Train proteins"].replace(",", "")), int(metrics["Validation proteins"])
    assert n_train + n_val == len(cb513)
    assert int(metrics["Test proteins"]) == len(ts115)


def test_model_tab_shows_the_length_kept_to_the_output(page):
    _open(page, "model")
    summary = next(d.value for d in page.dataframe if "output_shape" in d.value.columns)
    assert summary["output_shape"].iloc[-2] == "(2, 3, 30)"  # the 1x1 head, channels first as Conv1d gives it
    assert summary["output_shape"].iloc[-1] == "(2, 30, 3)"  # the model's output: (batch, length, 3 states)
    assert all(", 30" in shape for shape in summary["output_shape"])  # no layer pools the length away
    default = dataclasses.asdict(ResidueCNNConfig())
    assert _metrics(page)["Parameters"] == f"{count_parameters(build_model('residue_cnn', default)):,}"
    page.select_slider(key="ss_channels").set_value(32).run()
    narrow = build_model("residue_cnn", default | {"channels": 32})
    assert _metrics(page)["Parameters"] == f"{count_parameters(narrow):,}"


def test_results_and_a_typed_sequence_use_the_bundled_model(page):
    metrics = _metrics(_open(page, "results"))
    card = StructurePredictor.default().meta["metrics"]["test"]
    assert metrics["Q3 on TS115"] == f"{card['q3']:.3f}"  # the page scores TS115 as the recipe did
    sequence = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
    _open(page, "predict").text_area(key="ss_sequence").set_value(f">my protein\n{sequence}\n").run()
    assert not page.exception
    shown = next(c.value for c in page.code if "model=" not in c.value)  # not the Copy link box
    residues, states = shown.split("\n")  # 33 residues: one block, the states under the residues
    assert residues.split() == ["1", "MKTAYIAKQR", "QISFVKSHFS", "RQLEERLGLI", "EVQ"]
    assert states.replace(" ", "") == StructurePredictor.default().predict_one(sequence).ss3


def test_a_bad_sequence_gets_one_clear_error(page):
    _open(page, "predict").text_area(key="ss_sequence").set_value("MKT1AY").run()
    assert not page.exception
    assert len(page.error) == 1 and "1" in page.error[0].value
    # the character is pointed at in the sequence, as on the Encode page
    assert any("highlighted character at position 4" in c.value for c in page.caption)
    assert any("<mark" in m.value and ">1</mark>" in m.value for m in page.markdown)
    # the page goes on below the error: the Copy link box stays where it was, so nothing jumps
    assert any(e.label == "Copy link to this view" for e in page.expander)
    page.text_area(key="ss_sequence").set_value("").run()  # an empty box: asked for, not stopped
    assert not page.exception and any(e.label == "Copy link to this view" for e in page.expander)


def test_dna_pasted_by_mistake_is_said_to_be_dna_not_predicted(page):
    from protlab.data import nucleotide_message
    from ui.common import literal

    dna = "ATGGCCATTGTAATGGGCCGCTGAAAGGGTGCCCGATAG"
    _open(page, "predict").text_area(key="ss_sequence").set_value(dna).run()
    assert not page.exception
    assert [e.value for e in page.error] == [literal(nucleotide_message(len(dna)))]  # shown as typed
    assert not page.get("plotly_chart") or all(c.proto.id != "ss-predict" for c in page.get("plotly_chart"))


@pytest.mark.parametrize("kind", ["residue_cnn", "residue_mlp"])
def test_a_run_trains_through_the_class_queue_and_becomes_a_model_to_use(app_runs, kind):
    from ui.identity import owner_id
    from ui.router import ROUTED_RUN

    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state[ROUTED_RUN] = True
    at.query_params["student"] = "structure-student-0123456789"
    at.run()
    _open(at, "model").radio(key="ss_arch").set_value(kind).run()
    if kind == "residue_cnn":
        at.select_slider(key="ss_channels").set_value(32)
        at.selectbox(key="ss_dil").set_value([])
    else:
        at.select_slider(key="ss_hidden").set_value(16)
    at.run()
    _open(at, "train").number_input(key="ss_epochs").set_value(1).run()
    short = "Dilated CNN" if kind == "residue_cnn" else "3-layer MLP on one-hot rows"
    assert any(c.value == f"Trains the model set in *The model*: {short}." for c in at.caption)
    at.button(key="ss_start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    run_id, owner = at.session_state["structure_run_id"], owner_id("structure-student-0123456789")
    assert app_runs.wait(run_id, 240)
    status = app_runs.status(run_id, owner)
    assert status.state == "finished" and status.spec["task"] == "secondary_structure", status.error
    assert status.spec["model_kind"] == kind
    at.run()
    success = " ".join(s.value for s in at.success)
    assert f"{status.test_metrics['q3']:.3f}" in success
    label = next(o for o in at.selectbox(key="ss_model").options if o.startswith("My run"))
    assert ("MLP" in label) == (kind == "residue_mlp")  # the choice names the run's architecture
    # the live chart's always-coil line is on the validation proteins its Q3 curve is measured on
    from protlab.structure import structure_task_data

    data, split = structure_task_data()
    counts = data.subset(split.val).class_counts()
    charts = [c.proto.spec for c in at.get("plotly_chart") if "always coil" in c.proto.spec]
    assert (
        charts
        and f"always coil on the same proteins: Q3 {counts['C'] / sum(counts.values()):.2f}" in charts[0]
    )
    at.selectbox(key="ss_model").set_value(label)
    _open(at, "results")
    assert (
        _metrics(at)["Q3 on TS115"] == f"{status.test_metrics['q3']:.3f}"
    )  # the page rescored the run's model


def _q(at: AppTest, name: str):
    """A query parameter as text, or None (AppTest keeps those set before a run as lists)."""
    value = at.query_params.get(name)
    return value[-1] if isinstance(value, list) else value


def _linked(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=600)  # scoring TS115 once per process is slow on a busy CPU
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_link_reproduces_the_model_settings_tab_and_sequence():
    token = "Structure-Student-0123456789"
    at = _linked(
        channels="32", kernel="3", dil="1,2", dropout="0.2", tab="model", seq="MKTAYIAKQR", student=token
    )
    assert not at.warning
    config = dataclasses.replace(
        ResidueCNNConfig(), channels=32, kernel_size=3, dilations=[1, 2], dropout=0.2
    )
    expected = count_parameters(build_model("residue_cnn", dataclasses.asdict(config)))
    assert _metrics(at)["Parameters"] == f"{expected:,}"
    assert at.tabs[0].label == "The data" and at.session_state["ss_tab"] == "The model"
    assert _q(at, "student") == token and _q(at, "dil") == "1,2" and _q(at, "tab") == "model"
    link = next(c.value for c in at.code if "channels=32" in c.value)
    assert "tab=model" in link and "student" not in link
    assert _open(at, "predict").text_area(key="ss_sequence").value == "MKTAYIAKQR"  # kept for its tab


def test_bad_link_values_fall_back_with_a_notice():
    at = _linked(
        channels="33", dil="3,5", dropout="0.9", tab="nowhere", protein="999999", model="someone's run"
    )
    notes = " ".join(w.value for w in at.warning)
    for name in ("channels", "dil", "dropout", "tab", "protein", "model"):
        assert f"**{name}**" in notes
    _open(at, "model")
    default = ResidueCNNConfig()
    expected = count_parameters(build_model("residue_cnn", dataclasses.asdict(default)))
    assert _metrics(at)["Parameters"] == f"{expected:,}"


def test_the_exercise_mlp_is_offered_with_its_shapes_parameters_and_code(page):
    from protlab.structure import ResidueMLPConfig

    _open(page, "model").radio(key="ss_arch").set_value("residue_mlp").run()
    assert not page.exception
    config = dataclasses.asdict(ResidueMLPConfig())
    assert _metrics(page)["Parameters"] == f"{count_parameters(build_model('residue_mlp', config)):,}"
    assert _metrics(page)["Residues each prediction sees"] == "1"
    table = next(d.value for d in page.dataframe if "output_shape" in d.value.columns)
    shapes = table["output_shape"].tolist()
    assert shapes[0] == "(2, 30, 20)" and shapes[-1] == "(2, 30, 3)"  # one-hot in, three scores out
    code = " ".join(c.value for c in page.code)
    assert "class PerResidueMLP" in code and "class PerResidueCNN" not in code
    assert _q(page, "arch") == "mlp"
    page.select_slider(key="ss_hidden").set_value(32).run()
    config["hidden_dim"] = 32
    assert _metrics(page)["Parameters"] == f"{count_parameters(build_model('residue_mlp', config)):,}"


def test_a_link_opens_the_exercise_mlp():
    at = _linked(arch="mlp", hidden="128", mdrop="0.2", tab="model")
    assert not at.warning
    assert at.radio(key="ss_arch").value == "residue_mlp"
    assert at.select_slider(key="ss_hidden").value == 128 and at.slider(key="ss_mlp_dropout").value == 0.2
