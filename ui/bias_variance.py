"""The Bias and variance page's panels: the sweep's plan and progress, and its results."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from protlab.errors import ProtlabError, RunError
from ui.common import fragment, literal, run_manager, session_owner, student_store
from ui.train_runs import POLL_SECONDS, queue_text

SWEEP_FLAG = "bias_variance_sweep"  # student-store key (and session key): the preset whose sweep is going
FINISHED_SEEN = "_bv_finished_seen"  # session key: finished points when the page last drew its results
ACTIVE = ("queued", "running")
STATE_TEXT = {
    "not started": "not run yet",  # before the sweep starts, and while earlier points train
    "queued": "queued",
    "running": "training",
    "finished": "finished",
    "stopped": "stopped",
    "failed": "failed",
    "cancelled": "cancelled",
    "interrupted": "interrupted",
}


def running_sweep() -> str:
    """The preset whose sweep is going for this student ('' when none; remembered across reloads)."""
    if SWEEP_FLAG not in st.session_state:
        try:
            saved = student_store().load(session_owner(), SWEEP_FLAG, "")
        except (ProtlabError, OSError):
            saved = ""
        st.session_state[SWEEP_FLAG] = saved if isinstance(saved, str) else ""
    return st.session_state[SWEEP_FLAG]


def sweep_on(preset: str) -> bool:
    """Whether the student's sweep of this preset is going."""
    return running_sweep() == preset


def set_sweep(preset: str) -> None:
    """Advance this preset's sweep from now on ('' stops advancing), in this session and on disk."""
    st.session_state[SWEEP_FLAG] = preset
    try:
        student_store().save(session_owner(), SWEEP_FLAG, preset)
    except (ProtlabError, OSError):
        pass  # remembered in this session only


def start_sweep(points, preset: str) -> None:
    """Run the sweep: submit its first missing point (failed or stopped ones again) and keep going."""
    from protlab.lessons import advance_sweep

    set_sweep(preset)
    advance_sweep(run_manager(), session_owner(), points, retry=True)


def stop_sweep(points) -> None:
    """Stop advancing and stop the sweep point that is queued or training (finished points are kept)."""
    from protlab.lessons import match_runs

    set_sweep("")
    manager, owner = run_manager(), session_owner()
    for row in match_runs(points, manager.list_runs(owner)).values():
        if row["state"] in ACTIVE:
            manager.stop(row["run_id"], owner)


def _numbers(column: pd.Series) -> pd.Series:
    """Losses as text with 3 decimals (never -0.000), '–' where a run has none yet."""
    from protlab.lessons.bias_variance_reading import number_text

    return column.map(lambda v: "–" if pd.isna(v) else number_text(v))


def _table_view(table: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The plan as the student reads it, each width with the network it stands for."""
    from protlab.lessons.bias_variance_reading import sweep_shape

    view = pd.DataFrame(
        {
            "width": table["width"],
            "network": [sweep_shape(kind, int(w)) for w in table["width"]],
            "training proteins": table["n_train"],
            "parameters": table["parameters"],
            "state": table["state"].map(STATE_TEXT),
            "epochs": table["epochs_done"],
            "final training loss": _numbers(table["train_loss"]),
            "final validation loss": _numbers(table["val_loss"]),
            "gap": _numbers(table["gap"]),
        }
    )
    return view


def progress_panel(points, shown_finished: int, preset: str) -> None:
    """Advance the sweep (one run at a time), show each point's state; redraw the page when one finishes."""
    from protlab.lessons import advance_sweep, sweep_results

    manager, owner = run_manager(), session_owner()
    if sweep_on(preset):
        try:
            advance_sweep(manager, owner, points)
        except RunError as err:  # the queue is full, or the class epoch cap changed: say so, keep the page
            set_sweep("")
            st.error(literal(err), icon=":material/error:")
    table, _ = sweep_results(manager, owner, points)
    finished = int((table["state"] == "finished").sum())
    active = table[table["state"].isin(ACTIVE)]
    if finished != shown_finished:
        st.rerun(scope="app")  # a point finished: the result plots change
    if sweep_on(preset) and active.empty and not _other_run_active(manager, owner):
        set_sweep("")  # nothing left to submit: the sweep is over
        st.rerun(scope="app")
    st.progress(finished / len(points), text=f"{finished} of {len(points)} runs of the sweep finished")
    for _, row in active.iterrows():
        status = manager.status(row["run_id"], owner)
        if status.state == "queued":
            st.info(queue_text(status, manager.queue_summary()), icon=":material/hourglass_top:")
        else:
            done = "its epochs are done; scoring and saving" if status.progress >= 1 else "of its epochs"
            st.caption(
                f":material/model_training: Training width {row['width']} on {row['n_train']} proteins: "
                f"{status.progress:.0%} {done}."
            )
    for _, row in table[table["state"] == "failed"].iterrows():
        st.warning(
            f"Width {row['width']} on {row['n_train']} proteins failed: {literal(row['error'])} "
            "Run the sweep again to retry it.",
            icon=":material/warning:",
        )
    if sweep_on(preset) and active.empty and _other_run_active(manager, owner):
        st.info(
            "Your run on the Train page is going; the sweep goes on by itself when it ends.",
            icon=":material/hourglass_top:",
        )
    number = st.column_config.NumberColumn
    st.dataframe(
        _table_view(table, points[0].spec.model_kind),
        hide_index=True,
        width="stretch",
        column_config={
            "width": number("width w", help="The model size this run trains: see its network"),
            "training proteins": number(format="localized"),
            "parameters": number(format="localized"),
        },
    )


def _other_run_active(manager, owner: str) -> bool:
    """Whether the student has a run going that is not part of this sweep (the sweep waits for it)."""
    return any(r["state"] in ACTIVE for r in manager.list_runs(owner))


def live_progress(points, shown_finished: int, preset: str) -> None:
    """The progress panel, polling every few seconds while the sweep is going."""
    poll = POLL_SECONDS if sweep_on(preset) else None
    fragment(progress_panel, run_every=poll)(points, shown_finished, preset)


def _points(unit: str, values: list) -> str:
    """'width 64', 'widths 1 and 4' or '36 and 72 training proteins'."""
    shown = [f"{v:,}" for v in values]
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    if unit == "width":
        return f"{unit}{'s' if len(shown) > 1 else ''} {listed}"
    return f"{listed} {unit}"


def region_sentence(table: pd.DataFrame, regions, column: str, unit: str) -> str:
    """What the shading marks, in words, from the data."""
    ordered = table.dropna(subset=["train_loss", "val_loss"]).sort_values(column)
    values = ordered[column].tolist()
    best = values[regions.best]
    under = [v for v, label in zip(values, regions.labels) if label == "under-fit"]
    over = [v for v, label in zip(values, regions.labels) if label == "over-fit"]
    parts = [f"Lowest validation loss: {_points(unit, [best])}."]
    if under:
        parts.append(f"Under-fitting (both losses high): {_points(unit, under)}.")
    if over:
        parts.append(f"Over-fitting (the gap grows): {_points(unit, over)}.")
    if not under and not over:
        parts.append("No point stands out as under- or over-fitting at this scale.")
    return " ".join(parts)


def finite_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Finished points with both final losses."""
    done = table[table["state"] == "finished"]
    keep = [math.isfinite(t) and math.isfinite(v) for t, v in zip(done["train_loss"], done["val_loss"])]
    return done[keep]
