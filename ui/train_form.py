"""The Train page's model and training-settings sections (widgets remembered per student)."""

from __future__ import annotations

import streamlit as st

from ui.common import explain
from ui.memory import kept, kept_index
from ui.run_labels import OPTIMIZER_NAMES
from ui.train_runs import epoch_cap

MAX_EPOCHS = 1000  # the epochs widget's top when the class has no epoch cap
NOTES_EPOCHS = 50  # epochs in the Intro note's training call (train_model(..., epochs=50, patience=10))
NOTES_PATIENCE = 10  # the note's early-stopping patience (the page's default)
NOTES_PLATEAU_PATIENCE = 5  # the note's ReduceLROnPlateau patience (epochs before the rate halves)
KERNELS = [1, 3, 5, 7, 9, 11, 15]  # kernel sizes offered (residues)
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0]  # learning rates offered
BATCH_SIZES = [8, 16, 32, 64, 128, 256]  # batch sizes offered
WEIGHT_DECAYS = [0.0, 1e-4, 1e-3, 0.01, 0.1]  # weight decays offered
WARMUP_FRACTIONS = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5]  # warm-up lengths offered (share of the run's steps)
TRAIN_SHARE = 0.8  # share of the rows in the training set (the 80 / 10 / 10 split)


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
    parameter_caption(kind, config)
    return kind, config


@st.cache_data(show_spinner=False, max_entries=64)
def parameter_count(kind: str, config: dict) -> int:
    """Trainable parameters of this model (protlab.models.parameter_count, cached per setting)."""
    from protlab.models import parameter_count as count

    return count(kind, config)


def parameter_caption(kind: str, config: dict) -> None:
    """'This model has 124,738 parameters (0.5 MB of float32 weights).'"""
    n = parameter_count(kind, config)
    size = f"{n * 4 / 1e6:,.1f} MB" if n * 4 >= 1e6 else f"{n * 4 / 1e3:,.1f} kB"
    st.markdown(
        f":material/tune: This model has **{n:,} trainable parameters** ({size} as 32-bit numbers). More "
        "parameters can fit more patterns, and also memorise the training set more easily."
    )


def warmup_setting(scheduler: str, n_rows: int, batch_size: int, epochs: int, grad_accum: int) -> float:
    """The warm-up length as a share of the run's optimizer steps, with the steps it makes for this run."""
    from protlab.training import TrainConfig, total_optimizer_steps, warmup_length

    d = TrainConfig()
    if scheduler != "warmup":
        return d.warmup_fraction
    fraction = st.select_slider(
        "Warm-up length (share of the run)",
        WARMUP_FRACTIONS,
        kept("warmup_fraction", d.warmup_fraction, options=WARMUP_FRACTIONS),
        key="warmup_fraction",
        format_func=lambda v: f"{v:.0%}",
        help="The learning rate climbs from lr x 0.0001 to lr over this share of the optimizer steps.",
    )
    config = TrainConfig(
        batch_size=batch_size, epochs=epochs, grad_accum_steps=grad_accum, warmup_fraction=fraction
    )
    total = total_optimizer_steps(max(1, round(TRAIN_SHARE * n_rows)), config)
    st.caption(
        f"This run takes about {total:,} optimizer steps: the learning rate climbs during the first "
        f"{warmup_length(config, total):,} of them ({fraction:.0%}), then stays at the chosen rate."
    )
    return float(fraction)


def settings_section(n_rows: int):  # -> protlab.training.TrainConfig
    """Optimizer and training settings (TrainConfig's defaults), device and mixed precision.

    n_rows: the rows the run will use (before the split), to size a warm-up given as a share of the run.
    """
    from protlab.training import (
        CLASS_WEIGHTINGS,
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
        kept("patience", NOTES_PATIENCE),
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
    warmup = warmup_setting(scheduler, n_rows, int(batch_size), int(epochs), int(grad_accum))
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
    weighting = c3.selectbox(
        "Class weighting",
        CLASS_WEIGHTINGS,
        kept_index("class_weighting", CLASS_WEIGHTINGS),
        key="class_weighting",
        format_func={"none": "None", "balanced": "Balanced (both classes count the same)"}.get,
        help="Balanced: mistakes on the rarer class cost more in the loss, so the model cannot score well "
        "by answering the larger class only.",
    )
    device = resolve_device("auto")
    c4.markdown(f"**Device:** {device_label(device)}")
    mixed = False
    if mixed_precision_available(device):
        mixed = c4.checkbox(
            "Mixed precision (GPU only)",
            kept("mixed_precision", False),
            key="mixed_precision",
            help="16-bit arithmetic on the GPU: faster, same accuracy for this model.",
        )
    explain(
        f"The Intro note trains for up to {NOTES_EPOCHS} epochs with early-stopping patience "
        f"{NOTES_PATIENCE}, and its plateau schedule halves the learning rate after {NOTES_PLATEAU_PATIENCE} "
        f"epochs without a lower validation loss; this page uses the same patiences. It starts at "
        f"{d.epochs} epochs only so that a run fits in a class on shared computers: set Epochs to "
        f"{NOTES_EPOCHS} to train as the note does."
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
        plateau_patience=NOTES_PLATEAU_PATIENCE,
        scheduler=scheduler,
        warmup_fraction=warmup,
        class_weighting=weighting,
        grad_clip=float(grad_clip),
        grad_accum_steps=int(grad_accum),
        seed=int(seed),
        mixed_precision=mixed,
        batch_events=True,
    )
    config.validate()
    return config
