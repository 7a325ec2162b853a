"""A finished run's results on the Train page: test metrics, threshold, ROC, calibration, downloads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from protlab.lessons import CAVEAT, DEEPSOL_PUBLISHED
from protlab.lessons import result_figures as rf
from ui.common import literal
from ui.filter_logos import render_run_filters
from ui.identity import page_link
from ui.predict_input import RUN_PARAM
from ui.router import in_app

RESULT_METRICS = ["accuracy", "precision", "recall", "f1", "auc", "mcc"]  # rows of the test-metrics table
INTERVAL_METRICS = ("accuracy", "auc", "mcc")  # the scores given a 95% interval: those runs are compared by
NOT_GIVEN = "n/a"  # the interval cell of the other scores


def _all_test_proteins(count: int) -> str:
    """'The one test protein', 'Both test proteins' or 'All 12 test proteins'."""
    return {1: "The one test protein", 2: "Both test proteins"}.get(count, f"All {count:,} test proteins")


def results_section(status) -> None:
    """Test metrics beside the baseline, confusion matrix with a threshold, ROC and downloads."""
    from protlab.training import compute_metrics, roc_points

    if status.state == "cancelled":
        st.info("You cancelled this run before it started.", icon=":material/block:")
        return
    if status.state in ("failed", "interrupted"):
        st.error(f"This run {status.state}: {literal(status.error)}", icon=":material/error:")
    if not status.test_metrics:
        if status.state not in ("failed", "interrupted"):
            st.warning(
                f"This run ended ({status.state}) before any epoch finished, so it has no test results.",
                icon=":material/warning:",
            )
        return
    st.subheader("Results on the held-out test set")
    if status.state == "stopped":
        st.info(
            "You stopped this run early; these results use the best epoch it reached.", icon=":material/info:"
        )
    base = status.baseline or {}
    has_rows = status.test_labels is not None and status.test_probs is not None
    intervals = _intervals(status.run_id, status.test_labels, status.test_probs) if has_rows else {}
    table = pd.DataFrame(
        {
            "metric": [rf.METRIC_NAMES.get(n, n) for n in RESULT_METRICS],
            "your model": [status.test_metrics.get(n) for n in RESULT_METRICS],
            "95% interval": [intervals.get(n, NOT_GIVEN) if intervals else "" for n in RESULT_METRICS],
            "majority-class baseline": [base.get(n) for n in RESULT_METRICS],
            "DeepSol (published)": [_published(n) for n in RESULT_METRICS],
        }
    )
    left, right = st.columns([3, 2])
    number = st.column_config.NumberColumn
    left.dataframe(
        table,
        hide_index=True,
        key="test-metrics",
        column_config={
            "metric": st.column_config.TextColumn("Metric", width=80),
            "your model": number("Your model", format="%.3f", width=90),
            "95% interval": st.column_config.TextColumn(
                "95% interval",
                width=95,
                help="Where the score would probably fall on another test set of this size (bootstrap), for "
                "accuracy, AUC and MCC; see 'What do these numbers mean?'.",
            ),
            "majority-class baseline": number("Majority class", format="%.3f", width=105),
            "DeepSol (published)": st.column_config.TextColumn(
                "DeepSol paper", width=100, help="Published on DeepSol's own test set; read the note beside."
            ),
        },
    )
    with left.expander("What do these numbers mean?", icon=":material/help:"):
        st.markdown(metric_meanings(status.test_metrics.get("n")))
    majority = {0: "insoluble", 1: "soluble"}.get(base.get("majority_class"), "the larger class")
    right.caption(
        f"Test set: {int(status.test_metrics.get('n', 0)):,} proteins the model never saw while "
        f"training. {_weights_used(status)}The baseline always answers '{majority}', the larger class in "
        "the training set. A useful model must beat it, above all on MCC and AUC, which a constant guess "
        "cannot improve. The table uses threshold 0.5; move the slider below to trade precision for recall."
    )
    right.caption(f"DeepSol (Khurana et al., 2018) reports accuracy 0.77 and MCC 0.55. {CAVEAT}")
    split_caption(status.data_summary)
    if not has_rows:
        return
    y, p = np.asarray(status.test_labels), np.asarray(status.test_probs)  # (N_test,) int64, float64
    one_class_advice(status, p)
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
    calibration_section(y, p)
    c1, c2, c3 = st.columns([1, 1, 1])
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
    if status.checkpoint_path and in_app():
        with c3:
            page_link(
                "pages/predict.py",
                label="Predict with this model",
                icon=":material/arrow_forward:",
                extra={RUN_PARAM: status.run_id},
                help="Opens Predict solubility with this run's model chosen; you can switch back there.",
            )
    render_run_filters(status.checkpoint_path, status.run_id)


def split_caption(summary: dict | None) -> None:
    """How the split was made (clusters) and how many test proteins have a relative in training."""
    summary = summary or {}
    parts = []
    if summary.get("n_clusters"):
        how = {"mmseqs2": "MMseqs2", "kmer_identity": "shared k-mers (MMseqs2 could not run)"}.get(
            summary.get("clustering"), "shared k-mers"
        )
        parts.append(
            f"Homology split at {summary.get('identity') or 0:.0%} identity with {how}: "
            f"{summary['n_clusters']:,} clusters, the largest with {summary.get('largest_cluster') or 0:,} "
            "proteins; whole clusters stay in one set."
        )
    leak = summary.get("leak_check")
    if leak and leak.get("method") in ("mmseqs2", "kmer_identity"):
        parts.append(
            f"Leak check: {leak['n_leaked']:,} of {leak['n_test']:,} test proteins have a training "
            f"protein at {leak['identity']:.0%} identity or more"
            + (" (MMseqs2 search)." if leak["method"] == "mmseqs2" else " (k-mer estimate).")
            + (" Their scores partly measure memory, not prediction." if leak["n_leaked"] else "")
        )
    if parts:
        st.caption(" ".join(parts))


METRIC_MEANINGS = """
- **Accuracy**: the share of test proteins called right.
- **Precision**: of the proteins called soluble, the share that really is soluble.
- **Recall**: of the soluble proteins, the share the model called soluble.
- **F1**: the harmonic mean of precision and recall; high only when both are.
- **AUC-ROC** (area under the ROC curve, drawn below): the chance that a soluble protein drawn at random gets
  a higher P(soluble) than an insoluble one drawn at random. 0.5 is guessing, 1 a perfect ranking; the
  threshold does not change it.
- **MCC** (Matthews correlation coefficient): the correlation between the calls and the truth, from -1
  (always wrong) through 0 (no better than a guess) to 1 (always right). A model that calls every protein
  the larger class scores 0, however high its accuracy.
- **95% interval**: where the score would probably fall on another test set of the same size, drawn the same
  way (the test proteins resampled 2,000 times, a bootstrap). {size} Two runs whose intervals overlap may not
  really differ. It is given for accuracy, AUC and MCC, the scores runs are compared by here; precision,
  recall and F1 show n/a.
- **MCC 0.00-0.00**: the model called every test protein the same class (all soluble, or all insoluble).
  Its MCC is then 0 on any resample of the proteins, so the interval has no width. That says the model
  tells nothing apart, not that its score is certain.
"""


def metric_meanings(n_test: object) -> str:
    """METRIC_MEANINGS with this run's number of test proteins in the interval's entry."""
    if isinstance(n_test, (int, float)) and n_test > 0:
        size = f"This run has {int(n_test):,} test proteins: the fewer they are, the wider the interval."
    else:
        size = "The fewer the test proteins, the wider the interval."
    return METRIC_MEANINGS.format(size=size)


@st.cache_data(max_entries=64, show_spinner=False)
def interval_spans(run_id: str, labels, probs) -> dict[str, tuple[float, float]]:  # run_id keys the cache
    """(low, high) of the 95% bootstrap interval of test accuracy, AUC and MCC (threshold 0.5)."""
    from protlab.training import bootstrap_intervals

    spans = bootstrap_intervals(np.asarray(labels), np.asarray(probs), threshold=0.5)
    return {name: (spans[name]["low"], spans[name]["high"]) for name in INTERVAL_METRICS}


def span_text(span: tuple[float, float]) -> str:
    """'0.68-0.79'."""
    return f"{span[0]:.2f}-{span[1]:.2f}"


def _intervals(run_id: str, labels, probs) -> dict[str, str]:
    """'0.68-0.79' per metric in INTERVAL_METRICS, from a bootstrap of the test proteins."""
    return {name: span_text(span) for name, span in interval_spans(run_id, labels, probs).items()}


def _weights_used(status) -> str:
    """'The scores come from the weights of epoch 3 of 5, ...' (the best epoch the charts mark; empty when the
    run recorded no validation loss)."""
    history = rf.history_frame(status.events)
    if "val_loss" not in history or not history["val_loss"].notna().any():
        return ""
    best = int(history.loc[history["val_loss"].idxmin(), "epoch"])
    return (
        f"The scores come from the weights of epoch {best} of {len(history)}, the one with the lowest "
        "validation loss (the training keeps those); the downloaded model holds the same weights. "
    )


def _published(metric: str) -> str:
    """DeepSol's published score for a metric as text ('-' where the paper gives none)."""
    value = DEEPSOL_PUBLISHED.get(metric)
    return "-" if value is None else f"{value:.3f}"


def _higher_rates(lr: float) -> str:
    """'try 0.003 or 0.01': the next learning rates the Train form offers above lr."""
    from ui.train_form import LEARNING_RATES

    higher = [f"{rate:g}" for rate in LEARNING_RATES if rate > lr * 1.0001][:2]
    return f"try {' or '.join(higher)}" if higher else "it is already the highest offered"


def one_class_advice(status, p: np.ndarray) -> None:
    """Warn, with the run's numbers and what to change, when every test protein got the same call at 0.5."""
    from protlab.training import single_class_call

    called = single_class_call(p)
    if called is None:
        return
    name, other = ("insoluble", "soluble") if called == 0 else ("soluble", "insoluble")
    scores = "precision, recall and MCC are 0" if called == 0 else "recall is 1 but MCC is 0"
    train = status.spec.get("train_config", {})
    epochs, lr = int(train.get("epochs", 0)), float(train.get("lr", 0.0))
    weighting = train.get("class_weighting", "none")
    balance = (
        "Class weighting is already balanced, so look at the other two first."
        if weighting == "balanced"
        else "**Class weighting: Balanced** (under Training settings), so mistakes on the rarer class cost "
        "more in the loss."
    )
    st.warning(
        f"**The model calls every protein {name}.** {_all_test_proteins(p.size)} got P(soluble) "
        f"{'below' if called == 0 else 'at or above'} 0.5 (from {p.min():.2f} to {p.max():.2f}), so it "
        f"never answers '{other}': {scores}, and its accuracy is just the share of {name} proteins in "
        f"the test set. It has learned the class balance but not yet what tells the "
        f"classes apart. Try:\n\n"
        f"- **more epochs**: this run had {epochs}; try {max(2 * epochs, 10)} or more;\n"
        f"- **a higher learning rate**: this run used {lr:g}; {_higher_rates(lr)};\n"
        f"- {balance}\n\n"
        "Moving the threshold below changes the calls but not what the model learned.",
        icon=":material/balance:",
    )


def calibration_section(y: np.ndarray, p: np.ndarray) -> None:
    """Reliability diagram and Brier score: does P(soluble) = 0.7 mean 7 in 10 are soluble?"""
    from protlab.lessons import reliability_figure
    from protlab.training import brier_score, calibration_bins

    brier = brier_score(y, p)
    constant = brier_score(y, np.full(y.size, y.mean()))  # always answering the test set's soluble share
    left, right = st.columns([3, 2])
    left.plotly_chart(reliability_figure(calibration_bins(y, p), brier=brier), key="calibration")
    right.markdown("**Can you read P(soluble) as a chance?**")
    right.caption(
        "Each point groups the test proteins whose predicted P(soluble) fell in one tenth of the range: "
        "across, their mean prediction; up, the share of them that really is soluble. On the dashed "
        "diagonal, P = 0.7 means 7 in 10 such proteins are soluble. Points below it: the model is "
        "over-confident about 'soluble'; above it: under-confident. Bins with few proteins (bars) are noisy."
    )
    right.caption(
        f"Brier score {brier:.3f}: the mean of (P(soluble) - label)², 0 for certain and right, 0.25 for "
        f"always answering 0.5. Always answering this test set's soluble share ({y.mean():.2f}) scores "
        f"{constant:.3f}; a useful model scores lower."
    )


def _reader(path: str):  # -> Callable[[], bytes]
    """Read the checkpoint only when the student downloads it."""

    def read() -> bytes:
        with open(path, "rb") as handle:
            return handle.read()

    return read
