"""The Build a network page's layer editor: its choices, its table of hidden layers and the buttons' edits.

The table lives in st.session_state["bn_layers"] (a fresh editor is drawn whenever a button replaces it);
to_specs turns what the student typed into the model's LayerSpecs.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from protlab.checks import Choice, FloatRange, field_rules
from protlab.errors import ConfigError
from protlab.models import MAX_WIDTH, LayerSpec, MLPConfig
from ui.url_state import int_value

ACTIVATION_NAMES = {
    "ReLU": "relu",
    "GELU": "gelu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "SiLU (Swish)": "silu",
    "LeakyReLU": "leaky_relu",
}  # shown name -> protlab.models.mlp key
NORM_NAMES = {"None": None, "LayerNorm": "layernorm", "BatchNorm": "batchnorm"}
COLUMNS = ["order", "width", "activation", "dropout", "norm"]
BATCH = 32  # proteins in the example batch pushed through the network
LABELS = {"input_dim": "Input size", "num_classes": "Number of classes"}  # config field -> widget label
RULES = field_rules(MLPConfig)  # the model's own ranges: the widgets' bounds and the link's checks
WIDTH = field_rules(LayerSpec)["width"]  # a hidden layer's allowed widths
PRESETS = {
    "notes": ("The notes' network: 20 → 64 → 2", 20, 2, [64]),
    "exercise2": ("Exercise 2: 20 → 128 → 64 → 32 → 4", 20, 4, [128, 64, 32]),
    "logistic": ("No hidden layer (logistic regression)", 20, 2, []),
}


def parse_layer(text: str, name: str) -> dict:
    """One layer from the address, 'width:activation:dropout:norm' (e.g. 64:relu:0:none), checked."""
    parts = text.strip().split(":")
    if len(parts) != 4:
        raise ConfigError(
            f"{name} must read width:activation:dropout:norm, e.g. 64:relu:0:none; got {text[:60]!r}."
        )
    width = int_value(WIDTH)(parts[0], f"{name} width")
    shown = {key: label for label, key in ACTIVATION_NAMES.items()}
    activation = Choice(tuple(shown)).check(parts[1], f"{name} activation")
    try:
        dropout = FloatRange(0, 0.9).check(float(parts[2]), f"{name} dropout")
    except ValueError:
        raise ConfigError(f"{name} dropout must be a number from 0 to 0.9; got {parts[2]!r}.") from None
    norms = {str(key).lower(): label for label, key in NORM_NAMES.items()}
    norm = Choice(tuple(norms)).check(parts[3], f"{name} norm")
    return {"width": width, "activation": shown[activation], "dropout": dropout, "norm": norms[norm]}


def layer_text(spec: LayerSpec) -> str:
    """A layer as the address writes it."""
    return f"{spec.width}:{spec.activation}:{spec.dropout:g}:{str(spec.norm).lower()}"


def layers_frame(
    widths: list[int], activation: str = "ReLU", dropout: float = 0.0, norm: str = "None"
) -> pd.DataFrame:
    """Return an editor table with one row per hidden layer."""
    rows = [{"width": w, "activation": activation, "dropout": dropout, "norm": norm} for w in widths]
    return rows_frame(rows)


def rows_frame(rows: list[dict]) -> pd.DataFrame:
    """Return an editor table from layer rows (width, activation, dropout, norm), numbered in order."""
    rows = [{"order": i, **row} for i, row in enumerate(rows, start=1)]
    return pd.DataFrame(rows, columns=COLUMNS).astype(
        {"order": "float64", "width": "float64", "dropout": "float64"}
    )


def set_layers(frame: pd.DataFrame, message: str = "") -> None:
    """Replace the layer table (a fresh editor is drawn) and remember a message to show."""
    st.session_state["bn_layers"] = frame.reset_index(drop=True)
    st.session_state["bn_version"] = st.session_state.get("bn_version", 0) + 1
    st.session_state["bn_message"] = message


def apply_preset(name: str) -> None:
    """Load one of the notes' networks."""
    _, input_dim, classes, widths = PRESETS[name]
    st.session_state["bn_input"], st.session_state["bn_classes"] = input_dim, classes
    st.session_state["bn_softmax"] = False
    set_layers(layers_frame(widths))


def fill_stack() -> None:
    """Replace the stack with N identical layers from the quick-fill controls."""
    n, width = int(st.session_state["bn_fill_n"]), int(st.session_state["bn_fill_width"])
    set_layers(layers_frame([width] * n, st.session_state["bn_fill_act"]))


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Return rows sorted by their order number (rows without one go last), keeping ties stable."""
    return frame.sort_values("order", kind="stable", na_position="last").reset_index(drop=True)


def tidy_order() -> None:
    """Sort the table by the order column and renumber it 1, 2, 3, ..."""
    frame = ordered(st.session_state.get("bn_current", st.session_state["bn_layers"]))
    frame["order"] = range(1, len(frame) + 1)
    set_layers(frame)


def relu_to_gelu() -> None:
    """Swap every ReLU for GELU and report the parameter count before and after."""
    frame = st.session_state.get("bn_current", st.session_state["bn_layers"]).copy()
    n = int((frame["activation"] == "ReLU").sum())
    before = st.session_state.get("bn_total")
    frame.loc[frame["activation"] == "ReLU", "activation"] = "GELU"
    set_layers(
        frame,
        f"Switched {n} ReLU layer(s) to GELU. Parameters before: {before:,}"
        if before is not None
        else f"Switched {n} ReLU layer(s) to GELU.",
    )
    st.session_state["bn_before_switch"] = before


def to_specs(frame: pd.DataFrame) -> list[LayerSpec]:
    """Turn the (ordered) table into LayerSpecs; blank cells become the column defaults."""
    specs = []
    for i, row in enumerate(ordered(frame).itertuples(index=False), start=1):
        width = row.width
        if width is None or (isinstance(width, float) and math.isnan(width)):
            raise ConfigError(f"Layer {i} width is empty; type a number of neurons from 1 to {MAX_WIDTH}.")
        if float(width) != int(width):
            raise ConfigError(f"Layer {i} width must be a whole number of neurons; got {width}.")
        dropout = 0.0 if row.dropout is None or pd.isna(row.dropout) else float(row.dropout)
        specs.append(
            LayerSpec(
                int(width),
                ACTIVATION_NAMES.get(row.activation, "relu"),
                dropout,
                NORM_NAMES.get(row.norm if isinstance(row.norm, str) else "None"),
            )
        )
    return specs
