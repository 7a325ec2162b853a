"""Predict page: the decision threshold, the expected soluble fraction of the student's set, and what they
do to the calls."""

from __future__ import annotations

import streamlit as st

from ui.common import explain

PRIOR_HELP = (
    "What share of the proteins you are testing do you expect to be soluble? Leave it at the model's "
    "training share if you have no better guess."
)


NEAR_CHANCE_AUC = 0.55  # a held-out AUC at or below this ranks proteins about as well as a coin (0.5)


def weak_model_warning(predictor) -> None:
    """A plain warning when the chosen model's held-out AUC is near or below chance: its calls say little."""
    auc = predictor.test_auc
    if not isinstance(auc, (int, float)) or auc > NEAR_CHANCE_AUC:
        return
    st.warning(
        f"This model's test AUC is {auc:.3f}: it ranks soluble and insoluble proteins about as well as "
        "tossing a coin (0.5) or worse, so its calls below say little. Train it longer or on more proteins "
        "on the Train page, or choose the bundled default model.",
        icon=":material/warning:",
    )


def threshold_input(predictor, model_name: str) -> float:
    """The decision threshold (the model's suggestion first) and what the suggestion did on held-out data."""
    stored = predictor.stored_threshold
    default = float(stored) if isinstance(stored, (int, float)) else 0.5
    threshold = st.slider("Decision threshold", 0.0, 1.0, default, 0.01, key=f"threshold-{model_name}")
    hint = f"This model suggests {default:.2f}" if stored is not None else "The usual choice is 0.5"
    explain(
        f"Proteins with P(soluble) at or above the threshold are called soluble. {hint}"
        "; raise it to call fewer proteins soluble but be more sure of those you do."
        + _held_out_sentence(predictor.held_out_at_threshold, default)
    )
    return threshold


def _held_out_sentence(figures: dict[str, float] | None, threshold: float) -> str:
    """What the suggested threshold did on the model's held-out test proteins, or nothing if unrecorded."""
    if figures is None:
        return ""
    return (
        f" At {threshold:.2f}, on its {figures['n']:,.0f} held-out test proteins, {figures['accuracy']:.0%} "
        f"of the calls were right, {figures['recall']:.0%} of the soluble proteins were called soluble "
        f"(recall) and {figures['precision']:.0%} of the soluble calls were right (precision)."
    )


def prior_input(predictor, model_name: str) -> float | None:
    """The student's expected soluble fraction; None when it is the model's own training prior."""
    from protlab.predict import training_prior_of

    train_prior, origin = training_prior_of(predictor.meta)
    prior = st.number_input(
        "Expected fraction of soluble proteins in your set",
        min_value=0.01,
        max_value=0.99,
        value=float(train_prior),
        step=0.05,
        format="%.3f",
        key=f"prior-{model_name}",
        help=PRIOR_HELP,
    )
    explain(
        f"In this model's training data {train_prior:.1%} of proteins were soluble ({origin}), and its "
        "P(soluble) leans towards that share. If you expect a different share in your own set, type it "
        "here and the page shifts every P(soluble) to match: up when you expect more soluble proteins, down "
        "when you expect fewer. Leave it alone if you have no better guess."
    )
    with st.expander("The formula (Bayes' rule)", icon=":material/functions:"):
        st.markdown(
            "With odds = p / (1 - p): **odds(your set) = odds(model) x your odds / training odds**. "
            "For example, a score of 0.40 among proteins you expect to be 80% soluble becomes a good "
            "chance, while among membrane proteins (say 10% soluble) it is a long shot."
        )
    return None if abs(prior - train_prior) < 1e-9 else float(prior)


def prior_note(predictor, prior: float | None, threshold: float, score: float | None = None) -> None:
    """Say what the adjustment did: the model's own score and the score the threshold now stands for."""
    if prior is None:
        return
    from protlab.predict import score_threshold

    train_prior = predictor.training_prior
    cut = score_threshold(threshold, train_prior, prior)
    own = f" Without the shift the model's own score is {score:.3f}." if score else ""
    explain(
        f"P(soluble) here is shifted to your expected share of {prior:.1%} soluble (the model learned with "
        f"{train_prior:.1%}).{own} The threshold {threshold:.2f} applies to the shifted number."
    )
    with st.expander("The same threshold on the model's own score", icon=":material/functions:"):
        st.markdown(
            f"Shifting every score and then cutting at {threshold:.2f} calls the same proteins soluble as "
            f"cutting the model's own, unshifted score at {cut:.3f}."
        )
