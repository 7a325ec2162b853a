"""The Train page: validation report first, a queued run trained to the end, results beside the baseline.

The student is the token in the address (?student=...): a second AppTest with the same token is the same
student after a reload, one with another token is someone else. AppTest cannot upload files, so the page reads
an upload from st.session_state["uploaded_bytes"] as (file name, bytes), or from the student's saved upload.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from streamlit.testing.v1 import AppTest

from protlab.lessons import result_figures as rf
from tests.conftest import deepsol_sample
from ui.common import about_text
from ui.router import ROUTED_RUN

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "train.py")
TIMEOUT = 180  # seconds per script run (the first one reads the data and imports torch)
ALICE, BOB = "alice-token-0123456789", "bob-token-9876543210xyz"


def _page(token: str | None = ALICE, session: dict | None = None) -> AppTest:
    """The Train page opened with this token in the address (a reload is another call with the same token)."""
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state[ROUTED_RUN] = True  # as when app.py runs the page (tests/test_app.py covers the router)
    if token is not None:
        at.query_params["student"] = token
    for key, value in (session or {}).items():
        at.session_state[key] = value
    return at.run()


def _owner(token: str) -> str:
    from ui.identity import owner_id

    return owner_id(token)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


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
    assert not at.exception, [e.value for e in at.exception]


def _picker(at: AppTest):
    """The "Your runs" choice (its key changes with its labels)."""
    return next(box for box in at.selectbox if box.label == "Your runs")


def _has_results(at: AppTest) -> bool:
    return any("majority-class baseline" in df.value.columns for df in at.dataframe)


def _progress_text(at: AppTest) -> str:
    return " ".join(p.proto.text for p in at.get("progress"))


def _texts(at: AppTest) -> str:
    return " ".join([i.value for i in at.info] + [c.value for c in at.caption] + [_progress_text(at)])


def _run_until(at: AppTest, done, seconds: float = 240.0) -> None:
    """Rerun the page (as the live panel's polling would) until done(at) or an error shows; bounded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not done(at) and not at.error and not at.exception:
        time.sleep(0.5)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert done(at), f"not reached in {seconds:.0f} s: {_texts(at)[:500]} {[e.value for e in at.error]}"


def _tiny_spec(epochs: int):  # -> RunSpec
    from protlab.runs import RunSpec
    from protlab.training import TrainConfig

    return RunSpec(
        data=deepsol_sample(60, max_length=200, seed=3),
        model_kind="cnn",
        model_config={"embed_dim": 4, "hidden_dim": 4, "num_layers": 1},
        train_config=TrainConfig(epochs=epochs, batch_size=8, patience=0, scheduler="none"),
    )


def test_bundled_data_report_shows_all_rows_kept(app_runs) -> None:
    at = _page()
    assert not at.exception, [e.value for e in at.exception]
    shown = _metrics(at)
    assert shown["Rows kept"] == "6,942"
    assert shown["Rows dropped"] == "0"
    assert shown["Soluble (1)"] == "2,897" and shown["Insoluble (0)"] == "4,045"
    assert at.button(key="start").disabled is False
    assert at.button(key="stop").disabled is True
    assert any("Show me the PyTorch" in e.label for e in at.expander)
    assert at.number_input(key="patience").value == 10  # the Intro note's train_model(..., patience=10)


def test_uploaded_csv_shows_its_report_with_dropped_rows(app_runs) -> None:
    good = [
        "MKTAYIAKQRQISFVKSHFSRQ",
        "MSDKIIHLTDDSFDTDVLKADG",
        "MVLSPADKTNVKAAWGKVGAHA",
        "GSHMLEDPVDAFQEGLQEAAKK",
    ]
    rows = [(good[i % 4] + "A" * i, i % 2) for i in range(24)] + [("MK1LV", 1)]  # last row has a digit
    csv = pd.DataFrame(rows, columns=["sequence", "label"]).to_csv(index=False).encode()
    at = _page(session={"uploaded_bytes": ("my_proteins.csv", csv)})
    at.radio(key="data_choice").set_value("Upload my own CSV or FASTA").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = _metrics(at)
    assert shown["Rows kept"] == "24" and shown["Rows dropped"] == "1"
    assert shown["Soluble (1)"] == "12"
    assert any(e.label == "Why 1 row was dropped" for e in at.expander)


def test_uploaded_garbage_shows_the_data_error(app_runs) -> None:
    at = _page(session={"uploaded_bytes": ("notes.csv", b"hello,world\n1,2\n")})
    at.radio(key="data_choice").set_value("Upload my own CSV or FASTA").run()
    assert not at.exception
    assert at.error and "column" in at.error[0].value.lower()


def test_data_too_small_to_split_by_label_is_refused_before_a_run_is_queued(app_runs) -> None:
    rows = [(f"MKTAYIAKQRQISFVKSHFSRQ{'A' * i}", int(i < 3)) for i in range(15)]  # 3 soluble, 12 insoluble
    csv = pd.DataFrame(rows, columns=["sequence", "label"]).to_csv(index=False).encode()
    at = _page(session={"uploaded_bytes": ("few.csv", csv)})
    at.radio(key="data_choice").set_value("Upload my own CSV or FASTA").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [
        "A split by label into training / validation / test (80% / 10% / 10%) needs at least 10 proteins of "
        "each class, so that the validation and test sets each get some of both; the data have 12 with label "
        "0 (insoluble) and 3 with label 1 (soluble). Add proteins of the smaller class."
    ]
    assert not [b for b in at.button if b.label == "Start training"]  # no run that would fail in the queue
    at.radio(key="split_method").set_value("homology").run()  # checked by the run itself (MMseqs2)
    assert not at.error and [b for b in at.button if b.label == "Start training"]


def test_labels_that_are_measurements_are_read_at_the_cutoff_the_student_chooses(app_runs) -> None:
    rng = np.random.default_rng(5)
    percent = np.round(rng.uniform(0, 100, size=60), 1)  # solubility in percent, as eSOL gives it
    rows = [(f"MKTAYIAKQRQISFVKSHFSRQ{'A' * i}G", value) for i, value in enumerate(percent)]
    csv = pd.DataFrame(rows, columns=["sequence", "solubility"]).to_csv(index=False).encode()
    at = _page(session={"uploaded_bytes": ("esol.csv", csv)})
    at.radio(key="data_choice").set_value("Upload my own CSV or FASTA").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    cutoff = at.number_input(key="label_cutoff")
    assert cutoff.value == pytest.approx(np.median(percent))  # the median first: two halves
    assert _metrics(at)["Soluble (1)"] == f"{int((percent >= np.median(percent)).sum()):,}"
    cutoff.set_value(70.0).run()
    assert _metrics(at)["Soluble (1)"] == f"{int((percent >= 70).sum()):,}"
    assert _metrics(at)["Insoluble (0)"] == f"{int((percent < 70).sum()):,}"
    assert any("LABEL_CUTOFF = 70.0" in c.value for c in at.code)  # the script reads the file the same way
    again = _page(session={"uploaded_bytes": ("esol.csv", csv)})  # a reload: the chosen cutoff is kept
    assert again.radio(key="data_choice").value.startswith("Upload")
    assert again.number_input(key="label_cutoff").value == 70.0
    assert [b for b in at.button if b.label == "Start training"]


def test_a_replacement_file_too_small_to_split_is_refused_so_the_good_file_stays() -> None:
    from protlab.errors import DataFormatError
    from ui.train_data import _usable

    rows = [(f"MKTAYIAKQRQISFVKSHFSRQ{'A' * i}", int(i < 3)) for i in range(15)]  # 3 soluble, 12 insoluble
    few = pd.DataFrame(rows, columns=["sequence", "label"]).to_csv(index=False).encode()
    with pytest.raises(DataFormatError, match="needs at least 10 proteins of each class"):
        _usable(few, "few.csv")  # the uploader keeps the file in use when its check refuses the new one
    enough = [(f"MKTAYIAKQRQISFVKSHFSRQ{'A' * i}", i % 2) for i in range(30)]
    assert (
        _usable(pd.DataFrame(enough, columns=["sequence", "label"]).to_csv(index=False).encode(), "ok.csv")
        is None
    )


def test_a_saved_upload_comes_back_after_a_reload_named_and_can_be_cleared(app_runs) -> None:
    from ui.common import student_store

    csv = "sequence,label\n" + "".join(f"MKTAYIAKQRQISFVKSHFSRQ{'A' * i},{i % 2}\n" for i in range(30))
    student_store().save_upload(_owner(ALICE), "train_data", "lab_proteins.csv", csv.encode())
    at = _page()
    at.radio(key="data_choice").set_value("Upload my own CSV or FASTA").run()
    assert not at.exception, [e.value for e in at.exception]
    assert _metrics(at)["Rows kept"] == "30"
    assert any("Using **lab\\_proteins.csv**" in m.value for m in at.markdown)  # escaped: shown as typed
    assert any("Training on **lab\\_proteins.csv**: 30 rows read, 30 kept" in c.value for c in at.caption)
    again = _page()  # a reload: new session, same token; the data choice and the file both come back
    assert again.radio(key="data_choice").value == "Upload my own CSV or FASTA"
    assert _metrics(again)["Rows kept"] == "30"
    other = _page(BOB)  # someone else sees neither
    assert other.radio(key="data_choice").value.startswith("Bundled")
    other.radio(key="data_choice").set_value("Upload my own CSV or FASTA").run()
    assert "Rows kept" not in _metrics(other)
    again.button(key="uploaded_bytes_clear").click().run()
    assert not again.exception
    assert any("Upload a file to continue" in i.value for i in again.info)
    assert student_store().load_upload(_owner(ALICE), "train_data") is None


def test_settings_come_back_after_a_reload_for_the_same_student_only(app_runs) -> None:
    at = _page()
    at.selectbox(key="optimizer").set_value("adamw")
    at.number_input(key="epochs").set_value(7)
    at.select_slider(key="weight_decay").set_value(0.01)
    at.radio(key="split_method").set_value("homology").run()
    at.slider(key="identity").set_value(0.6).run()
    assert not at.exception, [e.value for e in at.exception]
    again = _page()
    assert again.selectbox(key="optimizer").value == "adamw"
    assert again.number_input(key="epochs").value == 7
    assert again.select_slider(key="weight_decay").value == 0.01
    assert again.radio(key="split_method").value == "homology"
    assert again.slider(key="identity").value == 0.6
    other = _page(BOB)
    from protlab.training import TrainConfig

    assert other.selectbox(key="optimizer").value == TrainConfig().optimizer
    assert other.number_input(key="epochs").value == TrainConfig().epochs


def test_saved_settings_that_no_longer_fit_fall_back_to_defaults(app_runs) -> None:
    from protlab.models import CNNConfig
    from protlab.training import TrainConfig
    from ui.common import student_store

    saved = {
        "lr": 0.002,
        "batch_size": 7,
        "kernel_size": "big",
        "optimizer": "rmsprop",
        "epochs": -4,
        "data_choice": "a file that is gone",
        "weight_decay": True,
    }
    student_store().save(_owner(ALICE), "settings", saved)
    at = _page()
    assert not at.exception, [e.value for e in at.exception]
    assert at.select_slider(key="lr").value == TrainConfig().lr
    assert at.select_slider(key="batch_size").value == TrainConfig().batch_size
    assert at.select_slider(key="kernel_size").value == CNNConfig().kernel_size
    assert at.select_slider(key="weight_decay").value == TrainConfig().weight_decay
    assert at.selectbox(key="optimizer").value == TrainConfig().optimizer
    assert at.number_input(key="epochs").value == 1  # moved into the allowed range
    assert at.radio(key="data_choice").value.startswith("Bundled")


def test_the_epoch_widget_respects_the_class_cap(monkeypatch) -> None:
    from ui.common import restart_run_manager, student_store

    monkeypatch.setenv("PROTLAB_EPOCH_CAP", "3")
    student_store().save(_owner(ALICE), "settings", {"epochs": 50})  # saved before the cap was set
    try:
        at = _page()
        box = at.number_input(key="epochs")
        assert box.max == 3 and box.value == 3
        assert "at most 3 epochs" in box.help
    finally:
        restart_run_manager()


def _timer_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith(":material/timer:"))


def test_a_short_run_trains_to_the_end_and_shows_metrics_with_baseline(app_runs) -> None:
    at = _page()
    _configure_tiny_run(at)
    assert "No time estimate yet" in _timer_caption(at)  # nothing has finished on this server
    at.button(key="start").click().run()
    run_id = at.session_state["train_run_id"]
    _run_until(at, _has_results)
    assert not at.error, [e.value for e in at.error]
    # the finished run times the next one like it: its own proteins and epochs give back its own time
    took = app_runs.status(run_id, _owner(ALICE)).timings["seconds"]
    timer = _timer_caption(at)
    assert f"**{about_text(took)}** (2 epoch(s) of 150 proteins" in timer
    assert "from the last run of this model" in timer
    assert ": finished" in _progress_text(at) and f"run {run_id}" in _texts(at)
    table = next(df.value for df in at.dataframe if "majority-class baseline" in df.value.columns)
    table = table.set_index("metric")
    assert list(table.index) == ["Accuracy", "Precision", "Recall", "F1", "AUC-ROC", "MCC"]
    # the table must agree with scikit-learn on the run's own test predictions
    status = app_runs.status(run_id, _owner(ALICE))
    y, p = np.asarray(status.test_labels), np.asarray(status.test_probs)
    assert len(y) == 15  # 10% of the 150 sampled rows
    predicted = (p >= 0.5).astype(int)
    expected = {
        "Accuracy": skm.accuracy_score(y, predicted),
        "MCC": skm.matthews_corrcoef(y, predicted),
        "AUC-ROC": skm.roc_auc_score(y, p),
        "Recall": skm.recall_score(y, predicted, zero_division=0),
    }
    for name, value in expected.items():
        assert table.loc[name, "your model"] == pytest.approx(value, abs=1e-9), name
    for name in (
        "Accuracy",
        "AUC-ROC",
        "MCC",
    ):  # a bootstrap interval around each threshold-free or 0.5 score
        low, high = (float(x) for x in table.loc[name, "95% interval"].split("-", 1))
        assert low - 0.005 <= expected.get(name, table.loc[name, "your model"]) <= high + 0.005, name
    assert table.loc[["Precision", "Recall", "F1"], "95% interval"].tolist() == ["n/a", "n/a", "n/a"]
    assert any("This run has 15 test proteins" in m.value for m in at.markdown)  # its own test set's size
    best = int(rf.history_frame(status.events).sort_values("val_loss").iloc[0]["epoch"])
    assert any(f"weights of epoch {best} of 2, the one with the lowest" in c.value for c in at.caption)
    assert any("Matthews correlation coefficient" in m.value for m in at.markdown)
    majority = int(np.bincount(y).argmax())
    assert table.loc["MCC", "majority-class baseline"] == 0.0
    assert table.loc["AUC-ROC", "majority-class baseline"] == 0.5
    assert table.loc["Accuracy", "majority-class baseline"] == pytest.approx(np.mean(y == majority), abs=0.1)
    assert at.button(key="start").disabled is False and at.button(key="stop").disabled is True
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download the trained model (.pt)", "Download per-epoch metrics (CSV)"]
    assert [int(e["epoch"]) for e in status.events] == [1, 2]
    # the batch-by-batch loss curve shows the run's recorded training losses
    assert status.batch_losses and any("Training loss, batch by batch" in m.value for m in at.markdown)
    assert at.get("vega_lite_chart"), "no batch loss chart"
    # a lower threshold moves the confusion matrix: the caption follows scikit-learn at 0.3
    at.slider(key="result_threshold").set_value(0.3).run()
    tn, fp, fn, tp = skm.confusion_matrix(y, (p >= 0.3).astype(int), labels=[0, 1]).ravel()
    caption = next(c.value for c in at.caption if c.value.startswith("At threshold 0.30"))
    assert f"accuracy {(tn + tp) / len(y):.3f}" in caption
    assert f"MCC {skm.matthews_corrcoef(y, (p >= 0.3).astype(int)):.3f}" in caption


def test_finished_runs_are_overlaid_to_compare_optimizers(app_runs) -> None:
    at = _page()
    for optimizer in ("sgd_momentum", "adamw"):
        _configure_tiny_run(at, optimizer=optimizer)
        at.button(key="start").click().run()
        run_id = at.session_state["train_run_id"]
        _run_until(
            at, lambda a, r=run_id: app_runs.status(r, _owner(ALICE)).state == "finished" and _has_results(a)
        )
    assert not at.error, [e.value for e in at.error]
    chosen = at.multiselect(key="compare")
    assert len(chosen.options) == 2 and len(chosen.value) == 2
    assert any("SGD + momentum" in o for o in chosen.options) and any("AdamW" in o for o in chosen.options)
    compare = next(df.value for df in at.dataframe if "epochs run" in df.value.columns)
    assert sorted(compare["optimizer"]) == ["AdamW", "SGD + momentum"]
    assert sorted(compare["run"]) == ["CNN · AdamW", "CNN · SGD + momentum"]  # short names in the legend too
    assert compare["epochs run"].tolist() == [2, 2]
    picker = _picker(at)  # the student's runs, newest first, named by what they trained
    for option, optimizer in zip(picker.options, ("AdamW", "SGD \\+ momentum"), strict=True):
        label = rf"\d\d:\d\d · CNN · {optimizer} · bundled DeepSol · test AUC \d\.\d\d\d · finished"
        assert re.fullmatch(label, option), option
    for metric in ("loss", "auc"):
        at.radio(key="compare_metric").set_value(metric).run()
        assert not at.exception
    older = app_runs.list_runs(_owner(ALICE))[1]["run_id"]
    _picker(at).set_value(older).run()  # look at the older run again ...
    assert f"run {older}" in _texts(at) and at.session_state["train_run_id"] == older
    _configure_tiny_run(at, epochs=500)
    at.button(key="start").click().run()  # ... then start a third: the page follows the new run
    newest = at.session_state["train_run_id"]
    assert newest not in (older, run_id) and _picker(at).value == newest
    assert f"run {newest}" in _texts(at).lower()  # queued or already training
    app_runs.stop(newest, _owner(ALICE))


def test_a_reload_finds_the_running_run_and_only_its_owner_can_stop_it(app_runs) -> None:
    at = _page()
    _configure_tiny_run(at, epochs=500)
    at.button(key="start").click().run()
    run_id = at.session_state["train_run_id"]
    assert at.button(key="start").disabled is True and at.button(key="stop").disabled is False
    _run_until(
        at,
        lambda a: (
            app_runs.status(run_id, _owner(ALICE)).state == "running" and "training ·" in _progress_text(a)
        ),
    )
    again = _page()  # F5: a new session with the same address finds the run, live
    assert again.button(key="start").disabled is True
    assert f"run {run_id}" in _texts(again) and "training ·" in _progress_text(again)
    stranger = _page(BOB)  # another browser without the token: nothing to see or stop
    assert f"run {run_id}" not in _texts(stranger) and stranger.button(key="stop").disabled is True
    from protlab.errors import RunError

    with pytest.raises(RunError):
        app_runs.stop(run_id, _owner(BOB))
    _run_until(again, lambda a: app_runs.status(run_id, _owner(ALICE)).batch_losses)
    again.run()
    again.button(key="stop").click().run()
    _run_until(
        again,
        lambda a: (
            app_runs.status(run_id, _owner(ALICE)).state == "stopped" and ": stopped" in _progress_text(a)
        ),
    )
    status = app_runs.status(run_id, _owner(ALICE))
    assert status.progress < 0.5
    if status.test_metrics:  # at least one epoch ended before the stop: its best weights were evaluated
        assert any("stopped this run early" in i.value for i in again.info)
    assert [r["run_id"] for r in app_runs.list_runs(_owner(ALICE))] == [run_id]
    assert app_runs.list_runs(_owner(BOB)) == []


def test_a_queued_run_shows_its_place_can_be_cancelled_and_run_again(monkeypatch) -> None:
    from ui.common import restart_run_manager, run_manager

    monkeypatch.setenv("PROTLAB_WORKERS", "1")
    try:
        manager = run_manager()
        blocker = manager.submit(_tiny_spec(epochs=500), "someone-else-0123456789")  # takes the only worker
        at = _page()
        _configure_tiny_run(at)
        at.button(key="start").click().run()
        mine = at.session_state["train_run_id"]
        _run_until(at, lambda a: "Queued: 1st in line" in _texts(a))
        assert at.button(key="stop").label == "Cancel" and at.button(key="start").disabled is True
        assert manager.status(mine, _owner(ALICE)).queue_position == 1
        at.button(key="stop").click().run()
        _run_until(at, lambda a: any("cancelled this run" in i.value for i in a.info))
        assert manager.status(mine, _owner(ALICE)).state == "cancelled"
        at.button(key="rerun").click().run()
        again = at.session_state["train_run_id"]
        assert again != mine and manager.status(again, _owner(ALICE)).state == "queued"
        manager.stop(blocker, "someone-else-0123456789")  # the worker frees up: the new run starts and ends
        _run_until(at, _has_results)
        assert manager.status(again, _owner(ALICE)).state == "finished"
    finally:
        restart_run_manager()


def test_an_interrupted_run_offers_run_again_after_a_restart(app_runs) -> None:
    from ui.common import restart_run_manager, run_manager

    at = _page()
    _configure_tiny_run(at, epochs=500)
    at.button(key="start").click().run()
    run_id = at.session_state["train_run_id"]
    _run_until(at, lambda a: app_runs.status(run_id, _owner(ALICE)).batch_losses)
    restart_run_manager(stop_runs=True)  # the server goes down while the run trains ...
    after = _page()  # ... and a student reloads once it is back
    assert run_manager().status(run_id, _owner(ALICE)).state == "interrupted"
    assert any("interrupted" in e.value for e in after.error)
    assert after.button(key="start").disabled is False
    after.button(key="rerun").click().run()
    new_id = after.session_state["train_run_id"]
    assert new_id != run_id
    assert run_manager().status(new_id, _owner(ALICE)).spec["train_config"]["epochs"] == 500
    run_manager().stop(new_id, _owner(ALICE))


def test_a_full_queue_refuses_a_new_run_with_a_message_and_keeps_the_page(monkeypatch) -> None:
    from ui.common import restart_run_manager, run_manager

    monkeypatch.setenv("PROTLAB_WORKERS", "1")
    monkeypatch.setenv("PROTLAB_MAX_QUEUED", "1")
    try:
        manager = run_manager()
        others = [manager.submit(_tiny_spec(epochs=500), f"classmate-{i}-0123456789") for i in range(2)]
        deadline = time.monotonic() + 60
        while manager.queue_summary()["queued"] != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        at = _page()
        _configure_tiny_run(at)
        at.button(key="start").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("queue is full" in e.value for e in at.error), [e.value for e in at.error]
        assert any(h.value == "5 · Compare runs" for h in at.header)
        assert "train_run_id" not in at.session_state
        for i, run_id in enumerate(others):
            manager.stop(run_id, f"classmate-{i}-0123456789")
    finally:
        restart_run_manager()


def test_sharing_is_opt_in_and_uses_the_chosen_name(app_runs) -> None:
    at = _page()
    _configure_tiny_run(at)
    at.button(key="start").click().run()
    run_id = at.session_state["train_run_id"]
    _run_until(at, _has_results)
    assert app_runs.class_runs() == []  # finished, but nothing is shared without the tick
    at.text_input(key="display_name").input("Team <Otter>").run()
    assert app_runs.class_runs() == []
    at.checkbox(key=f"share_{run_id}").check().run()
    assert not at.exception, [e.value for e in at.exception]
    shared = app_runs.class_runs()
    assert [(r["run_id"], r["display_name"]) for r in shared] == [(run_id, "Team Otter")]
    assert "owner" not in shared[0] and _owner(ALICE) not in repr(shared)
    again = _page()  # after a reload the tick and the name are still there
    assert again.checkbox(key=f"share_{run_id}").value is True
    assert again.text_input(key="display_name").value == "Team Otter"
    again.checkbox(key=f"share_{run_id}").uncheck().run()
    assert app_runs.class_runs() == []


def test_durations_read_as_seconds_minutes_and_hours() -> None:
    from ui.common import duration_text

    assert [duration_text(s) for s in (None, float("nan"), 0.4, 59, 61, 3599, 3725)] == [
        "unknown",
        "unknown",
        "under 1 s",
        "59 s",
        "1 min 01 s",
        "59 min 59 s",
        "1 h 02 min",
    ]


def test_a_queued_run_with_a_free_place_is_said_to_start_not_to_wait() -> None:
    from types import SimpleNamespace

    from ui.train_runs import queue_text

    def status(place, wait=None):
        return SimpleNamespace(queue_position=place, queue_wait_seconds=wait)

    free = {"running": 1, "workers": 2, "queued": 1}
    full = {"running": 2, "workers": 2, "queued": 3}
    assert queue_text(status(1), free).startswith("Starting: a training place is free")
    assert queue_text(status(None), free).startswith("Starting")
    assert queue_text(status(2, 239), free) == "Queued: 2nd in line, about 4 min"  # someone else goes first
    assert queue_text(status(1, 30), full) == "Queued: 1st in line, less than a minute"
    assert queue_text(status(None), full).startswith("Queued: waiting for a free place")
    broken = {**free, "error": "the workers could not start"}
    assert queue_text(status(1), broken).startswith("Queued")  # no promise while the workers are down
    assert queue_text(status(1), {**free, "closed": True}).startswith("Queued")  # nor when shutting down


def test_queue_places_read_as_ordinals_and_minutes() -> None:
    from ui.train_runs import ordinal, wait_text

    assert [ordinal(n) for n in (1, 2, 3, 4, 7, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "7th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
        "111th",
    ]
    assert [wait_text(s) for s in (None, float("nan"), 30, 239, 241)] == [
        "",
        "",
        "less than a minute",
        "about 4 min",
        "about 4 min",
    ]


def test_runs_are_named_by_what_they_trained_and_repeats_get_told_apart() -> None:
    import time as clock

    from ui.run_labels import clean_display_name, run_title, unique_titles

    spec = {
        "model_kind": "cnn",
        "data": "bundled DeepSol, 150 rows sampled from 6,942",
        "train_config": {"optimizer": "sgd_momentum", "lr": 0.01},
    }
    at_noon = clock.mktime((2026, 5, 4, 12, 0, 0, 0, 0, -1))
    rows = [
        {"run_id": f"r{i}", "spec": spec, "test_metrics": {"auc": 0.7812}, "created": at_noon + 60 * (i // 2)}
        for i in range(3)
    ]
    assert run_title(rows[0]) == "CNN · SGD + momentum · bundled DeepSol · test AUC 0.781"
    assert run_title({"spec": spec}) == "CNN · SGD + momentum · bundled DeepSol"  # no AUC before the test set
    titles = unique_titles(rows)
    assert titles == {
        "r0": f"{run_title(rows[0])} · 12:00",
        "r1": f"{run_title(rows[0])} · 12:00 #2",
        "r2": f"{run_title(rows[0])} · 12:01",
    }
    assert unique_titles(rows, stamp=False) == {
        "r0": run_title(rows[0]),
        "r1": f"{run_title(rows[0])} #2",
        "r2": f"{run_title(rows[0])} #3",
    }
    assert clean_display_name("  Team\n<b>Otter</b> & co\x00 ") == "Team bOtter/b and co"
    assert len(clean_display_name("x" * 100)) == 40


def test_the_model_shows_its_parameter_count() -> None:
    from protlab.models import build_model, count_parameters

    at = _page()
    expected = count_parameters(build_model("cnn", {}))
    assert any(f"**{expected:,} trainable parameters**" in m.value for m in at.markdown)
    at.number_input(key="embed_dim").set_value(4)
    at.number_input(key="hidden_dim").set_value(6)
    at.radio(key="model_kind").set_value("dual").run()
    assert not at.exception, [e.value for e in at.exception]
    config = {"embed_dim": 4, "hidden_dim": 6, "kernel_size": 5, "global_dim": 32}
    expected = count_parameters(build_model("dual", config), trainable_only=True)
    assert any(f"**{expected:,} trainable parameters**" in m.value for m in at.markdown)


def test_the_warmup_is_a_share_of_the_run_and_reaches_the_script() -> None:
    from protlab.training import TrainConfig, total_optimizer_steps, warmup_length

    at = _page()
    assert "warmup_fraction" not in [s.key for s in at.select_slider]  # only with the warm-up schedule
    at.selectbox(key="scheduler").set_value("warmup").run()
    at.select_slider(key="warmup_fraction").set_value(0.2).run()
    assert not at.exception, [e.value for e in at.exception]
    config = TrainConfig(warmup_fraction=0.2)
    total = total_optimizer_steps(round(0.8 * 6942), config)
    caption = next(c.value for c in at.caption if "optimizer steps" in c.value)
    assert f"about {total:,} optimizer steps" in caption
    assert f"first {warmup_length(config, total):,} of them (20%)" in caption
    code = at.code[0].value
    assert 'SCHEDULER = "warmup"' in code and "WARMUP_FRACTION = 0.2" in code and "WARMUP_STEPS = 0" in code
    at.selectbox(key="class_weighting").set_value("balanced").run()
    assert 'CLASS_WEIGHTING = "balanced"' in at.code[0].value


@pytest.fixture
def thread_runs(monkeypatch):
    """The app's RunManager running jobs in threads of this process (the in-process executor)."""
    from ui.common import restart_run_manager, run_manager

    monkeypatch.setenv("PROTLAB_EXECUTOR", "inprocess")  # read when the manager is made
    yield run_manager()
    restart_run_manager(stop_runs=True)


def _sanity_request(spec, seconds: float = 180.0):  # -> SanityRequest once the job has ended
    from protlab.lessons.sanity_jobs import request_sanity
    from ui.common import run_manager

    deadline = time.monotonic() + seconds
    while (request := request_sanity(run_manager().root, spec)).state in ("queued", "running"):
        assert time.monotonic() < deadline, "the sanity check job did not end"
        time.sleep(0.2)
    return request


def test_the_overfit_check_is_trained_by_a_worker_and_kept_after_a_reload(thread_runs) -> None:
    import torch
    import torch.nn.functional as F

    from protlab.lessons.sanity_jobs import build_check, request_sanity, sanity_spec
    from protlab.training import NEAR_ZERO_LOSS
    from ui.train_data import bundled_data

    at = _page()
    at.number_input(key="embed_dim").set_value(4)
    at.number_input(key="hidden_dim").set_value(8)
    at.number_input(key="num_layers").set_value(1).run()
    at.select_slider(key="overfit_steps").set_value(50)
    at.select_slider(key="overfit_lr").set_value(1e-2).run()
    model_config = {"embed_dim": 4, "hidden_dim": 8, "kernel_size": 5, "num_layers": 1, "dropout": 0.3}
    spec = sanity_spec(bundled_data()[0], "cnn", model_config, 32, 42, 50, 1e-2)  # the page's check
    assert request_sanity(thread_runs.root, spec).state == "missing"  # nothing trains before the click
    assert not [s for s in at.success if "steps on" in s.value]
    at.button(key="overfit_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    request = request_sanity(thread_runs.root, spec)
    if request.state in ("queued", "running"):  # the page shows the job's state meanwhile
        assert re.search(r"Check (queued|running)", _progress_text(at)), _progress_text(at)
    request = _sanity_request(spec)
    assert request.state == "ready", request.error
    losses, n = request.result.losses, request.result.n_proteins
    assert 1 <= len(losses) <= 50 and n == 16
    model, batch = build_check(spec)  # the same seeded model and batch
    assert sorted(batch.labels.tolist()) == [0] * 8 + [1] * 8  # both classes, balanced
    model.eval()
    with torch.no_grad():
        first = F.cross_entropy(model(batch.tokens, batch.mask), batch.labels).item()
    assert losses[0] == pytest.approx(first, rel=1e-4)  # the untrained model's loss on that batch
    for page in (at.run(), _page()):  # this session, then a reload of the page: the result is shown
        assert not page.exception, [e.value for e in page.exception]
        verdict = [s.value for s in page.success] + [w.value for w in page.warning]
        assert any(f"after {len(losses)} steps on 16 proteins" in v for v in verdict), verdict
        assert bool(page.success) == (losses[-1] < NEAR_ZERO_LOSS)
    assert len([p for p in thread_runs.root.iterdir() if (p / "job.json").is_file()]) == 1  # one job


def test_a_failed_overfit_check_says_so_and_can_be_run_again(thread_runs, monkeypatch) -> None:
    from protlab.lessons import sanity_jobs

    def broken(spec, progress=None):
        raise RuntimeError("no memory left")

    monkeypatch.setattr(sanity_jobs, "run_check", broken)  # the worker thread's check fails
    at = _page()
    at.select_slider(key="overfit_steps").set_value(50).run()
    at.button(key="overfit_run").click().run()
    spec = next(iter(_sanity_specs(thread_runs.root)))
    assert _sanity_request(spec).state == "failed"
    at.run()
    errors = [e.value for e in at.error]
    assert any("The check did not finish" in e and "no memory left" in e for e in errors), errors
    assert at.button(key="overfit_run")  # it can be asked for again


def _sanity_specs(root: Path):  # -> the SanitySpecs of the sanity jobs under root
    from protlab.lessons.sanity_jobs import SanitySpec

    for folder in root.iterdir():
        job = folder / "job.json"
        if job.is_file() and json.loads(job.read_text())["kind"] == "sanity":
            yield SanitySpec(**json.loads(job.read_text())["params"]["spec"])


def _plotly_values(values) -> np.ndarray:
    """A plotly trace's numbers from its JSON (a list, or a typed array as base64 bytes)."""
    if isinstance(values, dict):  # {'dtype': 'f8', 'bdata': ...}
        import base64

        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
    return np.asarray(values, dtype=float)


def _results_app(p_soluble: list[float], labels: list[int]) -> AppTest:
    """results_section of a finished run with these test predictions (no training needed)."""

    def script(p_soluble: list[float], labels: list[int]) -> None:
        from types import SimpleNamespace

        import numpy as np

        from protlab.training import compute_metrics, majority_baseline
        from ui.run_results import results_section

        y, p = np.array(labels), np.array(p_soluble)
        results_section(
            SimpleNamespace(
                state="finished",
                run_id="r1",
                test_metrics=compute_metrics(y, p),
                baseline=majority_baseline(y, y),
                test_labels=y,
                test_probs=p,
                spec={"train_config": {"epochs": 3, "lr": 1e-4, "class_weighting": "none"}},
                checkpoint_path=None,
                events=[],
                error=None,
                data_summary=None,
            )
        )

    return AppTest.from_function(script, kwargs={"p_soluble": p_soluble, "labels": labels}).run()


def test_results_say_what_to_try_when_the_model_calls_one_class_only() -> None:
    rng = np.random.default_rng(0)
    y = [0] * 12 + [1] * 8
    p = list(0.3 + 0.15 * rng.random(20))  # every P(soluble) below 0.5
    at = _results_app(p, y)
    assert not at.exception, [e.value for e in at.exception]
    warning = next(w.value for w in at.warning if "calls every protein insoluble" in w.value)
    assert f"from {min(p):.2f} to {max(p):.2f}" in warning and "All 20 test proteins" in warning
    assert "this run had 3" in warning and "this run used 0.0001" in warning and "Balanced" in warning
    assert "try 0.0003 or 0.001;" in warning  # the next rates the form offers, not 3x and 10x
    mixed = _results_app([0.2] * 10 + [0.8] * 10, y)
    assert not any("calls every protein" in w.value for w in mixed.warning)
    two = _results_app([0.3, 0.4], [0, 1])  # a tiny upload's test set
    assert any("Both test proteins got P(soluble) below 0.5" in w.value for w in two.warning)


def test_results_show_calibration_brier_score_and_reference_figures() -> None:
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 60)
    p = np.clip(0.25 + 0.5 * y + rng.normal(0, 0.2, 60), 0, 1)
    at = _results_app(p.tolist(), y.tolist())
    assert not at.exception, [e.value for e in at.exception]
    brier = skm.brier_score_loss(y, p)
    assert any(c.value.startswith(f"Brier score {brier:.3f}") for c in at.caption)
    chart = next(c for c in at.get("plotly_chart") if "Calibration on the test set" in c.proto.spec)
    model = next(t for t in json.loads(chart.proto.spec)["data"] if t.get("name") == "Model")
    observed, predicted = calibration_curve(y, p, n_bins=10)
    np.testing.assert_allclose(_plotly_values(model["y"]), observed, atol=1e-9)
    np.testing.assert_allclose(_plotly_values(model["x"]), predicted, atol=1e-9)
    table = next(df.value for df in at.dataframe if "DeepSol (published)" in df.value.columns)
    published = table.set_index("metric")["DeepSol (published)"]
    assert published["Accuracy"] == "0.770" and published["MCC"] == "0.550" and published["AUC-ROC"] == "-"
    assert any("62,478" in c.value and "comparable" in c.value for c in at.caption)


def test_a_one_epoch_run_shows_its_training_loss_before_the_epoch_ends(app_runs, monkeypatch) -> None:
    import ui.train_controls
    import ui.train_runs

    at = _page()
    at.radio(key="sample_choice").set_value("Custom sample size").run()
    at.number_input(key="sample_size").set_value(2000)  # the notes' CNN at full size: an epoch of seconds
    at.number_input(key="epochs").set_value(1)
    at.select_slider(key="batch_size").set_value(16).run()
    at.button(key="start").click().run()
    run_id = at.session_state["train_run_id"]
    # the worker records each batch's loss as it goes: read straight from the store, a status has them while
    # no epoch has ended yet (polled every 20 ms; the page's own polling is too slow to time this)
    deadline, status = time.monotonic() + 240, None
    while time.monotonic() < deadline:
        status = app_runs.status(run_id, _owner(ALICE))
        if status.batch_losses or status.state not in ("queued", "running"):
            break
        time.sleep(0.02)
    assert status.batch_losses and not status.events, (status.state, len(status.events))
    assert all(0 < point["epoch"] < 1 for point in status.batch_losses)
    # the page draws that mid-epoch status: the batch chart, before any epoch row
    for module in (ui.train_runs, ui.train_controls):
        monkeypatch.setattr(module, "status_of", lambda _run_id, s=status: s)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "0 of 1 epochs done" in _texts(at) and at.get("vega_lite_chart")
    assert any("Training loss, batch by batch" in m.value for m in at.markdown)
    app_runs.stop(run_id, _owner(ALICE))


def test_start_is_acknowledged_in_the_same_rerun_with_the_run_shown(app_runs) -> None:
    at = _page()
    _configure_tiny_run(at, epochs=1)
    at.button(key="start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Start pressed" in t.proto.body for t in at.get("toast"))  # said before anything slow
    run_id = at.session_state["train_run_id"]  # queued in this one rerun, not after a second one
    assert app_runs.status(run_id, _owner(ALICE)).state in ("queued", "running", "finished")
    texts = _texts(at)
    assert f"run {run_id}" in texts or "Queued" in texts or "Starting: a training place is free" in texts
    assert at.button(key="start").disabled or ": finished" in _progress_text(at)
    numbered = [h.value for h in at.header if re.match(r"\d · ", h.value)]
    assert numbered[:4] == ["1 · Data", "2 · Model", "3 · Training settings", "4 · Train"], numbered
    app_runs.wait(run_id, timeout=240)
    at.run()
    numbered = [h.value for h in at.header if re.match(r"\d · ", h.value)]
    assert [int(h[0]) for h in numbered] == sorted(int(h[0]) for h in numbered)  # results sit inside 4
    assert any(h.value == "Results on the held-out test set" for h in at.subheader)


def test_the_live_panel_redraws_the_whole_page_when_the_run_leaves_running(monkeypatch) -> None:
    from types import SimpleNamespace

    import ui.train_runs as tr

    calls = []
    ended = SimpleNamespace(state="finished")
    monkeypatch.setattr(tr, "current_run_id", lambda: "r1")
    monkeypatch.setattr(tr, "status_of", lambda run_id: ended)

    def rerun(**kwargs):
        calls.append(kwargs)
        raise RuntimeError("rerun")  # st.rerun never returns

    monkeypatch.setattr(tr.st, "rerun", rerun)
    with pytest.raises(RuntimeError):
        tr.live_panel("running")
    assert calls == [{"scope": "app"}]


def test_a_run_past_its_last_epoch_says_it_is_scoring_the_test_set() -> None:
    from types import SimpleNamespace

    from ui.train_runs import progress_detail

    status = SimpleNamespace(eta_seconds=0.0, batch_losses=[{"epoch": 1, "loss": 0.6}], progress=1.0)
    assert "scoring the test set" in progress_detail(status, 3, 3)
    status.progress = 0.5
    assert "left" in progress_detail(status, 1, 3) and "scoring" not in progress_detail(status, 1, 3)
    status.eta_seconds, status.batch_losses, status.progress = None, [], 0.0
    assert "preparing" in progress_detail(status, 0, 3)


def test_too_few_usable_rows_show_the_dropped_reasons_before_the_page_stops(app_runs) -> None:
    rows = [("MKTAYIAKQRQISFVKSHFSRQ", 1), ("MSDKIIHLTDDSFDTDVLKADG", 0), ("MVLSPADKTNVKAAWGKVGAHA", 1)]
    rows += [("MK1LV", 1), ("MKTAYI AKQR", "")]  # a digit, a missing label
    csv = pd.DataFrame(rows, columns=["sequence", "label"]).to_csv(index=False).encode()
    at = _page(session={"uploaded_bytes": ("tiny.csv", csv)})
    at.radio(key="data_choice").set_value("Upload my own CSV or FASTA").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "Only 3 usable rows" in at.error[0].value
    assert any(e.label == "Why 2 rows were dropped" for e in at.expander)
    shown = next(df.value for df in at.dataframe if "detail" in df.value.columns)
    assert list(shown["row"]) == [5, 6]  # file lines, header first
    assert set(shown["reason"]) == {"invalid character", "missing label"}


def _one_batch_point() -> None:
    from ui.train_runs import batch_loss_chart

    batch_loss_chart([{"epoch": 0.5, "loss": 0.646492}])


def test_a_run_with_one_logged_batch_still_draws_its_point_with_readable_ticks() -> None:
    import json

    at = AppTest.from_function(_one_batch_point, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["mark"]["point"] is True  # a line through a single point draws nothing
    assert spec["encoding"]["y"]["axis"]["format"] == ".3~f"  # not '0.646492' and '1.000000'


def test_compared_runs_name_what_they_share_and_warn_when_their_test_proteins_differ() -> None:
    def script() -> None:
        import streamlit as st

        from ui.run_compare import comparison_table

        def record(lr: float, data: str, n_rows: int, n_test: int) -> dict:
            train = {"optimizer": "adam", "lr": lr, "batch_size": 32, "epochs": 3, "seed": 42}
            spec = {"model_kind": "cnn", "data": data, "n_rows": n_rows, "split_method": "stratified"}
            return {"spec": {**spec, "train_config": train}, "test_metrics": {"auc": 0.7, "n": n_test}}

        small = record(1e-3, "bundled DeepSol, 1,000 rows sampled from 6,942", 1000, 100)
        if st.session_state.get("same data"):
            records = {"lr 0.001": small, "lr 0.003": record(3e-3, small["spec"]["data"], 1000, 100)}
            spans = {"lr 0.001": (0.60, 0.70), "lr 0.003": (0.71, 0.80)}  # apart
        else:
            records = {"small": small, "full": record(3e-3, "bundled DeepSol, 6,942 rows", 6942, 695)}
            spans = {"small": (0.60, 0.80), "full": (0.66, 0.74)}  # the narrower lies inside the wider
        comparison_table(records, {}, spans)

    at = AppTest.from_function(script, default_timeout=60).run()
    table = at.dataframe[0].value
    assert list(table.columns[:3]) == ["run", "data", "learning rate"]
    assert list(table.columns[3:5]) == ["test AUC", "AUC 95% interval"]
    assert table.set_index("run")["AUC 95% interval"].to_dict() == {"small": "0.60-0.80", "full": "0.66-0.74"}
    chance = [c.value for c in at.caption if "The best test AUC" in c.value]
    (chance,) = chance
    assert "overlaps the other run's" in chance and "may not really differ" in chance
    shared = next(c.value for c in at.caption if "Every run here shares" in c.value)
    assert "CNN" in shared and "Adam" in shared and "batch size 32" in shared and "3 epochs asked" in shared
    assert "learning rate" not in shared  # it differs, so it is a column, not a shared setting
    assert len(at.warning) == 1 and "their data differ" in at.warning[0].value
    at.session_state["same data"] = True
    at.run()
    assert list(at.dataframe[0].value.columns[:2]) == ["run", "learning rate"] and not at.warning
    assert any("overlaps no other run's" in c.value for c in at.caption)
    assert "bundled DeepSol, 1,000 rows sampled from 6,942" in next(
        c.value for c in at.caption if "Every run here shares" in c.value
    )


def test_the_chance_sentence_says_which_runs_the_best_auc_may_not_really_beat() -> None:
    from ui.run_compare import chance_sentence

    spans = {"alpha": (0.60, 0.70), "beta": (0.66, 0.76), "gamma": (0.50, 0.59), "delta": (0.69, 0.71)}
    aucs = {"alpha": 0.65, "beta": 0.71, "gamma": 0.55, "delta": 0.70}
    assert chance_sentence({"alpha": spans["alpha"]}, aucs) == ""  # one run: nothing to compare
    told = chance_sentence(spans, aucs)
    assert told.startswith("The best test AUC is beta's (0.710, interval 0.66-0.76).")
    assert "overlaps those of alpha and delta" in told and "gamma" not in told  # gamma's ends below 0.66
    two = chance_sentence({k: spans[k] for k in ("alpha", "beta")}, aucs)
    assert "overlaps the other run's" in two and "may not really differ" in two
    apart = chance_sentence({k: spans[k] for k in ("beta", "gamma")}, aucs)
    assert "overlaps no other run's" in apart


def test_the_note_names_the_runs_dropout_only_when_it_has_some() -> None:
    from ui.train_runs import below_training_note

    assert "drops 30% of its units" in below_training_note(0.3)
    for none in (0.0, None):
        note = below_training_note(none)
        assert "dropout" not in note and "averages batches from the whole epoch" in note


def test_run_names_carry_the_settings_that_tell_the_students_runs_apart() -> None:
    from ui.run_labels import compact_title, differing, unique_titles

    def row(run_id: str, lr: float, n_rows: int, created: float) -> dict:
        train = {"optimizer": "adam", "lr": lr, "batch_size": 32, "epochs": 3, "seed": 42}
        data = f"bundled DeepSol, {n_rows:,} rows"
        spec = {"model_kind": "cnn", "data": data, "n_rows": n_rows, "train_config": train}
        return {"run_id": run_id, "spec": spec, "created": created, "test_metrics": {"auc": 0.7}}

    runs = [row("a", 1e-3, 1000, 0.0), row("b", 3e-3, 6942, 60.0), row("c", 3e-3, 6942, 120.0)]
    assert differing(runs) == ["data", "learning rate"] and differing(runs[1:]) == []
    titles = unique_titles(runs)
    assert titles["a"] == "CNN · Adam · bundled DeepSol · 1,000 rows · lr 0.001 · test AUC 0.700"
    assert titles["b"].startswith("CNN · Adam · bundled DeepSol · 6,942 rows · lr 0.003 · test AUC 0.700 · ")
    assert titles["b"] != titles["c"]  # same settings: told apart by when they started
    assert compact_title(runs[0], differing(runs)) == "CNN · Adam · 1,000 rows · lr 0.001"
    assert unique_titles(runs[:1]) == {"a": "CNN · Adam · bundled DeepSol · test AUC 0.700"}
