"""The Gradient descent page's third tab: the notes' autograd examples next to the calculus done by hand."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from protlab.codegen import linear_check_code, polynomial_code, tm_step_code
from protlab.errors import ProtlabError
from protlab.lessons import linear_gradient_check, polynomial_gradient, tm_one_step
from ui.common import explain, literal, pytorch_panel


def step_verdict(result) -> None:
    """Say what the one step did, following the two numbers shown (lowered, raised or kept the loss)."""
    setting = (
        f"{result.n_proteins} simulated proteins with {result.n_features} features each and melting "
        "temperatures around 60 °C. One step W ← W − lr · dL/dW (and the same for b) "
        f"with lr = {result.lr:g} "
    )
    before, after = f"{result.loss_before:,.2f}", f"{result.loss_after:,.2f}"
    if result.loss_after < result.loss_before:
        explain(setting + f"lowered the loss from {before} to {after}: the step went downhill.")
    elif result.loss_after > result.loss_before:
        st.warning(
            setting + f"**raised** the loss from {before} to {after}: the step overshot. The gradient only "
            "says which way is downhill close to the current point; a step this large jumps past the valley "
            "floor to higher ground on the other side. "
            f"Try a smaller learning rate, such as {result.lr / 10:g}.",
            icon=":material/trending_up:",
        )
    else:
        explain(setting + f"left the loss at {before}: the step was too small to change it.")


def autograd_tab() -> None:
    """The notes' autograd examples, computed live next to the calculus done by hand."""
    st.markdown("#### 1. The notes' first example: z = Σ (x² + 3x)")
    text = st.text_input("x values (comma-separated)", value="2, 3", key="ag_x")
    try:
        values = tuple(float(v) for v in text.replace(";", ",").split(",") if v.strip())
    except ValueError:
        st.error(
            f"x values must be numbers separated by commas, such as 2, 3; got {literal(repr(text))}.",
            icon=":material/block:",
        )
        values = None
    if values is not None:
        try:
            poly = polynomial_gradient(values)
        except ProtlabError as err:
            st.error(literal(err), icon=":material/block:")
        else:
            st.dataframe(
                pd.DataFrame(
                    {"x": poly.x, "by hand: 2x + 3": poly.by_hand, "autograd: x.grad": poly.autograd}
                ),
                hide_index=True,
                key="ag_poly_table",
            )
            explain(
                "By hand: the derivative of x² is 2x and of 3x is 3, so each x gets 2x + 3. "
                "Autograd never saw that formula; it worked it out from the operations."
            )
            pytorch_panel(polynomial_code(poly.x), title="Show me the PyTorch (x² + 3x)")

    st.markdown("#### 2. Exercise 3: the MSE gradient of y = Wx + b on 10 points")
    seed = st.number_input(
        "random seed for the 10 points", min_value=0, max_value=10_000, value=0, key="ag_seed"
    )
    check = linear_gradient_check(10, int(seed))
    left, right = st.columns(2)
    with left:
        st.markdown("**By hand (chain rule)**")
        st.latex(r"\frac{\partial L}{\partial W} = \frac{2}{n}\sum_i x_i (W x_i + b - y_i)")
        st.latex(r"\frac{\partial L}{\partial b} = \frac{2}{n}\sum_i (W x_i + b - y_i)")
        st.metric("dL/dW by hand", f"{check.grad_w_hand:.10f}")
        st.metric("dL/db by hand", f"{check.grad_b_hand:.10f}")
    with right:
        st.markdown("**By autograd (loss.backward())**")
        st.code("loss = ((W * x + b - y) ** 2).mean()\nloss.backward()\nW.grad, b.grad", language="python")
        st.metric("dL/dW by autograd", f"{check.grad_w_autograd:.10f}")
        st.metric("dL/db by autograd", f"{check.grad_b_autograd:.10f}")
    st.success(
        f"Largest difference between the two: {check.max_abs_diff:.2e} (rounding in the last digits of "
        f"64-bit numbers). W = {check.w:.4f}, b = {check.b:.1f}, loss = {check.loss:.4f}.",
        icon=":material/check_circle:",
    )
    pytorch_panel(linear_check_code(10, int(seed)), title="Show me the PyTorch (Exercise 3)")

    st.markdown("#### 3. The notes' melting-temperature model: one gradient step")
    lr = st.number_input(
        "learning rate", min_value=0.0001, max_value=1.0, value=0.01, step=0.005, format="%g", key="ag_tm_lr"
    )
    result = tm_one_step(lr=float(lr))
    c1, c2 = st.columns(2)
    c1.metric("MSE before the step (°C²)", f"{result.loss_before:,.2f}")
    c2.metric(
        "MSE after one step (°C²)",
        f"{result.loss_after:,.2f}",
        delta=f"{result.loss_after - result.loss_before:,.2f}",
        delta_color="inverse",
    )
    step_verdict(result)
    pytorch_panel(
        tm_step_code(result.n_proteins, result.n_features, result.lr, 0),
        title="Show me the PyTorch (one gradient step)",
    )
