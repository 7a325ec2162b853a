"""The Per-residue prediction page's runs: submit through the class queue, live progress, models to choose."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from protlab.errors import ProtlabError
from protlab.lessons import structure_figures as sf
from ui.common import about_text, literal, run_manager, session_owner
from ui.train_runs import queue_text

TASK = "secondary_structure"  # RunSpec.task of this lesson's runs
RUN_KEY = "structure_run_id"  # session key: the structure run this page shows
ACTIVE = ("queued", "running")  # a run in these states is not over yet
USABLE = ("finished", "stopped")  # runs whose best weights were saved
POLL_SECONDS = 1.0  # how often the live panel asks for news while a run is queued or training
BUNDLED = "Bundled structure model"  # the model choice that means assets/models/structure.pt


def my_structure_runs() -> list[dict]:
    """The student's per-residue runs, newest first."""
    return [r for r in run_manager().list_runs(session_owner()) if (r.get("spec") or {}).get("task") == TASK]


def submit_structure_run(kind: str, config: dict, settings: dict) -> None:
    """Queue a per-residue run through the class's run system."""
    from protlab.runs import RunSpec
    from protlab.training import TrainConfig

    spec = RunSpec(
        name="per-residue MLP (Exercise 1)" if kind == "residue_mlp" else "per-residue CNN",
        task=TASK,
        data_description="CB513 (train/validation) + TS115 (test)",
        split_params={"val_fraction": 0.1, "seed": settings.pop("seed")},
        model_kind=kind,
        model_config=config,
        train_config=TrainConfig(**settings),
    )
    st.session_state[RUN_KEY] = run_manager().submit(spec, session_owner())


def current_status():  # -> RunStatus | None
    """The run the page shows: the one started here, else the newest per-residue run."""
    run_id = st.session_state.get(RUN_KEY)
    if not run_id:
        runs = my_structure_runs()
        run_id = runs[0]["run_id"] if runs else None
    if not run_id:
        return None
    try:
        return run_manager().status(run_id, session_owner())
    except ProtlabError:
        return None


def live_panel(shown_state: str, coil_share: float) -> None:
    """Progress, live loss and Q3 curves (beside always-coil); redraws the page when the run's state moves."""
    status = current_status()
    if status is None:
        return
    if status.state != shown_state:
        st.rerun(scope="app")
    if status.state == "queued":
        waiting = queue_text(status, run_manager().queue_summary())
        st.info(f"{waiting}. It starts by itself; you can switch pages.", icon=":material/hourglass_top:")
        return
    left = (
        f" · {about_text(status.eta_seconds)} left"
        if status.state == "running" and status.eta_seconds
        else ""
    )
    state = "training" if status.state == "running" else status.state
    st.progress(min(max(float(status.progress), 0.0), 1.0), text=f"{state} · {status.progress:.0%}{left}")
    if status.error:
        st.error(literal(status.error), icon=":material/error:")
    if status.batch_losses:
        st.line_chart(
            pd.DataFrame(status.batch_losses),
            x="epoch",
            y="loss",
            height=200,
            x_label="epoch",
            y_label="loss per residue",  # short: a 200-px chart cuts a longer axis title
        )
    if status.events:
        history = pd.DataFrame(status.events)
        st.plotly_chart(sf.q3_curves(history, coil_share), key="ss-live-curves")


def model_choices() -> dict[str, tuple[str, float]]:
    """Models to look at: the bundled one and the student's finished per-residue runs -> (path, mtime)."""
    from protlab.structure import DEFAULT_STRUCTURE_MODEL

    choices = {
        BUNDLED: ("", DEFAULT_STRUCTURE_MODEL.stat().st_mtime if DEFAULT_STRUCTURE_MODEL.exists() else 0.0)
    }
    for run in my_structure_runs():
        path = run.get("checkpoint")
        if run["state"] in USABLE and path and Path(path).is_file():
            q = (run.get("test_metrics") or {}).get("q3")
            kind = (run.get("spec") or {}).get("model_kind")
            arch = "MLP, Exercise 1" if kind == "residue_mlp" else "CNN"
            label = f"My run {run['run_id'][-6:]} · {arch}" + (
                f" (TS115 Q3 {q:.3f})" if isinstance(q, float) else ""
            )
            choices[label] = (str(path), Path(path).stat().st_mtime)
    return choices
