"""Train page: check the data, choose a model and settings, train in the background, read the results."""

from __future__ import annotations

import streamlit as st

from protlab.errors import ProtlabError
from ui.common import pytorch_panel, stop_with_error
from ui.identity import student_token
from ui.memory import keep_widgets
from ui.router import ensure_router
from ui.run_compare import compare_section
from ui.train_controls import TrainChoices, build_spec, run_section, script_for
from ui.train_data import check_split, data_section, report_section, sample_section, split_section
from ui.train_form import model_section, settings_section
from ui.train_link import read_train_link, write_train_link
from ui.train_sanity import sanity_section

student_token()  # read the address's token before a first-visit hand-over to app.py drops the query string
ensure_router()

SETTING_KEYS = [  # widgets remembered across page switches and visits
    "data_choice",
    "label_cutoff",
    "sample_choice",
    "sample_size",
    "split_method",
    "identity",
    "model_kind",
    "embed_dim",
    "hidden_dim",
    "kernel_size",
    "num_layers",
    "dropout",
    "global_dim",
    "optimizer",
    "lr",
    "batch_size",
    "epochs",
    "patience",
    "scheduler",
    "warmup_fraction",
    "weight_decay",
    "grad_accum",
    "grad_clip",
    "seed",
    "class_weighting",
    "mixed_precision",
    "compare_metric",
]


def render() -> None:
    """Draw the Train page."""
    st.title("Train a solubility classifier")
    st.markdown(
        "Train the course's 1D-CNN on real proteins. Your run waits its turn in the class queue, "
        "then trains in the background: switch pages, reload, or come back later with your personal "
        "link."
    )
    link = read_train_link()  # settings from a lesson link (checked like typed ones)
    try:
        data, report, source, cutoff = data_section()
        report_section(data, report)
        sample = sample_section(report.n_kept)
        split = split_section()
        kind, model_config = model_section()
        n_rows = min(sample or report.n_kept, report.n_kept)  # the proteins the run will use
        train_config = settings_section(n_rows)
        check_split(data, sample, split, train_config.seed)
    except ProtlabError as err:
        stop_with_error(err)
    finally:
        keep_widgets(SETTING_KEYS)
    sanity_section(data, kind, model_config, train_config)
    choices = TrainChoices(source, sample, split, kind, model_config, train_config, cutoff)
    run_section(lambda: build_spec(data, choices), choices, n_rows)
    compare_section()
    keep_widgets(SETTING_KEYS)
    pytorch_panel(script_for(choices))
    write_train_link(link, st.container())  # the address and the Copy link box, below the script


render()
