"""Bias and variance: sweep model width and training-set size as ordinary runs, then read the trade-off."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from protlab.errors import ProtlabError
from protlab.lessons import BV_PRESETS
from ui.bias_variance import (
    finite_rows,
    live_progress,
    region_sentence,
    running_sweep,
    start_sweep,
    stop_sweep,
    sweep_on,
)
from ui.common import explain, pytorch_panel, run_manager, session_owner, stop_with_error
from ui.identity import student_token
from ui.memory import keep_widgets, kept_index
from ui.router import ensure_router
from ui.train_runs import epoch_cap
from ui.url_state import UrlParam, choice, copy_link, read_url, write_url

student_token()  # read the address's token before a first-visit hand-over to app.py drops the query string
ensure_router()

PRESET_KEY = "bv_preset"  # widget key of the chosen preset (remembered per student)
DEFAULT = "mlp"  # the lesson's main sweep
RENAMED = {"quick": "mlp"}  # presets' earlier names, so older links still open the same sweep


def preset_value(text: str, name: str) -> str:
    """A link's preset, by its name now or its earlier one (checked)."""
    return choice(tuple(BV_PRESETS))(RENAMED.get(text.strip(), text), name)


URL = [UrlParam("preset", PRESET_KEY, preset_value, default=DEFAULT)]  # the preset in the address


@st.cache_resource(show_spinner="Preparing the sweep...", max_entries=16)
def sweep_plan(preset: str, epochs: int):  # -> list[SweepPoint]
    """The sweep's points for a preset (same for every student: the specs only carry the bundled sample)."""
    from protlab.data import load_bundled
    from protlab.lessons import sweep_points

    config = replace(BV_PRESETS[preset][1], epochs=epochs)
    return sweep_points(config, load_bundled()[0], description="bundled DeepSol")


def intro() -> None:
    """The notes' trade-off in three lines."""
    st.title(":material/balance: Bias and variance")
    st.markdown(
        "Why not always use the biggest model? The notes' answer is the **bias-variance trade-off**: a "
        "model that is **too simple** under-fits (its *training* loss is already poor), one that is **too "
        "complex** for its data over-fits (training loss excellent, validation loss much worse). The best "
        "model is the one with the lowest *validation* loss, where the two curves are both low and close "
        "together."
    )
    explain(
        "Fundamentals note, sec. 1 (the bias-variance trade-off); intro note, sec. 5 (validation: detecting "
        "over-fitting). Here you train the same network at several widths and on several amounts of data, "
        "and read the trade-off from the final losses."
    )


def choose_preset() -> str:
    """The sweep preset (remembered for this student)."""
    names = list(BV_PRESETS)
    read_url("bias-variance", URL)  # a link's preset (checked; a bad one is named and ignored)
    preset = st.radio(
        "Sweep",
        names,
        kept_index(PRESET_KEY, names, DEFAULT),
        format_func=lambda name: BV_PRESETS[name][0],
        key=PRESET_KEY,
    )
    keep_widgets([PRESET_KEY])
    write_url("bias-variance", URL, {"preset": preset})
    copy_link("bias-variance", URL)
    return preset


def split_sentence(config, points) -> str:
    """How the sweep's proteins are split, and which training-set sizes its runs see."""
    from protlab.lessons.bias_variance import TEST_FRACTION, VAL_FRACTION

    sizes = sorted({p.n_train for p in points})
    return (
        f"The sweep draws {config.sample_size:,} proteins and splits them: {VAL_FRACTION:.0%} for "
        f"validation, {TEST_FRACTION:.0%} for test, the rest ({max(sizes):,}) for training. "
        f"Each run trains on a share of those training proteins ({', '.join(f'{n:,}' for n in sizes)}), "
        f"so the plots show these sizes, not {config.sample_size:,}."
    )


def controls(points, table, preset: str) -> None:
    """Run / stop buttons with what they will do."""
    todo = int((table["state"] != "finished").sum())
    going = sweep_on(preset)
    left, right, rest = st.columns([1, 1, 4], vertical_alignment="center")
    left.button(
        "Run the sweep",
        key="bv_start",
        type="primary",
        disabled=going or todo == 0,
        on_click=start_sweep,
        args=(points, preset),
    )
    right.button("Stop the sweep", key="bv_stop", disabled=not going, on_click=stop_sweep, args=(points,))
    reused = len(points) - todo
    rest.caption(
        f"{len(points)} runs: {reused} already finished (read back, not trained again), {todo} to train. "
        "Each run waits its turn in the class queue like any other; one of yours trains at a time, so the "
        "queue stays fair. The next run is sent while this page is open; if you leave, the run in progress "
        "still finishes and the sweep goes on when you come back (finished runs are kept)."
    )
    other = running_sweep()
    if other and other != preset and other in BV_PRESETS:
        st.info(
            f"Your sweep *{BV_PRESETS[other][0]}* is going; choose it above to follow it. Running this one "
            "instead lets that sweep's current run finish first.",
            icon=":material/info:",
        )


def results(table, histories, kind: str) -> None:
    """Loss against model size and against training-set size (regions shaded), then the learning curves."""
    from protlab.lessons import learning_curves_figure, loss_vs_size_figure
    from protlab.lessons.bias_variance_reading import (
        data_reading,
        negative_gap_note,
        size_reading,
        sweep_shape,
    )

    done = finite_rows(table)
    if done.empty:
        st.info("The plots appear here as the runs of the sweep finish.", icon=":material/insights:")
        return
    st.header("What the sweep shows")
    fractions = sorted(done["fraction"].unique(), reverse=True)
    widths = sorted(done["width"].unique(), reverse=True)
    c1, c2 = st.columns(2)
    proteins = done.groupby("fraction")["n_train"].first()  # the same count for every width
    fraction = c1.selectbox(
        "Training-set size for the model-size plot",
        fractions,
        format_func=lambda f: f"{int(proteins[f]):,} training proteins ({f:.0%})",
    )
    width = c2.selectbox(
        "Width for the training-set-size plot", widths, format_func=lambda w: f"{w} ({sweep_shape(kind, w)})"
    )
    by_width = done[done["fraction"] == fraction]
    by_size = done[done["width"] == width]
    left, right = st.columns(2)
    with left:
        if len(by_width) >= 2:
            fig, regions = loss_vs_size_figure(
                by_width,
                "width",
                x_title=f"width w (model size): {sweep_shape(kind)}",
                title="Final loss vs model size",
            )
            st.plotly_chart(fig, key="bv-size")
            st.caption(region_sentence(by_width, regions, "width", "width"))
        explain(" ".join(size_reading(by_width)) or "Two finished widths are needed to compare sizes.")
    with right:
        if len(by_size) >= 2:
            fig, regions = loss_vs_size_figure(
                by_size, "n_train", x_title="training proteins", title=f"Final loss vs data (width {width})"
            )
            st.plotly_chart(fig, key="bv-data")
            st.caption(region_sentence(by_size, regions, "n_train", "training proteins"))
        explain(" ".join(data_reading(by_size)) or "Two finished data sizes are needed to compare them.")
    note = negative_gap_note(done)
    if note:
        st.info(note, icon=":material/info:")
    st.subheader("Learning curves, side by side")
    st.plotly_chart(learning_curves_figure(table, histories), key="bv-curves")
    explain(
        "Each panel is one run: rows are training-set sizes, columns widths. Look for the panels where the "
        "red validation curve turns upward while the blue training curve keeps falling: that is over-fitting "
        "as it happens, and why early stopping keeps the epoch with the lowest validation loss."
    )


def main() -> None:
    """Read the preset, show the plan and its progress, the results and the code."""
    from protlab.codegen import sweep_code
    from protlab.lessons import sweep_results
    from protlab.lessons.bias_variance_reading import architecture_note

    intro()
    preset = choose_preset()
    cap = epoch_cap()
    config = BV_PRESETS[preset][1]
    epochs = config.epochs if cap is None else min(config.epochs, cap)
    if epochs < config.epochs:
        st.caption(f"The class limit is {cap} epochs per run, so each run trains {epochs} epochs.")
    try:
        points = sweep_plan(preset, epochs)
        table, histories = sweep_results(run_manager(), session_owner(), points)
    except ProtlabError as err:
        stop_with_error(err)
    st.markdown(architecture_note(config.model_kind))
    st.caption(split_sentence(config, points))
    controls(points, table, preset)
    live_progress(points, int((table["state"] == "finished").sum()), preset)
    results(table, histories, config.model_kind)
    pytorch_panel(sweep_code(replace(config, epochs=epochs)))


main()
