"""The Per-residue prediction page's cached data, predictors and TS115 scores (shared by the whole server)."""

from __future__ import annotations

import streamlit as st


@st.cache_data(show_spinner="Reading CB513 and TS115...")
def task_data():  # -> tuple[ResidueData, Split]
    """CB513 (train / validation) then TS115 without its CB513 relatives (test); read once per server."""
    from protlab.structure.task import structure_task_data

    return structure_task_data()


@st.cache_resource(show_spinner="Loading the structure model...", max_entries=16)
def predictor(path: str, mtime: float):  # -> StructurePredictor
    """One shared predictor per checkpoint file (the bundled one when path is empty)."""
    from protlab.structure import StructurePredictor

    return StructurePredictor.from_checkpoint(path) if path else StructurePredictor.default()


@st.cache_data(show_spinner="Scoring the model on TS115 (once per model)...", max_entries=16)
def test_scores(path: str, mtime: float) -> dict:
    """Q3, per-class scores, baseline and per-protein probabilities of a model on the TS115 test proteins."""
    from protlab.structure import tokenize_structure
    from protlab.structure.task import score_structure

    data, split = task_data()
    sets = tokenize_structure(data)
    scored = score_structure(predictor(path, mtime).model, sets.subset(split.test), sets.subset(split.train))
    return {"test": scored["test"], "baseline": scored["baseline"], "probs": scored["inference"].probs}
