"""Per-residue prediction: helix, strand or coil for every residue (the notes' N3 Exercise 1)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from protlab.checks import FloatRange, IntRange
from protlab.errors import ProtlabError
from protlab.lessons import structure_figures as sf
from ui.common import explain, literal, pytorch_panel, run_manager, session_owner, stop_with_error
from ui.router import ensure_router
from ui.structure_runs import (
    ACTIVE,
    POLL_SECONDS,
    USABLE,
    current_status,
    live_panel,
    model_choices,
    submit_structure_run,
)
from ui.url_state import (
    UrlParam,
    choice,
    copy_link,
    float_value,
    int_value,
    options_value,
    read_url,
    text_value,
    too_long_for_link,
    write_url,
)

ensure_router()

EXAMPLE = (
    "MSDKIIHLTDDSFDTDVLKADGAILVDFWAEWCGPCKMIAPILDEIADEYQGKLTVAKLNIDQNPGTAPKYGIRGIPTLLLFKNGEVAASKVGALSK"
    "GQLKEFLDANLA"
)  # E. coli thioredoxin 1, as on the Predict page
DILATIONS = ([], [1, 2], [1, 2, 4, 8], [1, 2, 4, 8, 16], [1, 2, 4, 8, 16, 32])  # residual blocks offered
TABS = {
    "data": "The data",
    "model": "The model",
    "train": "Train",
    "results": "Results on TS115",
    "predict": "Predict a sequence",
}  # short name -> tab label
SHORT_TAB = {label: short for short, label in TABS.items()}  # tab label -> short name (in the address)
CHANNELS, KERNELS, LRS, BATCH_SIZES = [32, 64, 96, 128], [3, 5, 7, 9], [3e-4, 1e-3, 2e-3, 5e-3], [8, 16, 32]


def dilations_text(dilations: list[int]) -> str:
    """Dilations as the address writes them: '1,2,4,8', or 'none'."""
    return ",".join(map(str, dilations)) or "none"


def url_params(models: list[str], n_train: int, n_test: int) -> list[UrlParam]:
    """This page's settings in the address (ui.url_state), checked against what the page offers now."""
    from protlab.structure import ResidueCNNConfig

    default = ResidueCNNConfig()  # the bundled model's settings
    number = lambda v: f"{v:g}"  # noqa: E731 - 0.002, not 0.0020000000000000005
    return [
        UrlParam("model", "ss_model", choice(models), default=models[0]),
        UrlParam("tab", "ss_tab", options_value(TABS.values(), SHORT_TAB.get), TABS["data"], SHORT_TAB.get),
        UrlParam("channels", "ss_channels", options_value(CHANNELS), default=default.channels),
        UrlParam("kernel", "ss_kernel", options_value(KERNELS), default=default.kernel_size),
        UrlParam(
            "dil", "ss_dil", options_value(DILATIONS, dilations_text), default.dilations, dilations_text
        ),
        UrlParam("dropout", "ss_dropout", float_value(FloatRange(0, 0.5)), default.dropout, number),
        UrlParam("epochs", "ss_epochs", int_value(IntRange(1, 60)), default=15),
        UrlParam("lr", "ss_lr", options_value(LRS), default=2e-3, fmt=number),
        UrlParam("bs", "ss_bs", options_value(BATCH_SIZES), default=16),
        UrlParam("seed", "ss_seed", int_value(IntRange(0, 10_000)), default=42),
        UrlParam("protein", "ss_data_protein", int_value(IntRange(0, n_train - 1)), min(3, n_train - 1)),
        UrlParam("test", "ss_test_protein", int_value(IntRange(0, n_test - 1)), default=0),
        UrlParam("seq", "ss_sequence", text_value, default=EXAMPLE),
    ]


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


def data_tab(data, split) -> None:
    """Where the labels come from, how long the proteins are, how the states are balanced, one protein."""
    st.markdown(
        "Each residue of a protein gets one of three labels from its solved structure (DSSP): **H** helix, "
        "**E** strand (sheet), **C** coil. Residues missing from the crystal structure are *not resolved*: "
        "the model still reads them, but no loss or score ever counts them."
    )
    parts = {"train": split.train, "validation": split.val, "test": split.test}
    subsets = {name: data.subset(idx) for name, idx in parts.items()}
    cols = st.columns(3)
    for col, (name, sub) in zip(cols, subsets.items()):
        col.metric(
            f"{name.capitalize()} proteins",
            f"{len(sub):,}",
            f"{sub.n_scored:,} scored residues",
            delta_color="off",
            delta_arrow="off",
        )
    explain(split.notes + " " + " ".join(data.notes))
    left, right = st.columns(2)
    left.plotly_chart(sf.length_histogram({n: s.lengths.tolist() for n, s in subsets.items()}), key="ss-len")
    right.plotly_chart(
        sf.class_balance_figure({n: s.class_counts() for n, s in subsets.items()}), key="ss-bal"
    )
    train = subsets["train"]
    choice = st.selectbox(
        "Look at one training protein",
        range(len(train)),
        index=min(3, len(train) - 1),
        format_func=lambda i: f"{train.ids[i]} · {len(train.sequences[i])} residues",
        key="ss_data_protein",
    )
    st.plotly_chart(
        sf.structure_figure(
            train.sequences[choice], {"true structure": train.ss3[choice]}, resolved=train.resolved[choice]
        ),
        key="ss-one",
    )


def model_config_widgets() -> dict:
    """The per-residue CNN's settings from the Model tab's widgets."""
    from protlab.structure import ResidueCNNConfig

    default = ResidueCNNConfig()  # the bundled model's settings are the starting point
    c1, c2, c3, c4 = st.columns(4)
    channels = c1.select_slider("Channels", CHANNELS, value=default.channels, key="ss_channels")
    kernel = c2.select_slider("Kernel size", KERNELS, value=default.kernel_size, key="ss_kernel")
    dilations = c3.selectbox(
        "Dilations of the residual blocks",
        DILATIONS,
        DILATIONS.index(default.dilations),
        key="ss_dil",
        format_func=lambda d: ", ".join(map(str, d)) or "none (no residual blocks)",
    )
    dropout = c4.slider("Dropout", 0.0, 0.5, default.dropout, 0.05, key="ss_dropout")
    return {
        "channels": int(channels),
        "kernel_size": int(kernel),
        "dilations": list(dilations),
        "dropout": float(dropout),
    }


def model_tab(config: dict) -> None:
    """Shapes at every layer for a padded batch of two proteins: the length survives to the output."""
    from protlab.data import pad_batch
    from protlab.models import build_model, count_parameters
    from protlab.structure import layer_shapes, receptive_field

    model = build_model("residue_cnn", config)
    tokens, mask = pad_batch([EXAMPLE[:30], EXAMPLE[30:48]])  # (2, 30): the second protein is padded
    st.markdown(
        "The solubility CNN pools over the sequence to give one answer per protein. This network has "
        "**no pooling**: every layer keeps the length, and a last 1x1 convolution (the same small linear "
        "layer at each position) turns each residue's features into three scores."
    )
    c1, c2, c3 = st.columns(3)
    c1.metric("Parameters", f"{count_parameters(model):,}")
    c2.metric("Input batch", f"{tuple(tokens.shape)}")
    c3.metric("Residues each prediction sees", receptive_field(model.config))
    summary = layer_shapes(model, tokens, mask)
    st.dataframe(
        summary,
        hide_index=True,
        key="ss-summary",
        height=35 * len(summary) + 38,
        column_config={
            "name": "Layer",
            "type": "Type",
            "output_shape": "Output shape",
            "parameters": st.column_config.NumberColumn("Parameters", format="%d"),
        },
    )
    explain(
        "The embedding gives (batch, length, features); Conv1d wants channels first, (batch, channels, "
        "length), so the model transposes before the convolutions and back at the end. "
        "Dilated convolutions skip residues (dilation 2 reads every second one, 4 every fourth...), so a few "
        "layers see far along the chain: strands pair with residues many positions away. Padded positions "
        "are zeroed after every layer, so a protein gets the same prediction alone or in a padded batch."
    )


def train_tab(config: dict) -> None:
    """Training settings, Start / Stop, live curves: the same queue and workers as the solubility runs."""
    c1, c2, c3, c4 = st.columns(4)
    settings = {
        "epochs": int(c1.number_input("Epochs", 1, 60, 15, key="ss_epochs")),
        "lr": float(c2.select_slider("Learning rate", LRS, 2e-3, key="ss_lr")),
        "batch_size": int(c3.select_slider("Batch size (proteins)", BATCH_SIZES, 16, key="ss_bs")),
        "seed": int(c4.number_input("Seed", 0, 10_000, 42, key="ss_seed")),
        "optimizer": "adamw",
        "weight_decay": 0.01,
        "patience": 5,
    }
    explain(
        "AdamW, early stopping after 5 epochs without a lower validation loss; the validation proteins are "
        "10% of CB513. The loss and Q3 count resolved residues only."
    )
    status = current_status()
    active = status is not None and status.state in ACTIVE
    b1, b2, _ = st.columns([1, 1, 3])
    if b1.button(
        "Start training", type="primary", disabled=active, key="ss_start", icon=":material/play_arrow:"
    ):
        try:
            submit_structure_run(config, settings)
            st.rerun()
        except ProtlabError as err:  # a full queue, one run at a time, ...
            st.error(literal(err), icon=":material/error:")
    if b2.button("Stop", disabled=not active, key="ss_stop", icon=":material/stop:"):
        try:
            run_manager().stop(status.run_id, session_owner())
        except ProtlabError as err:
            st.error(literal(err), icon=":material/error:")
        st.rerun()
    if status is not None:
        data, _ = task_data()
        counts = data.class_counts()  # CB513 and TS115 together: the share always-coil gets right
        coil = counts["C"] / sum(counts.values())
        st.fragment(live_panel, run_every=POLL_SECONDS if active else None)(status.state, coil)
        if status.state in USABLE and status.test_metrics:
            st.success(
                f"Test Q3 on TS115: **{status.test_metrics['q3']:.3f}** (always-coil baseline "
                f"{(status.baseline or {}).get('q3', float('nan')):.3f}). Choose this run as the model "
                "above to see its results and predictions.",
                icon=":material/check_circle:",
            )


def results_tab(data, split, path: str, mtime: float) -> None:
    """Q3, per-class precision / recall and confusion on TS115; true and predicted strips for one protein."""
    from protlab.structure import SS3_CLASSES

    scores = test_scores(path, mtime)
    test, base = scores["test"], scores["baseline"]
    c1, c2, c3 = st.columns(3)
    c1.metric("Q3 on TS115", f"{test['q3']:.3f}")
    c2.metric("Always-coil baseline", f"{base['q3']:.3f}")
    c3.metric("Scored test residues", f"{test['n']:,}")
    explain(
        "Q3 is the share of resolved residues whose state is right. Single-sequence methods trained on "
        "thousands of proteins reach about 0.70-0.75; methods using alignments or protein language models "
        "0.80-0.86. This model learned from about 400 proteins."
    )
    cm = np.array([[test[f"cm_{t}_{p}"] for p in SS3_CLASSES] for t in SS3_CLASSES])
    left, right = st.columns(2)
    left.plotly_chart(sf.per_class_figure(test, base), key="ss-per-class")
    right.plotly_chart(sf.confusion_figure(cm, "Confusion matrix on TS115"), key="ss-cm")
    test_data = data.subset(split.test)
    choice = st.selectbox(
        "Test protein",
        range(len(test_data)),
        key="ss_test_protein",
        format_func=lambda i: f"{test_data.ids[i]} · {len(test_data.sequences[i])} residues",
    )
    probs = scores["probs"][choice]
    predicted = "".join(SS3_CLASSES[k] for k in probs.argmax(axis=1))
    st.plotly_chart(
        sf.structure_figure(
            test_data.sequences[choice],
            {"true": test_data.ss3[choice], "predicted": predicted},
            resolved=test_data.resolved[choice],
            probs=probs,
        ),
        key="ss-compare",
    )


def predict_tab(path: str, mtime: float) -> None:
    """Type a sequence: its predicted structure strip, P(H/E/C) per residue and a downloadable table."""
    from protlab.data import clean_sequence

    text = st.text_area(
        "Protein sequence (one-letter codes; a FASTA header line is fine)",
        EXAMPLE,
        height=110,
        key="ss_sequence",
    )
    try:
        cleaned = clean_sequence(text)
        prediction = predictor(path, mtime).predict_one(cleaned.sequence)
    except ProtlabError as err:
        stop_with_error(err)
    st.code(prediction.ss3, language=None, wrap_lines=True)
    st.plotly_chart(
        sf.structure_figure(cleaned.sequence, {"predicted": prediction.ss3}, probs=prediction.probs),
        key="ss-predict",
    )
    table = prediction.table()
    st.download_button(
        "Download the per-residue table (CSV)",
        table.to_csv(index=False),
        "structure.csv",
        "text/csv",
        key="ss_download",
        icon=":material/download:",
    )
    st.dataframe(table, hide_index=True, height=240, key="ss-table")


def render() -> None:
    """Draw the page."""
    from protlab.structure import ResidueCNNConfig
    from protlab.structure.code import structure_code

    st.title("Per-residue prediction")
    st.markdown(
        "So far every model gave **one answer per protein**. Here the answer is **one label per residue**: "
        "is it in a helix, a strand or a coil? The model keeps the sequence length, the loss skips padding "
        "and unresolved residues, and the score is Q3, the share of residues right (the notes' N3 "
        "Exercise 1)."
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
    tabs = st.tabs(list(TABS.values()), key="ss_tab", on_change="rerun")
    with tabs[0]:
        data_tab(data, split)
    with tabs[1]:
        config = model_config_widgets()
        try:
            model_tab(config)
        except ProtlabError as err:
            stop_with_error(err)
    with tabs[2]:
        train_tab(config)
    with tabs[3]:
        try:
            results_tab(data, split, path, mtime)
        except ProtlabError as err:
            stop_with_error(err)
    with tabs[4]:
        predict_tab(path, mtime)
    pytorch_panel(structure_code(ResidueCNNConfig(**config)))
    values = {p.name: st.session_state[p.key] for p in params if p.key in st.session_state}
    write_url("structure", params, values)
    long = too_long_for_link(st.session_state.get("ss_sequence", ""))
    note = "Your sequence is too long for a link (more than 2,000 characters): paste it there yourself."
    with link_slot:
        copy_link("structure", params, note=note if long else "")


render()
