"""'What did the first layer learn?': each first-layer filter as a sequence logo with its top k-mers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from protlab.errors import ProtlabError
from ui.common import explain

SAMPLE = 1_000  # training proteins scanned for the windows each filter scores highest
TOP_WINDOWS = 200  # windows per filter in its logo
SHOWN = (4, 8, 12, 16, 24, 32)  # how many logos a student may ask for
LISTED_KMERS = 6  # distinct top k-mers listed per filter


@st.cache_data(show_spinner="Reading the training proteins (once)...")
def training_sample() -> list[str]:
    """A fixed sample of the bundled DeepSol training proteins."""
    import numpy as np

    from protlab.data import load_bundled

    data, _ = load_bundled()
    rows = np.random.default_rng(0).choice(
        len(data.sequences), min(SAMPLE, len(data.sequences)), replace=False
    )
    return [data.sequences[i] for i in sorted(rows)]


@st.cache_data(show_spinner="Finding the windows each filter scores highest...", max_entries=32)
def bank_motifs(model_key: str, _model, bank: int) -> list:  # -> list[FilterMotif]
    """Every filter's motif in one bank of the model (cached per model and bank)."""
    from protlab.lessons import filter_motifs

    return filter_motifs(_model, training_sample(), top=TOP_WINDOWS, banks=[bank])


@st.cache_data(show_spinner="Drawing the sequence logos...", max_entries=32)
def logos_png(model_key: str, _motifs: list, bank: int, shown: int) -> bytes:
    """The logos of the `shown` filters that score highest, as one PNG."""
    from protlab.lessons import motif_logos_png

    return motif_logos_png(_motifs, columns=3)


@st.cache_resource(show_spinner="Loading the run's model...", max_entries=8)
def _checkpoint_model(path: str, mtime: float):  # -> nn.Module
    """The model saved in a run's checkpoint (mtime in the key reloads a file that changed)."""
    from protlab.models import load_checkpoint

    return load_checkpoint(path).model


def model_key(model, meta: dict | None = None) -> str:
    """A cache key for a model: where it came from, when it was made, and the object itself."""
    meta = meta or {}
    return f"{meta.get('source', '')}|{meta.get('created', '')}|{id(model)}"


def render_filter_logos(model, key: str, *, prefix: str = "filters") -> None:
    """Draw one filter bank of the model as sequence logos, with each filter's top k-mers."""
    from protlab.lessons import filter_banks

    st.subheader("What did the first layer learn?")
    explain(
        "A **filter** is a learned motif detector of width *k*: it slides along the protein and gives "
        "every stretch of *k* residues a score (its activation). Below, each filter's logo stacks the "
        f"residues of the {TOP_WINDOWS} stretches of {SAMPLE:,} training proteins it scores highest: tall "
        "letters are residues the filter insists on, short stacks are offsets it does not care about "
        "(DeepBind/Basset-style motif analysis)."
    )
    if not st.toggle("Show the filters as sequence logos", key=f"{prefix}-show"):
        return
    banks = filter_banks(model)
    if not banks:
        st.info(
            "This model has no convolutional first layer (it reads residue composition), so it has no "
            "filters to draw.",
            icon=":material/info:",
        )
        return
    labels = [f"{b.label} ({b.conv.out_channels} filters)" for b in banks]
    left, right = st.columns([3, 1])
    bank = left.selectbox(
        "Filter bank", range(len(banks)), format_func=labels.__getitem__, key=f"{prefix}-bank"
    )
    shown = right.selectbox("Logos shown", SHOWN, index=2, key=f"{prefix}-shown")
    try:
        motifs = bank_motifs(key, model, bank)
    except ProtlabError as err:
        st.error(str(err), icon=":material/error:")
        return
    firing = sorted((m for m in motifs if m.n_windows), key=lambda m: -m.max_activation)
    silent = len(motifs) - len(firing)
    if not firing:
        st.info("None of these filters gives any training window a positive score.", icon=":material/info:")
        return
    best = firing[:shown]
    st.image(logos_png(key, best, bank, shown), caption=_caption(len(best), len(firing), silent))
    st.dataframe(_kmer_table(best), hide_index=True, key=f"{prefix}-kmers")


def render_predictor_filters(predictor) -> None:
    """The filter logos of the model chosen on the Predict page."""
    render_filter_logos(predictor.model, model_key(predictor.model, predictor.meta), prefix="predict-filters")


def render_run_filters(checkpoint_path: str | None, run_id: str = "") -> None:
    """The filter logos of a finished run's model (nothing if the run saved no checkpoint)."""
    if not checkpoint_path or not Path(checkpoint_path).exists():
        return
    path = Path(checkpoint_path)
    try:
        model = _checkpoint_model(str(path), path.stat().st_mtime)
    except ProtlabError as err:
        st.error(str(err), icon=":material/error:")
        return
    render_filter_logos(model, f"{path}|{path.stat().st_mtime}", prefix=f"run-filters-{run_id}")


def _caption(shown: int, firing: int, silent: int) -> str:
    """What the logo grid shows."""
    text = f"The {shown} filters (of {firing} that fire) with the highest top score; letter height = bits."
    if silent:
        text += f" {silent} filter(s) never score a training window above 0, so ReLU keeps them silent."
    return text


def _kmer_table(motifs: list) -> pd.DataFrame:
    """One row per filter: width, top score, distinct top k-mers (and how often each was among the best)."""
    rows = []
    for m in motifs:
        kmers = ", ".join(f"{k} ({n})" for k, n in zip(m.top_kmers[:LISTED_KMERS], m.kmer_counts))
        rows.append(
            {
                "filter": m.index + 1,
                "width": m.width,
                "top score": round(m.max_activation, 3),
                "top k-mers (times among the best)": kmers,
            }
        )
    return pd.DataFrame(rows)
