"""`python -m protlab structure`: one H/E/C letter per residue, FASTA to CSV, and one-line errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from protlab.cli import main
from protlab.models import build_model, model_config_dict, save_checkpoint
from protlab.structure import StructurePredictor

SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"


def test_a_sequence_prints_its_three_state_string(capsys):
    assert main(["structure", SEQUENCE]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == StructurePredictor.default().predict_one(SEQUENCE).ss3
    assert len(printed) == len(SEQUENCE) and set(printed) <= set("HEC")


def test_a_fasta_file_becomes_a_csv_with_one_string_per_protein(tmp_path: Path, capsys):
    fasta = tmp_path / "two.fasta"
    fasta.write_text(f">first protein\n{SEQUENCE}\n>second\nGWVLAKQDNTEHFRS\n")
    out = tmp_path / "ss.csv"
    assert main(["structure", str(fasta), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert table.columns.tolist() == ["id", "sequence", "ss3"]
    assert table["sequence"].tolist() == [SEQUENCE, "GWVLAKQDNTEHFRS"]
    expected = [p.ss3 for p in StructurePredictor.default().predict([SEQUENCE, "GWVLAKQDNTEHFRS"])]
    assert table["ss3"].tolist() == expected
    assert "Wrote 2 rows" in capsys.readouterr().err


def test_model_option_uses_that_checkpoint(tmp_path: Path, capsys):
    model = build_model("residue_cnn", {"channels": 8, "embed_dim": 4, "dilations": [1]})
    path = save_checkpoint(
        tmp_path / "mine.pt", model, kind="residue_cnn", model_config=model_config_dict(model)
    )
    assert main(["structure", SEQUENCE, "--model", str(path)]) == 0
    assert capsys.readouterr().out.strip() == StructurePredictor(model).predict_one(SEQUENCE).ss3


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["structure", "MKT1AY"], "'1'"),
        (["structure", "missing/file.fasta"], "does not exist"),
        (["structure", SEQUENCE, "--model", "missing.pt"], "No checkpoint file"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(args, words, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and words in err


def test_a_per_protein_checkpoint_is_refused(tmp_path: Path, capsys):
    model = build_model("cnn", {"embed_dim": 4, "hidden_dim": 4})
    path = save_checkpoint(tmp_path / "sol.pt", model, kind="cnn", model_config=model_config_dict(model))
    assert main(["structure", SEQUENCE, "--model", str(path)]) == 2
    assert "per-residue model" in capsys.readouterr().err
