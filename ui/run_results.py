"""A finished run's results on the Train page (test metrics, threshold, ROC, downloads) and the student's runs
compared."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from protlab.errors import ProtlabError
from protlab.lessons import result_figures as rf
from ui.common import run_manager, session_owner
from ui.memory import kept_index
from ui.run_labels import OPTIMIZER_NAMES, model_name, optimizer_name, unique_titles
from ui.train_runs import my_runs

RESULT_METRICS = ["accuracy", "precision", "recall", "f1", "auc", "mcc"]  # rows of the test-metrics table
COMPARED_STATES = ("finished", "stopped")  # runs with curves and test results to compare


def results_section(status) -> None:
    """Test metrics beside the baseline, confusion matrix with a threshold, ROC and downloads."""
    from protlab.training import compute_metrics, roc_points

    if status.state == "cancelled":
        st.info("You cancelled this run before it started.", icon=":material/block:")
        return
    if status.state in ("failed", "interrupted"):
        st.error(f"This run {status.state}: {status.error}", icon=":material/error:")
    if not status.test_metrics:
        if status.state not in ("failed", "interrupted"):
            st.warning(
                f"This run ended ({status.state}) before any epoch finished, so it has no test results.",
                icon=":material/warning:",
            )
        return
    st.header("4 · Results on the held-out test set")
    if status.state == "stopped":
        st.info(
            "You stopped this run early; these results use the best epoch it reached.", icon=":material/info:"
        )
    base = status.baseline or {}
    table = pd.DataFrame(
        {
            "metric": [rf.METRIC_NAMES.get(n, n) for n in RESULT_METRICS],
            "your model": [status.test_metrics.get(n) for n in RESULT_METRICS],
            "majority-class baseline": [base.get(n) for n in RESULT_METRICS],
        }
    )
    left, right = st.columns([2, 3])
    left.dataframe(
        table,
        hide_index=True,
        key="test-metrics",
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in table.columns[1:]},
    )
    majority = {0: "insoluble", 1: "soluble"}.get(base.get("majority_class"), "the larger class")
    right.caption(
        f"Test set: {int(status.test_metrics.get('n', 0)):,} proteins the model never saw while "
        f"training. The baseline always answers '{majority}', the larger class in the training "
        "set. A useful model must beat it, above all on MCC and AUC, which a constant guess cannot "
        "improve. The table uses threshold 0.5; move the slider below to trade precision for "
        "recall."
    )
    if status.test_labels is None or status.test_probs is None:
        return
    y, p = np.asarray(status.test_labels), np.asarray(status.test_probs)  # (N_test,) int64, float64
    threshold = st.slider(
        "Decision threshold (P(soluble) at or above it counts as soluble)",
        0.0,
        1.0,
        0.5,
        0.01,
        key="result_threshold",
    )
    m = compute_metrics(y, p, threshold=threshold)
    left, right = st.columns(2)
    left.plotly_chart(
        rf.confusion_figure(int(m["tn"]), int(m["fp"]), int(m["fn"]), int(m["tp"]), threshold=threshold),
        key="confusion",
    )
    roc = roc_points(y, p)
    fpr, tpr = m["fp"] / max(m["fp"] + m["tn"], 1), m["tp"] / max(m["tp"] + m["fn"], 1)
    right.plotly_chart(rf.roc_figure(roc["fpr"], roc["tpr"], auc=m["auc"], point=(fpr, tpr)), key="roc")
    st.caption(
        f"At threshold {threshold:.2f}: accuracy {m['accuracy']:.3f}, precision {m['precision']:.3f}, "
        f"recall {m['recall']:.3f}, F1 {m['f1']:.3f}, MCC {m['mcc']:.3f}."
    )
    c1, c2, _ = st.columns([1, 1, 1])
    if status.checkpoint_path:
        c1.download_button(
            "Download the trained model (.pt)",
            _reader(status.checkpoint_path),
            f"protlab_{status.run_id}.pt",
            mime="application/octet-stream",
            on_click="ignore",
            icon=":material/download:",
            key="download-model",
        )
    csv = rf.history_frame(status.events).to_csv(index=False).encode()
    c2.download_button(
        "Download per-epoch metrics (CSV)",
        csv,
        f"protlab_{status.run_id}_epochs.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="download-history",
    )


def _reader(path: str):  # -> Callable[[], bytes]
    """Read the checkpoint only when the student downloads it."""

    def read() -> bytes:
        with open(path, "rb") as handle:
            return handle.read()

    return read


def compare_section() -> None:
    """Overlay the curves of the student's finished runs (e.g. SGD vs Adam vs AdamW, Exercise 4)."""
    manager, owner = run_manager(), session_owner()
    st.header("5 · Compare runs")
    rows = [r for r in my_runs() if r["state"] in COMPARED_STATES]
    if len(rows) < 2:
        st.caption(
            "Finish two or more runs (for example SGD + momentum, Adam and AdamW, Exercise 4) to "
            "compare them here. Every run is kept. To compare with the whole class, tick **Share with "
            "the class** and open **Class results**."
        )
        return
    runs = {r["run_id"]: r for r in rows}
    titles = unique_titles(rows)
    short = unique_titles(rows, title=lambda r: f"{model_name(r['spec'])} · {optimizer_name(r['spec'])}")
    chosen = st.multiselect(
        "Runs to overlay", list(runs), default=list(runs)[:3], format_func=titles.get, key="compare"
    )
    histories = {}
    for run_id in chosen:
        try:
            histories[short[run_id]] = rf.history_frame(manager.status(run_id, owner).events)
        except ProtlabError:
            continue
    if not histories:
        return
    curves = ["loss", "auc", "mcc", "accuracy"]
    metric = st.radio(
        "Curves",
        curves,
        kept_index("compare_metric", curves),
        horizontal=True,
        key="compare_metric",
        format_func=lambda m: "Loss" if m == "loss" else f"Validation {rf.METRIC_NAMES[m]}",
    )
    st.plotly_chart(rf.runs_overlay(histories, metric=metric), key="overlay")
    table = rf.runs_table({short[r]: runs[r] for r in chosen if short[r] in histories}, histories)
    table["optimizer"] = table["optimizer"].map(lambda o: OPTIMIZER_NAMES.get(o, o))
    number = st.column_config.NumberColumn
    st.dataframe(
        table,
        hide_index=True,
        key="compare-table",
        column_config={
            "run": st.column_config.TextColumn("Run", width=150),
            "learning rate": number("LR", format="%g"),
            "weight decay": number("Weight decay", format="%g"),
            **{
                c: number(format="%.3f") for c in ("best val loss", "val AUC at best", "test AUC", "test MCC")
            },
        },
    )
