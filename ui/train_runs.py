"""The Train page's run panels: live progress of the background run, test results, and runs compared."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from protlab.errors import ProtlabError, RunError
from protlab.lessons import result_figures as rf
from ui.common import duration_text, kept, kept_index, run_manager, session_owner

RUN_KEY = "train_run_id"  # session key with the id of this session's latest run
OPTIMIZER_NAMES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "sgd_momentum": "SGD + momentum"}
ACTIVE_STATES = ("queued", "running")  # a run in these states is not over yet
RESULT_METRICS = ["accuracy", "precision", "recall", "f1", "auc", "mcc"]  # rows of the test-metrics table


def run_label(spec: dict) -> str:
    """A short description of a run's settings, e.g. 'Adam, lr 0.001, CNN'."""
    t = spec.get("train_config", {})
    wd = f", wd {t['weight_decay']:g}" if t.get("weight_decay") else ""
    return (f"{OPTIMIZER_NAMES.get(t.get('optimizer'), t.get('optimizer'))}, lr {t.get('lr', 0):g}{wd}, "
            f"{spec.get('model_kind', '?').upper()}, {spec.get('split_method', '?')} split")


def current_run_id() -> str | None:
    """This session's run to show: the one last started here, else its newest run on disk."""
    if st.session_state.get(RUN_KEY):
        return st.session_state[RUN_KEY]
    mine = run_manager().list_runs(session_owner())
    return mine[0]["run_id"] if mine else None


def status_of(run_id: str | None):  # -> RunStatus | None
    """This session's run status, or None if there is no run (or it belongs to someone else)."""
    if not run_id:
        return None
    try:
        return run_manager().status(run_id, session_owner())
    except ProtlabError:
        return None


def start_run(spec) -> None:
    """Start the run, unless this session already has one going (a double-clicked Start adopts that one)."""
    manager, owner = run_manager(), session_owner()
    try:
        st.session_state[RUN_KEY] = manager.start(spec, owner)
    except RunError:
        active = [r for r in manager.list_runs(owner) if r["state"] in ACTIVE_STATES]
        if not active:
            raise
        st.session_state[RUN_KEY] = active[0]["run_id"]


def live_panel(poll: bool) -> None:
    """Progress with ETA, live curves and the epoch table of the current run; polled while it trains."""
    status = status_of(current_run_id())
    if status is None:
        return
    if poll and status.state not in ACTIVE_STATES:
        st.rerun(scope="app")  # the run just ended: redraw the whole page for the results and stop polling
    history = rf.history_frame(status.events)
    if status.state in ACTIVE_STATES:
        detail = ("preparing the data and the model" if status.eta_seconds is None and not status.events
                  else f"about {duration_text(status.eta_seconds)} left")
        text = f"Run {status.run_id}: {status.state} · {status.progress:.0%} · {detail}"
    else:
        took = status.timings.get("seconds")
        text = f"Run {status.run_id}: {status.state}" + (f" in {duration_text(took)}" if took else "")
    st.progress(min(max(float(status.progress), 0.0), 1.0), text=text)
    st.caption(f"{status.name} · data: {status.spec.get('data', '')} · "
               f"{len(history)} of {status.spec['train_config']['epochs']} epochs done")
    if history.empty:
        return
    left, right = st.columns(2)
    left.plotly_chart(rf.loss_curves(history), key="live-loss")
    right.plotly_chart(rf.metric_curves(history), key="live-metrics")
    left, right = st.columns(2)  # half width: the epoch and log-scale ticks need the room
    left.plotly_chart(rf.lr_curve(history), key="live-lr")
    shown = [c for c in ["epoch", "train_loss", "val_loss", "val_auc", "val_mcc", "lr", "seconds", "is_best"]
             if c in history]
    right.dataframe(history[shown], hide_index=True, key="live-table", height=min(340, 35 * len(history) + 38),
                    column_config={
        "epoch": "Epoch", "train_loss": st.column_config.NumberColumn("Train loss", format="%.4f"),
        "val_loss": st.column_config.NumberColumn("Val loss", format="%.4f"),
        "val_auc": st.column_config.NumberColumn("Val AUC", format="%.3f"),
        "val_mcc": st.column_config.NumberColumn("Val MCC", format="%.3f"),
        "lr": st.column_config.NumberColumn("LR", format="%.2e"),
        "seconds": st.column_config.NumberColumn("Time (s)", format="%.1f"),
        "is_best": st.column_config.CheckboxColumn("Best")})


def results_section(status) -> None:
    """Test metrics beside the baseline, confusion matrix with a threshold, ROC and downloads."""
    from protlab.training import compute_metrics, roc_points

    if status.state in ("failed", "interrupted"):
        st.error(f"Run {status.run_id} {status.state}: {status.error}", icon=":material/error:")
    if not status.test_metrics:
        if status.state != "failed":
            st.warning(f"Run {status.run_id} ended ({status.state}) before any epoch finished, so it has no "
                       "test results.", icon=":material/warning:")
        return
    st.header("4 · Results on the held-out test set")
    if status.state == "stopped":
        st.info("You stopped this run early; these results use the best epoch it reached.", icon=":material/info:")
    base = status.baseline or {}
    table = pd.DataFrame({"metric": [rf.METRIC_NAMES.get(n, n) for n in RESULT_METRICS],
                          "your model": [status.test_metrics.get(n) for n in RESULT_METRICS],
                          "majority-class baseline": [base.get(n) for n in RESULT_METRICS]})
    left, right = st.columns([2, 3])
    left.dataframe(table, hide_index=True, key="test-metrics",
                   column_config={c: st.column_config.NumberColumn(format="%.3f") for c in table.columns[1:]})
    majority = {0: "insoluble", 1: "soluble"}.get(base.get("majority_class"), "the larger class")
    right.caption(f"Test set: {int(status.test_metrics.get('n', 0)):,} proteins the model never saw while "
                  f"training. The baseline always answers '{majority}', the larger class in the training set. A "
                  "useful model must beat it, above all on MCC and AUC, which a constant guess cannot improve. "
                  "The table uses threshold 0.5; move the slider below to trade precision for recall.")
    y, p = np.asarray(status.test_labels), np.asarray(status.test_probs)  # (N_test,) int64, float64
    threshold = st.slider("Decision threshold (P(soluble) at or above it counts as soluble)", 0.0, 1.0, 0.5, 0.01,
                          key="result_threshold")
    m = compute_metrics(y, p, threshold=threshold)
    left, right = st.columns(2)
    left.plotly_chart(rf.confusion_figure(int(m["tn"]), int(m["fp"]), int(m["fn"]), int(m["tp"]),
                                          threshold=threshold), key="confusion")
    roc = roc_points(y, p)
    fpr, tpr = m["fp"] / max(m["fp"] + m["tn"], 1), m["tp"] / max(m["tp"] + m["fn"], 1)
    right.plotly_chart(rf.roc_figure(roc["fpr"], roc["tpr"], auc=m["auc"], point=(fpr, tpr)), key="roc")
    st.caption(f"At threshold {threshold:.2f}: accuracy {m['accuracy']:.3f}, precision {m['precision']:.3f}, "
               f"recall {m['recall']:.3f}, F1 {m['f1']:.3f}, MCC {m['mcc']:.3f}.")
    c1, c2, _ = st.columns([1, 1, 1])
    if status.checkpoint_path:
        c1.download_button("Download the trained model (.pt)", _reader(status.checkpoint_path),
                           f"protlab_{status.run_id}.pt", mime="application/octet-stream", on_click="ignore",
                           icon=":material/download:", key="download-model")
    csv = rf.history_frame(status.events).to_csv(index=False).encode()
    c2.download_button("Download per-epoch metrics (CSV)", csv, f"protlab_{status.run_id}_epochs.csv",
                       mime="text/csv", on_click="ignore", icon=":material/download:", key="download-history")


def _reader(path: str):  # -> Callable[[], bytes]
    """Read the checkpoint only when the student downloads it."""
    def read() -> bytes:
        with open(path, "rb") as handle:
            return handle.read()
    return read


def compare_section() -> None:
    """Overlay the curves of several finished runs (e.g. SGD vs Adam vs AdamW, Exercise 4)."""
    manager, owner = run_manager(), session_owner()
    st.header("5 · Compare runs")
    runs = {r["run_id"]: r for r in manager.list_runs(owner) if r["state"] in ("finished", "stopped")}
    if st.toggle("Include finished runs from other sessions on this server", kept("compare_everyone", False),
                 key="compare_everyone",
                 help="For the whole class: compare everyone's finished runs (names only, no owners)."):
        runs.update({r["run_id"]: r for r in manager.list_runs() if r["run_id"] not in runs})
    if len(runs) < 2:
        st.caption("Finish two or more runs (for example SGD + momentum, Adam and AdamW, Exercise 4) to compare "
                   "them here. Every run is kept on disk.")
        return

    def label(run_id: str) -> str:
        clock = f"{run_id[9:11]}:{run_id[11:13]}:{run_id[13:15]}"
        return f"{clock} UTC #{run_id[-4:]} · {runs[run_id]['spec']['name']}"

    chosen = st.multiselect("Runs to overlay", list(runs), default=list(runs)[:3], format_func=label,
                            key="compare")
    histories = {}
    for run_id in chosen:
        try:
            rows = manager.status(run_id, owner).events if runs[run_id].get("owner") else \
                manager.run_history(run_id)
        except ProtlabError:
            continue
        histories[label(run_id)] = rf.history_frame(rows)
    if not histories:
        return
    curves = ["loss", "auc", "mcc", "accuracy"]
    metric = st.radio("Curves", curves, kept_index("compare_metric", curves), horizontal=True, key="compare_metric",
                      format_func=lambda m: "Loss" if m == "loss" else f"Validation {rf.METRIC_NAMES[m]}")
    st.plotly_chart(rf.runs_overlay(histories, metric=metric), key="overlay")
    st.dataframe(rf.runs_table({label(r): runs[r] for r in chosen}, histories), hide_index=True, key="compare-table")
