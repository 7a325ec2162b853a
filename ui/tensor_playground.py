"""The Encode page's tensor playground: reshape, transpose, permute, squeeze, cat and stack the batch."""

from __future__ import annotations

import streamlit as st

from protlab.checks import IntRange
from protlab.codegen import tensor_ops_code
from protlab.errors import ProtlabError
from protlab.lessons import OPS, apply_tensor_op, batch_tensors, parse_ints, shape_text, values_text
from ui.common import explain, literal, pytorch_panel
from ui.memory import kept
from ui.url_state import choice, int_value, text_value

TENSORS = {
    "one_hot": "one_hot (B, L, 20): the batch one-hot encoded",
    "tokens": "tokens (B, L): the padded indices",
    "mask": "mask (B, L): 1 = residue, 0 = padding",
}  # playground tensor name -> label
PLAY = {  # playground widget key -> (address name, parser, default); the notes' Conv1d case by default
    "tp_tensor": ("tensor", choice(TENSORS), "one_hot"),
    "tp_n": ("proteins", int_value(IntRange(1, 64)), 2),
    "tp_len": ("positions", int_value(IntRange(1, 5000)), 3),
    "tp_op": ("op", choice(OPS), "transpose"),
    "tp_shape": ("shape", text_value, "-1, 20"),
    "tp_dim0": ("dim0", int_value(IntRange(-6, 6)), 1),
    "tp_dim1": ("dim1", int_value(IntRange(-6, 6)), 2),
    "tp_dims": ("dims", text_value, "0, 2, 1"),
    "tp_dim": ("dim", int_value(IntRange(-6, 6)), 0),
    "tp_other": ("with", choice(TENSORS), "one_hot"),
}


def _play_widget(key: str):
    """Seed a playground widget's value (address, else remembered, else default) before drawing it."""
    default = PLAY[key][2]
    options = list(TENSORS) if key in ("tp_tensor", "tp_other") else OPS if key == "tp_op" else None
    if key not in st.session_state:
        st.session_state[key] = kept(key, default, options=options)
    return key


def _shown(key: str) -> dict:
    """The widget's own default set to its current value, so the browser never draws another value first."""
    value = st.session_state[_play_widget(key)]
    if key in ("tp_tensor", "tp_other"):
        return {"key": key, "index": list(TENSORS).index(value)}
    if key == "tp_op":
        return {"key": key, "index": list(OPS).index(value)}
    return {"key": key, "value": value}


def op_arguments(op: str) -> dict:
    """Draw the argument widgets of one operation; return its arguments (texts parsed, may raise)."""
    if op in ("reshape", "view"):
        text = st.text_input("shape (sizes separated by commas; one may be -1)", **_shown("tp_shape"))
        return {"shape": parse_ints(text, "shape")}
    if op == "permute":
        text = st.text_input("dims (the new order of the dimensions)", **_shown("tp_dims"))
        return {"dims": parse_ints(text, "dims")}
    if op == "transpose":
        c1, c2 = st.columns(2)
        return {
            "dim0": int(c1.number_input("dim0", -6, 6, **_shown("tp_dim0"))),
            "dim1": int(c2.number_input("dim1", -6, 6, **_shown("tp_dim1"))),
        }
    if op == "squeeze":
        dim = st.number_input("dim (leave empty to remove every size-1 dimension)", -6, 6, None, key="tp_sq")
        return {"dim": None if dim is None else int(dim)}
    c1, c2 = st.columns(2)
    args = {"dim": int(c1.number_input("dim", -6, 6, **_shown("tp_dim")))}
    if op in ("cat", "stack"):
        args["other_name"] = c2.selectbox("with", list(TENSORS), **_shown("tp_other"))
    return args


def playground_section(batch) -> None:
    """Reshape, transpose, permute, squeeze, cat and stack the batch above: shapes, values, code."""
    st.subheader("Tensor origami: reshape your own batch")
    explain(
        "Networks reshape data all the time: Conv1d wants (batch, channels, length), but the one-hot batch "
        "is (batch, length, 20). Pick a tensor of the batch above and an operation; ProtLab runs it with "
        "PyTorch and shows the shape before and after, the values when they are few, and the line of code."
    )
    if batch is None:
        st.info("Fix the sequences above to play with their tensors.", icon=":material/info:")
        return
    sequences, tokens, mask = batch
    tensors = batch_tensors(tokens, mask)
    b, width = tokens.shape
    c1, c2, c3 = st.columns([2, 1, 1])
    name = c1.selectbox("x is", list(TENSORS), format_func=TENSORS.get, **_shown("tp_tensor"))
    n = int(c2.number_input(f"first proteins (of {b})", 1, 64, **_shown("tp_n")))
    m = int(c3.number_input(f"first positions (of {width})", 1, 5000, **_shown("tp_len")))
    n, m = min(n, b), min(m, width)
    op = st.radio("Operation", OPS, horizontal=True, **_shown("tp_op"))
    crop = f"[:{n}, :{m}]"
    x = tensors[name][:n, :m]  # (n, m) or (n, m, 20)
    setup = [f"x = {name}{crop}  # {shape_text(x.shape)}"]
    try:
        args = op_arguments(op)
        if op in ("cat", "stack"):
            other = args.pop("other_name")
            args.update(other=tensors[other][:n, :m], other_name="y")
            setup.append(f"y = {other}{crop}  # {shape_text(args['other'].shape)}")
        result = apply_tensor_op(x, op, source=f"{name}{crop}", **args)
    except ProtlabError as err:
        st.code("\n".join(setup), language="python")
        st.error(literal(err), icon=":material/block:")
        return
    st.code("\n".join([*setup, f"{result.code}  # {shape_text(result.shape_after)}"]), language="python")
    st.markdown(
        f"**{shape_text(result.shape_before)} → {shape_text(result.shape_after)}**: {result.explanation}"
    )
    before, after = values_text(x), values_text(result.tensor)
    if before is None or after is None:
        st.caption("Too many numbers to print here: keep fewer proteins or positions to see the values.")
    else:
        with st.expander("The numbers before and after", expanded=x.numel() <= 60):
            left, right = st.columns(2)
            left.caption(f"x {shape_text(x.shape)}")
            left.code(before, language=None)
            right.caption(f"result {shape_text(result.shape_after)}")
            right.code(after, language=None)
    code = tensor_ops_code(sequences, setup, result.code)
    pytorch_panel(code, title="Show me the PyTorch (tensor origami)")
