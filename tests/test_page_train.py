"""The Train page: validation report first, a real background run to the end, results beside the baseline.

AppTest cannot upload files, so the page reads an upload from st.session_state["uploaded_bytes"] as
(file name, bytes); the tests put a CSV there exactly as the file uploader would.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "train.py")
TIMEOUT = 180  # seconds per script run (the first one reads the data and imports torch)


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_bundled_data_report_shows_all_rows_kept() -> None:
    at = _page()
    assert not at.exception, [e.value for e in at.exception]
    shown = _metrics(at)
    assert shown["Rows kept"] == "6,942"
    assert shown["Rows dropped"] == "0"
    assert shown["Soluble (1)"] == "2,897" and shown["Insoluble (0)"] == "4,045"
    assert at.button(key="start").disabled is False
    assert at.button(key="stop").disabled is True
    assert any("Show me the PyTorch" in e.label for e in at.expander)


def test_uploaded_csv_shows_its_report_with_dropped_rows() -> None:
    good = ["MKTAYIAKQRQISFVKSHFSRQ", "MSDKIIHLTDDSFDTDVLKADG", "MVLSPADKTNVKAAWGKVGAHA", "GSHMLEDPVDAFQEGLQEAAKK"]
    rows = [(good[i % 4] + "A" * i, i % 2) for i in range(24)] + [("MK1LV", 1)]  # last row has a digit
    csv = pd.DataFrame(rows, columns=["sequence", "label"]).to_csv(index=False).encode()
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state["uploaded_bytes"] = ("my_proteins.csv", csv)
    at.run()
    at.radio(key="data_choice").set_value("Upload my own CSV or FASTA").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = _metrics(at)
    assert shown["Rows kept"] == "24" and shown["Rows dropped"] == "1"
    assert shown["Soluble (1)"] == "12"
    assert any("dropped" in e.label for e in at.expander)


def test_uploaded_garbage_shows_the_data_error() -> None:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state["uploaded_bytes"] = ("notes.csv", b"hello,world\n1,2\n")
    at.run()
    at.radio(key="data_choice").set_value("Upload my own CSV or FASTA").run()
    assert not at.exception
    assert at.error and "column" in at.error[0].value.lower()


def _configure_tiny_run(at: AppTest, epochs: int = 2, optimizer: str = "adam") -> None:
    at.radio(key="sample_choice").set_value("Custom sample size").run()
    at.number_input(key="sample_size").set_value(150)
    at.number_input(key="embed_dim").set_value(4)
    at.number_input(key="hidden_dim").set_value(4)
    at.number_input(key="num_layers").set_value(1)
    at.number_input(key="epochs").set_value(epochs)
    at.number_input(key="patience").set_value(0)
    at.selectbox(key="optimizer").set_value(optimizer)
    at.run()


def _has_results(at: AppTest) -> bool:
    return any("majority-class baseline" in df.value.columns for df in at.dataframe)


def _progress_text(at: AppTest) -> str:
    return " ".join(p.proto.text for p in at.get("progress"))


def _run_until(at: AppTest, done, seconds: float = 240.0) -> None:
    """Rerun the page (as the live panel's polling would) until done(at) or an error shows; bounded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not done(at) and not at.error and not at.exception:
        time.sleep(0.5)
        at.run()
    assert not at.exception, [e.value for e in at.exception]


def _run_folder() -> Path:
    return Path(os.environ["PROTLAB_HOME"]) / "runs"


def test_a_short_run_trains_to_the_end_and_shows_metrics_with_baseline() -> None:
    at = _page()
    _configure_tiny_run(at)
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="start").click().run()
    run_id = at.session_state["train_run_id"]
    _run_until(at, _has_results)
    assert not at.error, [e.value for e in at.error]
    assert f"Run {run_id}: finished" in _progress_text(at)
    table = next(df.value for df in at.dataframe if "majority-class baseline" in df.value.columns)
    table = table.set_index("metric")
    assert list(table.index) == ["Accuracy", "Precision", "Recall", "F1", "AUC-ROC", "MCC"]
    # the table must agree with scikit-learn on the run's saved test predictions
    saved = pd.read_csv(_run_folder() / run_id / "test_predictions.csv")
    y, p = saved["label"].to_numpy(), saved["p_soluble"].to_numpy()
    assert len(y) == 15  # 10% of the 150 sampled rows
    predicted = (p >= 0.5).astype(int)
    expected = {"Accuracy": skm.accuracy_score(y, predicted), "MCC": skm.matthews_corrcoef(y, predicted),
                "AUC-ROC": skm.roc_auc_score(y, p), "Recall": skm.recall_score(y, predicted, zero_division=0)}
    for name, value in expected.items():
        assert table.loc[name, "your model"] == pytest.approx(value, abs=1e-9), name
    majority = int(np.bincount(y).argmax())
    assert table.loc["MCC", "majority-class baseline"] == 0.0
    assert table.loc["AUC-ROC", "majority-class baseline"] == 0.5
    assert table.loc["Accuracy", "majority-class baseline"] == pytest.approx(np.mean(y == majority), abs=0.1)
    assert at.button(key="start").disabled is False and at.button(key="stop").disabled is True
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download the trained model (.pt)", "Download per-epoch metrics (CSV)"]
    epochs = pd.read_csv(_run_folder() / run_id / "history.csv")
    assert epochs["epoch"].tolist() == [1, 2]
    # a lower threshold moves the confusion matrix: the caption follows scikit-learn at 0.3
    at.slider(key="result_threshold").set_value(0.3).run()
    tn, fp, fn, tp = skm.confusion_matrix(y, (p >= 0.3).astype(int), labels=[0, 1]).ravel()
    caption = next(c.value for c in at.caption if c.value.startswith("At threshold 0.30"))
    assert f"accuracy {(tn + tp) / len(y):.3f}" in caption
    assert f"MCC {skm.matthews_corrcoef(y, (p >= 0.3).astype(int)):.3f}" in caption


def test_finished_runs_are_overlaid_to_compare_optimizers() -> None:
    at = _page()
    for optimizer in ("sgd_momentum", "adamw"):
        _configure_tiny_run(at, optimizer=optimizer)
        at.button(key="start").click().run()
        run_id = at.session_state["train_run_id"]
        _run_until(at, lambda a: f"Run {run_id}: finished" in _progress_text(a))
    assert not at.error, [e.value for e in at.error]
    chosen = at.multiselect(key="compare")
    assert len(chosen.options) == 2 and len(chosen.value) == 2
    assert any("SGD + momentum" in o for o in chosen.options) and any("AdamW" in o for o in chosen.options)
    compare = next(df.value for df in at.dataframe if "epochs run" in df.value.columns)
    assert sorted(compare["optimizer"]) == ["adamw", "sgd_momentum"]
    assert compare["epochs run"].tolist() == [2, 2]
    for metric in ("loss", "auc"):
        at.radio(key="compare_metric").set_value(metric).run()
        assert not at.exception


def test_stop_ends_a_long_run_and_keeps_its_results() -> None:
    at = _page()
    _configure_tiny_run(at, epochs=500)
    at.button(key="start").click().run()
    assert at.button(key="start").disabled is True and at.button(key="stop").disabled is False
    again = AppTest.from_file(PAGE, default_timeout=TIMEOUT)  # same session, page state lost: the run is found
    again.session_state["owner_id"] = at.session_state["owner_id"]
    again.run()
    assert again.button(key="start").disabled is True
    assert f"Run {at.session_state['train_run_id']}: running" in _progress_text(again)
    _run_until(at, lambda a: "epochs done" in " ".join(c.value for c in a.caption)
               and " 0 of 500 epochs done" not in " ".join(c.value for c in a.caption))
    assert "left" in _progress_text(at) or "finished" in _progress_text(at)
    at.button(key="stop").click().run()
    _run_until(at, _has_results)
    assert ": stopped" in _progress_text(at)
    assert any("stopped this run early" in i.value for i in at.info)
    assert len(list(_run_folder().iterdir())) == 1
    record = json.loads(next(_run_folder().iterdir()).joinpath("run.json").read_text())
    assert record["state"] == "stopped" and record["progress"] < 0.5


def test_a_crashing_run_shows_its_error_and_the_page_stays_usable(monkeypatch) -> None:
    import protlab.runs.manager as runs

    def crash(*args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(runs, "train_model", crash)
    at = _page()
    _configure_tiny_run(at)
    at.button(key="start").click().run()
    _run_until(at, lambda a: ": failed" in _progress_text(a))
    assert any("RuntimeError: CUDA out of memory (simulated)" in e.value for e in at.error)
    assert at.button(key="start").disabled is False
    monkeypatch.undo()
    at.button(key="start").click().run()  # the next run works
    _run_until(at, _has_results)
    assert not at.error, [e.value for e in at.error]


def test_durations_read_as_seconds_minutes_and_hours() -> None:
    from ui.common import duration_text

    assert [duration_text(s) for s in (None, float("nan"), 0.4, 59, 61, 3599, 3725)] == [
        "unknown", "unknown", "0 s", "59 s", "1 min 01 s", "59 min 59 s", "1 h 02 min"]


def test_a_full_server_refuses_a_new_run_with_a_message_and_keeps_the_page() -> None:
    from ui.common import run_manager

    at = _page()
    _configure_tiny_run(at)
    manager = run_manager()  # the same cached manager the page uses (same PROTLAB_HOME, same process)
    limit = manager.max_concurrent
    manager.max_concurrent = 0
    try:
        at.button(key="start").click().run()
    finally:
        manager.max_concurrent = limit
    assert not at.exception, [e.value for e in at.exception]
    assert any("the limit is 0" in e.value for e in at.error), [e.value for e in at.error]
    assert any(h.value == "5 · Compare runs" for h in at.header)
    assert "train_run_id" not in at.session_state
