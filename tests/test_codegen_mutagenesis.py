"""The mutation map's plain-PyTorch script prints the same changes as saturation_mutagenesis."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from protlab.alphabet import AMINO_ACIDS
from protlab.codegen import mutagenesis_script
from protlab.models import build_model, model_config_dict, save_checkpoint
from protlab.mutagenesis import saturation_mutagenesis
from protlab.predict import Predictor


def test_script_prints_the_most_helpful_substitutions_as_protlab_scores_them(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("cnn", {"vocab_size": 22, "embed_dim": 8, "hidden_dim": 8}).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, kind="cnn", model_config=model_config_dict(model))
    sequence = "MKTAYIAKQRQISFVKSH"
    script = tmp_path / "mutate.py"
    script.write_text(mutagenesis_script(str(path), sequence, name="demo"))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = re.findall(
        r"^  ([A-Z])(\d+)([A-Z])  P\(soluble\) ([0-9.]+)  change ([-+0-9.]+)$", done.stdout, re.M
    )
    assert len(rows) == 10 and f"demo: {19 * len(sequence)} mutants" in done.stdout
    table = saturation_mutagenesis(Predictor(model), sequence)
    for wild, position, mutant, p, change in rows:
        assert sequence[int(position) - 1] == wild
        np.testing.assert_allclose(
            float(p), table.p_soluble[int(position) - 1, AMINO_ACIDS.index(mutant)], atol=6e-4
        )
        np.testing.assert_allclose(
            float(change), table.delta[int(position) - 1, AMINO_ACIDS.index(mutant)], atol=6e-5
        )
    best = np.sort(table.frame()["delta"].to_numpy())[::-1][:10]
    np.testing.assert_allclose([float(r[4]) for r in rows], best, atol=6e-5)
