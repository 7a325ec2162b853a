"""The Per-residue prediction page's first two tabs: where the labels come from, and the model's shapes."""

from __future__ import annotations

import streamlit as st

from protlab.lessons import structure_figures as sf
from ui.common import explain
from ui.structure_settings import ARCHITECTURES, CHANNELS, DILATIONS, EXAMPLE, HIDDEN, KERNELS


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


def kept_model_config() -> tuple[str, dict]:
    """The per-residue model's kind and settings from the Model tab's widget values: drawn this run, or kept
    while the tab is closed (see ui.memory.hold_widgets), else the defaults the widgets start from."""
    from protlab.structure import ResidueCNNConfig, ResidueMLPConfig

    kept = st.session_state
    kind = kept.get("ss_arch", next(iter(ARCHITECTURES)))
    if kind == "residue_mlp":
        default = ResidueMLPConfig()  # the exercise's three Linear layers
        hidden = int(kept.get("ss_hidden", default.hidden_dim))
        dropout = float(kept.get("ss_mlp_dropout", default.dropout))
        return kind, {"hidden_dim": hidden, "num_layers": default.num_layers, "dropout": dropout}
    default = ResidueCNNConfig()  # the bundled model's settings are the starting point
    return kind, {
        "channels": int(kept.get("ss_channels", default.channels)),
        "kernel_size": int(kept.get("ss_kernel", default.kernel_size)),
        "dilations": list(kept.get("ss_dil", default.dilations)),
        "dropout": float(kept.get("ss_dropout", default.dropout)),
    }


def model_config_widgets() -> tuple[str, dict]:
    """Draw the Model tab's widgets; the per-residue model's kind and settings they now hold."""
    from protlab.structure import ResidueCNNConfig, ResidueMLPConfig

    kind = st.radio(
        "Architecture",
        list(ARCHITECTURES),
        format_func=ARCHITECTURES.get,
        key="ss_arch",
        help="The exercise's MLP reads one residue at a time; the CNN reads a window of neighbours.",
    )
    if kind == "residue_mlp":
        default = ResidueMLPConfig()
        c1, c2 = st.columns(2)
        c1.select_slider("Hidden units per layer", HIDDEN, value=default.hidden_dim, key="ss_hidden")
        c2.slider("Dropout", 0.0, 0.5, default.dropout, 0.05, key="ss_mlp_dropout")
        return kept_model_config()
    default = ResidueCNNConfig()
    c1, c2, c3, c4 = st.columns(4)
    c1.select_slider("Channels", CHANNELS, value=default.channels, key="ss_channels")
    c2.select_slider("Kernel size", KERNELS, value=default.kernel_size, key="ss_kernel")
    c3.selectbox(
        "Dilations of the residual blocks",
        DILATIONS,
        DILATIONS.index(default.dilations),
        key="ss_dil",
        format_func=lambda d: ", ".join(map(str, d)) or "none (no residual blocks)",
    )
    c4.slider("Dropout", 0.0, 0.5, default.dropout, 0.05, key="ss_dropout")
    return kept_model_config()  # the values the widgets just returned, through their keys


def model_tab(kind: str, config: dict) -> None:
    """Shapes at every layer for a padded batch of two proteins: the length survives to the output."""
    from protlab.data import pad_batch
    from protlab.models import build_model, count_parameters
    from protlab.structure import layer_shapes, receptive_field

    model = build_model(kind, config)
    tokens, mask = pad_batch([EXAMPLE[:30], EXAMPLE[30:48]])  # (2, 30): the second protein is padded
    st.markdown(MODEL_TEXT[kind])
    c1, c2, c3 = st.columns(3)
    c1.metric("Parameters", f"{count_parameters(model):,}")
    c2.metric("Input batch (token indices)", f"{tuple(tokens.shape)}")
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
    explain(MODEL_NOTE[kind])


MODEL_TEXT = {
    "residue_cnn": (
        "The solubility CNN pools over the sequence to give one answer per protein. This network has "
        "**no pooling**: every layer keeps the length, and a last 1x1 convolution (the same small linear "
        "layer at each position) turns each residue's features into three scores."
    ),
    "residue_mlp": (
        "The intro note's **Exercise 1**: a 3-layer MLP that takes the one-hot batch, shape (batch, length, "
        "20), and returns three scores per residue, shape (batch, length, 3). `nn.Linear` acts on the last "
        "axis only, so the same small network runs at every position, and each prediction sees **one "
        "residue**: its own letter. Train it, then compare its Q3 with the CNN's."
    ),
}  # what the Model tab says about each architecture
MODEL_NOTE = {
    "residue_cnn": (
        "The embedding gives (batch, length, features); Conv1d wants channels first, (batch, channels, "
        "length), so the model transposes before the convolutions and back at the end. "
        "Dilated convolutions skip residues (dilation 2 reads every second one, 4 every fourth...), so a few "
        "layers see far along the chain: strands pair with residues many positions away. Padded positions "
        "are zeroed after every layer, so a protein gets the same prediction alone or in a padded batch."
    ),
    "residue_mlp": (
        "The first row turns tokens into one-hot rows, as on the Encode page (padding and unknown residues "
        "are all-zero rows). For the loss the logits are reshaped to (batch x length, 3), as the exercise "
        "hints, and padding and unresolved residues are left out of it with ignore_index. A residue can "
        "only be given its letter's usual state (alanine and leucine helix, valine and isoleucine strand, "
        "glycine and proline coil), whatever its neighbours: that ceiling is what the CNN's window lifts."
    ),
}  # the note under the layer table
