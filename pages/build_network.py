"""Lesson 3: build a feed-forward network layer by layer, and see its shapes, parameters and code."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from protlab.checks import IntRange, check_fields
from protlab.codegen import module_code, sequential_code
from protlab.errors import ProtlabError
from protlab.lessons import activation_curves, activation_figure, network_figure
from protlab.lessons.network_figures import fill_note, layer_table, no_hidden_note
from protlab.models import (
    MAX_LAYERS,
    MAX_PARAMETERS,
    MAX_WIDTH,
    MLPConfig,
    build_mlp,
    count_parameters,
    summarize,
)
from ui.common import explain, literal, pytorch_panel
from ui.network_editor import (
    ACTIVATION_NAMES,
    BATCH,
    LABELS,
    NORM_NAMES,
    PRESETS,
    RULES,
    WIDTH,
    apply_preset,
    fill_stack,
    layer_text,
    layers_frame,
    parse_layer,
    relu_to_gelu,
    rows_frame,
    set_layers,
    tidy_order,
    to_specs,
)
from ui.router import ensure_router
from ui.url_state import UrlParam, copy_link, flag, int_value, list_fmt, list_value, read_url, write_url

ensure_router()

URL = [
    UrlParam("input", "bn_input", int_value(RULES["input_dim"]), default=20),
    UrlParam("classes", "bn_classes", int_value(RULES["num_classes"]), default=2),
    UrlParam("softmax", "bn_softmax", flag, default=False, fmt=lambda v: str(v).lower()),
    UrlParam("layers", None, list_value(parse_layer, 0, MAX_LAYERS), ["64:relu:0:none"], list_fmt),
]  # this page's settings in the address (ui.url_state)


@st.cache_resource(show_spinner=False, max_entries=64)
def built_model(key: str, _config: MLPConfig) -> torch.nn.Module:
    """Build (once per distinct configuration) the real nn.Sequential for a validated config."""
    return build_mlp(_config)


def bounds(rule: IntRange) -> dict:
    """A number box's min_value and max_value from a setting's declared range."""
    return {"min_value": rule.low, "max_value": rule.high}


def controls() -> tuple[int, int, bool]:
    """Draw presets, quick fill and the output settings; return (input_dim, num_classes, softmax)."""
    st.session_state.setdefault("bn_layers", layers_frame([64]))
    st.session_state.setdefault("bn_version", 0)
    for key, value in (("bn_input", 20), ("bn_classes", 2), ("bn_softmax", False)):
        st.session_state.setdefault(key, value)
    cols = st.columns(3)
    for col, (name, (label, *_)) in zip(cols, PRESETS.items()):
        col.button(label, key=f"bn_preset_{name}", on_click=apply_preset, args=(name,), width="stretch")
    c1, c2, c3 = st.columns(3)
    input_dim = c1.number_input(
        "Input size (features per protein)", **bounds(RULES["input_dim"]), key="bn_input"
    )
    classes = c2.number_input("Number of classes (outputs)", **bounds(RULES["num_classes"]), key="bn_classes")
    softmax = c3.checkbox("Softmax at the output", value=False, key="bn_softmax")
    explain(
        "20 inputs = the fraction of each amino acid in a protein. Softmax turns the outputs into "
        "probabilities that add up to 1; leave it off when training with nn.CrossEntropyLoss, "
        "which applies it itself."
    )
    with st.expander("Quick fill: replace the stack with N identical layers"):
        q1, q2, q3, q4 = st.columns([1, 1, 1, 1])
        n = q1.number_input("N layers", min_value=0, max_value=MAX_LAYERS, value=3, key="bn_fill_n")
        width = q2.number_input("width", **bounds(WIDTH), value=64, key="bn_fill_width")
        q3.selectbox("activation", list(ACTIVATION_NAMES), key="bn_fill_act")
        q4.button("Replace the stack", key="bn_fill", on_click=fill_stack, width="stretch")
        explain(fill_note(int(n), int(width), int(input_dim), int(classes)))
    return int(input_dim), int(classes), bool(softmax)


def layer_editor() -> pd.DataFrame:
    """Draw the editable layer table and return the student's current version of it."""
    st.markdown("**Hidden layers** (one row each, input side first)")
    frame = st.data_editor(
        st.session_state["bn_layers"],
        key=f"bn_editor_{st.session_state['bn_version']}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "order": st.column_config.NumberColumn(
                "order",
                help="Layers run in increasing order; change the numbers to move a layer up or down.",
                step=1,
                format="%d",
            ),
            "width": st.column_config.NumberColumn(
                "width (neurons)", **bounds(WIDTH), step=1, default=32, format="%d"
            ),
            "activation": st.column_config.SelectboxColumn(
                "activation", options=list(ACTIVATION_NAMES), default="ReLU", required=True
            ),
            "dropout": st.column_config.NumberColumn(
                "dropout", min_value=0.0, max_value=0.9, step=0.05, default=0.0, format="%.2f"
            ),
            "norm": st.column_config.SelectboxColumn(
                "normalisation", options=list(NORM_NAMES), default="None", required=True
            ),
        },
    )
    st.session_state["bn_current"] = frame
    b1, b2 = st.columns(2)
    b1.button("Switch every ReLU to GELU", key="bn_gelu", on_click=relu_to_gelu, width="stretch")
    b2.button("Tidy rows into their order", key="bn_tidy", on_click=tidy_order, width="stretch")
    explain(
        "Add a layer with the + row at the bottom of the table, delete one by selecting its row and pressing "
        "the bin icon, and reorder by editing the order numbers. Dropout switches neurons off at random "
        "while training; normalisation rescales each layer's outputs to keep training stable. ProtLab builds "
        f"at most {MAX_LAYERS} hidden layers of 1 to {MAX_WIDTH:,} neurons, and at most {MAX_PARAMETERS:,} "
        "parameters in all."
    )
    return frame


def render_network(config: MLPConfig) -> None:
    """Build the validated network and show its diagram, table, activations and code."""
    model = built_model(repr(config), config)
    example = torch.randn(BATCH, config.input_dim)  # (32, input_dim) a batch of 32 proteins
    summary = summarize(model, example)
    total = count_parameters(model)
    st.session_state["bn_total"] = total
    if not config.layers:
        st.info(no_hidden_note(config.num_classes, config.output_activation), icon=":material/info:")
    c1, c2 = st.columns(2)
    c1.metric("Total parameters", f"{total:,}")
    c2.metric("Layers with weights", f"{len(config.layers) + 1}")
    message = st.session_state.pop("bn_message", "")
    if message:
        before = st.session_state.pop("bn_before_switch", None)
        same = "unchanged" if before == total else "different"
        st.success(
            f"{message}; after: {total:,} ({same}). Activations like ReLU and GELU are fixed "
            "functions applied to each number: they have no weights to learn, so swapping one for another "
            "never changes the parameter count.",
            icon=":material/check_circle:",
        )
    left, right = st.columns([1, 1])
    with left:
        st.plotly_chart(network_figure(summary, config.input_dim, BATCH), key="bn_diagram")
    with right:
        st.dataframe(
            layer_table(summary),
            hide_index=True,
            key="bn_summary",
            column_config={
                "output_shape": st.column_config.TextColumn(
                    "output shape", help=f"For the example batch of {BATCH} proteins"
                ),
                "parameters": st.column_config.NumberColumn("parameters", format="localized"),
            },
        )
        explain(
            "A Linear layer from n to m neurons has n × m weights plus m biases. LayerNorm and BatchNorm add "
            "a scale and a shift per neuron. Activations and dropout add nothing."
        )
    names = list(dict.fromkeys(spec.activation for spec in config.layers))
    if names:
        st.markdown("**The activations in your network and their slopes**")
        labels = {key: shown for shown, key in ACTIVATION_NAMES.items()}
        st.plotly_chart(activation_figure(activation_curves(names), labels), key="bn_activations")
        explain(
            "The slope (derivative) is what backpropagation multiplies by. Where it is near 0, "
            "as for Sigmoid and Tanh far from zero, learning signals fade: the 'vanishing gradient'."
        )
    if config.output_activation == "softmax" and config.num_classes == 1:
        st.warning(
            "Softmax over a single output is always 1, whatever the input: it divides the output by itself. "
            "For a yes/no answer use one output with a sigmoid (switch Softmax off and train with "
            "nn.BCEWithLogitsLoss, which applies the sigmoid itself), or two outputs with softmax.",
            icon=":material/warning:",
        )
    pytorch_panel(sequential_code(config), title="Show me the PyTorch (nn.Sequential)")
    pytorch_panel(module_code(config), title="Show me the PyTorch (an nn.Module class)")


st.title("3 · Build a network")
st.markdown(
    "A feed-forward network is a stack of layers: each one mixes its inputs with weights, then bends the "
    "result with an activation. Build one, and ProtLab builds the real PyTorch model to inspect."
)
linked = read_url("build-network", URL)
if "layers" in linked:
    set_layers(rows_frame(linked["layers"]))
link_slot = st.container()
input_dim, num_classes, softmax = controls()
layers = layer_editor()
values = {"input": input_dim, "classes": num_classes, "softmax": softmax}
try:
    config = MLPConfig(input_dim, to_specs(layers), num_classes, "softmax" if softmax else None)
    check_fields(config, LABELS)  # messages name the widgets: "Input size must be ..."
    config.validate()  # refuses bad settings before a single weight is allocated
    values["layers"] = [layer_text(spec) for spec in config.layers]
    render_network(config)
except ProtlabError as err:
    st.session_state.pop("bn_total", None)
    st.error(literal(err), icon=":material/block:")
finally:
    write_url("build-network", URL, values)
    with link_slot:
        copy_link("build-network", URL)
