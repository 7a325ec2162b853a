"""Predict page: the calls against the labels a file brought: how the model does on the student's set.

The figures come from protlab.label_check (with 95% bootstrap intervals, a reading of an AUC near or below
chance, and a warning for proteins the bundled training data holds); this module draws them.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from protlab.lessons import result_figures as rf
from ui.common import explain


@st.cache_data(show_spinner="Measuring the model on your labels...", max_entries=16)
def _checked(p_soluble: np.ndarray, labels: tuple, sequences: tuple, threshold: float):  # -> LabelCheck
    """check_labels, once per file, model and threshold (its bootstrap takes seconds for 10,000 proteins)."""
    from protlab.label_check import check_labels

    return check_labels(p_soluble, list(labels), list(sequences), threshold)


def labels_section(p_soluble: np.ndarray, labels: list[int], threshold: float, sequences: list[str]) -> None:
    """AUC, accuracy and MCC of the calls against the file's labels, with intervals, a confusion matrix and
    the ROC curve; labels are 1, 0 or -1 (none) per protein, in the order of p_soluble and sequences."""
    from protlab.training import BOOTSTRAP_SAMPLES, roc_points

    check = _checked(np.asarray(p_soluble), tuple(labels), tuple(sequences), float(threshold))
    st.subheader("Your labels against the calls")
    if check.why_not:
        st.info(
            f"{check.why_not} The column **Your label** in the table lets you compare the calls one by one.",
            icon=":material/info:",
        )
        return
    if check.seen_warning():
        st.warning(check.seen_warning(), icon=":material/visibility:")
    m = check.metrics
    cells = st.columns(4)
    for cell, (key, title) in zip(cells, [("auc", "AUC"), ("accuracy", "Accuracy"), ("mcc", "MCC")]):
        cell.metric(title, f"{m[key]:.3f}")
        cell.caption(f"95% interval {check.interval(key)}")
    cells[3].metric("Labelled proteins", f"{check.n:,}")
    cells[3].caption(f"{check.soluble:,} soluble, {check.n - check.soluble:,} insoluble")
    if check.reading():
        st.warning(check.reading(), icon=":material/balance:")
    left, right = st.columns(2)
    left.plotly_chart(
        rf.confusion_figure(int(m["tn"]), int(m["fp"]), int(m["fn"]), int(m["tp"]), threshold=threshold),
        key="labels-confusion",
    )
    y = np.asarray(labels)
    roc = roc_points(y[y >= 0], np.asarray(p_soluble)[y >= 0])
    fpr, tpr = m["fp"] / max(m["fp"] + m["tn"], 1), m["tp"] / max(m["tp"] + m["fn"], 1)
    roc_chart = rf.roc_figure(
        roc["fpr"], roc["tpr"], auc=m["auc"], point=(fpr, tpr), title="ROC curve on your labels"
    )
    right.plotly_chart(roc_chart, key="labels-roc")
    explain(
        f"On your {check.n:,} labelled proteins, at threshold {threshold:.2f} (and your expected fraction, "
        "if you set one). AUC does not depend on the threshold; accuracy and MCC do. The intervals come from "
        f"resampling your proteins {BOOTSTRAP_SAMPLES:,} times: with few proteins they are wide. Figures "
        "well below the model's held-out ones often mean your labels measure solubility another way "
        "(another protocol, a percentage cut at some value, other organisms)."
    )
