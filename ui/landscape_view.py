"""The Gradient-descent page's 'real network' tab: the loss landscape of a trained CNN, computed by a worker.

The page only asks for the landscape and polls: protlab.lessons.submit_landscape queues a background job in
the run system; while it computes, a fragment refreshes the progress bar; once cached, the slice becomes a
surface the lesson's optimizers step on, like the toy surfaces of the first tab.
"""

from __future__ import annotations

import streamlit as st

from protlab.codegen import slice_code
from protlab.errors import ConfigError, ProtlabError
from protlab.lessons import (
    MAX_STEPS_PER_CALL,
    OPTIMIZER_KINDS,
    OPTIMIZER_LABELS,
    LandscapeResult,
    LandscapeSource,
    OptimizerSpec,
    SliceSettings,
    Trajectory,
    default_source,
    loss_figure,
    request_landscape,
    run_source,
    slice_figure,
    slice_surface,
    submit_landscape,
)
from ui.common import (
    about_text,
    duration_text,
    explain,
    fragment,
    literal,
    pytorch_panel,
    run_manager,
    session_owner,
)
from ui.descent_widgets import (
    map_notes,
    momentum_input,
    optimizer_inputs,
    path_notes,
    path_warnings,
    start_input,
    step_tables,
)

STATE = "rl_state"  # session key: {"key": ..., "surface": Surface, "paths": [...], "steps": int}
POLL_SECONDS = 1.0  # how often the progress of a computing landscape is refreshed
DEFAULT = "default"  # the model choice meaning the bundled default model


def _cnn_runs(owner: str) -> dict[str, str]:
    """The student's solubility CNN runs that saved weights: run id -> label."""
    runs = {}
    for row in run_manager().list_runs(owner):
        spec = row.get("spec") or {}
        if spec.get("model_kind") == "cnn" and spec.get("task", "solubility") == "solubility":
            if row.get("checkpoint") and row.get("state") in ("finished", "stopped"):
                runs[row["run_id"]] = f"Your run: {row['name']}"
    return runs


def _pick_source() -> LandscapeSource:
    """The model selector: the default model's CNN, or one of the student's CNN runs."""
    owner = session_owner()
    runs = _cnn_runs(owner)
    options = [DEFAULT, *runs]
    labels = {DEFAULT: "Default model (its CNN member)", **runs}
    choice = st.selectbox("Trained network", options, format_func=labels.get, key="rl_model")
    if not runs:
        explain("Train a CNN on the Train page and it appears here too, with its path across the landscape.")
    if choice == DEFAULT:
        return default_source()
    return run_source(run_manager(), owner, choice)


DIRECTION_LABELS = {
    "random": "Two random directions (filter-normalised)",
    "path": "The two directions training moved in most (PCA of the kept epochs)",
}


def _read_settings(source: LandscapeSource) -> SliceSettings:
    """Directions, sample size, grid and span of the slice (the defaults: about half a minute, one core)."""
    directions = "random"
    if source.folder is not None:
        directions = st.radio(
            "Directions of the slice", list(DIRECTION_LABELS), format_func=DIRECTION_LABELS.get, key="rl_dirs"
        )
    with st.expander("Slice settings", icon=":material/tune:"):
        c1, c2, c3, c4 = st.columns(4)
        n = c1.number_input("proteins in the sample", 16, 1024, 256, step=64, key="rl_n")
        grid = c2.number_input("grid points per axis", 5, 41, 21, step=2, key="rl_grid")
        span = c3.number_input("span (±)", 0.1, 5.0, 1.0, step=0.25, format="%.2f", key="rl_span")
        seed = c4.number_input("seed (sample, directions)", 0, 10_000, 0, key="rl_seed")
        explain(
            f"The loss is computed at {int(grid) ** 2} weight settings on {int(n)} proteins; "
            "more points or proteins take longer (the defaults take about half a minute on a free core, "
            "a minute or more while the class's other runs share the server; the bar shows the time left)."
        )
    settings = SliceSettings(int(n), int(grid), float(span), int(seed), directions)
    settings.validate()
    return settings


def _progress_panel(source: LandscapeSource, settings: SliceSettings) -> None:
    """The job's progress, refreshed every second; the whole page reruns once the result is there."""
    request = request_landscape(run_manager().root, source, settings)
    if request.state == "ready":
        st.rerun(scope="app")
    if request.state == "queued":
        place = f" (number {request.queue_position} in the queue)" if request.queue_position else ""
        st.progress(0.0, text=f"Waiting for a free worker{place}: training runs of the class go first.")
    elif request.state == "running":
        done = f"{request.progress:.0%}"
        left = f", {about_text(request.eta_seconds)} left" if request.eta_seconds is not None else ""
        st.progress(request.progress, text=f"Computing the landscape: {done} of the grid done{left}.")
    else:
        st.rerun(scope="app")


def _computed(source: LandscapeSource, settings: SliceSettings) -> LandscapeResult | None:
    """The result when cached; otherwise the compute button or the progress of the job."""
    root = run_manager().root
    request = request_landscape(root, source, settings)
    if request.state == "ready":
        return request.result
    if request.state in ("failed", "interrupted"):
        st.error(
            f"Computing the landscape did not finish: {literal(request.error or 'the worker stopped.')}",
            icon=":material/error:",
        )
    if request.state in ("missing", "failed", "interrupted"):
        if st.button("Compute the landscape", key="rl_compute", type="primary", icon=":material/landscape:"):
            request = submit_landscape(root, source, settings)
        else:
            explain(
                "It runs in the background on the class's training workers, so the page stays responsive. "
                "Once computed it is kept for everyone who asks for the same network and settings."
            )
            return None
    active = request.state in ("queued", "running")
    fragment(_progress_panel, run_every=POLL_SECONDS if active else None)(source, settings)
    return None


def _optimizer_specs(surface) -> tuple[list[OptimizerSpec], tuple[float, float]]:
    """Optimizer choices, learning rates and start point for the slice (stable defaults from its slopes)."""
    kinds = st.multiselect(
        "Optimizers to compare",
        OPTIMIZER_KINDS,
        default=list(OPTIMIZER_KINDS),
        format_func=OPTIMIZER_LABELS.get,
        key="rl_optimizers",
    )
    if not kinds:
        raise ConfigError("Pick at least one optimizer in 'Optimizers to compare'; none is selected.")
    cols = st.columns(len(kinds) + 2)
    momentum = momentum_input(cols[-1], "momentum", key="rl_momentum")
    specs = optimizer_inputs(cols, kinds, surface, momentum, label="lr", key=lambda kind: f"rl_lr_{kind}")
    with cols[-2]:
        a = start_input(st, "start α", surface.start[0], step=0.1, key="rl_start_a")
        b = start_input(st, "start β", surface.start[1], step=0.1, key="rl_start_b")
    return specs, (float(a), float(b))


def _paths(key: tuple, surface, specs, start) -> dict:
    """The optimizers' paths on the slice, started afresh when the slice or a setting changed."""
    state = st.session_state.get(STATE)
    if state is None or state["key"] != key:
        state = {"key": key, "paths": [Trajectory(surface, s, start) for s in specs], "steps": 0}
        st.session_state[STATE] = state
    return state


def _step_buttons(state: dict) -> None:
    """Step, Run N and Reset for every path on the slice."""
    c1, c2, c3, c4 = st.columns([1, 1.3, 1.2, 1])
    step = c1.button("Step", key="rl_step", type="primary", width="stretch")
    n = c2.number_input(
        "N", 1, MAX_STEPS_PER_CALL, 20, step=10, key="rl_n_steps", label_visibility="collapsed"
    )
    run = c3.button(f"Run {int(n)} steps", key="rl_run", width="stretch")
    if c4.button("Reset", key="rl_reset", width="stretch"):
        state["paths"] = [Trajectory(p.surface, p.spec, p.start) for p in state["paths"]]
        state["steps"] = 0
    taken = 1 if step else int(n) if run else 0
    for path in state["paths"] if taken else []:
        path.step(taken)
    state["steps"] += taken


def _show(result: LandscapeResult, source: LandscapeSource, settings: SliceSettings) -> None:
    """The slice, the optimizers on it, the training path, and the code."""
    shape = f"{settings.grid} × {settings.grid}"
    st.success(
        f"Slice of {result.label}: {shape} grid on {result.slice.n_proteins} proteins, computed in "
        f"{duration_text(result.seconds)}. Loss at the trained weights: {result.slice.centre_loss:.4f}.",
        icon=":material/landscape:",
    )
    surface = slice_surface(result.slice, f"Loss landscape of {result.label}")
    specs, start = _optimizer_specs(surface)
    state = _paths((source.key, settings, tuple(specs), start), surface, specs, start)
    _step_buttons(state)
    paths = state["paths"]
    for path in paths:
        if path.diverged_at() is not None:
            st.warning(
                f"**{path.spec.label} diverged at step {path.diverged_at()}:** each step overshoots by more "
                "than the last and the loss keeps growing. Lower its learning rate and press Reset.",
                icon=":material/warning:",
            )
    path_warnings(paths)
    st.plotly_chart(
        slice_figure(surface, paths, result.path, result.path_epochs, result.path_losses), key="rl_contour"
    )
    map_notes(paths)
    if settings.directions == "path":
        explain(
            "The centre (orange diamond) is the trained network θ*. Here δ and η are the two directions in "
            "which training moved the weights most (the principal components of the weights after each "
            "kept epoch; Li et al., section 7), so the training path lies almost in this slice. Between the "
            "computed grid points the map is smoothed."
        )
    else:
        explain(
            "The centre (orange diamond) is the trained network θ*. Moving along α changes every filter of "
            "every layer a little, in the random direction δ, scaled so that α = 1 changes each filter by "
            "its own size; β does the same along a second direction η. Between the computed grid points "
            "the map is smoothed."
        )
    if len(result.path) and settings.directions == "path":
        explain(
            f"The dashed line joins the weights after each kept epoch ({len(result.path)} points, "
            "numbered by epoch, 0 = before training). Its height on the map is close to the true loss of "
            "those weights (hover for that), since the path lies nearly in the slice."
        )
    elif len(result.path):
        explain(
            f"The dashed line joins the weights after each kept epoch ({len(result.path)} points, "
            "numbered by epoch), projected onto this slice. The network has thousands of weights and two "
            "random directions are almost perpendicular to the direction training moved in, so the "
            "projection is short and its height on the map is not the true loss of those weights "
            "(hover for that). Choose 'The two directions training moved in most' to see the path."
        )
    elif source.key == DEFAULT:
        explain("The default model kept no per-epoch weights; your own CNN runs draw their training path.")
    else:
        explain("This run kept no per-epoch weights (only small CNN runs do), so no path is drawn.")
    st.plotly_chart(loss_figure(paths), key="rl_loss")
    path_notes(paths)
    explain(
        "The optimizers here move only the two numbers α and β on this slice, not the whole network: "
        "they show how SGD, momentum and Adam behave on the real network's terrain."
    )
    step_tables(paths, key="rl_table", max_height=240)
    first = paths[0].spec
    code = slice_code(
        "default.pt" if source.key == DEFAULT else "model.pt",
        source.member,
        settings.n_proteins,
        settings.grid,
        settings.span,
        settings.seed,
        first.kind,
        first.lr,
        first.momentum,
        paths[0].start,
        settings.directions,
    )
    pytorch_panel(code, title="Show me the PyTorch (the slice, then an optimizer on it)")


def real_landscape_tab() -> None:
    """The tab: pick a trained CNN, compute its loss landscape in the background, descend it."""
    st.markdown(
        "The toy surfaces have two parameters. A real network has thousands, so we look at a **2-D slice** "
        "through its weights, along two directions around the trained weights (Li et al., 2018, "
        "*Visualizing the Loss Landscape of Neural Nets*)."
    )
    try:
        source = _pick_source()
        settings = _read_settings(source)
        result = _computed(source, settings)
        if result is not None:
            _show(result, source, settings)
    except ProtlabError as err:
        st.error(literal(err), icon=":material/block:")
