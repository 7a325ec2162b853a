"""The Predict page: one sequence gives a probability and plots, bad input the cleaner's message, many a
table; the student's own runs are offered by what they trained, and pasted text comes back after a reload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sklearn.metrics as skm
from streamlit.testing.v1 import AppTest

from tests.conftest import train_tiny_run
from ui.common import literal
from ui.router import ROUTED_RUN

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "predict.py")
TIMEOUT = 180  # seconds per script run (features of the training proteins are computed on the first run)
ALICE, BOB = "alice-token-0123456789", "bob-token-9876543210xyz"


def _open(token: str = ALICE, session: dict | None = None) -> AppTest:
    """The Predict page with this student token in the address."""
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state[ROUTED_RUN] = True  # as when app.py runs the page (tests/test_app.py covers the router)
    at.query_params["student"] = token
    for key, value in (session or {}).items():
        at.session_state[key] = value
    return at.run()


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory) -> bytes:
    """A small real CNN checkpoint, saved by protlab (the page gets it as an 'upload')."""
    import torch

    from protlab.models import CNNConfig, SolubilityCNN, save_checkpoint

    torch.manual_seed(0)
    config = CNNConfig(embed_dim=8, hidden_dim=8, num_layers=1)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(
        path, SolubilityCNN(config), kind="cnn", model_config=config.__dict__, metrics={"auc": 0.5}
    )
    return path.read_bytes()


@pytest.fixture
def page(checkpoint_bytes):
    """Open the page with the tiny checkpoint chosen as an uploaded model; optionally type a text."""

    def open_page(text: str | None = None, data: bytes = checkpoint_bytes) -> AppTest:
        at = _open(
            session={"uploaded_checkpoint": ("tiny.pt", data), "model_source": "Upload a checkpoint (.pt)"}
        )
        if text is not None:
            at.text_area(key="sequences").set_value(text).run()
        return at

    return open_page


def test_example_sequence_gets_a_probability_between_0_and_1(page, checkpoint_bytes) -> None:
    from protlab.data import parse_sequences
    from protlab.predict import Predictor

    at = page()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    metric = at.metric[0]
    p = float(metric.value)
    assert 0.0 <= p <= 1.0
    record = parse_sequences(at.text_area(key="sequences").value)[0]
    expected = float(Predictor.from_checkpoint(checkpoint_bytes).predict([record.sequence])[0])
    assert p == pytest.approx(expected, abs=5e-4)
    markdown = " ".join(m.value for m in at.markdown)
    assert ("**soluble**" in markdown) == (p >= at.slider[0].value)
    assert any("Show me the PyTorch" in e.label for e in at.expander)


def test_threshold_changes_the_call(page) -> None:
    at = page()
    p = float(at.metric[0].value)
    at.slider[0].set_value(round(min(p + 0.05, 1.0), 2)).run()
    assert "**insoluble**" in " ".join(m.value for m in at.markdown)
    at.slider[0].set_value(round(max(p - 0.05, 0.0), 2)).run()
    assert "**soluble**" in " ".join(m.value for m in at.markdown)


def test_bad_sequence_shows_the_cleaners_message(page) -> None:
    from protlab.data import parse_sequences
    from protlab.errors import InvalidSequenceError

    bad = "MKTAYIAKQR1QISFVKS"
    with pytest.raises(InvalidSequenceError) as expected:
        parse_sequences(bad)
    at = page(bad)
    assert not at.exception
    assert at.error and at.error[0].value == literal(str(expected.value))
    assert not at.metric  # nothing predicted from a sequence that could not be read


def test_a_protein_name_is_answered_under_the_box_with_a_button_to_its_known_sequence(page) -> None:
    from protlab.known_proteins import load_known_proteins

    gfp = next(p for p in load_known_proteins() if "GFP" in p.name)
    at = page("GFP")
    assert not at.exception, [e.value for e in at.exception]
    order = [e.type for e in at.main if e.type in ("text_area", "error", "selectbox", "radio")]
    assert order.index("text_area") + 1 == order.index("error")  # the answer is right under the box
    assert "'GFP' has 3 letters, too few for a protein" in at.error[0].value and not at.metric
    assert any(e.label.startswith("Known proteins") for e in at.expander)  # the page goes on below
    button = next(b for b in at.button if b.label == f"Predict {gfp.name} ({gfp.uniprot}) instead")
    button.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.text_area(key="sequences").value == f">{gfp.uniprot} {gfp.name}\n{gfp.sequence}\n"
    assert at.metric  # GFP itself is predicted, beside its documented outcome
    call = next(m.value for m in at.markdown if m.value.startswith("Call at threshold"))
    called = "insoluble" if "**insoluble**" in call else "soluble"
    told = next(i.value for i in at.info if i.value.startswith(f"This is **{gfp.name}** ({gfp.uniprot})"))
    assert f"documented as **{gfp.ecoli_outcome}**" in told and f"The model calls it {called}" in told


def test_many_sequences_show_a_sortable_table(page) -> None:
    fasta = "\n".join(f">p{i}\n{'MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ'[i:]}GSHM" for i in range(6))
    at = page(fasta)
    assert not at.exception, [e.value for e in at.exception]
    tables = [df.value for df in at.dataframe if "p_soluble" in df.value.columns]
    assert tables, "no prediction table"
    table = tables[0]
    assert table["id"].tolist() == [f"p{i}" for i in range(6)]
    assert table["p_soluble"].between(0, 1).all()
    assert at.selectbox[-1].options == [f"p{i}" for i in range(6)]


def test_a_file_that_is_not_a_checkpoint_shows_a_clear_error(page) -> None:
    at = page(data=b"this is not a model")
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "checkpoint" in at.error[0].value.lower()
    assert not at.metric


def _owner(token: str) -> str:
    from ui.identity import owner_id

    return owner_id(token)


def test_my_runs_are_listed_by_model_optimizer_data_what_tells_them_apart_and_test_auc(app_runs) -> None:
    finished = train_tiny_run(app_runs, _owner(ALICE), "adam", epochs=2)
    stopped = train_tiny_run(app_runs, _owner(ALICE), "sgd_momentum", epochs=500, stop_after_first_epoch=True)
    train_tiny_run(app_runs, _owner(BOB), "adamw", epochs=1)  # someone else's run is never offered
    expected = {}
    for run_id, optimizer, epochs in ((finished, "Adam", 2), (stopped, "SGD + momentum", 500)):
        status = app_runs.status(run_id, _owner(ALICE))
        assert status.state in ("finished", "stopped") and status.checkpoint_path
        auc = skm.roc_auc_score(np.asarray(status.test_labels), np.asarray(status.test_probs))
        # the epochs asked differ between the two runs, so each name carries them
        expected[run_id] = f"CNN · {optimizer} · bundled DeepSol · {epochs} epochs · test AUC {auc:.3f}"
    at = _open(session={"model_source": "One of my training runs"})
    assert not at.exception, [e.value for e in at.exception]
    runs = at.selectbox(key="predict_run")
    assert runs.options == [expected[stopped], expected[finished]]  # newest first, no run ids
    assert not any(run_id in " ".join(runs.options) for run_id in (finished, stopped))
    runs.set_value(finished).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert 0.0 <= float(at.metric[0].value) <= 1.0
    test_auc = app_runs.status(finished, _owner(ALICE)).test_metrics["auc"]
    assert at.session_state["active_model"]["auc"] == pytest.approx(test_auc)  # the sidebar keeps the AUC
    from ui.predict_prior import NEAR_CHANCE_AUC

    coin = any("about as well as tossing a coin" in w.value for w in at.warning)
    assert coin == (test_auc <= NEAR_CHANCE_AUC)  # a run near chance is said to be one
    from ui.predict_input import MODEL_SOURCES

    default = _open(session={"model_source": MODEL_SOURCES[0]})
    assert not any("tossing a coin" in w.value for w in default.warning)  # held-out AUC 0.80
    # the sidebar names the run as the list does (what tells it apart included); the AUC is shown beside it
    assert at.session_state["active_model"]["name"] == "My run: CNN · Adam · bundled DeepSol · 2 epochs"
    other = _open(BOB, session={"model_source": "One of my training runs"})
    (only,) = other.selectbox(key="predict_run").options  # Bob sees his run only
    assert only.startswith("CNN · AdamW · bundled DeepSol · test AUC ")
    # Train's "Predict with this model" link names the run: Predict opens on it, not on the newest run
    linked = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    linked.session_state[ROUTED_RUN] = True
    linked.query_params["student"], linked.query_params["run"] = ALICE, finished
    linked.run()
    assert linked.radio(key="model_source").value == "One of my training runs"
    assert linked.selectbox(key="predict_run").value == finished  # the newest run is `stopped`
    assert "run" not in linked.query_params  # a later reload does not force the choice again
    reloaded = _open()
    assert reloaded.selectbox(key="predict_run").value == finished  # the choice is kept like any other


def test_pasted_sequences_and_the_model_choice_come_back_after_a_reload(page) -> None:
    fasta = ">mine\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n"
    at = page(fasta)
    assert not at.exception, [e.value for e in at.exception]
    again = _open()  # a reload: a new session with the same address
    assert again.text_area(key="sequences").value == fasta
    assert again.radio(key="model_source").value == "Upload a checkpoint (.pt)"
    stranger = _open(BOB)
    assert stranger.text_area(key="sequences").value.startswith(">sp|P0AA25|THIO_ECOLI")
    assert stranger.radio(key="model_source").value == "Bundled default model"


def test_a_saved_checkpoint_upload_comes_back_named(checkpoint_bytes) -> None:
    from ui.common import student_store

    student_store().save_upload(_owner(ALICE), "predict_checkpoint", "my_model.pt", checkpoint_bytes)
    at = _open(session={"model_source": "Upload a checkpoint (.pt)"})
    assert not at.exception and not at.error, ([e.value for e in at.exception], [e.value for e in at.error])
    assert any(f"Using **{literal('my_model.pt')}**" in m.value for m in at.markdown)
    assert 0.0 <= float(at.metric[0].value) <= 1.0


def test_expected_fraction_moves_p_by_bayes_rule(page, checkpoint_bytes) -> None:
    from protlab.data import parse_sequences
    from protlab.predict import Predictor, adjust_for_prior

    at = page()
    prior_box = next(n for n in at.number_input if n.label.startswith("Expected fraction of soluble"))
    predictor = Predictor.from_checkpoint(checkpoint_bytes)
    assert prior_box.value == pytest.approx(predictor.training_prior)
    record = parse_sequences(at.text_area(key="sequences").value)[0]
    raw = float(predictor.predict([record.sequence])[0])
    prior_box.set_value(0.9).run()
    assert not at.exception, [e.value for e in at.exception]
    expected = float(adjust_for_prior(raw, predictor.training_prior, 0.9))
    assert float(at.metric[0].value) == pytest.approx(expected, abs=5e-4)
    assert any("shifted to your expected share of 90.0%" in c.value for c in at.caption)
    assert any(e.label == "The formula (Bayes' rule)" for e in at.expander)  # the formula stays out of sight


def test_a_bad_record_in_a_batch_is_listed_and_the_rest_predicted(page) -> None:
    at = page(">ok1\nMKTAYIAKQRQISFVKSHFSRQ\n>broken\nMKT1AY\n>ok2\nMVLSPADKTNVKAAWGKVG\n")
    assert not at.exception and not at.error, [e.value for e in at.error]
    rejected = next(t.value for t in at.table if "Why it was left out" in t.value.columns)
    titles = ["Protein no.", "ID", "On line"]
    assert rejected[titles].to_dict("records") == [{"Protein no.": 2, "ID": "broken", "On line": 3}]
    assert "'1' at position 4" in rejected["Why it was left out"].iloc[0]
    table = next(d.value for d in at.dataframe if "p_soluble" in d.value.columns)
    assert table["id"].tolist() == ["ok1", "ok2"]
    assert any("1 of 3 records could not be read" in w.value for w in at.warning)


def test_how_pasted_lines_were_cut_into_proteins_is_a_warning_under_the_box(page) -> None:
    trx, ubq = "MSDKIIHLTDDSFDTDVLKADGAILVDF", "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEG"
    at = page(f"{trx}\n{ubq}\n")  # two lengths: a list, one protein per line
    assert not at.exception and not at.error, [e.value for e in at.error]
    warnings = [w.value for w in at.warning]
    assert any("each line is read as one protein (seq1 to seq2)" in w for w in warnings), warnings
    table = next(d.value for d in at.dataframe if "p_soluble" in d.value.columns)
    assert table["id"].tolist() == ["seq1", "seq2"]
    order = [e.type for e in at.main if e.type in ("text_area", "warning")]
    assert order[:2] == [
        "text_area",
        "warning",
    ]  # the warning comes right after the box, not below the results


def test_an_uploaded_csv_is_predicted_row_by_row(checkpoint_bytes) -> None:
    csv = b"id,sequence\na,MKTAYIAKQRQISFVKSHFSRQ\nb,MK?TAY\nc,MVLSPADKTNVKAAWGKVG\n"
    at = _open(
        session={
            "uploaded_checkpoint": ("tiny.pt", checkpoint_bytes),
            "model_source": "Upload a checkpoint (.pt)",
            "uploaded_sequences": ("mine.csv", csv),
            "input_source": "Upload a file (FASTA, CSV or Excel)",
        }
    )
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "p_soluble" in d.value.columns)
    assert table["id"].tolist() == ["a", "c"]
    rejected = next(t.value for t in at.table if "Why it was left out" in t.value.columns)
    assert rejected["ID"].tolist() == ["b"] and rejected["On line"].tolist() == [3]


def test_a_labelled_file_gets_the_calls_measured_against_its_labels(checkpoint_bytes) -> None:
    import pandas as pd

    from tests.conftest import deepsol_sample

    data = deepsol_sample(30, max_length=300, seed=11)
    labels = ["yes" if y == 1 else "0" for y in data.labels]
    labels[3] = ""  # a protein without a label is predicted but not counted
    frame = pd.DataFrame({"id": data.ids, "sequence": data.sequences, "Solubility": labels})
    at = _open(
        session={
            "uploaded_checkpoint": ("tiny.pt", checkpoint_bytes),
            "model_source": "Upload a checkpoint (.pt)",
            "uploaded_sequences": ("labelled.csv", frame.to_csv(index=False).encode()),
            "input_source": "Upload a file (FASTA, CSV or Excel)",
        }
    )
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "p_soluble" in d.value.columns)
    shown = table[table["label"] != ""]
    y, p = (shown["label"] == "soluble").astype(int).to_numpy(), shown["p_soluble"].to_numpy()
    threshold = at.slider[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Labelled proteins"] == "29"
    assert metrics["AUC"] == f"{skm.roc_auc_score(y, p):.3f}"
    assert metrics["Accuracy"] == f"{skm.accuracy_score(y, p >= threshold):.3f}"
    assert metrics["MCC"] == f"{skm.matthews_corrcoef(y, p >= threshold):.3f}"
    assert (table["label"] == "").sum() == 1 and set(shown["label"]) == {"soluble", "insoluble"}
    assert any(
        w.value.startswith("29 of your 29 labelled proteins are in the bundled DeepSol data")
        for w in at.warning
    )


def test_known_proteins_panel_shows_the_models_calls(page, checkpoint_bytes) -> None:
    from protlab.known_proteins import known_protein_calls, load_known_proteins
    from protlab.predict import Predictor
    from ui.predict_known import PANEL_KEY

    at = page()
    assert any(e.label.startswith("Known proteins") for e in at.expander)
    assert not any("documented" in d.value.columns for d in at.dataframe)  # closed: nothing computed
    at.session_state[PANEL_KEY] = True  # the student opens it
    at.run()
    table = next(d.value for d in at.dataframe if "documented" in d.value.columns)
    assert table["uniprot"].tolist() == [p.uniprot for p in load_known_proteins()]
    expected = known_protein_calls(Predictor.from_checkpoint(checkpoint_bytes))
    assert table["Your model: call"].tolist() == expected["call"].tolist()
    default = known_protein_calls(Predictor.default())
    assert table["Default model: call"].tolist() == default["call"].tolist()
    assert any("Where the model is wrong" in m.value for m in at.markdown)
    at.text_area(key="sequences").set_value("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ").run()
    assert any("documented" in d.value.columns for d in at.dataframe)  # stays open while the input changes


def test_the_suggested_threshold_says_what_it_did_on_held_out_proteins(page) -> None:
    from protlab.predict import Predictor

    at = _open(session={"model_source": "Bundled default model"})
    figures = Predictor.default().held_out_at_threshold
    threshold = Predictor.default().stored_threshold
    text = " ".join(c.value for c in at.caption)
    n, right, found = f"{figures['n']:,.0f}", f"{figures['accuracy']:.0%}", f"{figures['recall']:.0%}"
    expected = f"At {threshold:.2f}, on its {n} held-out test proteins, {right} of the calls were right"
    assert expected in text and f"{found} of the soluble proteins were called soluble (recall)" in text
    assert not any("held-out test proteins" in c.value for c in page().caption)  # the upload records none


def test_a_known_protein_at_another_expected_fraction_names_both_calls() -> None:
    from protlab.known_proteins import load_known_proteins
    from protlab.predict import Predictor, adjust_for_prior

    predictor = Predictor.default()
    threshold = predictor.stored_threshold
    proteins = load_known_proteins()
    scores = predictor.predict([p.sequence for p in proteins])  # (8,) at the training share
    prior = 0.9
    moved = adjust_for_prior(scores, predictor.training_prior, prior)
    pick = next(i for i, (s, m) in enumerate(zip(scores, moved)) if s < threshold <= m)  # a call that flips
    at = _open(session={"model_source": "Bundled default model", "sequences": proteins[pick].sequence})
    box = next(n for n in at.number_input if n.label.startswith("Expected fraction of soluble"))
    box.set_value(prior).run()
    info = " ".join(i.value for i in at.info)
    assert "At your expected soluble fraction (90%) the model calls it soluble" in info
    own = "at its own training share, as in the **Known proteins** panel below, it calls it insoluble"
    assert own in info
    assert "in agreement" not in info and "here the model is wrong" not in info


def test_a_his_tagged_sequence_is_told_what_tags_meant_in_the_training_labels(page) -> None:
    from protlab.constructs import tag_shares
    from protlab.data import load_bundled

    body = "MSDKIIHLTDDSFDTDVLKADGAILVDFWAEWCGPCKMIAPILDEIADEYQGKLTVAKLNIDQNPGTAPKYGIRGIPTLLLF"
    at = page("MGSDKIHHHHHHSSG" + body)
    assert not at.exception, [e.value for e in at.exception]
    note = next(i.value for i in at.info if "His tag" in i.value)
    assert "histidines 7-12, near the N-terminus" in note
    data, _ = load_bundled()
    shares = tag_shares(data.sequences, data.labels)
    for end, text in (("N", "N-terminal His tag"), ("C", "C-terminal one"), ("none", "without")):
        assert f"{shares[end].share:.0%} of the {shares[end].proteins:,}" in note and text in note
    at.text_area(key="sequences").set_value(body).run()
    assert not any("His tag" in i.value for i in at.info)


def test_a_box_the_browser_sends_no_text_for_keeps_the_last_text(page, checkpoint_bytes) -> None:
    from protlab.predict import Predictor

    sequence = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
    at = page(sequence)
    at.text_area(key="sequences").set_value(None).run()  # as from a browser that had not drawn the box yet
    assert not at.exception, [e.value for e in at.exception]
    expected = float(Predictor.from_checkpoint(checkpoint_bytes).predict([sequence])[0])
    assert float(at.metric[0].value) == pytest.approx(expected, abs=5e-4)  # the text the student left


def test_odd_inputs_are_flagged_for_length_and_unknown_residues(page) -> None:
    from protlab.data import load_bundled

    _, report = load_bundled()
    shortest, longest = int(report.lengths.min()), int(report.lengths.max())
    at = page("mkXlvaghkdea")
    assert not at.exception, [e.value for e in at.exception]
    warning = " ".join(w.value for w in at.warning)
    assert f"shorter than any training protein (12 residues; shortest {shortest})" in warning
    assert "1 unknown residue (X)" in warning and f"{shortest:,} to {longest:,} residues" in warning
    ordinary = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSG" * 4  # 200 residues
    fasta = f">short\nMKXLVAGHKDEA\n>fine\n{ordinary}\n"
    at = page(fasta)
    table = next(df.value for df in at.dataframe if "p_soluble" in df.value.columns)
    check = dict(zip(table["id"], table["check"]))
    assert check["fine"] == "" and "shorter than any training protein" in check["short"]
    assert "unknown residue" in check["short"]
    assert any("1 of 2 proteins are unlike the training data" in w.value for w in at.warning)


def test_the_default_example_points_to_the_known_proteins_panel(page) -> None:
    at = page()
    assert any("thioredoxin" in c.value and "Known proteins" in c.value for c in at.caption)
    at.text_area(key="sequences").set_value("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ").run()
    assert not any("Known proteins" in c.value for c in at.caption)  # only beside the example


def test_a_model_near_chance_is_called_one_and_a_good_one_is_not() -> None:
    def script() -> None:
        from types import SimpleNamespace

        import streamlit as st

        from ui.predict_prior import weak_model_warning

        weak_model_warning(SimpleNamespace(test_auc=st.session_state["auc"]))

    for auc, warned in ((0.475, True), (0.55, True), (0.56, False), (0.80, False), (None, False)):
        at = AppTest.from_function(script, default_timeout=30)
        at.session_state["auc"] = auc
        at.run()
        assert any("about as well as tossing a coin" in w.value for w in at.warning) == warned, auc
        if warned:
            assert f"test AUC is {auc:.3f}" in at.warning[0].value
