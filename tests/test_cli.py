"""Tests for the command line (`python -m protlab`), through real subprocesses and through main()."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from protlab.cli import main
from protlab.data import features_frame
from protlab.models import load_checkpoint
from protlab.predict import Predictor

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "protlab", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    """Train a tiny model once through the real CLI."""
    folder = tmp_path_factory.mktemp("cli")
    df = pd.read_csv(ROOT / "assets/data/deepsol.csv")
    df[df["sequence"].str.len() <= 150].sample(80, random_state=1).to_csv(folder / "tiny.csv", index=False)
    out = _cli(
        "train",
        "tiny.csv",
        "--epochs",
        "2",
        "--embed-dim",
        "8",
        "--hidden-dim",
        "8",
        "--batch-size",
        "16",
        "--device",
        "cpu",
        "--out",
        "tiny.pt",
        cwd=folder,
    )
    return folder, folder / "tiny.pt", out


def test_train_prints_report_epochs_and_test_metrics(trained) -> None:
    folder, model_path, out = trained
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("Read 80 rows")
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 2 and all(
        k in epochs[0] for k in ("train loss", "val loss", "val AUC", "lr", "seq/s", "ETA")
    )
    assert any(line.startswith("Test: accuracy") for line in lines)
    assert any(line.startswith("Majority baseline:") for line in lines)
    loaded = load_checkpoint(model_path)
    assert loaded.kind == "cnn" and loaded.model_config["hidden_dim"] == 8
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_predict_one_sequence(trained) -> None:
    folder, model_path, _ = trained
    seq = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
    out = _cli("predict", seq, "--model", str(model_path), "--threshold", "0.4", cwd=folder)
    assert out.returncode == 0, out.stderr
    p = float(Predictor.from_checkpoint(model_path).predict([seq])[0])
    label = "soluble" if p >= 0.4 else "insoluble"
    assert out.stdout.strip() == f"P(soluble) = {p:.3f} -> {label} (threshold 0.40)"


def test_predict_fasta_and_csv_files(trained, capsys) -> None:
    folder, model_path, _ = trained
    seqs = ["MKTAYIAKQRQISFVKSHF", "ACDEFGHIKLMNPQ", "MVLSPADKTNVKAAW"]
    (folder / "in.fasta").write_text("".join(f">p{i}\n{s}\n" for i, s in enumerate(seqs)))
    pd.DataFrame({"id": ["x", "y", "z"], "sequence": seqs}).to_csv(folder / "in.csv", index=False)
    expected = Predictor.from_checkpoint(model_path).predict(seqs)
    assert (
        main(
            ["predict", str(folder / "in.fasta"), "--model", str(model_path), "--out", str(folder / "o1.csv")]
        )
        == 0
    )
    assert main(["predict", str(folder / "in.csv"), "--model", str(model_path)]) == 0
    from_stdout = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    from_file = pd.read_csv(folder / "o1.csv")
    for table, ids in ((from_file, ["p0", "p1", "p2"]), (from_stdout, ["x", "y", "z"])):
        assert list(table.columns) == ["id", "sequence", "p_soluble", "prediction"]
        assert table["id"].tolist() == ids and table["sequence"].tolist() == seqs
        assert np.allclose(table["p_soluble"], expected, atol=1e-6)
        assert table["prediction"].tolist() == ["soluble" if p >= 0.5 else "insoluble" for p in expected]


def test_features_command(tmp_path) -> None:
    out = _cli("features", "MKTAYIAKQRQISFVKSHFSRQ", "--out", "f.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    table = pd.read_csv(tmp_path / "f.csv")
    reference = features_frame(["MKTAYIAKQRQISFVKSHFSRQ"], ["seq1"])
    assert list(table.columns) == list(reference.columns)
    assert np.allclose(table.drop(columns="id").to_numpy(float), reference.drop(columns="id").to_numpy(float))


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["predict", "MKT1QR"], "position 4"),
        (["train", "missing.csv"], "missing.csv"),
        (["train", "x.csv", "--epochs", "0"], "epochs must be"),
        (["train", "x.csv", "--lr", "abc"], "invalid float value"),
        (["predict", "MKTAYI", "--threshold", "2"], "--threshold must be a number from 0 to 1"),
        (["features", "no/such/file.fasta"], "does not exist"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], fragment: str, tmp_path, capsys) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and fragment in err and "\n" not in err and "Traceback" not in err


def test_errors_through_a_real_process(tmp_path) -> None:
    (tmp_path / "bad.csv").write_text("sequence,label\nMKT1,1\n")
    out = _cli("predict", "bad.csv", "--model", "nope.pt", cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: ") and "Traceback" not in out.stderr


def test_unknown_recipe_is_refused(trained, capsys) -> None:
    folder, _, _ = trained
    assert (
        main(["train", str(folder / "tiny.csv"), "--recipe", "no-such-recipe", "--out", str(folder / "r.pt")])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --recipe must be one of") and "\n" not in err
