"""The Train page's sanity check: a worker trains the chosen model on one batch until its loss is near zero.

The page only picks the batch, asks for the check and polls: protlab.lessons.sanity_jobs queues a background
job in the run system; while it trains, a fragment refreshes its progress; the result is kept per check, so
it is there again after a reload.
"""

from __future__ import annotations

import streamlit as st

from protlab.lessons.sanity_jobs import LIMIT_S, SanityRequest, request_sanity, sanity_spec, submit_sanity
from ui.common import about_text, explain, fragment, literal, run_manager
from ui.memory import keep_widgets, kept

STEP_CHOICES = [50, 100, 200, 300]  # steps offered (the check is bounded by the largest)
SANITY_LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]  # learning rates offered
POLL_SECONDS = 1.0  # how often a queued or running check is refreshed


def _progress_panel(spec) -> None:  # spec: SanitySpec
    """The job's state, refreshed every second; the whole page reruns once it has ended."""
    request = request_sanity(run_manager().root, spec)
    if request.state == "queued":
        place = f" (number {request.queue_position} in the queue)" if request.queue_position else ""
        st.progress(0.0, text=f"Check queued{place}: it waits for a free worker of the class.")
    elif request.state == "running":
        left = f", {about_text(request.eta_seconds)} left" if request.eta_seconds is not None else ""
        st.progress(request.progress, text=f"Check running: {request.progress:.0%} of the steps done{left}.")
    else:
        st.rerun(scope="app")


def _show(request: SanityRequest) -> None:
    """The loss curve of a finished check and its verdict."""
    from protlab.lessons import overfit_figure
    from protlab.training import NEAR_ZERO_LOSS, overfit_passed

    losses, n = request.result.losses, request.result.n_proteins
    passed = overfit_passed(losses)
    st.plotly_chart(overfit_figure(losses, near_zero=NEAR_ZERO_LOSS, passed=passed), key="overfit_chart")
    told = f"Loss {losses[0]:.3f} at step 1, {losses[-1]:.4f} after {len(losses)} steps on {n} proteins"
    if passed:
        st.success(f"{told}: the model can fit data, so it is wired correctly.", icon=":material/check:")
    else:
        st.warning(
            f"{told}: not near 0 ({NEAR_ZERO_LOSS:g}). Try more steps or a higher learning rate. A very "
            "small model may lack the capacity to memorise even one batch; a model of normal size that "
            "still cannot has a bug.",
            icon=":material/warning:",
        )


def sanity_section(data, kind: str, model_config: dict, train_config) -> None:
    """Ask a worker for the overfit-one-batch check; show its progress, then its curve and verdict."""
    with st.expander("Sanity check: can this model learn one batch by heart?", icon=":material/bug_report:"):
        explain(
            "Before a long run, train the model on a single batch, over and over. A working model "
            "memorises it: the loss falls close to 0. If it cannot, something is broken (a frozen or "
            "disconnected layer, labels that do not match the inputs, a learning rate far too small), "
            "and more epochs will not fix it. Dropout is off for the check."
        )
        c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
        steps = c1.select_slider(
            "Steps", STEP_CHOICES, kept("overfit_steps", 200, options=STEP_CHOICES), key="overfit_steps"
        )
        lr = c2.select_slider(
            "Learning rate (Adam)",
            SANITY_LRS,
            kept("overfit_lr", 1e-3, options=SANITY_LRS),
            key="overfit_lr",
            format_func=lambda v: f"{v:g}",
        )
        keep_widgets(["overfit_steps", "overfit_lr"])  # the same check, and its kept result, after a reload
        spec = sanity_spec(
            data, kind, model_config, train_config.batch_size, train_config.seed, int(steps), float(lr)
        )
        root = run_manager().root
        request = request_sanity(root, spec)
        if c3.button("Run the check", key="overfit_run", icon=":material/play_arrow:"):
            request = submit_sanity(root, spec)
        if request.state == "ready":
            _show(request)
        elif request.state in ("queued", "running"):
            fragment(_progress_panel, run_every=POLL_SECONDS)(spec)
        elif request.state in ("failed", "interrupted"):
            st.error(
                f"The check did not finish: {literal(request.error or 'the worker stopped.')} "
                "Press Run the check to try again.",
                icon=":material/error:",
            )
        else:
            explain(
                f"It runs in the background on the class's training workers (at most {LIMIT_S:g} s of "
                "training), so the page stays responsive; the result is kept for these settings."
            )
