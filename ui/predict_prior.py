"""Predict page: the expected soluble fraction of the student's set, and what it does to P(soluble)."""

from __future__ import annotations

import streamlit as st

from ui.common import explain

PRIOR_HELP = (
    "What share of the proteins you are testing do you expect to be soluble? Leave it at the model's "
    "training share if you have no better guess."
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
        f"This model learned from data in which {train_prior:.1%} of proteins were soluble ({origin}). "
        "Its P(soluble) carries that base rate inside it, so the same score means different things in "
        "different sets: among proteins you expect to be mostly soluble (say, 80%) a score of 0.40 is "
        "really a good chance, while among membrane proteins (say, 10%) it is a long shot. Bayes' rule "
        "moves the score to your set: odds(your set) = odds(model) x [your odds / training odds], where "
        "odds = p / (1 - p)."
    )
    return None if abs(prior - train_prior) < 1e-9 else float(prior)


def prior_note(predictor, prior: float | None, threshold: float, score: float | None = None) -> None:
    """Say what the adjustment did: the model's own score and the score the threshold now stands for."""
    if prior is None:
        return
    from protlab.predict import score_threshold

    train_prior = predictor.training_prior
    cut = score_threshold(threshold, train_prior, prior)
    own = (
        f"The model's own score is {score:.3f} (at its training share of {train_prior:.1%}); "
        if score
        else ""
    )
    explain(
        f"{own}P(soluble) here is adjusted to your expected share of {prior:.1%}. A threshold of "
        f"{threshold:.2f} on the adjusted P(soluble) is the same as {cut:.3f} on the model's own score."
    )
