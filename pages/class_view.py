"""Class results: every run a student chose to share, overlaid and ranked by held-out AUC, refreshed live."""

from __future__ import annotations

import streamlit as st

from ui.class_results import (
    MIN_TEST_PROTEINS,
    class_histories,
    class_rows,
    optimizer_table,
    overlay_figure,
    ranking_table,
    run_names,
)
from ui.common import explain, fragment, run_manager
from ui.identity import student_token
from ui.memory import keep_widgets, kept, kept_index
from ui.router import ensure_router

student_token()  # read the address's token before a first-visit hand-over to app.py drops the query string
ensure_router()

REFRESH_SECONDS = 5  # how often the page asks for the class's newest results
METRICS = ["auc", "loss"]  # curves to overlay: validation AUC, or training and validation loss
SETTING_KEYS = ["class_metric", "class_top"]


def queue_summary() -> None:
    """For the instructor: how busy the training places are."""
    summary = run_manager().queue_summary()
    c1, c2, c3 = st.columns(3)
    c1.metric("Training now", summary.get("running", 0))
    c2.metric("Waiting in the queue", summary.get("queued", 0))
    c3.metric("Training places (workers)", summary.get("workers", 0))


def class_panel() -> None:
    """Queue summary, ranking, overlaid curves and the optimizer comparison of the shared runs."""
    queue_summary()
    rows = class_rows()
    if not rows:
        st.info(
            "No run is shared yet. On **Train a classifier**, tick **Share with the class** under a run: "
            "it appears here within a few seconds.",
            icon=":material/groups:",
        )
        return
    names = run_names(rows)
    histories = class_histories(rows)
    ranking = ranking_table(rows, names, histories)
    st.subheader(f"Ranking by held-out AUC ({len(rows)} shared run{'' if len(rows) == 1 else 's'})")
    number = st.column_config.NumberColumn
    st.dataframe(
        ranking,
        hide_index=True,
        key="class-ranking",
        placeholder="–",  # no test AUC yet, or no setting
        column_config={  # pixel widths: the whole table fits a 1280-pixel-wide window
            "rank": number("#", format="%d", width=30),
            "name": st.column_config.TextColumn("Name", width=92),
            "test AUC": number("Test AUC", format="%.3f", width=68),
            "test proteins": number("Test n", format="%d", width=50, help="Held-out proteins behind the AUC"),
            "test MCC": None,
            "best val AUC": number("Val AUC", format="%.3f", width=62, help="Best validation AUC so far"),
            "model": st.column_config.TextColumn("Model", width=48),
            "optimizer": st.column_config.TextColumn("Optimizer", width=116),
            "learning rate": number("LR", format="%g", width=46),
            "weight decay": number("WD", format="%g", width=38, help="Weight decay"),
            "batch size": number("Batch", format="%d", width=44),
            "epochs": st.column_config.TextColumn("Epochs", width=50),
            "data": st.column_config.TextColumn(
                "Data",
                width=84,
                help="What the run trained on: DeepSol (the bundled set) or the name of the uploaded file",
            ),
            "state": st.column_config.TextColumn("Status", width=90),
            "run_id": None,
        },
    )
    explain(
        "Runs still training have no rank (–) until they have a test AUC. The test set "
        "is 10% of each student's data that their model never saw (*Test n* proteins); runs on the same "
        f"data compare fairly. A test AUC from fewer than {MIN_TEST_PROTEINS} proteins is mostly luck: such "
        "runs get no rank either, stand last, and the optimizer table leaves them out."
    )
    left, right = st.columns([2, 1])
    labels = {"auc": "Validation AUC", "loss": "Loss (dashed: training, solid: validation)"}
    metric = left.radio(
        "Curves",
        METRICS,
        kept_index("class_metric", METRICS),
        horizontal=True,
        key="class_metric",
        format_func=labels.get,
    )
    top = right.slider(
        "Runs in the chart",
        1,
        20,
        kept("class_top", min(8, len(rows)), low=1, high=20),
        key="class_top",
        help="The best runs by held-out AUC; the table above lists every shared run.",
    )
    keep_widgets(SETTING_KEYS)
    shown = {
        names[r]: histories[r]
        for r in ranking["run_id"].head(top)
        if r in histories and not histories[r].empty
    }
    if shown:
        st.plotly_chart(
            overlay_figure(metric, tuple((n, len(h)) for n, h in shown.items()), shown), key="class-overlay"
        )
    st.subheader("Which optimizer did best?")
    st.dataframe(
        optimizer_table(rows),
        hide_index=True,
        key="class-optimizers",
        placeholder="–",  # no run of this optimizer has a test set large enough yet
        column_config={c: number(format="%.3f") for c in ("best test AUC", "median test AUC")},
    )
    explain(
        f"*Runs compared*: finished runs with a test set of at least {MIN_TEST_PROTEINS} proteins; only "
        "these give the best and median test AUC."
    )


def render() -> None:
    """Draw the class view."""
    st.title("6 · Class results")
    st.markdown(
        "Everyone's shared runs side by side: the notes' optimizer comparison (SGD + momentum, Adam, "
        "AdamW), done by the whole class at once. Only runs whose owner ticked **Share with the "
        "class** appear, under the name they chose. The page refreshes by itself."
    )
    fragment(class_panel, run_every=REFRESH_SECONDS)()


render()
