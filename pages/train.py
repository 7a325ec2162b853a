"""Train page: check the data, choose a model and settings, train in the background, read the results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from protlab.errors import ProtlabError
from protlab.lessons import result_figures as rf
from ui.common import explain, pytorch_panel, run_manager, session_owner, stop_with_error
from ui.identity import student_token
from ui.memory import keep_widgets, kept, kept_index, remembered_upload
from ui.router import ensure_router
from ui.run_labels import OPTIMIZER_NAMES, settings_text
from ui.run_results import compare_section, results_section
from ui.train_runs import (
    ACTIVE_STATES,
    POLL_SECONDS,
    RERUN_STATES,
    current_run_id,
    epoch_cap,
    live_panel,
    run_again,
    run_picker,
    share_controls,
    status_of,
    submit_run,
)

student_token()  # read the address's token before a first-visit hand-over to app.py drops the query string
ensure_router()

UPLOAD_KEY = "uploaded_bytes"  # session key with (file name, bytes) of the uploaded data; tests may set it
UPLOAD_SLOT = "train_data"  # the student's saved upload of training data
QUICK_SAMPLE = 1_000  # rows in the "quick class demo" sample
MAX_EPOCHS = 1000  # the epochs widget's top when the class has no epoch cap
KERNELS = [1, 3, 5, 7, 9, 11, 15]  # kernel sizes offered (residues)
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0]  # learning rates offered
BATCH_SIZES = [8, 16, 32, 64, 128, 256]  # batch sizes offered
WEIGHT_DECAYS = [0.0, 1e-4, 1e-3, 0.01, 0.1]  # weight decays offered
DATA_CHOICES = ["Bundled DeepSol data (6,942 proteins)", "Upload my own CSV or FASTA"]
SETTING_KEYS = [  # widgets remembered across page switches and visits
    "data_choice",
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
    "weight_decay",
    "grad_accum",
    "grad_clip",
    "seed",
    "mixed_precision",
    "compare_metric",
]


@st.cache_data(show_spinner="Reading the bundled DeepSol data...")
def bundled_data():  # -> tuple[LabelledData, ValidationReport]
    """The bundled DeepSol data and its validation report (read once per server)."""
    from protlab.data import load_bundled

    return load_bundled()


@st.cache_data(show_spinner="Checking your file...", max_entries=8)
def uploaded_data(data: bytes, filename: str):  # -> tuple[LabelledData, ValidationReport]
    """Validate uploaded CSV/FASTA bytes in memory (never written to disk under the user's name)."""
    from protlab.data import load_labelled

    return load_labelled(data, filename=filename)


def data_section():  # -> tuple[LabelledData, ValidationReport, str]
    """Choose the bundled data or an upload; returns data, report and the source name."""
    st.header("1 · Data")
    choice = st.radio(
        "Training data",
        DATA_CHOICES,
        kept_index("data_choice", DATA_CHOICES),
        horizontal=True,
        key="data_choice",
    )
    if choice.startswith("Bundled"):
        return (*bundled_data(), "bundled")
    explain(
        "CSV: a column of sequences and a column of 0/1 labels (1 = soluble). FASTA: put the label at "
        "the end of each header line, e.g. `>myprotein label=1`."
    )
    types = ["csv", "tsv", "txt", "fasta", "fa", "faa"]
    name, raw = remembered_upload(
        "Labelled sequences",
        types,
        UPLOAD_KEY,
        "Upload a file to continue, or switch back to the bundled data.",
        slot=UPLOAD_SLOT,
    )
    return (*uploaded_data(raw, name), name)


def report_section(data, report) -> None:
    """Show what validation kept and dropped, the class balance and the lengths, before any training."""
    kept, dropped = report.n_kept, report.n_read - report.n_kept
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows kept", f"{kept:,}")
    c2.metric("Rows dropped", f"{dropped:,}")
    counts = report.class_counts
    c3.metric("Soluble (1)", f"{int(counts.get(1, 0)):,}")
    c4.metric("Insoluble (0)", f"{int(counts.get(0, 0)):,}")
    left, right = st.columns([2, 3])
    with left:
        for line in report.summary_lines():
            st.caption(line)
        if len(report.dropped):
            with st.expander(f"Why {dropped:,} rows were dropped"):
                st.dataframe(
                    pd.DataFrame(list(report.reasons.items()), columns=["reason", "rows"]), hide_index=True
                )
                st.dataframe(report.dropped, hide_index=True)
        explain(
            "A model that always answers the larger class already gets that class's share right, so look "
            "at the balance before you celebrate an accuracy number."
        )
    right.plotly_chart(
        rf.length_histogram(report.lengths, data.labels, title="Sequence lengths by class"), key="lengths"
    )


def sample_section(n_rows: int) -> int | None:
    """Optionally train on a random sample of rows (for a fast class demo)."""
    quick = [f"Quick demo: {QUICK_SAMPLE:,} random rows"] if n_rows > QUICK_SAMPLE else []
    options = ["All rows", *quick, "Custom sample size"]
    choice = st.radio(
        "How much of the data to use",
        options,
        kept_index("sample_choice", options),
        horizontal=True,
        key="sample_choice",
    )
    if choice == "All rows":
        return None
    if choice.startswith("Quick"):
        return QUICK_SAMPLE
    top = max(n_rows, 30)
    return int(
        st.number_input(
            "Rows to sample", 30, top, max(30, min(kept("sample_size", 500), top)), 10, key="sample_size"
        )
    )


def sample_rows(data, size: int | None, seed: int):  # -> LabelledData
    """The rows the run trains on: all of them, or a seeded random sample drawn like the generated script."""
    from protlab.data import LabelledData

    if size is None or size >= len(data):
        return data
    keep = np.sort(np.random.default_rng(seed).choice(len(data), size=size, replace=False))  # (size,) int64
    return LabelledData(
        [data.sequences[i] for i in keep], np.asarray(data.labels)[keep], [data.ids[i] for i in keep]
    )


def split_section() -> tuple[str, float]:
    """Stratified (the notes' method) or homology-aware split."""
    method = st.radio(
        "How to split train / validation / test (80 / 10 / 10)",
        ["stratified", "homology"],
        kept_index("split_method", ["stratified", "homology"]),
        horizontal=True,
        key="split_method",
        format_func={
            "stratified": "Stratified by label (the notes)",
            "homology": "Homology-aware (keep similar proteins together)",
        }.get,
    )
    identity = 0.4
    if method == "homology":
        identity = st.slider("Identity threshold", 0.3, 0.9, kept("identity", 0.4), 0.05, key="identity")
        explain(
            "Proteins at least this identical end up in the same set, so the test set holds no close "
            "relatives of training proteins. Scores are lower but more honest."
        )
    else:
        explain(
            "Each set keeps the same share of soluble proteins. Close homologues may land in both "
            "training and test sets, which can make the test score look better than it really is."
        )
    return method, identity


def model_section() -> tuple[str, dict]:
    """The notes' CNN (editable widths, kernel, depth) or the dual-input model, with their defaults."""
    from protlab.models import CNNConfig

    d = CNNConfig()
    st.header("2 · Model")
    names = {
        "cnn": "1D-CNN (intro note, sec. 7)",
        "dual": "Dual input: sequence + 5 global features (fundamentals, sec. 6)",
    }
    kind = st.radio(
        "Architecture",
        ["cnn", "dual"],
        kept_index("model_kind", ["cnn", "dual"]),
        horizontal=True,
        key="model_kind",
        format_func=names.get,
    )
    c1, c2, c3, c4 = st.columns(4)
    config = {
        "embed_dim": int(
            c1.number_input(
                "Embedding size",
                1,
                1024,
                kept("embed_dim", d.embed_dim),
                key="embed_dim",
                help="Length of the learned vector for each amino acid.",
            )
        ),
        "hidden_dim": int(
            c2.number_input(
                "Filters per layer",
                1,
                2048,
                kept("hidden_dim", d.hidden_dim),
                key="hidden_dim",
                help="How many motif detectors each convolution learns.",
            )
        ),
        "kernel_size": c3.select_slider(
            "Kernel (residues)",
            KERNELS,
            kept("kernel_size", d.kernel_size, options=KERNELS),
            key="kernel_size",
            help="How many neighbouring residues each filter sees.",
        ),
    }
    if kind == "cnn":
        config["num_layers"] = int(
            c4.number_input("Conv layers", 1, 8, kept("num_layers", d.num_layers), key="num_layers")
        )
        config["dropout"] = st.slider(
            "Dropout",
            0.0,
            0.8,
            kept("dropout", d.dropout),
            0.05,
            key="dropout",
            help="Share of activations switched off at random while training.",
        )
        explain(
            "The 1D-CNN slides small filters along the sequence to find local motifs (charge clusters, "
            "hydrophobic stretches) and averages them over the whole protein."
        )
    else:
        config["global_dim"] = int(
            c4.number_input("Global branch width", 1, 1024, kept("global_dim", 32), key="global_dim")
        )
        explain(
            "The dual-input model adds a small branch for five whole-protein numbers (weight, pI, GRAVY, "
            "instability, length), standardised with the training set's mean and spread."
        )
    return kind, config


def settings_section():  # -> protlab.training.TrainConfig
    """Optimizer and training settings (TrainConfig's defaults), device and mixed precision."""
    from protlab.training import (
        OPTIMIZERS,
        SCHEDULERS,
        TrainConfig,
        device_label,
        mixed_precision_available,
        resolve_device,
    )

    d = TrainConfig()
    st.header("3 · Training settings")
    c1, c2, c3, c4 = st.columns(4)
    optimizer = c1.selectbox(
        "Optimizer",
        OPTIMIZERS,
        kept_index("optimizer", OPTIMIZERS),
        format_func=OPTIMIZER_NAMES.get,
        key="optimizer",
    )
    lr = c2.select_slider(
        "Learning rate",
        LEARNING_RATES,
        kept("lr", d.lr, options=LEARNING_RATES),
        key="lr",
        format_func=lambda v: f"{v:g}",
    )
    batch_size = c3.select_slider(
        "Batch size", BATCH_SIZES, kept("batch_size", d.batch_size, options=BATCH_SIZES), key="batch_size"
    )
    cap = epoch_cap()
    top = cap or MAX_EPOCHS
    epochs = c4.number_input(
        "Epochs",
        1,
        top,
        kept("epochs", min(d.epochs, top), low=1, high=top),
        key="epochs",
        help=f"Your class allows at most {cap} epochs per run." if cap else None,
    )
    c1, c2, c3, c4 = st.columns(4)
    patience = c1.number_input(
        "Early-stopping patience",
        0,
        1000,
        kept("patience", d.patience),
        key="patience",
        help="Stop after this many epochs without a lower validation loss (0: never).",
    )
    schedules = {"plateau": "Reduce on plateau", "warmup": "Linear warm-up (Exercise 2)", "none": "Constant"}
    scheduler = c2.selectbox(
        "LR schedule",
        SCHEDULERS,
        kept_index("scheduler", SCHEDULERS),
        key="scheduler",
        format_func=schedules.get,
    )
    weight_decay = c3.select_slider(
        "Weight decay",
        WEIGHT_DECAYS,
        kept("weight_decay", d.weight_decay, options=WEIGHT_DECAYS),
        key="weight_decay",
        help="AdamW in Exercise 4 uses 0.01.",
    )
    grad_accum = c4.number_input(
        "Gradient accumulation",
        1,
        64,
        kept("grad_accum", d.grad_accum_steps),
        key="grad_accum",
        help="Add up gradients of this many batches before one step (Exercise 3).",
    )
    c1, c2, c3, c4 = st.columns(4)
    grad_clip = c1.number_input(
        "Gradient clipping (0 = off)",
        0.0,
        100.0,
        kept("grad_clip", d.grad_clip),
        0.5,
        key="grad_clip",
        help="Largest allowed length (norm) of the gradient vector.",
    )
    seed = c2.number_input("Random seed", 0, 2**31 - 1, kept("seed", d.seed), key="seed")
    device = resolve_device("auto")
    c3.markdown(f"**Device:** {device_label(device)}")
    mixed = False
    if mixed_precision_available(device):
        mixed = c4.checkbox(
            "Mixed precision (GPU only)",
            kept("mixed_precision", False),
            key="mixed_precision",
            help="16-bit arithmetic on the GPU: faster, same accuracy for this model.",
        )
    explain(
        "Adam adapts each weight's step size and is the notes' default; train once each with SGD + "
        "momentum, Adam and AdamW (weight decay 0.01) and overlay them in **Compare runs** below "
        "(Exercise 4)."
    )
    config = TrainConfig(
        optimizer=optimizer,
        lr=float(lr),
        weight_decay=float(weight_decay),
        batch_size=int(batch_size),
        epochs=int(epochs),
        patience=int(patience),
        scheduler=scheduler,
        grad_clip=float(grad_clip),
        grad_accum_steps=int(grad_accum),
        seed=int(seed),
        mixed_precision=mixed,
        batch_events=True,
    )
    config.validate()
    return config


def build_spec(
    data,
    source: str,
    sample: int | None,
    split: tuple[str, float],
    kind: str,
    model_config: dict,
    train_config,
):  # -> protlab.runs.RunSpec
    """Bundle every choice into the RunSpec the background worker runs (data already validated in memory)."""
    from protlab.runs import RunSpec

    rows = sample_rows(data, sample, train_config.seed)
    where = "bundled DeepSol" if source == "bundled" else f"uploaded {source}"
    sampled = f" sampled from {len(data):,}" if len(rows) < len(data) else ""
    description = f"{where}, {len(rows):,} rows{sampled}"
    params = {"identity": split[1]} if split[0] == "homology" else {}
    spec = RunSpec(
        data=rows,
        data_description=description,
        split_method=split[0],
        split_params=params,
        model_kind=kind,
        model_config=model_config,
        train_config=train_config,
    )
    spec.name = settings_text(spec.summary())
    return spec


def script_for(
    source: str, sample: int | None, split: tuple[str, float], kind: str, model_config: dict, train_config
) -> str:
    """The runnable PyTorch script for these settings."""
    from protlab.codegen import TrainScriptSettings, training_script

    return training_script(
        TrainScriptSettings(
            data_source=source,
            sample_size=sample,
            split_method=split[0],
            identity=split[1],
            model_kind=kind,
            model_config=model_config,
            train_config=train_config.to_dict(),
        )
    )


def render() -> None:
    """Draw the Train page."""
    st.title("Train a solubility classifier")
    st.markdown(
        "Train the course's 1D-CNN on real proteins. Your run waits its turn in the class queue, "
        "then trains in the background: switch pages, reload, or come back later with your personal "
        "link."
    )
    try:
        data, report, source = data_section()
        report_section(data, report)
        sample = sample_section(report.n_kept)
        split = split_section()
        kind, model_config = model_section()
        train_config = settings_section()
    except ProtlabError as err:
        stop_with_error(err)
    finally:
        keep_widgets(SETTING_KEYS)
    st.subheader("Train", divider="gray")
    status = status_of(current_run_id())
    run_picker(status)
    active = status is not None and status.state in ACTIVE_STATES
    c1, c2, c3, _ = st.columns([1, 1, 1, 2])
    if c1.button(
        "Start training", type="primary", disabled=active, key="start", icon=":material/play_arrow:"
    ):
        try:
            submit_run(build_spec(data, source, sample, split, kind, model_config, train_config))
            st.rerun()
        except ProtlabError as err:  # a full queue, the epoch cap: say so, keep the rest of the page
            st.error(str(err), icon=":material/error:")
    queued = status is not None and status.state == "queued"
    if c2.button(
        "Cancel" if queued else "Stop",
        disabled=not active,
        key="stop",
        icon=":material/close:" if queued else ":material/stop:",
    ):
        try:
            run_manager().stop(status.run_id, session_owner())
        except ProtlabError as err:
            st.error(str(err), icon=":material/error:")
        if not queued:
            st.toast(
                "Stopping after the current batch; the best weights so far are kept.", icon=":material/stop:"
            )
        st.rerun()
    if (
        status is not None
        and status.state in RERUN_STATES
        and c3.button(
            "Run again",
            key="rerun",
            icon=":material/replay:",
            help="Queue a new run with exactly these settings.",
        )
    ):
        try:
            run_again(status.run_id)
            st.rerun()
        except ProtlabError as err:
            st.error(str(err), icon=":material/error:")
    if status is not None:
        st.fragment(live_panel, run_every=POLL_SECONDS if active else None)(status.state)
        share_controls(status)
        if not active:
            results_section(status)
    compare_section()
    keep_widgets(SETTING_KEYS)
    pytorch_panel(script_for(source, sample, split, kind, model_config, train_config))


render()
