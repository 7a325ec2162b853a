"""'Show me the PyTorch': runnable code generated from what each page just did."""

from __future__ import annotations

from protlab.lazy import lazy_exports

# module (under this package) -> the public names it defines; each module is imported on first use
_EXPORTS: dict[str, tuple[str, ...]] = {
    "bias_variance": ("sweep_code",),
    "lessons": (
        "batch_code",
        "descent_code",
        "encode_code",
        "linear_check_code",
        "module_code",
        "polynomial_code",
        "sequential_code",
        "tensor_ops_code",
        "tm_step_code",
    ),
    "mutagenesis": ("mutagenesis_script",),
    "predict": ("MAX_LISTED", "prediction_script"),
    "real_landscape": ("slice_code",),
    "script_template": ("fill_settings", "read_template"),
    "train": ("TrainScriptSettings", "training_script"),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]  # the lazy table is the API
