"""The generated training script compiles, carries the chosen settings, matches protlab and really runs.

The model classes are tested in test_codegen_models.py, the prediction script in test_codegen_predict.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from protlab.codegen import TrainScriptSettings, cnn_code, dual_code, prediction_script, training_script
from protlab.codegen import predict as codegen_predict
from protlab.models import CNNConfig, DualInputConfig, DualInputModel

ROOT = Path(__file__).resolve().parents[1]


def _namespace_with_model(source: str) -> dict:
    """Execute only the model class of a generated script and return its namespace."""
    start = source.index("# ---------------------------------------------------------------- model")
    end = source.index("device = torch.device")
    prelude = ("import numpy as np, torch, torch.nn as nn, torch.nn.functional as F\n"
               "from protlab.alphabet import PAD_INDEX\n"
               "FEATURES = ['molecular_weight', 'isoelectric_point', 'gravy', 'instability_index', 'length']\n")
    namespace: dict = {}
    exec(compile(prelude + source[start:end], "<generated>", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.mark.parametrize("kind", ["cnn", "dual"])
@pytest.mark.parametrize("scheduler", ["plateau", "warmup", "none"])
@pytest.mark.parametrize("split", ["stratified", "homology"])
def test_every_combination_compiles(kind: str, scheduler: str, split: str) -> None:
    settings = TrainScriptSettings(model_kind=kind, split_method=split, sample_size=100,
                                   train_config={"scheduler": scheduler, "optimizer": "sgd_momentum",
                                                 "class_weighting": "balanced", "patience": 0})
    compile(training_script(settings), "<train>", "exec")


def test_script_carries_the_chosen_settings() -> None:
    settings = TrainScriptSettings(split_method="homology", identity=0.55, sample_size=250,
                                   model_config={"hidden_dim": 48, "kernel_size": 7, "num_layers": 3},
                                   train_config={"optimizer": "adamw", "lr": 3e-4, "weight_decay": 0.01,
                                                 "batch_size": 16, "epochs": 7, "grad_accum_steps": 4,
                                                 "scheduler": "plateau", "plateau_patience": 3})
    src = training_script(settings)
    assert "torch.optim.AdamW(model.parameters(), lr=0.0003, weight_decay=0.01)" in src
    assert "homology_split(sequences, labels, identity=0.55" in src
    assert "size=min(250, len(sequences))" in src
    assert "hidden_dim=48" in src and "kernel_size=7" in src and "num_layers=3" in src
    assert "batch_size=16" in src and "range(1, 7 + 1)" in src and "ACCUM = 4" in src
    assert "patience=3)" in src


def test_warmup_schedule_matches_protlab() -> None:
    from protlab.training import warmup_lr

    src = training_script(TrainScriptSettings(train_config={"scheduler": "warmup", "warmup_steps": 10}))
    factor = re.search(r"lambda step: (.+?)\)  #", src).group(1)
    for step in [0, 3, 10, 25]:
        assert eval(factor, {"min": min, "step": step}) * 1e-3 == pytest.approx(warmup_lr(step, 1e-3, 10))  # noqa: S307


def test_model_section_is_the_model_code_for_the_chosen_settings() -> None:
    chosen = {"hidden_dim": 12, "num_layers": 3}
    src = training_script(TrainScriptSettings(model_config=chosen))
    assert cnn_code({**asdict(CNNConfig()), **chosen}) in src
    dual = training_script(TrainScriptSettings(model_kind="dual", model_config={"global_dim": 6}))
    assert dual_code({**asdict(DualInputConfig()), "global_dim": 6}) in dual


def test_generated_dual_model_has_protlabs_parameter_count() -> None:
    ns = _namespace_with_model(training_script(TrainScriptSettings(model_kind="dual")))
    ours = sum(p.numel() for p in ns["model"].parameters())
    theirs = sum(p.numel() for p in DualInputModel(DualInputConfig()).parameters())
    assert ours == theirs


def test_prediction_script_is_still_importable_from_here() -> None:
    assert prediction_script is codegen_predict.prediction_script


def test_tiny_training_script_runs_one_epoch(tmp_path: Path) -> None:
    settings = TrainScriptSettings(sample_size=80, model_config={"embed_dim": 4, "hidden_dim": 4, "num_layers": 1},
                                   train_config={"epochs": 1, "batch_size": 16, "max_length": 2000})
    script = tmp_path / "train.py"
    script.write_text("import torch\ntorch.set_num_threads(1)\n" + training_script(settings))
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Epoch   1 | train_loss=" in out.stdout
    assert re.search(r"AUC-ROC:\s+\d\.\d{4}", out.stdout)
    assert (tmp_path / "best_model.pt").exists()
