"""The Per-residue prediction page's choices (what the widgets offer) and its settings in the address."""

from __future__ import annotations

from protlab.checks import FloatRange, IntRange
from ui.url_state import UrlParam, choice, float_value, int_value, options_value, text_value

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
HIDDEN = [16, 32, 64, 128, 256]  # hidden units offered for the exercise's MLP
ARCHITECTURES = {
    "residue_cnn": "Dilated CNN: each residue seen with its neighbours (the bundled model)",
    "residue_mlp": "3-layer MLP on one-hot rows: each residue alone (the intro note's Exercise 1)",
}  # model kind -> the choice's label
SHORT_ARCH = {"residue_cnn": "cnn", "residue_mlp": "mlp"}  # model kind -> its name in the address


def dilations_text(dilations: list[int]) -> str:
    """Dilations as the address writes them: '1,2,4,8', or 'none'."""
    return ",".join(map(str, dilations)) or "none"


def url_params(models: list[str], n_train: int, n_test: int) -> list[UrlParam]:
    """This page's settings in the address (ui.url_state), checked against what the page offers now."""
    from protlab.structure import ResidueCNNConfig

    default = ResidueCNNConfig()  # the bundled model's settings
    number = lambda v: f"{v:g}"  # noqa: E731 - 0.002, not 0.0020000000000000005
    from protlab.structure import ResidueMLPConfig

    mlp = ResidueMLPConfig()  # the exercise's defaults
    return [
        UrlParam("model", "ss_model", choice(models), default=models[0]),
        UrlParam(
            "arch",
            "ss_arch",
            options_value(list(ARCHITECTURES), SHORT_ARCH.get),
            "residue_cnn",
            SHORT_ARCH.get,
        ),
        UrlParam("hidden", "ss_hidden", options_value(HIDDEN), default=mlp.hidden_dim),
        UrlParam("mdrop", "ss_mlp_dropout", float_value(FloatRange(0, 0.5)), mlp.dropout, number),
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
