"""The generated prediction script compiles, lists the student's sequences and predicts what the app predicts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from protlab.codegen import MAX_LISTED, prediction_script
from protlab.predict import Predictor

ROOT = Path(__file__).resolve().parents[1]


def test_prediction_script_compiles_and_lists_sequences() -> None:
    seqs = ["MKV" * 10, "ACD" * 5]
    src = prediction_script("default", seqs, threshold=0.42)
    compile(src, "<predict>", "exec")
    assert "THRESHOLD = 0.42" in src and repr(seqs[1]) in src
    many = prediction_script("run.pt", ["MKV"] * 25)
    assert "5 more sequences" in many and "Predictor.from_checkpoint('run.pt')" in many
    assert many.count("'MKV'") == MAX_LISTED


def test_attribution_part_is_optional() -> None:
    assert "predictor.attribution" in prediction_script("default", ["MKV"])
    without = prediction_script("default", ["MKV"], with_attribution=False)
    assert "attribution" not in without
    compile(without, "<predict>", "exec")


def test_script_predicts_what_the_app_predicts(tmp_path: Path) -> None:
    seqs = ["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQ", "ACDEFGHIK" * 4]
    script = tmp_path / "predict.py"
    script.write_text("import torch\ntorch.set_num_threads(1)\n" + prediction_script("default", seqs, threshold=0.5))
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-3000:]
    printed = [float(p) for p in re.findall(r"P\(soluble\) = (\d\.\d{3})", out.stdout)]
    assert np.allclose(printed, Predictor.default().predict(seqs), atol=6e-4)
    assert re.search(r"residue [A-Z]\d+: [+-]\d\.\d{4}", out.stdout)
