"""Train page: check the data, choose a model and settings, train in the background, read the results."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import streamlit as st

from protlab import run_figures as rf
from protlab.errors import ProtlabError
from ui.common import explain, pytorch_panel, run_manager, session_owner, stop_with_error

UPLOAD_KEY = "uploaded_bytes"  # session key with (file name, bytes) of the uploaded data; tests set it directly
RUN_KEY = "train_run_id"  # session key with the id of this session's latest run
QUICK_SAMPLE = 1_000  # rows in the "quick class demo" sample
OPTIMIZER_NAMES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "sgd_momentum": "SGD + momentum"}
ACTIVE_STATES = ("queued", "running")


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


def data_section():  # -> tuple[LabelledData, ValidationReport, str, bytes | None]
    """Choose the bundled data or an upload; returns data, report, source name and uploaded bytes."""
    st.header("1 · Data")
    choice = st.radio("Training data", ["Bundled DeepSol data (6,942 proteins)", "Upload my own CSV or FASTA"],
                      horizontal=True, key="data_choice")
    if choice.startswith("Bundled") and UPLOAD_KEY not in st.session_state:
        return (*bundled_data(), "bundled", None)
    explain("CSV: a column of sequences and a column of 0/1 labels (1 = soluble). FASTA: put the label at the "
            "end of each header line, e.g. `>myprotein label=1`.")
    upload = st.file_uploader("Labelled sequences", type=["csv", "tsv", "txt", "fasta", "fa", "faa"])
    if upload is not None:
        st.session_state[UPLOAD_KEY] = (upload.name, upload.getvalue())
    if UPLOAD_KEY not in st.session_state:
        st.info("Upload a file to continue, or switch back to the bundled data.")
        st.stop()
    name, raw = st.session_state[UPLOAD_KEY]
    return (*uploaded_data(raw, name), name, raw)


def report_section(data, report) -> None:
    """Show what validation kept and dropped, the class balance and the lengths, before any training."""
    kept, dropped = report.n_kept, report.n_read - report.n_kept
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows kept", f"{kept:,}")
    c2.metric("Rows dropped", f"{dropped:,}")
    counts = report.class_counts
    c3.metric("Soluble (1)", f"{int(counts.get(1, 0)):,}")
    c4.metric("Insoluble (0)", f"{int(counts.get(0, 0)):,}")
    for line in report.summary_lines():
        st.caption(line)
    if len(report.dropped):
        with st.expander(f"Why {dropped:,} rows were dropped"):
            st.dataframe(pd.DataFrame(list(report.reasons.items()), columns=["reason", "rows"]), hide_index=True)
            st.dataframe(report.dropped, hide_index=True)
    explain("A model that always answers the larger class already gets that class's share right, so look at "
            "the balance before you celebrate an accuracy number.")
    st.plotly_chart(rf.length_histogram(report.lengths, data.labels, title="Sequence lengths by class"),
                    key="lengths")


def sample_section(n_rows: int) -> int | None:
    """Optionally train on a random sample of rows (for a fast class demo)."""
    options = ["All rows"] + ([f"Quick demo: {QUICK_SAMPLE:,} random rows"] if n_rows > QUICK_SAMPLE else []) \
        + ["Custom sample size"]
    choice = st.radio("How much of the data to use", options, horizontal=True, key="sample_choice")
    if choice == "All rows":
        return None
    if choice.startswith("Quick"):
        return QUICK_SAMPLE
    return st.number_input("Rows to sample", 30, n_rows, min(500, n_rows), 10, key="sample_size")


def split_section() -> tuple[str, float]:
    """Stratified (the notes' method) or homology-aware split."""
    method = st.radio("How to split train / validation / test (80 / 10 / 10)",
                      ["stratified", "homology"], horizontal=True, key="split_method",
                      format_func={"stratified": "Stratified by label (the notes)",
                                   "homology": "Homology-aware (keep similar proteins together)"}.get)
    identity = 0.4
    if method == "homology":
        identity = st.slider("Identity threshold", 0.3, 0.9, 0.4, 0.05, key="identity")
        explain("Proteins at least this identical end up in the same set, so the test set holds no close "
                "relatives of training proteins. Scores are lower but more honest.")
    else:
        explain("Each set keeps the same share of soluble proteins. Close homologues may land in both training "
                "and test sets, which can make the test score look better than it really is.")
    return method, identity


def model_section() -> tuple[str, dict]:
    """The notes' CNN (editable widths, kernel, depth) or the dual-input model."""
    st.header("2 · Model")
    kind = st.radio("Architecture", ["cnn", "dual"], horizontal=True, key="model_kind",
                    format_func={"cnn": "1D-CNN (intro note, sec. 7)",
                                 "dual": "Dual input: sequence + 5 global features (fundamentals, sec. 6)"}.get)
    c1, c2, c3, c4 = st.columns(4)
    config = {
        "embed_dim": c1.number_input("Embedding size", 2, 512, 64, key="embed_dim",
                                     help="Length of the learned vector for each amino acid."),
        "hidden_dim": c2.number_input("Filters per layer", 2, 1024, 128, key="hidden_dim",
                                      help="How many different motif detectors each convolution learns."),
        "kernel_size": c3.select_slider("Kernel (residues)", [1, 3, 5, 7, 9, 11, 15], 5, key="kernel_size",
                                        help="How many neighbouring residues each filter looks at."),
    }
    if kind == "cnn":
        config["num_layers"] = c4.number_input("Conv layers", 1, 8, 2, key="num_layers")
        config["dropout"] = st.slider("Dropout", 0.0, 0.8, 0.3, 0.05, key="dropout",
                                      help="Share of activations switched off at random while training.")
    else:
        config["global_dim"] = c4.number_input("Global branch width", 2, 256, 32, key="global_dim")
    explain("The 1D-CNN slides small filters along the sequence to find local motifs (charge clusters, "
            "hydrophobic stretches) and averages them over the whole protein.")
    return kind, config


def settings_section():  # -> protlab.training.TrainConfig
    """Optimizer and training settings (the notes' defaults), device and mixed precision."""
    from protlab.device import device_label, mixed_precision_available, resolve_device
    from protlab.training import OPTIMIZERS, TrainConfig

    st.header("3 · Training settings")
    c1, c2, c3, c4 = st.columns(4)
    optimizer = c1.selectbox("Optimizer", OPTIMIZERS, format_func=OPTIMIZER_NAMES.get, key="optimizer")
    lr = c2.select_slider("Learning rate", [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0], 1e-3,
                          key="lr", format_func=lambda v: f"{v:g}")
    batch_size = c3.select_slider("Batch size", [8, 16, 32, 64, 128, 256], 32, key="batch_size")
    epochs = c4.number_input("Epochs", 1, 200, 20, key="epochs")
    c1, c2, c3, c4 = st.columns(4)
    patience = c1.number_input("Early-stopping patience", 0, 100, 5, key="patience",
                               help="Stop after this many epochs without a lower validation loss (0: never).")
    scheduler = c2.selectbox("LR schedule", ["plateau", "warmup", "none"], key="scheduler", format_func={
        "plateau": "Reduce on plateau", "warmup": "Linear warm-up (Exercise 2)", "none": "Constant"}.get)
    weight_decay = c3.select_slider("Weight decay", [0.0, 1e-4, 1e-3, 0.01, 0.1], 0.0, key="weight_decay")
    grad_accum = c4.number_input("Gradient accumulation", 1, 64, 1, key="grad_accum",
                                 help="Add up gradients of this many batches before one step (Exercise 3).")
    c1, c2, c3 = st.columns(3)
    grad_clip = c1.number_input("Gradient clipping (max norm, 0 = off)", 0.0, 100.0, 1.0, 0.5, key="grad_clip")
    seed = c2.number_input("Random seed", 0, 2**31 - 1, 42, key="seed")
    device = resolve_device("auto")
    c3.markdown(f"**Device:** {device_label(device)}")
    mixed = False
    if mixed_precision_available(device):
        mixed = c3.checkbox("Mixed precision (GPU only)", False, key="mixed_precision")
    explain("Adam adapts each weight's step size and is the notes' default; compare it with SGD and AdamW "
            "(Exercise 4) using **Compare runs** below.")
    config = TrainConfig(optimizer=optimizer, lr=float(lr), weight_decay=float(weight_decay), batch_size=batch_size,
                         epochs=int(epochs), patience=int(patience), scheduler=scheduler, grad_clip=float(grad_clip),
                         grad_accum_steps=int(grad_accum), seed=int(seed), mixed_precision=mixed)
    config.validate()
    return config


def _spec(source: str, raw: bytes | None, sample: int | None, split: tuple[str, float], kind: str,
          model_config: dict, train_config):  # -> protlab.runs.RunSpec
    """Bundle every choice into the RunSpec the background worker runs."""
    from protlab.runs import RunSpec

    return RunSpec(data=raw if raw is not None else "bundled", filename=None if raw is None else source,
                   sample_size=sample, split_method=split[0], identity=split[1], model_kind=kind,
                   model_config=model_config, train_config=train_config.to_dict())


def _script(source: str, sample: int | None, split: tuple[str, float], kind: str, model_config: dict,
            train_config) -> str:
    """The runnable script for these settings."""
    from protlab.codegen_train import TrainScriptSettings, training_script

    return training_script(TrainScriptSettings(
        data_source=source, sample_size=sample, split_method=split[0], identity=split[1], model_kind=kind,
        model_config=model_config, train_config=train_config.to_dict()))


def status_of(run_id: str | None):  # -> RunStatus | None
    """This session's run status, or None if there is no run (or it belongs to someone else)."""
    if not run_id:
        return None
    try:
        return run_manager().status(run_id, session_owner())
    except ProtlabError:
        return None


def live_panel() -> None:
    """Progress, ETA and live curves of the current run; polled every second while it runs."""
    status = status_of(st.session_state.get(RUN_KEY))
    if status is None:
        return
    history = rf.history_frame(status.events)
    eta = f" · about {status.eta:.0f} s left" if status.eta is not None and status.state in ACTIVE_STATES else ""
    st.progress(min(max(float(status.progress), 0.0), 1.0), text=f"Run {status.run_id}: {status.state}{eta}")
    if not history.empty:
        left, right = st.columns(2)
        left.plotly_chart(rf.loss_curves(history), key="live-loss")
        right.plotly_chart(rf.metric_curves(history), key="live-metrics")
        left, right = st.columns([1, 2])
        left.plotly_chart(rf.lr_curve(history), key="live-lr")
        shown = [c for c in ["epoch", "train_loss", "val_loss", "val_auc", "val_accuracy", "val_mcc", "lr",
                             "seconds"] if c in history]
        right.dataframe(history[shown], hide_index=True, key="live-table")
    if status.state not in ACTIVE_STATES and st.session_state.get("_drawn_state") != status.state:
        st.session_state["_drawn_state"] = status.state
        st.rerun()  # the run just ended: redraw the whole page once to show the results and stop polling


def results_section(status) -> None:
    """Test metrics beside the baseline, confusion matrix with a threshold, ROC and downloads."""
    from protlab.metrics import compute_metrics, roc_points

    if status.state == "failed":
        st.error(f"The run stopped with an error: {status.error}", icon="🚫")
        return
    if not status.test_metrics:
        st.warning(f"Run {status.run_id} ended ({status.state}) before it could be tested.")
        return
    st.header("4 · Results on the held-out test set")
    names = ["accuracy", "precision", "recall", "f1", "auc", "mcc"]
    table = pd.DataFrame({"metric": [rf.METRIC_NAMES.get(n, n) for n in names],
                          "your model": [status.test_metrics.get(n) for n in names],
                          "majority-class baseline": [(status.baseline or {}).get(n) for n in names]})
    st.dataframe(table, hide_index=True, key="test-metrics",
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in table.columns[1:]})
    explain("The baseline always predicts the most common training class. A useful model must beat it, "
            "especially on MCC and AUC, which a constant guess cannot improve.")
    y, p = np.asarray(status.test_labels), np.asarray(status.test_probabilities)
    threshold = st.slider("Decision threshold", 0.0, 1.0, 0.5, 0.01, key="result_threshold")
    m = compute_metrics(y, p, threshold=threshold)
    left, right = st.columns(2)
    left.plotly_chart(rf.confusion_figure(int(m["tn"]), int(m["fp"]), int(m["fn"]), int(m["tp"]),
                                          threshold=threshold), key="confusion")
    roc = roc_points(y, p)
    fpr, tpr = m["fp"] / max(m["fp"] + m["tn"], 1), m["tp"] / max(m["tp"] + m["fn"], 1)
    right.plotly_chart(rf.roc_figure(roc["fpr"], roc["tpr"], auc=m["auc"], point=(fpr, tpr)), key="roc")
    st.caption(f"At threshold {threshold:.2f}: accuracy {m['accuracy']:.3f}, precision {m['precision']:.3f}, "
               f"recall {m['recall']:.3f}, MCC {m['mcc']:.3f}.")
    c1, c2 = st.columns(2)
    if status.checkpoint_path:
        with open(status.checkpoint_path, "rb") as fh:
            c1.download_button("Download the trained model (.pt)", fh.read(), f"protlab_{status.run_id}.pt",
                               icon=":material/download:")
    csv = rf.history_frame(status.events).to_csv(index=False).encode()
    c2.download_button("Download per-epoch metrics (CSV)", csv, f"protlab_{status.run_id}_epochs.csv",
                       mime="text/csv", icon=":material/download:")


def compare_section() -> None:
    """Overlay the loss curves of several finished runs (e.g. SGD vs Adam vs AdamW)."""
    manager, owner = run_manager(), session_owner()
    runs = [manager.status(r, owner) for r in manager.list_runs(owner)]
    runs = [r for r in runs if r.state not in ACTIVE_STATES and r.events]
    st.header("5 · Compare runs")
    if len(runs) < 2:
        st.caption("Finish two or more runs (for example SGD, Adam and AdamW, Exercise 4) to compare them here.")
        return

    def label(r) -> str:
        t = r.spec.train_config
        return f"{r.run_id}: {OPTIMIZER_NAMES.get(t['optimizer'], t['optimizer'])}, lr={t['lr']:g}"

    chosen = st.multiselect("Runs to overlay", runs, default=runs[-3:], format_func=label, key="compare")
    if chosen:
        st.plotly_chart(rf.runs_overlay({label(r): rf.history_frame(r.events) for r in chosen}), key="overlay")


def render() -> None:
    """Draw the Train page."""
    st.title("Train a solubility classifier")
    st.markdown("Train the course's 1D-CNN on real proteins. Training runs in the background: you can switch "
                "pages and come back, and the run keeps going.")
    try:
        data, report, source, raw = data_section()
        report_section(data, report)
        sample = sample_section(report.n_kept)
        split = split_section()
        kind, model_config = model_section()
        train_config = settings_section()
    except ProtlabError as err:
        stop_with_error(err)
    status = status_of(st.session_state.get(RUN_KEY))
    running = status is not None and status.state in ACTIVE_STATES
    c1, c2, _ = st.columns([1, 1, 4])
    if c1.button("Start training", type="primary", disabled=running, key="start"):
        try:
            spec = _spec(source, raw, sample, split, kind, model_config, train_config)
            st.session_state[RUN_KEY] = run_manager().start(spec, session_owner())
            st.session_state.pop("_drawn_state", None)
        except ProtlabError as err:
            stop_with_error(err)
        st.rerun()
    if c2.button("Stop", disabled=not running, key="stop"):
        run_manager().stop(st.session_state[RUN_KEY], session_owner())
    st.fragment(live_panel, run_every=1.0 if running else None)()
    if status is not None and not running:
        results_section(status)
    compare_section()
    pytorch_panel(_script(source, sample, split, kind, model_config, train_config))


render()
