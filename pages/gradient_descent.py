"""Lesson 2: gradient descent on 2-D loss landscapes, and autograd checked against calculus by hand."""

from __future__ import annotations

import streamlit as st

from protlab.checks import IntRange
from protlab.codegen import descent_code
from protlab.errors import ConfigError, ProtlabError
from protlab.lessons import (
    MAX_STEPS_PER_CALL,
    OPTIMIZER_KINDS,
    OPTIMIZER_LABELS,
    SURFACES,
    Trajectory,
    contour_figure,
    loss_figure,
)
from protlab.lessons.descent_figures import LOG_DECADES, needs_log_scale
from protlab.lessons.descent_reading import divergence_note
from protlab.lessons.landscape import START_RANGE
from ui.autograd_tab import autograd_tab
from ui.common import explain, literal, pytorch_panel
from ui.descent_widgets import (
    LR_OFFERED,
    MOMENTUM_OFFERED,
    map_notes,
    momentum_input,
    optimizer_inputs,
    path_notes,
    path_warnings,
    start_input,
    step_tables,
)
from ui.landscape_view import real_landscape_tab
from ui.router import ensure_router
from ui.url_state import (
    UrlParam,
    choice,
    copy_link,
    float_value,
    int_value,
    list_fmt,
    list_value,
    read_url,
    write_url,
)

ensure_router()

STATE = "gd_state"  # session-state key holding {"settings": ..., "paths": [...], "steps": int}
RESTARTED_KEY = "_gd_restarted"  # session key: steps cleared because a setting changed, said once
LINKED_STEPS_KEY = "_gd_linked_steps"  # session key: steps a link asks for, until the paths take them
LINKED_STEPS = 5 * MAX_STEPS_PER_CALL  # most steps a link may ask for


def read_settings():
    """Draw the controls and return (surface, specs, start) as the student set them."""
    left, right = st.columns([3, 2])
    with left:
        key = st.selectbox(
            "Loss landscape", list(SURFACES), format_func=lambda k: SURFACES[k].title, key="gd_surface"
        )
        surface = SURFACES[key]
        explain(surface.description)
        kinds = st.multiselect(
            "Optimizers to compare",
            OPTIMIZER_KINDS,
            default=list(OPTIMIZER_KINDS),
            format_func=OPTIMIZER_LABELS.get,
            key="gd_optimizers",
        )
        explain(
            "SGD steps straight downhill. Momentum keeps part of its previous step, like a ball rolling. "
            "Adam scales each parameter's step by how large its recent gradients were."
        )
    with right:
        c1, c2 = st.columns(2)
        names = [f"start {label.split(':')[0]}" for label in surface.axis_labels]
        start = (
            start_input(c1, names[0], surface.start[0], step=0.5, key=f"gd_start1_{key}"),
            start_input(c2, names[1], surface.start[1], step=0.5, key=f"gd_start2_{key}"),
        )
        momentum = momentum_input(st, "momentum (SGD + momentum only)", key="gd_momentum")
    lr_cols = st.columns(max(1, len(kinds)))
    specs = optimizer_inputs(
        lr_cols, kinds, surface, momentum, label="learning rate", key=lambda kind: f"gd_lr_{key}_{kind}"
    )
    explain(
        "The learning rate is the step size. Too small and nothing seems to happen; too large and the path "
        "overshoots the valley and flies off. Try making it 10 times bigger and watch."
    )
    return surface, specs, (float(start[0]), float(start[1]))


def current_paths(surface, specs, start) -> dict:
    """Return the paths for these settings, starting afresh when a setting changed or Reset was pressed."""
    settings = (surface.key, tuple(specs), start)
    state = st.session_state.get(STATE)
    if state is None or state["settings"] != settings:
        if state is not None and state["steps"]:
            st.session_state[RESTARTED_KEY] = state["steps"]  # said once, above the map
        state = {"settings": settings, "paths": [Trajectory(surface, s, start) for s in specs], "steps": 0}
        st.session_state[STATE] = state
    linked = st.session_state.pop(LINKED_STEPS_KEY, 0)  # a link's step count, taken once
    if linked:
        state["paths"] = [Trajectory(surface, s, start) for s in specs]
        for path in state["paths"]:
            path.step(linked)
        state["steps"] = linked
    return state


def step_controls(state: dict) -> None:
    """Step, Run N and Reset buttons; they move every path and keep the result in session state."""
    c1, c2, c3, c4 = st.columns([1, 1.3, 1.2, 1], vertical_alignment="bottom")
    step = c1.button("Step", key="gd_step", type="primary", width="stretch")
    n = c2.number_input(
        "Steps taken by Run",
        min_value=1,
        max_value=MAX_STEPS_PER_CALL,
        value=20,
        step=10,
        key="gd_n",
    )
    run = c3.button(f"Run {int(n)} steps", key="gd_run", width="stretch")
    reset = c4.button("Reset", key="gd_reset", width="stretch")
    if reset:
        state["paths"] = [Trajectory(p.surface, p.spec, p.start) for p in state["paths"]]
        state["steps"] = 0
    taken = 1 if step else int(n) if run else 0
    if taken:
        for path in state["paths"]:
            path.step(taken)
        state["steps"] += taken
    st.caption(
        f"{state['steps']} step(s) requested so far. Each step: compute the loss, let autograd find the "
        "gradient, and let torch.optim's update (the code SGD.step and Adam.step run) move the point. "
        "Changing any setting above (surface, optimizers, start, momentum or a learning rate) restarts "
        "every path from step 0."
    )
    cleared = st.session_state.pop(RESTARTED_KEY, 0)
    if cleared:
        st.info(
            f"A setting changed, so the paths restarted from the start point: the {cleared} step(s) taken "
            "with the old settings were cleared. Press Step or Run to walk again.",
            icon=":material/restart_alt:",
        )


def url_params(surface_key: str) -> list[UrlParam]:
    """The landscape tab's settings in the address (ui.url_state); start and rates belong to the surface."""
    surface, number = SURFACES[surface_key], lambda v: f"{v:g}"
    kinds = list_value(choice(OPTIMIZER_KINDS), 1, len(OPTIMIZER_KINDS))
    return [
        UrlParam("surface", "gd_surface", choice(SURFACES), default=next(iter(SURFACES))),
        UrlParam("opt", "gd_optimizers", kinds, list(OPTIMIZER_KINDS), list_fmt),
        UrlParam("momentum", "gd_momentum", float_value(MOMENTUM_OFFERED), 0.9, number),
        UrlParam("x0", f"gd_start1_{surface_key}", float_value(START_RANGE), surface.start[0], number),
        UrlParam("y0", f"gd_start2_{surface_key}", float_value(START_RANGE), surface.start[1], number),
        *(
            UrlParam(
                f"lr_{k}",
                f"gd_lr_{surface_key}_{k}",
                float_value(LR_OFFERED),
                surface.suggested_lr(k),
                number,
            )
            for k in OPTIMIZER_KINDS
        ),
        UrlParam("steps", None, int_value(IntRange(0, LINKED_STEPS)), default=0),
    ]


def read_link() -> list[UrlParam]:
    """Apply a link's settings (the surface first: the start and learning-rate widgets belong to it)."""
    found = read_url("gd", url_params(next(iter(SURFACES)))[:1])
    params = url_params(found.get("surface") or st.session_state.get("gd_surface") or next(iter(SURFACES)))
    linked = read_url("gd", params)
    if "steps" in linked:
        st.session_state[LINKED_STEPS_KEY] = linked["steps"]  # taken once the paths exist (current_paths)
    return params


def write_link(params: list[UrlParam], state: dict) -> None:
    """Keep the landscape tab's settings and step count in the address; offer the link to this view."""
    values = {p.name: st.session_state[p.key] for p in params if p.key in st.session_state}
    write_url("gd", params, {**values, "steps": state["steps"]})
    copy_link("gd", params)


def landscape_tab() -> None:
    """The optimizer playground: controls, contour map, loss curve and per-step table."""
    params = read_link()
    try:
        surface, specs, start = read_settings()
        if not specs:
            raise ConfigError("Pick at least one optimizer in 'Optimizers to compare'; none is selected.")
        state = current_paths(surface, specs, start)
        step_controls(state)
    except ProtlabError as err:
        st.error(literal(err), icon=":material/block:")
        return
    write_link(params, state)
    paths = state["paths"]
    for path in paths:
        if path.diverged_at() is not None:
            st.warning(divergence_note(path), icon=":material/warning:")
        elif path.left_domain_at() is not None:
            st.info(
                f"{path.spec.label} left the plotted area at step {path.left_domain_at()} (marked ▲); "
                "the map stays on the interesting region.",
                icon=":material/open_in_new:",
            )
    path_warnings(paths)
    st.plotly_chart(contour_figure(surface, paths), key="gd_contour")
    explain(
        "Each contour line joins points of equal loss, like height lines on a hiking map; "
        "darker means lower. Circles mark the starts, squares the current points, gold stars the minima."
    )
    map_notes(paths)
    if needs_log_scale(paths):  # shown ticked (and locked) when the page forces the log scale
        log_scale = st.checkbox("Log scale for the loss", value=True, disabled=True, key="gd_log_forced")
        st.caption(
            f"A path's loss grew more than {LOG_DECADES} powers of ten above where it started, so the loss "
            "axis is logarithmic: on a linear axis the other curves would be squashed into a flat line at 0."
        )
    else:
        log_scale = st.checkbox("Log scale for the loss", value=False, key="gd_log")
    st.plotly_chart(loss_figure(paths, log_scale=log_scale), key="gd_loss")
    path_notes(paths, log_scale=log_scale)
    if log_scale:
        explain(
            "On a log scale equal heights mean equal *factors*: a straight falling line means the distance "
            "to the best possible loss shrinks by the same factor each step."
        )
    st.markdown("**Every step in numbers**: parameters, gradient (the slope in each direction) and loss.")
    step_tables(paths, key="gd_table", max_height=300)
    if any(p.spec.kind == "adam" for p in paths):
        explain(
            "torch.optim.Adam also divides the running averages by (1 − β^t), a 'bias correction' that the "
            "course notes' short Adam formula leaves out; it makes Adam's first steps full-sized."
        )
    pytorch_panel(descent_code(surface, [p.spec for p in paths], start, max(1, state["steps"])))


st.title("2 · Gradient descent")
st.markdown(
    "Training a model means walking downhill on its loss. Here the model has only two parameters, so you "
    "can see the whole landscape and watch real PyTorch optimizers walk across it."
)
landscape, real, autograd = st.tabs(
    ["Descend a loss landscape", "A trained network's landscape", "Autograd checked by hand"]
)
with landscape:
    landscape_tab()
with real:
    real_landscape_tab()
with autograd:
    autograd_tab()
