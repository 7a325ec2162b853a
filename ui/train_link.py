"""The Train page's model and training settings in the page address (ui.url_state), with a Copy link.

The data stays with the student (an uploaded file cannot travel in a link); the model and the training
settings do, each checked against the widget that shows it, so a link never sets a value the page refuses.
"""

from __future__ import annotations

import streamlit as st

from protlab.checks import FloatRange, IntRange
from ui.train_form import BATCH_SIZES, KERNELS, LEARNING_RATES, MAX_EPOCHS, WARMUP_FRACTIONS, WEIGHT_DECAYS
from ui.train_runs import epoch_cap
from ui.url_state import (
    UrlParam,
    choice,
    copy_link,
    flag,
    float_value,
    int_value,
    options_value,
    read_url,
    write_url,
)

PAGE = "train"  # ui.url_state's name for this page


def train_params() -> list[UrlParam]:
    """The settings a Train link carries, with the page's defaults and the widgets' limits."""
    from protlab.models import CNNConfig
    from protlab.training import CLASS_WEIGHTINGS, OPTIMIZERS, SCHEDULERS, TrainConfig

    m, t = CNNConfig(), TrainConfig()
    top, number = epoch_cap() or MAX_EPOCHS, lambda v: f"{v:g}"
    return [
        UrlParam("model", "model_kind", choice(["cnn", "dual"]), default="cnn"),
        UrlParam("embedding", "embed_dim", int_value(IntRange(1, 1024)), default=m.embed_dim),
        UrlParam("filters", "hidden_dim", int_value(IntRange(1, 2048)), default=m.hidden_dim),
        UrlParam("kernel", "kernel_size", options_value(KERNELS), default=m.kernel_size),
        UrlParam("layers", "num_layers", int_value(IntRange(1, 8)), default=m.num_layers),
        UrlParam("dropout", "dropout", float_value(FloatRange(0, 0.8)), default=m.dropout, fmt=number),
        UrlParam("global", "global_dim", int_value(IntRange(1, 1024)), default=32),
        UrlParam("optimizer", "optimizer", choice(OPTIMIZERS), default=OPTIMIZERS[0]),
        UrlParam("lr", "lr", options_value(LEARNING_RATES), default=t.lr, fmt=number),
        UrlParam("batch", "batch_size", options_value(BATCH_SIZES), default=t.batch_size),
        UrlParam("epochs", "epochs", int_value(IntRange(1, top)), default=min(t.epochs, top)),
        UrlParam("patience", "patience", int_value(IntRange(0, 1000)), default=t.patience),
        UrlParam("schedule", "scheduler", choice(SCHEDULERS), default=SCHEDULERS[0]),
        UrlParam("warmup", "warmup_fraction", options_value(WARMUP_FRACTIONS), t.warmup_fraction, number),
        UrlParam("decay", "weight_decay", options_value(WEIGHT_DECAYS), t.weight_decay, number),
        UrlParam("accum", "grad_accum", int_value(IntRange(1, 64)), default=t.grad_accum_steps),
        UrlParam("clip", "grad_clip", float_value(FloatRange(0, 100)), default=t.grad_clip, fmt=number),
        UrlParam("seed", "seed", int_value(IntRange(0, 2**31 - 1)), default=t.seed),
        UrlParam("weighting", "class_weighting", choice(CLASS_WEIGHTINGS), default=CLASS_WEIGHTINGS[0]),
        UrlParam("mixed", "mixed_precision", flag, default=False, fmt=lambda v: str(v).lower()),
    ]


def read_train_link() -> list[UrlParam]:
    """Apply a link's settings to the widgets (before they are drawn); return the parameters."""
    params = train_params()
    read_url(PAGE, params)
    return params


def write_train_link(params: list[UrlParam], slot) -> None:
    """Keep the current settings in the address and draw the Copy link box in slot."""
    write_url(PAGE, params, {p.name: st.session_state[p.key] for p in params if p.key in st.session_state})
    with slot:
        copy_link(PAGE, params, note="The link carries the model and settings; the data stays with you.")
