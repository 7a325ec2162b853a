"""The Train page's run section: start, stop and run again, the live panel, sharing and results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from protlab.errors import ProtlabError
from ui.common import about_text, duration_text, fragment, literal, run_manager, session_owner
from ui.run_labels import settings_text
from ui.run_results import results_section
from ui.train_data import sample_rows
from ui.train_runs import (
    ACTIVE_STATES,
    POLL_SECONDS,
    RERUN_STATES,
    current_run_id,
    live_panel,
    run_again,
    run_picker,
    share_controls,
    status_of,
    submit_run,
)

START_PRESSED = "start_pressed"  # session key: Start was clicked; the run is queued in this rerun
START_ERROR = "start_error"  # session key: why the run could not be queued (shown under the buttons)


@dataclass(frozen=True)
class TrainChoices:
    """What the Train page's sections chose: the run is built from it, and so is its PyTorch script."""

    source: str  # "bundled" (DeepSol) or the uploaded file's name
    sample: int | None  # rows drawn at random before splitting; None keeps every row
    split: tuple[str, float]  # ("stratified" or "homology", identity for a homology split)
    kind: str  # model kind: "cnn" or "dual"
    model_config: dict  # the model's widths, kernel, ...
    train_config: Any  # protlab.training.TrainConfig
    label_cutoff: float | None = None  # labels that are measurements: soluble at or above this value


def build_spec(data, choices: TrainChoices):  # -> protlab.runs.RunSpec
    """Bundle every choice into the RunSpec the background worker runs (data already validated in memory)."""
    from protlab.runs import RunSpec

    c = choices
    rows = sample_rows(data, c.sample, c.train_config.seed)
    where = "bundled DeepSol" if c.source == "bundled" else f"uploaded {c.source}"
    where += "" if c.label_cutoff is None else f" (soluble at {c.label_cutoff:g} and above)"
    sampled = f" sampled from {len(data):,}" if len(rows) < len(data) else ""
    spec = RunSpec(
        data=rows,
        data_description=f"{where}, {len(rows):,} rows{sampled}",
        split_method=c.split[0],
        split_params={"identity": c.split[1]} if c.split[0] == "homology" else {},
        model_kind=c.kind,
        model_config=c.model_config,
        train_config=c.train_config,
    )
    spec.name = settings_text(spec.summary())
    return spec


def script_for(choices: TrainChoices) -> str:
    """The runnable PyTorch script for these settings."""
    from protlab.codegen import TrainScriptSettings, training_script

    c = choices
    return training_script(
        TrainScriptSettings(
            data_source=c.source,
            label_cutoff=c.label_cutoff,
            sample_size=c.sample,
            split_method=c.split[0],
            identity=c.split[1],
            model_kind=c.kind,
            model_config=c.model_config,
            train_config=c.train_config.to_dict(),
        )
    )


def run_buttons(status, spec_of) -> None:
    """Start (submits spec_of()), Stop or Cancel, and Run again for a run that ended early."""
    active = status is not None and status.state in ACTIVE_STATES
    c1, c2, c3, _ = st.columns([1, 1, 1, 2])
    c1.button(
        "Start training",
        type="primary",
        disabled=active,
        key="start",
        icon=":material/play_arrow:",
        on_click=_start_pressed,
    )
    if error := st.session_state.pop(START_ERROR, None):
        st.error(literal(error), icon=":material/error:")
    queued = status is not None and status.state == "queued"
    if c2.button(
        "Cancel" if queued else "Stop",
        disabled=not active,
        key="stop",
        icon=":material/close:" if queued else ":material/stop:",
    ):
        try:
            run_manager().stop(status.run_id, session_owner())
        except ProtlabError as err:
            st.error(literal(err), icon=":material/error:")
        if not queued:
            st.toast(
                "Stopping after the current batch; the best weights so far are kept.", icon=":material/stop:"
            )
        st.rerun()
    if (
        status is not None
        and status.state in RERUN_STATES
        and c3.button(
            "Run again",
            key="rerun",
            icon=":material/replay:",
            help="Queue a new run with exactly these settings.",
        )
    ):
        try:
            run_again(status.run_id)
            st.rerun()
        except ProtlabError as err:
            st.error(literal(err), icon=":material/error:")


def _start_pressed() -> None:
    """Button callback, before the page reruns: say at once that the click was heard (queued below)."""
    st.session_state[START_PRESSED] = True
    st.toast("Start pressed: queuing your run...", icon=":material/hourglass_top:")


def start_if_pressed(spec_of) -> None:
    """Queue the run when Start was pressed in this rerun; the status read next shows it (no second rerun)."""
    if not st.session_state.pop(START_PRESSED, False):
        return
    try:
        submit_run(spec_of())
    except ProtlabError as err:  # a full queue, the epoch cap: say so, keep the rest of the page
        st.session_state[START_ERROR] = str(err)


def run_section(spec_of, choices: TrainChoices, n_rows: int) -> None:
    """The student's runs, the expected time, the buttons, live progress while a run goes, its results."""
    st.header("4 · Train")
    start_if_pressed(spec_of)
    status = status_of(current_run_id())
    run_picker(status)
    if status is None or status.state not in ACTIVE_STATES:  # a running run shows its own time left
        ended = None if status is None else status.run_id  # a run that just ended counts at once
        epochs = choices.train_config.epochs
        st.caption(time_estimate_text(choices.kind, choices.model_config, n_rows, epochs, ended))
    run_buttons(status, spec_of)
    if status is None:
        return
    active = status.state in ACTIVE_STATES
    fragment(live_panel, run_every=POLL_SECONDS if active else None)(status.state)
    share_controls(status)
    if not active:
        results_section(status)


@st.cache_data(ttl=20, max_entries=64, show_spinner=False)
def _timings(root: str, kind: str, model_config: dict, ended: str | None) -> list:  # ended: part of the key
    """The newest finished runs' timings with this model (read again every 20 s, or when ended changes)."""
    from protlab.runs import recent_timings

    return recent_timings(root, kind, model_config)


def time_estimate_text(
    kind: str, model_config: dict, n_rows: int, epochs: int, ended: str | None = None
) -> str:
    """'Expected time once it starts: about 2 min 10 s ...', from this server's finished runs (ended: the
    student's newest ended run, so that its own time counts as soon as it ends)."""
    from protlab.runs import estimate_run_time

    timings = _timings(str(run_manager().root), kind, model_config, ended)
    estimate = estimate_run_time(timings, n_rows, epochs)
    if estimate is None:
        return (
            ":material/timer: No time estimate yet: no run with this model and these settings has finished "
            "on this server. Once your run's first epoch ends, it shows how long the rest will take."
        )
    runs = "run" if estimate.based_on == 1 else f"{estimate.based_on} runs"
    return (
        f":material/timer: Expected time once it starts: **{about_text(estimate.seconds)}** "
        f"({epochs} epoch(s) of {n_rows:,} proteins at {about_text(estimate.per_epoch)} each, plus "
        f"{duration_text(estimate.startup)} to start and test), measured on this server from the last {runs} "
        "of this model. Early stopping can end it sooner; a busy class queue adds a wait before it starts."
    )
