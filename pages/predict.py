"""Predict page: paste proteins, pick a model, get P(soluble), per-residue attributions and features."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from protlab.errors import CheckpointError, ProtlabError
from ui.common import explain, literal, pytorch_panel, run_manager, session_owner, stop_with_error
from ui.filter_logos import render_predictor_filters
from ui.identity import student_token
from ui.memory import keep_widgets, kept_index, remembered_upload
from ui.mutation_map import render_mutation_map
from ui.predict_input import MODEL_SOURCES, flags_of, read_proteins, run_from_link, show_flags
from ui.predict_known import construct_note, known_outcome, known_proteins_panel
from ui.predict_labels import labels_section
from ui.predict_prior import prior_input, prior_note, threshold_input, weak_model_warning
from ui.router import ensure_router, stop_page
from ui.run_labels import differing, run_title, unique_titles

student_token()  # read the address's token before a first-visit hand-over to app.py drops the query string
ensure_router()

UPLOAD_KEY = "uploaded_checkpoint"  # session key with (file name, bytes) of an uploaded checkpoint
UPLOAD_SLOT = "predict_checkpoint"  # the student's saved checkpoint upload
USABLE_STATES = ("finished", "stopped")  # runs whose best weights were saved
SHOWN_FEATURES = {  # feature column -> short panel title with units
    "length": "Length (residues)",
    "molecular_weight": "Molecular weight (Da)",
    "isoelectric_point": "Isoelectric point (pH)",
    "gravy": "GRAVY hydropathy (per residue)",
    "instability_index": "Instability index (>40 unstable)",
    "aromaticity": "Aromatic fraction (F+W+Y)",
}


@st.cache_resource(show_spinner="Loading the model...", max_entries=16)
def predictor_from_path(path: str, mtime: float):  # -> protlab.predict.Predictor
    """One shared Predictor per checkpoint file (mtime in the key reloads a file that changed)."""
    from protlab.predict import Predictor

    return Predictor.from_checkpoint(path)


@st.cache_resource(show_spinner="Loading the model...", max_entries=8)
def predictor_from_bytes(digest: str, _data: bytes):  # -> protlab.predict.Predictor | str
    """One shared Predictor per uploaded file, keyed by the SHA-256 of its bytes; a refused file's message
    is cached too, so a refused upload is not loaded again on every rerun."""
    from protlab.predict import Predictor

    try:
        return Predictor.from_checkpoint(_data)
    except ProtlabError as err:
        return str(err)


@st.cache_data(show_spinner=False)
def training_features() -> pd.DataFrame:
    """Physicochemical features of every protein in the bundled DeepSol data (shipped precomputed)."""
    from protlab.data import bundled_features

    return bundled_features()[list(SHOWN_FEATURES)]


@st.cache_data(show_spinner=False)
def bundled_lengths() -> tuple[int, int]:
    """Shortest and longest protein of the bundled DeepSol data (lengths only: no features computed)."""
    from ui.train_data import bundled_data

    data, _ = bundled_data()  # one cached read of the CSV for the pages
    lengths = [len(s) for s in data.sequences]
    return min(lengths), max(lengths)


def length_range(predictor):  # -> protlab.predict_input.LengthRange
    """The lengths the model learned from: its checkpoint's record, else the bundled training proteins."""
    from protlab.predict_input import LengthRange, training_length_range

    shortest, longest = bundled_lengths()
    bundled = LengthRange(shortest, longest, "the bundled DeepSol training proteins")
    return training_length_range(predictor.meta, bundled)


@dataclass
class ChosenModel:
    """The model the page predicts with."""

    predictor: object  # protlab.predict.Predictor
    name: str  # display name (the sidebar shows it)
    code_source: str  # what the "Show me the PyTorch" script loads: "default", a path or a file name
    key: str  # identifies the weights (path and modification time, or the upload's SHA-256)


def _from_path(path: Path, name: str, code_source: str) -> ChosenModel:
    """A model loaded (once per file version) from a checkpoint on disk."""
    mtime = path.stat().st_mtime
    return ChosenModel(predictor_from_path(str(path), mtime), name, code_source, f"{path}:{mtime}")


def _default_model() -> ChosenModel | None:
    """The bundled default model, or None when its file is missing."""
    from protlab.predict import DEFAULT_MODEL_PATH

    path = Path(DEFAULT_MODEL_PATH)
    return _from_path(path, "Bundled default model", "default") if path.exists() else None


def _usable_runs() -> list[dict]:
    """The student's finished or stopped runs that saved a checkpoint, newest first."""
    rows = [
        r
        for r in run_manager().list_runs(session_owner())
        if (r.get("spec") or {}).get("task", "solubility") == "solubility"
    ]  # not per-residue runs
    return [
        r
        for r in rows
        if r["state"] in USABLE_STATES and r.get("checkpoint") and Path(r["checkpoint"]).exists()
    ]


def choose_model() -> ChosenModel:
    """Let the student pick the bundled model, one of their runs, or an uploaded checkpoint."""
    from protlab.predict import DEFAULT_MODEL_PATH

    run_from_link()
    source = st.radio(
        "Model", MODEL_SOURCES, kept_index("model_source", MODEL_SOURCES), horizontal=True, key="model_source"
    )
    keep_widgets(["model_source"])
    if source == MODEL_SOURCES[0]:
        default = _default_model()
        if default is None:
            stop_with_error(
                CheckpointError(
                    f"The bundled model {DEFAULT_MODEL_PATH} is missing; train one on the Train page."
                )
            )
        return default
    if source == MODEL_SOURCES[1]:
        runs = _usable_runs()
        if not runs:
            st.info("You have no finished training runs yet. Train one on the **Train a classifier** page.")
            stop_page()
        differ = differing(runs)  # the settings that tell this student's runs apart, in both name lists
        labels = unique_titles(runs, title=lambda r: run_title(r, differ=differ))
        names = unique_titles(runs, title=lambda r: run_title(r, with_auc=False, differ=differ))
        run_id = st.selectbox(
            "Run",
            list(labels),
            kept_index("predict_run", list(labels)),
            format_func=labels.get,
            key="predict_run",
            help="Your finished runs (and runs you stopped early), newest first.",
        )
        keep_widgets(["predict_run"])
        row = next(r for r in runs if r["run_id"] == run_id)
        path = Path(row["checkpoint"])
        return _from_path(path, f"My run: {names[run_id]}", str(path))
    name, data = remembered_upload(
        "Checkpoint file (.pt) saved by ProtLab",
        ["pt"],
        UPLOAD_KEY,
        "Upload a .pt checkpoint, for example one downloaded from the Train page.",
        slot=UPLOAD_SLOT,
    )
    digest = hashlib.sha256(data).hexdigest()
    loaded = predictor_from_bytes(digest, data)
    if isinstance(loaded, str):  # the refusal cached for this file
        raise CheckpointError(loaded)
    return ChosenModel(loaded, f"Uploaded {name}", name, digest)


def _remember_model(name: str, predictor) -> None:
    """Show the chosen model and its held-out test AUC in the sidebar (st.session_state['active_model']).

    The sidebar's model line is drawn after the page (app.fill_sidebar), so it shows the choice at once: no
    rerun, which on a first visit made the page run twice and could swallow a click made in between."""
    st.session_state["active_model"] = {"name": name, "auc": predictor.test_auc}  # a run: metrics['test']


def show_one(predictor, record, threshold: float, prior: float | None) -> None:
    """Probability, call, per-residue attribution and features of one sequence."""
    from protlab.data import compute_features
    from protlab.lessons import result_figures as rf

    row = predictor.predict_table([record], threshold=threshold, prior=prior).iloc[0]
    p, call = float(row["p_soluble"]), str(row["prediction"])
    left, right = st.columns([1, 3], vertical_alignment="center")
    left.metric(
        "P(soluble)",
        f"{p:.3f}",
        help=f"The model's probability that {literal(record.id)} stays soluble when expressed in E. coli"
        + (" (adjusted to your expected fraction)." if prior is not None else "."),
    )
    left.markdown(f"Call at threshold {threshold:.2f}: **{call}**")
    right.plotly_chart(rf.probability_figure(p, threshold=threshold), key=f"bar-{record.id}")
    score = float(row["model_score"]) if prior is not None else p  # the unadjusted P(soluble)
    own_call = "soluble" if score >= threshold else "insoluble"  # at the model's training share
    known_outcome(record.sequence, call, own_call, prior)
    construct_note(record.sequence)
    lengths = length_range(predictor)
    show_flags(flags_of([record], lengths), lengths)
    prior_note(predictor, prior, threshold, score if prior is not None else None)
    for note in record.notes:
        st.caption(f"Cleaning note: {literal(note)}")
    st.subheader("Which residues drove the prediction?")
    explain(
        "Each bar is one residue. Green bars pushed the model towards *soluble*, orange bars towards "
        "*insoluble*: gradient x input on the residue embeddings, in units of the log-odds of soluble, "
        "log(P / (1 - P)), the model's own score before any expected fraction (which shifts every "
        "protein's log-odds by the same amount). Hover to see the residue letter. This shows what the "
        "model uses, not proven biology."
    )
    st.plotly_chart(
        rf.attribution_figure(record.sequence, predictor.attribution(record.sequence)),
        key=f"attr-{record.id}",
    )
    seen, others = predictor.attribution_share()
    if seen < 1:
        kinds = ", ".join(k.replace("_", " ") for k in others)
        st.caption(
            f"The bars come from the members that read residues through an embedding: {seen:.0%} of this "
            f"model's average. The other {1 - seen:.0%} comes from members without one ({kinds}), which the "
            "bars leave out. The mutation map below shows the effect of every member."
        )
    st.subheader("How does this protein compare with the DeepSol proteins?")
    explain(
        "Each box shows where the middle half of the 6,942 bundled DeepSol proteins lie: the proteins the "
        "default model learned from, and those a run on the Train page learns from unless you upload your "
        "own. The red diamond is your protein. A protein far outside the boxes is unlike those proteins, so "
        "treat its prediction with extra care."
    )
    mine = compute_features(record.sequence)
    figure = rf.feature_distribution_figure(
        training_features(),
        mine,
        list(SHOWN_FEATURES),
        SHOWN_FEATURES,
        query_name=html.escape(record.id),
        reference_name="DeepSol proteins",
    )
    st.plotly_chart(figure, key=f"feat-{record.id}")
    render_mutation_map(predictor, record, threshold)
    render_predictor_filters(predictor)


def show_many(predictor, records, threshold: float, prior: float | None, labels: list[int] | None) -> None:
    """A sortable table of predictions with a CSV download, the calls against the file's labels (if it has
    them), and details for one chosen sequence."""
    from protlab.data import CLASS_NAMES

    table = predictor.predict_table(records, threshold=threshold, prior=prior)
    st.subheader(f"Predictions for {len(records):,} sequences")
    explain("Click a column header to sort. The bar shows P(soluble); the call uses your threshold.")
    prior_note(predictor, prior, threshold)
    lengths = length_range(predictor)
    flags = flags_of(records, lengths)
    table.insert(table.columns.get_loc("prediction") + 1, "check", ["; ".join(flags[i]) for i in table["id"]])
    if labels is not None:  # the file's own labels, right beside the calls
        table.insert(
            table.columns.get_loc("prediction") + 1, "label", [CLASS_NAMES.get(y, "") for y in labels]
        )
    show_flags(flags, lengths)
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "id": st.column_config.TextColumn("ID"),
            "sequence": st.column_config.TextColumn("Sequence", width="small"),  # the Check text needs room
            "length": st.column_config.NumberColumn("Length (residues)"),
            "p_soluble": st.column_config.ProgressColumn(
                "P(soluble)", min_value=0.0, max_value=1.0, format="%.3f"
            ),
            "prediction": st.column_config.TextColumn("Call"),
            "label": st.column_config.TextColumn("Your label", help="The label column of your file."),
            "check": st.column_config.TextColumn(
                "Check",
                help="Why to read this call with care: length outside the training range, unknown "
                "residues. Empty: an ordinary protein.",
                width="large",
            ),
            "model_score": st.column_config.NumberColumn("Model's own score", format="%.3f"),
        },
    )
    st.download_button(
        "Download predictions (CSV)",
        table.to_csv(index=False).encode(),
        "protlab_predictions.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    if labels is not None:
        labels_section(table["p_soluble"].to_numpy(), labels, threshold, table["sequence"].tolist())
    ids = [r.id for r in records]
    chosen = st.selectbox("Look closer at one sequence", ids)
    show_one(predictor, records[ids.index(chosen)], threshold, prior)


def render() -> None:
    """Draw the Predict page."""
    from protlab.codegen import prediction_script

    st.title("Predict solubility")
    st.markdown(
        "Paste one protein or many (FASTA), or upload a file, choose a model, and see how likely each "
        "protein is to be **soluble when expressed in *E. coli***, and which residues drove that call."
    )
    try:
        proteins = read_proteins()
        chosen = choose_model()
    except ProtlabError as err:
        stop_with_error(err)
    predictor = chosen.predictor
    _remember_model(chosen.name, predictor)
    weak_model_warning(predictor)
    threshold = threshold_input(predictor, chosen.name)
    prior = prior_input(predictor, chosen.name)
    records = proteins.records
    for note in proteins.notes:
        st.caption(literal(note))
    try:
        if len(records) == 1:
            show_one(predictor, records[0], threshold, prior)
        elif records:
            show_many(predictor, records, threshold, prior, proteins.labels)
    except ProtlabError as err:
        stop_with_error(err)
    # Further sections on the same proteins and model (predictor, records, threshold) go here.
    default_model = _default_model()
    known_proteins_panel(
        (chosen.key, chosen.name, predictor),
        None if default_model is None else (default_model.key, default_model.name, default_model.predictor),
    )
    if not records:  # the reasons stand under the box; the known proteins above are still worth a look
        return
    pytorch_panel(
        prediction_script(
            chosen.code_source,
            [r.sequence for r in records],
            threshold=threshold,
            ids=[r.id for r in records],
            prior=prior,
            train_prior=predictor.training_prior,
        )
    )


render()
