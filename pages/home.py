"""Home page: what ProtLab is and a map from every lesson and lab page to the course notes."""

from __future__ import annotations

import time

import streamlit as st

from ui.common import fragment
from ui.identity import page_link
from ui.router import ensure_router

ensure_router()

# (page file, lesson title, what the student does, notes sections, exercises the page covers)
LESSONS: list[tuple[str, str, str, str, str]] = [
    (
        "pages/encode.py",
        "1 · Encode a protein",
        "Type a sequence and watch each residue become a number, then a one-hot row, then a batch tensor.",
        "Fundamentals note, sec. 4: tensors and the worked encoding example (MVLSPAD)",
        "Fundamentals Exercise 1 (protein feature tensors, padding and masks)",
    ),
    (
        "pages/gradient_descent.py",
        "2 · Gradient descent",
        "Watch SGD, momentum and Adam walk down loss landscapes (toy surfaces and the real MSE of a "
        "melting-temperature line), then check autograd's gradients against the chain rule.",
        "Fundamentals note, sec. 5: linear regression, mean squared error, the loss landscape, autograd",
        "Fundamentals Exercise 3 (check autograd against the chain rule)",
    ),
    (
        "pages/build_network.py",
        "3 · Build a network",
        "Stack layers and activations, count parameters and see how shapes change layer by layer.",
        "Fundamentals note, sec. 6: neurons, activations, nn.Module, common layers, the dual-input model",
        "Fundamentals Exercise 2 (a 4-layer network; ReLU vs GELU parameter count)",
    ),
    (
        "pages/structure.py",
        "Per-residue prediction",
        "Label every residue helix, strand or coil with a CNN that keeps the length, trained on CB513.",
        "Intro note, sec. 5: cross-entropy for several classes; fundamentals note, sec. 3: tasks with one "
        "output per residue",
        "Intro Exercise 1 (per-residue secondary structure; padding left out of the loss)",
    ),
    (
        "pages/train.py",
        "4 · Train a classifier",
        "Train the notes' 1D-CNN on 6,942 real DeepSol proteins and watch the loss curves live.",
        "Intro note, sec. 5 (training loop, optimizers, early stopping), sec. 6 (data loading, padding), "
        "sec. 7 (the solubility case study and its metrics), sec. 8 (best practices: seeds, mixed precision)",
        "Intro Exercises 2 (warm-up), 3 (gradient accumulation), 4 (SGD vs Adam vs AdamW), 5 (MCC)",
    ),
    (
        "pages/bias_variance.py",
        "Bias and variance",
        "Train one small network at several widths on several amounts of data (from a 2 × 2 tiny check to "
        "4 widths × 3 data sizes) and see under- and over-fitting appear.",
        "Fundamentals note, sec. 1: the bias-variance trade-off; intro note, sec. 5: detecting overfitting",
        "Intro sec. 8 checklist, item 2 (validation loss plateaus, it does not climb)",
    ),
    (
        "pages/predict.py",
        "5 · Predict solubility",
        "Paste your own proteins, get P(soluble), and see which residues pushed the call either way.",
        "Intro note, sec. 7: using the trained classifier, thresholds and what the metrics mean",
        "Intro Exercise 5 (read MCC and the threshold on your own predictions)",
    ),
    (
        "pages/class_view.py",
        "6 · Class results",
        "Put the runs your class shared side by side, ranked by held-out AUC, and see which optimizer won.",
        "Intro note, sec. 7: evaluation beyond accuracy (AUC on held-out proteins)",
        "Intro Exercise 4 (SGD vs Adam vs AdamW, compared across the class's runs)",
    ),
]


def render() -> None:
    """Draw the welcome text and the lesson map."""
    st.title(":material/genetics: ProtLab")
    st.markdown(
        "**A hands-on lab for protein machine learning.** You bring the biology; ProtLab shows, "
        "one step at a time, how a computer turns an amino-acid sequence into numbers, "
        "learns from thousands of measured proteins, "
        "and finally predicts whether a new protein will stay soluble when expressed in *E. coli*."
    )
    st.markdown(
        "Everything here is real: the models are PyTorch networks, the data are 6,942 proteins with measured "
        "solubility (DeepSol), and every page has a **Show me the PyTorch** panel with code you can run "
        "yourself in a notebook."
    )
    st.subheader("The lessons and the lab")
    st.caption(
        "Follow the numbered ones in order the first time; each one builds on the one before. "
        "The notes are the two versions of Preliminary Note 2 from the course."
    )
    for file, title, what, notes, exercises in LESSONS:
        with st.container(border=True):
            left, right = st.columns([2, 3], vertical_alignment="center")
            with left:
                page_link(file, label=f"**{title}**")  # bold: the card's heading
                st.caption(what)
            with right:  # small print, so the lesson title on the left reads as the card's heading
                st.caption(f"**In the notes:** {notes}")
                st.caption(f"**Exercises:** {exercises}")
    st.info(
        "A training run keeps going in the background while you visit other pages; come back to "
        "**Train a classifier** to follow it, stop it or download the trained model.",
        icon=":material/info:",
    )
    preload_charts()


PRELOAD_AFTER_S = 2.0  # seconds on this page before the hidden chart is drawn
PRELOADED = "home_charts_preloaded"  # session flag: the hidden chart is drawn on every later visit
ARMED_AT = "home_preload_armed_at"  # when this visit's page run started the timer (time.monotonic)


def preload_charts() -> None:
    """Two seconds into the visit, draw one hidden, empty chart, so the browser fetches and compiles its chart
    library (about 1.5 s of a first chart on two cores) while the student reads, not on the first lesson.

    Not at once: a student who clicks on within a second or two would find the browser busy compiling.
    The timer's first tick sets the flag and reruns the page, which draws the chart and stops the timer.
    """
    if st.session_state.get(PRELOADED):
        import plotly.graph_objects as go

        with st.container(key="chart-preload"):
            st.html("<style>.st-key-chart-preload { display: none; }</style>")
            st.plotly_chart(go.Figure(), config={"displayModeBar": False, "staticPlot": True})
        return
    st.session_state[ARMED_AT] = time.monotonic()

    def _after_a_while() -> None:
        if time.monotonic() - st.session_state[ARMED_AT] >= 0.9 * PRELOAD_AFTER_S:  # a tick, not the page run
            st.session_state[PRELOADED] = True
            st.rerun(scope="app")

    fragment(_after_a_while, run_every=PRELOAD_AFTER_S)()


render()
