"""The Train page's run panels: the student's runs, the queue, live progress, and sharing with the class."""

from __future__ import annotations

import hashlib
import math

import pandas as pd
import streamlit as st

from protlab.errors import ProtlabError, RunError
from protlab.lessons import add_reference_lines, reference_lines, validation_below_training
from protlab.lessons import result_figures as rf
from protlab.lessons.run_curves import best_epoch
from ui.common import about_text, duration_text, literal, run_manager, session_owner, student_store
from ui.run_labels import (
    STATE_NAMES,
    clean_display_name,
    clock,
    created_at,
    differing,
    run_title,
    unique_titles,
)

RUN_KEY = "train_run_id"  # session key with the id of the run the page shows
PICKER_KEY = "shown_run"  # widget key prefix of the "Your runs" choice
PICKER_LABEL = "Your runs"  # its label (tests find it by this)
ACTIVE_STATES = ("queued", "running")  # a run in these states is not over yet
RERUN_STATES = ("interrupted", "failed", "stopped", "cancelled")  # states offering "Run again"
POLL_SECONDS = 2.0  # how often the live panel asks for news while a run is queued or training
DISPLAY_NAME = "display_name"  # store key and widget key of the name shown to the class
LR_NOTE = {  # beside the learning-rate chart, by schedule
    "plateau": "Reduce on plateau: the learning rate halves after a few epochs without a lower validation "
    "loss, so the steps get finer once progress stalls.",
    "warmup": "Linear warm-up: the learning rate climbs from almost 0 over the first steps of the run, then "
    "stays at the chosen rate. The chart shows its value at the end of each epoch.",
    "none": "Constant: the learning rate stays at the chosen value for the whole run.",
}


def my_runs() -> list[dict]:
    """The student's solubility runs, newest first (per-residue runs live on the Per-residue page)."""
    return [
        r
        for r in run_manager().list_runs(session_owner())
        if (r.get("spec") or {}).get("task", "solubility") == "solubility"
    ]


def current_run_id() -> str | None:
    """The run to show: the one chosen or started here, else the student's newest run."""
    if st.session_state.get(RUN_KEY):
        return st.session_state[RUN_KEY]
    mine = my_runs()
    return mine[0]["run_id"] if mine else None


def status_of(run_id: str | None):  # -> RunStatus | None
    """The student's run status, or None if there is no run (or it belongs to someone else)."""
    if not run_id:
        return None
    try:
        return run_manager().status(run_id, session_owner())
    except ProtlabError:
        return None


def submit_run(spec) -> None:
    """Queue the run, unless the student already has one going (a double-clicked Start adopts that one)."""
    manager, owner = run_manager(), session_owner()
    try:
        st.session_state[RUN_KEY] = manager.submit(spec, owner)
    except RunError:
        active = [r for r in manager.list_runs(owner) if r["state"] in ACTIVE_STATES]
        if not active:
            raise
        st.session_state[RUN_KEY] = active[0]["run_id"]


def run_again(run_id: str) -> None:
    """Submit the same settings again and show the new run."""
    st.session_state[RUN_KEY] = run_manager().rerun(run_id, session_owner())


def run_picker(status=None) -> None:
    """Choose which of the student's runs the page shows (newest first); a new run is shown at once.

    status: the shown run's RunStatus, read just before; its state names that run (the list may be older).
    The widget's key changes with the labels: a browser keeps showing a selectbox's old label when only the
    label of the chosen option changes (a run that just finished, or got its test AUC).
    """
    runs = my_runs()
    if len(runs) < 2:
        return
    differ = differing(runs)
    titles = unique_titles(
        runs,
        title=lambda r: f"{clock(created_at(r))} · {run_title(r, differ=differ)}".lstrip(" ·"),
        stamp=False,
    )
    ids = [r["run_id"] for r in runs]
    states = {r["run_id"]: STATE_NAMES.get(r["state"], r["state"]) for r in runs}
    if status is not None and status.run_id in states:
        states[status.run_id] = STATE_NAMES.get(status.state, status.state)
    labels = {i: f"{titles[i]} · {states[i]}" for i in ids}
    key = f"{PICKER_KEY}_{hashlib.sha1(repr(sorted(labels.items())).encode()).hexdigest()[:10]}"
    current = current_run_id()
    st.selectbox(
        PICKER_LABEL,
        ids,
        index=ids.index(current) if current in ids else 0,
        key=key,
        on_change=_picked,
        args=(key,),
        format_func=labels.get,
    )


def _picked(key: str) -> None:
    """Widget callback: show the run the student chose."""
    st.session_state[RUN_KEY] = st.session_state[key]


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def wait_text(seconds: float | None) -> str:
    """'about 4 min', 'less than a minute', or nothing when the wait is unknown."""
    if seconds is None or math.isnan(seconds):
        return ""
    if seconds < 60:
        return "less than a minute"
    return f"about {round(seconds / 60)} min"


def queue_text(status, summary: dict) -> str:
    """'Queued: 7th in line, about 4 min', or 'Starting ...' when a place is free and the run is next."""
    starts = not summary.get("error") and not summary.get("closed")  # workers are up and taking runs
    free = starts and summary.get("running", 0) < summary.get("workers", 0)
    if free and (status.queue_position or 1) == 1:  # a worker takes it within its next poll
        return "Starting: a training place is free, so your run begins in a moment"
    place = (
        f"{ordinal(status.queue_position)} in line" if status.queue_position else "waiting for a free place"
    )
    wait = wait_text(status.queue_wait_seconds) or "the wait is estimated once a first run has finished"
    return f"Queued: {place}, {wait}"


def live_panel(shown_state: str) -> None:
    """Queue place, or progress with ETA and live curves; redraws the page when the run changes state."""
    status = status_of(current_run_id())
    if status is None:
        return
    if status.state != shown_state:
        st.rerun(scope="app")  # started, ended, cancelled: the buttons and the results change with it
    title = run_title(status, with_auc=False)
    if status.state == "queued":
        summary = run_manager().queue_summary()
        st.info(queue_text(status, summary), icon=":material/hourglass_top:")
        st.caption(
            f"{literal(title)}. Training now: {summary['running']} of {summary['workers']} places; waiting: "
            f"{summary['queued']}. Your run starts by itself when its turn comes: you can switch "
            f"pages or close this tab meanwhile. Run {status.run_id}."
        )
        return
    history = rf.history_frame(status.events)
    epochs = status.spec.get("train_config", {}).get("epochs", "?")
    if status.state in ACTIVE_STATES:
        text = f"{title}: training · {status.progress:.0%} · {progress_detail(status, len(history), epochs)}"
    else:
        took = (status.timings or {}).get("seconds")
        text = f"{title}: {status.state}" + (f" in {duration_text(took)}" if took else "")
    st.progress(min(max(float(status.progress), 0.0), 1.0), text=text)
    st.caption(
        f"Data: {literal(status.spec.get('data', ''))} · {len(history)} of {epochs} epochs done · "
        f"run {status.run_id}"
    )
    batch_loss_chart(status.batch_losses)
    if history.empty:
        return
    base_accuracy = (status.baseline or {}).get("accuracy")
    loss, metrics, lr = epoch_figures(status.run_id, len(history), base_accuracy, history)
    left, right = st.columns(2)
    left.plotly_chart(loss, key="live-loss")
    right.plotly_chart(metrics, key="live-metrics")
    left, right = st.columns(2)  # half width: the epoch and log-scale ticks need the room
    left.plotly_chart(lr, key="live-lr")
    right.caption(LR_NOTE.get(status.spec.get("train_config", {}).get("scheduler"), ""))
    if validation_below_training(history):
        right.caption(below_training_note((status.spec.get("model_config") or {}).get("dropout")))
    epoch_table(st, history)  # full width: every column fits at 1280 px


def below_training_note(dropout: object) -> str:
    """Why the validation loss can sit below the training loss, naming the run's dropout when it has one."""
    reasons = (
        f"this model drops {dropout:.0%} of its units at random while it trains (dropout), but none while "
        "it is validated; and "
        if isinstance(dropout, (int, float)) and dropout > 0
        else ""
    )
    return (
        "**Validation loss below the training loss?** That is common early on: "
        f"{reasons}each epoch's training loss averages batches from the whole epoch, including the early "
        "ones when the model was worse, "
        "while the validation loss measures the model at the epoch's end. It is not a sign that validation "
        "proteins leaked into training."
    )


def progress_detail(status, n_done: int, epochs: object) -> str:
    """What a running run is doing: preparing, time left, or scoring the test set once every epoch is done."""
    if status.eta_seconds is None and not status.batch_losses:
        return "preparing the data and the model"
    if status.progress >= 0.999 or (isinstance(epochs, int) and n_done >= epochs):
        return "epochs done; scoring the test set and saving the best model (results follow here)"
    return f"{about_text(status.eta_seconds)} left"


@st.cache_resource(show_spinner=False, max_entries=256)
def epoch_figures(run_id: str, n_epochs: int, base_accuracy: float | None, _history: pd.DataFrame) -> tuple:
    """Loss, validation-metric and learning-rate figures of a run's first n_epochs epochs.

    The metric curves carry reference lines: the majority-class baseline (its accuracy once the test set is
    scored) and DeepSol's published scores. Built once per new epoch and shared by every poll of every page
    showing the run: building plotly figures is the costly part of a poll, and these only change when an
    epoch ends.
    """
    metrics = rf.metric_curves(_history)
    base = None if base_accuracy is None else {"accuracy": base_accuracy}
    lines = reference_lines(rf.VAL_METRICS, base)
    add_reference_lines(metrics, lines, n_epochs, rf.METRIC_COLOURS, legend_columns=1)  # a half-width chart
    return rf.loss_curves(_history), metrics, rf.lr_curve(_history)


def batch_loss_chart(points: list[dict] | None) -> None:
    """Training loss every few batches: a curve that moves from the first minute of the first epoch."""
    if not points:
        return
    frame = pd.DataFrame(points)
    if not {"epoch", "loss"} <= set(frame.columns):
        return
    st.markdown("**Training loss, batch by batch**")
    st.vega_lite_chart(
        frame[["epoch", "loss"]],
        {
            # points too: a small run logs only a few, and a line through one point draws nothing
            "mark": {"type": "line", "color": rf.TRAIN_COLOUR, "tooltip": True, "point": len(frame) <= 50},
            "encoding": {
                "x": {"field": "epoch", "type": "quantitative", "title": "Epoch", "axis": {"format": "~g"}},
                "y": {
                    "field": "loss",
                    "type": "quantitative",
                    "title": "Training loss",
                    "scale": {"zero": False},
                    "axis": {"format": ".3~f"},
                },
            },
            "height": 220,
        },
        key="batch-loss",
    )
    st.caption(
        "Each point is the loss of a few training batches, so the curve moves from the first minute. "
        "It is noisy because every batch holds different proteins; the epoch curves below smooth it."
    )


def epoch_table(where, history: pd.DataFrame) -> None:
    """One row per finished epoch."""
    shown = [
        c for c in ["epoch", "train_loss", "val_loss", "val_auc", "val_mcc", "lr", "seconds"] if c in history
    ]
    table = history[shown].copy()
    best = best_epoch(history)  # the starred epoch of the charts: its weights are the ones kept
    table["best"] = ["★ best" if best is not None and int(e) == best else "" for e in history["epoch"]]
    where.dataframe(
        table,
        hide_index=True,
        key="live-table",
        height=min(340, 35 * len(history) + 38),
        column_config={
            "epoch": "Epoch",
            "train_loss": st.column_config.NumberColumn("Train loss", format="%.4f"),
            "val_loss": st.column_config.NumberColumn("Val loss", format="%.4f"),
            "val_auc": st.column_config.NumberColumn("Val AUC", format="%.3f"),
            "val_mcc": st.column_config.NumberColumn("Val MCC", format="%.3f"),
            "lr": st.column_config.NumberColumn("LR", format="%.2e"),
            "seconds": st.column_config.NumberColumn("Time (s)", format="%.1f"),
            "best": st.column_config.TextColumn(
                "Best", help="The epoch with the lowest validation loss: the run keeps its weights."
            ),
        },
    )


def _sharing_changed(run_id: str) -> None:
    """Widget callback: share or unshare the run under the typed name, and remember the name."""
    shared = bool(st.session_state.get(f"share_{run_id}"))
    name = clean_display_name(st.session_state.get(DISPLAY_NAME))
    try:
        run_manager().set_sharing(run_id, session_owner(), shared, name)
        student_store().save(session_owner(), DISPLAY_NAME, name)
    except (ProtlabError, OSError) as err:
        st.session_state["_share_error"] = str(err)


def share_controls(status) -> None:
    """'Share with the class' for one run, with the name the class sees; nothing shared without the tick."""
    if status.state in ("failed", "cancelled"):
        return
    if DISPLAY_NAME not in st.session_state:
        saved = student_store().load(session_owner(), DISPLAY_NAME, "")
        st.session_state[DISPLAY_NAME] = status.display_name or (saved if isinstance(saved, str) else "")
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    left.checkbox(
        "Share with the class",
        value=bool(status.shared),
        key=f"share_{status.run_id}",
        on_change=_sharing_changed,
        args=(status.run_id,),
        help="Your curves, settings and test AUC appear on the Class results page under the name "
        "you give. Untick to take them back.",
    )
    right.text_input(
        "Name shown to the class",
        key=DISPLAY_NAME,
        max_chars=40,
        placeholder="e.g. Team Otter (no real name needed)",
        on_change=_sharing_changed,
        args=(status.run_id,),
    )
    if error := st.session_state.pop("_share_error", None):
        st.error(literal(error), icon=":material/error:")
    elif status.shared:
        st.caption(":material/groups: Shared: this run is on the **Class results** page.")


def epoch_cap() -> int | None:
    """The class's largest number of epochs per run (None: no cap)."""
    settings = getattr(run_manager(), "settings", None)
    if settings is None:
        from protlab.runs import ClassSettings

        settings = ClassSettings.from_env()
    return settings.epoch_cap
