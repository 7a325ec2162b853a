"""'Show me the PyTorch': runnable code generated from what each page just did."""

from __future__ import annotations

from protlab.codegen.bias_variance import sweep_code
from protlab.codegen.lessons import (
    batch_code,
    descent_code,
    encode_code,
    linear_check_code,
    module_code,
    polynomial_code,
    sequential_code,
    tensor_ops_code,
    tm_step_code,
)
from protlab.codegen.mutagenesis import mutagenesis_script
from protlab.codegen.predict import (
    MAX_LISTED,
    prediction_script,
)
from protlab.codegen.real_landscape import (
    slice_code,
)
from protlab.codegen.script_template import (
    fill_settings,
    read_template,
)
from protlab.codegen.train import (
    TrainScriptSettings,
    training_script,
)

__all__ = [
    "sweep_code",
    "encode_code",
    "batch_code",
    "tensor_ops_code",
    "descent_code",
    "polynomial_code",
    "linear_check_code",
    "tm_step_code",
    "slice_code",
    "sequential_code",
    "module_code",
    "prediction_script",
    "mutagenesis_script",
    "MAX_LISTED",
    "TrainScriptSettings",
    "training_script",
    "read_template",
    "fill_settings",
]
