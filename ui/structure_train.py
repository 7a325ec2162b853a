"""The Per-residue prediction page's Train tab: settings, Start / Stop and the live panel of the shown run."""

from __future__ import annotations

import streamlit as st

from protlab.errors import ProtlabError
from ui.common import explain, fragment, literal, run_manager, session_owner
from ui.structure_cache import task_data
from ui.structure_runs import ACTIVE, POLL_SECONDS, USABLE, current_status, live_panel, submit_structure_run
from ui.structure_settings import ARCHITECTURES, BATCH_SIZES, LRS


def train_tab(kind: str, config: dict) -> None:
    """Training settings, Start / Stop, live curves: the same queue and workers as the solubility runs."""
    short = ARCHITECTURES[kind].split(":")[0]
    st.caption(f"Trains the model set in *The model*: {short}.")
    c1, c2, c3, c4 = st.columns(4)
    settings = {
        "epochs": int(c1.number_input("Epochs", 1, 60, 15, key="ss_epochs")),
        "lr": float(c2.select_slider("Learning rate", LRS, 2e-3, key="ss_lr")),
        "batch_size": int(c3.select_slider("Batch size (proteins)", BATCH_SIZES, 16, key="ss_bs")),
        "seed": int(c4.number_input("Seed", 0, 10_000, 42, key="ss_seed")),
        "optimizer": "adamw",
        "weight_decay": 0.01,
        "patience": 5,
    }
    explain(
        "AdamW, early stopping after 5 epochs without a lower validation loss; the validation proteins are "
        "10% of CB513. The loss and Q3 count resolved residues only."
    )
    status = current_status()
    active = status is not None and status.state in ACTIVE
    b1, b2, _ = st.columns([1, 1, 3])
    if b1.button(
        "Start training", type="primary", disabled=active, key="ss_start", icon=":material/play_arrow:"
    ):
        try:
            submit_structure_run(kind, config, settings)
            st.rerun()
        except ProtlabError as err:  # a full queue, one run at a time, ...
            st.error(literal(err), icon=":material/error:")
    if b2.button("Stop", disabled=not active, key="ss_stop", icon=":material/stop:"):
        try:
            run_manager().stop(status.run_id, session_owner())
        except ProtlabError as err:
            st.error(literal(err), icon=":material/error:")
        st.rerun()
    if status is not None:
        data, split = task_data()
        counts = data.subset(split.val).class_counts()  # the chart's Q3 is on these validation proteins
        coil = counts["C"] / sum(counts.values())
        fragment(live_panel, run_every=POLL_SECONDS if active else None)(status.state, coil)
        if status.state in USABLE and status.test_metrics:
            st.success(
                f"Test Q3 on TS115: **{status.test_metrics['q3']:.3f}** (always-coil baseline "
                f"{(status.baseline or {}).get('q3', float('nan')):.3f}). Choose this run as the model "
                "above to see its results and predictions.",
                icon=":material/check_circle:",
            )
