"""Predict page: the calls against the labels a file brought: how the model does on the student's set.

A model card's held-out figures come from its own test proteins; a student's labelled set can tell a
different story (another definition of soluble, other organisms, other lengths). The figures here are on
the student's proteins, at the page's threshold and expected fraction, with 95% bootstrap intervals.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from protlab.lessons import result_figures as rf
from ui.common import explain

MIN_COMPARED = 10  # labelled proteins (of both classes) before figures on them are worth showing


@st.cache_resource(show_spinner=False)
def _bundled_sequences() -> frozenset[str]:
    """The sequences of the bundled DeepSol data, which the default model learned from (read once)."""
    from protlab.data import load_bundled

    data, _ = load_bundled()
    return frozenset(data.sequences)


def seen_in_training(sequences: list[str]) -> int:
    """How many of the sequences are in the bundled DeepSol data (the default model learned from it)."""
    bundled = _bundled_sequences()
    return sum(s in bundled for s in sequences)


def labels_section(p_soluble: np.ndarray, labels: list[int], threshold: float, sequences: list[str]) -> None:
    """AUC, accuracy and MCC of the calls against the file's labels, with intervals, a confusion matrix and
    the ROC curve; labels are 1, 0 or -1 (none) per protein, in the order of p_soluble and sequences."""
    from protlab.training import BOOTSTRAP_SAMPLES, bootstrap_intervals, compute_metrics, roc_points

    y_all = np.asarray(labels, dtype=np.int64)  # (N,) 1, 0 or -1
    known = y_all >= 0
    y, p = y_all[known], np.asarray(p_soluble, dtype=np.float64)[known]  # (n,) the labelled proteins
    st.subheader("Your labels against the calls")
    soluble, insoluble = int((y == 1).sum()), int((y == 0).sum())
    if min(soluble, insoluble) == 0 or y.size < MIN_COMPARED:
        st.info(
            f"The file labels {y.size:,} of these proteins ({soluble:,} soluble, {insoluble:,} insoluble). "
            f"Figures on them need at least {MIN_COMPARED} labelled proteins, some of each class; the "
            "column **Your label** in the table lets you compare the calls one by one.",
            icon=":material/info:",
        )
        return
    seen = seen_in_training([s for s, k in zip(sequences, known) if k])
    if seen:
        st.warning(
            f"{seen:,} of your {y.size:,} labelled proteins are in the bundled DeepSol data, which the "
            "default model (and any run on the bundled data) learned from or was tuned on: on those, the "
            "figures below are optimistic. Leave them out to measure the model on proteins it has not seen.",
            icon=":material/visibility:",
        )
    m = compute_metrics(y, p, threshold=threshold)
    ci = bootstrap_intervals(y, p, threshold=threshold)
    cells = st.columns(4)
    for cell, (key, title) in zip(cells, [("auc", "AUC"), ("accuracy", "Accuracy"), ("mcc", "MCC")]):
        cell.metric(title, f"{m[key]:.3f}")
        cell.caption(f"95% interval {ci[key]['low']:.2f}-{ci[key]['high']:.2f}")
    cells[3].metric("Labelled proteins", f"{y.size:,}")
    cells[3].caption(f"{soluble:,} soluble, {insoluble:,} insoluble")
    left, right = st.columns(2)
    left.plotly_chart(
        rf.confusion_figure(int(m["tn"]), int(m["fp"]), int(m["fn"]), int(m["tp"]), threshold=threshold),
        key="labels-confusion",
    )
    roc = roc_points(y, p)
    fpr, tpr = m["fp"] / max(m["fp"] + m["tn"], 1), m["tp"] / max(m["tp"] + m["fn"], 1)
    right.plotly_chart(
        rf.roc_figure(
            roc["fpr"], roc["tpr"], auc=m["auc"], point=(fpr, tpr), title="ROC curve on your labels"
        ),
        key="labels-roc",
    )
    explain(
        f"On your {y.size:,} labelled proteins, at threshold {threshold:.2f} (and your expected fraction, if "
        "you set one). AUC does not depend on the threshold; accuracy and MCC do. The intervals come from "
        f"resampling your proteins {BOOTSTRAP_SAMPLES:,} times: with few proteins they are wide. Figures "
        "well below the model's held-out ones usually mean your labels measure solubility another way "
        "(another protocol, a percentage cut at some value, other organisms), not that the model broke."
    )
