"""The Train page's sanity check: train the chosen model on one batch until its loss is near zero."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui.common import explain

SANITY_KEY = "overfit_result"  # session key: (settings it was run with, losses)
STEP_CHOICES = [50, 100, 200, 300]  # steps offered (the check is bounded by the largest)
SANITY_LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]  # learning rates offered
MAX_BATCH = 16  # proteins in the one batch
MAX_LENGTH = 300  # residues: the batch's proteins are short, so the check takes seconds
LIMIT_S = 20.0  # seconds: the check stops after this long whatever the steps


def one_batch(data, kind: str, model_config: dict, batch_size: int, seed: int):  # -> (model, Batch)
    """A fresh model and one seeded batch of short proteins of both classes (balanced where possible)."""
    import torch

    from protlab.data import LabelledData, make_batch
    from protlab.models import build_model
    from protlab.runs import tokenise_for_model

    rng = np.random.default_rng(seed)
    labels = np.asarray(data.labels)  # (N,) int64
    short = np.array([len(s) <= MAX_LENGTH for s in data.sequences])  # (N,) bool
    size = min(batch_size, MAX_BATCH, len(labels))
    rows: list[int] = []
    for label in (0, 1):
        pool = np.flatnonzero((labels == label) & short)
        pool = pool if pool.size else np.flatnonzero(labels == label)
        rows += rng.choice(pool, size=min(pool.size, (size + 1 - label) // 2), replace=False).tolist()
    rows = sorted(rows)
    chosen = LabelledData([data.sequences[i] for i in rows], labels[rows], [data.ids[i] for i in rows])
    torch.manual_seed(seed)
    model = build_model(kind, model_config)
    tokens = tokenise_for_model(model, chosen)  # only the batch's proteins: quick even with global features
    if hasattr(model, "fit_training_rows"):
        model.fit_training_rows(tokens)  # input scaling from these rows
    return model, make_batch(tokens, np.arange(len(rows)))


def sanity_section(data, kind: str, model_config: dict, train_config) -> None:
    """Run the overfit-one-batch check on a button and show its loss curve and verdict."""
    from protlab.lessons import overfit_figure
    from protlab.training import NEAR_ZERO_LOSS, overfit_one_batch, overfit_passed

    with st.expander("Sanity check: can this model learn one batch by heart?", icon=":material/bug_report:"):
        explain(
            "Before a long run, train the model on a single batch, over and over. A working model "
            "memorises it: the loss falls close to 0. If it cannot, something is broken (a frozen or "
            "disconnected layer, labels that do not match the inputs, a learning rate far too small), "
            "and more epochs will not fix it. Dropout is off for the check."
        )
        c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
        steps = c1.select_slider("Steps", STEP_CHOICES, 200, key="overfit_steps")
        lr = c2.select_slider(
            "Learning rate (Adam)", SANITY_LRS, 1e-3, key="overfit_lr", format_func=lambda v: f"{v:g}"
        )
        chosen = (kind, repr(sorted(model_config.items())), int(steps), float(lr), train_config.seed)
        if c3.button("Run the check", key="overfit_run", icon=":material/play_arrow:"):
            model, batch = one_batch(data, kind, model_config, train_config.batch_size, train_config.seed)
            with st.spinner(f"Training on one batch of {len(batch)} proteins..."):
                losses = overfit_one_batch(
                    model, batch, int(steps), float(lr), stop_below=NEAR_ZERO_LOSS / 5, max_seconds=LIMIT_S
                )
            st.session_state[SANITY_KEY] = (chosen, losses, len(batch))
        result = st.session_state.get(SANITY_KEY)
        if result is None or result[0] != chosen:
            return
        _, losses, n = result
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
