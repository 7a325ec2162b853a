"""The Train page: validation report first, a real background run to the end, results beside the baseline.

AppTest cannot upload files, so the page reads an upload from st.session_state["uploaded_bytes"] as
(file name, bytes); the tests put a CSV there exactly as the file uploader would.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
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


def _configure_tiny_run(at: AppTest) -> None:
    at.radio(key="sample_choice").set_value("Custom sample size").run()
    at.number_input(key="sample_size").set_value(150)
    at.number_input(key="embed_dim").set_value(4)
    at.number_input(key="hidden_dim").set_value(4)
    at.number_input(key="num_layers").set_value(1)
    at.number_input(key="epochs").set_value(2)
    at.run()


def test_a_short_run_trains_to_the_end_and_shows_metrics_with_baseline() -> None:
    at = _page()
    _configure_tiny_run(at)
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="start").click().run()
    run_id = at.session_state["train_run_id"]
    assert run_id
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        time.sleep(1.0)
        at.run()
        if any(df.proto.id and "test-metrics" in df.proto.id for df in at.dataframe) or at.error:
            break
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    tables = [df.value for df in at.dataframe if "majority-class baseline" in df.value.columns]
    assert tables, "the test-metrics table did not appear"
    table = tables[0].set_index("metric")
    assert list(table.index) == ["Accuracy", "Precision", "Recall", "F1", "AUC-ROC", "MCC"]
    assert table["your model"].between(-1, 1).all()
    assert table.loc["MCC", "majority-class baseline"] == 0.0
    assert at.button(key="start").disabled is False  # the run is over: a new one may start
    labels = [b.label for b in at.get("download_button")] if at.get("download_button") else []
    assert at.slider(key="result_threshold").value == 0.5
