"""Per-residue prediction: helix, strand or coil for every residue (the intro note's Exercise 1)."""

from __future__ import annotations

import streamlit as st

from protlab.errors import ProtlabError
from ui.common import pytorch_panel, stop_with_error
from ui.memory import hold_widgets
from ui.router import ensure_router
from ui.structure_cache import task_data
from ui.structure_lesson import data_tab, kept_model_config, model_config_widgets, model_tab
from ui.structure_results import predict_tab, results_tab
from ui.structure_runs import model_choices
from ui.structure_settings import TABS, url_params
from ui.structure_train import train_tab
from ui.url_state import copy_link, read_url, too_long_for_link, write_url

ensure_router()


def render() -> None:
    """Draw the page."""
    from protlab.structure import ResidueCNNConfig, ResidueMLPConfig
    from protlab.structure.code import structure_code

    st.title("Per-residue prediction")
    st.markdown(
        "So far every model gave **one answer per protein**. Here the answer is **one label per residue**: "
        "is it in a helix, a strand or a coil? The model keeps the sequence length, the loss skips padding "
        "and unresolved residues, and the score is Q3, the share of residues right. The intro note's "
        "Exercise 1 asks for a 3-layer MLP on one-hot rows: choose it in *The model* and train it beside the "
        "bundled CNN."
    )
    try:
        data, split = task_data()
        choices = model_choices()
    except ProtlabError as err:
        stop_with_error(err)
    params = url_params(list(choices), len(split.train), len(split.test))
    read_url("structure", params)
    link_slot = st.container()
    label = st.selectbox(
        "Model for the results and predictions",
        list(choices),
        key="ss_model",
        help="The bundled model, or one of your finished per-residue runs.",
    )
    path, mtime = choices[label]
    hold_widgets(p.key for p in params if p.key not in ("ss_model", "ss_tab"))  # while their tab is closed
    tabs = st.tabs(list(TABS.values()), key="ss_tab", on_change="rerun")
    data_t, model_t, train_t, results_t, predict_t = tabs
    if data_t.open:  # only the open tab runs: the others' charts are neither computed nor sent
        with data_t:
            data_tab(data, split)
    kind, config = kept_model_config()
    if model_t.open:
        with model_t:
            kind, config = model_config_widgets()
            try:
                model_tab(kind, config)
            except ProtlabError as err:
                stop_with_error(err)
    if train_t.open:
        with train_t:
            train_tab(kind, config)
    if results_t.open:
        with results_t:
            try:
                results_tab(data, split, path, mtime)
            except ProtlabError as err:
                stop_with_error(err)
    if predict_t.open:
        with predict_t:
            predict_tab(path, mtime)
    config_cls = ResidueMLPConfig if kind == "residue_mlp" else ResidueCNNConfig
    pytorch_panel(structure_code(config_cls(**config)))
    values = {p.name: st.session_state[p.key] for p in params if p.key in st.session_state}
    write_url("structure", params, values)
    long = too_long_for_link(st.session_state.get("ss_sequence", ""))
    note = "Your sequence is too long for a link (more than 2,000 characters): paste it there yourself."
    with link_slot:
        copy_link("structure", params, note=note if long else "")


render()
