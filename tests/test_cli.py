"""Tests for the command line (`python -m protlab`), through real subprocesses and through main()."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from protlab import models
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


def test_predict_a_labelled_file_reports_the_calls_against_its_labels(trained, capsys) -> None:
    folder, model_path, _ = trained
    from tests.conftest import deepsol_sample

    data = deepsol_sample(40, max_length=300, seed=4)
    labels = [str(y) for y in data.labels]
    labels[0] = ""  # predicted, not counted
    frame = pd.DataFrame({"id": data.ids, "sequence": data.sequences, "label": labels})
    frame.to_csv(folder / "labelled.csv", index=False)
    out = folder / "calls.csv"
    assert main(["predict", str(folder / "labelled.csv"), "--model", str(model_path), "--out", str(out)]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    words = {1: "soluble", 0: "insoluble"}
    assert table["label"].tolist() == [""] + [
        words[int(y)] for y in data.labels[1:]
    ]  # as the calls are written
    known = table[table["label"] != ""]
    threshold = Predictor.from_checkpoint(model_path).stored_threshold or 0.5
    y, p = (known["label"] == "soluble").astype(int), known["p_soluble"]
    call = p >= threshold
    import sklearn.metrics as skm

    err = capsys.readouterr().err
    auc = skm.roc_auc_score(y, p)
    head = f"Against the file's labels (39 proteins, threshold {threshold:.2f}): AUC {auc:.3f} (95% interval "
    assert head in err
    assert f"accuracy {skm.accuracy_score(y, call):.3f} (95% interval " in err
    assert f"MCC {skm.matthews_corrcoef(y, call):.3f} (95% interval " in err
    assert "39 of your 39 labelled proteins are in the bundled DeepSol data" in err  # a DeepSol sample


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
        (["train", "x.csv", "--model", "ensemble"], "--recipe default trains the bundled model's"),
        (["train", "x.csv", "--model", "residue_cnn"], "train it on the app's Per-residue page"),
        (["train", "x.csv", "--model", "tree"], "'boosted_trees', 'cnn', 'composition', 'dual', 'mlp' or"),
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


# ---- outputs: never an input, checked before any work, written atomically -------------------------------


def _fasta(folder: Path, n: int = 3) -> Path:
    path = folder / "in.fasta"
    path.write_text("".join(f">p{i}\nMKTAYIAKQRQISFVKSHF{'A' * i}\n" for i in range(n)))
    return path


def _refused(args: list[str], fragment: str, capsys) -> str:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert fragment in captured.err and "\n" not in captured.err.strip().splitlines()[-1]
    return captured.out


@pytest.mark.parametrize("command", ["predict", "features", "structure"])
@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_an_output_that_is_the_input_is_refused(command: str, link: str, tmp_path: Path, capsys) -> None:
    source = _fasta(tmp_path)
    before = source.read_bytes()
    out = tmp_path / "out.fasta"
    if link == "same":
        out = source
    elif link == "symlink":
        out.symlink_to(source)
    else:
        os.link(source, out)
    _refused([command, str(source), "--out", str(out)], "is the same file as the input", capsys)
    assert source.read_bytes() == before and not list(tmp_path.glob(".*.tmp"))


def test_train_refuses_its_data_or_a_checkpoint_of_it_as_out_before_reading(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data.csv"
    data.write_text("sequence,label\n" + "".join(f"{s},{y}\n" for s, y in [("MKTAYIAKQR", 1)] * 3))
    before = data.read_bytes()
    os.link(data, tmp_path / "again.csv")
    for out in (data, tmp_path / "again.csv"):
        printed = _refused(["train", str(data), "--out", str(out)], "is the same file as the input", capsys)
        assert printed == ""  # nothing was read or trained (the data would have been reported)
    _refused(["train", str(data), "--dropped", str(data)], "--dropped", capsys)
    assert data.read_bytes() == before


@pytest.mark.parametrize(
    "out,fragment",
    [
        (".", "is a folder"),
        ("no/such/folder/m.pt", "does not exist"),
        ("/proc/m.pt", "cannot be written"),
    ],
)
def test_train_out_that_cannot_be_written_is_refused_before_training(
    out: str, fragment: str, tmp_path: Path, capsys
) -> None:
    data = tmp_path / "data.csv"
    data.write_text("sequence,label\nMKTAYIAKQR,1\n")
    assert _refused(["train", str(data), "--out", out], fragment, capsys) == ""


def test_an_existing_output_is_replaced_only_after_success(tmp_path: Path, capsys) -> None:
    source, out = _fasta(tmp_path), tmp_path / "out.csv"
    out.write_text("precious\n")
    _refused(
        ["predict", str(source), "--model", str(tmp_path / "missing.pt"), "--out", str(out)], "pt", capsys
    )
    assert out.read_text() == "precious\n"
    assert main(["features", str(source), "--out", str(out)]) == 0
    assert pd.read_csv(out)["id"].tolist() == ["p0", "p1", "p2"]


# ---- inputs: one decoder and one set of limits with the app ----------------------------------------------


def test_files_are_decoded_as_the_app_decodes_them(tmp_path: Path, capsys) -> None:
    seqs = ["MKTAYIAKQRQISFVKSHF", "MVLSPADKTNVKAAW"]
    reference = features_frame(seqs, ["a", "b"])
    (tmp_path / "u16.csv").write_bytes(f"id,sequence\na,{seqs[0]}\nb,{seqs[1]}\n".encode("utf-16"))
    (tmp_path / "bom.fasta").write_bytes(f">a\n{seqs[0]}\n>b\n{seqs[1]}\n".encode("utf-8-sig"))
    for name in ("u16.csv", "bom.fasta"):
        assert main(["features", str(tmp_path / name), "--out", str(tmp_path / "f.csv")]) == 0
        table = pd.read_csv(tmp_path / "f.csv")
        assert table["id"].tolist() == ["a", "b"]
        assert np.allclose(
            table.drop(columns="id").to_numpy(float), reference.drop(columns="id").to_numpy(float)
        )
    (tmp_path / "book.xlsx").write_bytes(b"PK\x03\x04" + bytes(200))
    _refused(["predict", str(tmp_path / "book.xlsx")], "ZIP archive or Excel workbook but is damaged", capsys)
    (tmp_path / "blob.csv").write_bytes(bytes(range(256)) * 4)
    _refused(["features", str(tmp_path / "blob.csv")], "binary file", capsys)


def test_a_csv_over_the_row_limit_is_refused_naming_the_limit(tmp_path: Path, capsys) -> None:
    from protlab.predict_input import MAX_RECORDS

    rows = "".join(f"r{i},MKTAYIAKQR\n" for i in range(MAX_RECORDS + 1))
    (tmp_path / "many.csv").write_text("id,sequence\n" + rows)
    _refused(["predict", str(tmp_path / "many.csv")], f"the limit is {MAX_RECORDS:,}", capsys)


def test_a_fasta_file_over_the_pasted_text_limit_is_read_with_progress(tmp_path: Path, capsys) -> None:
    from protlab.data import MAX_TEXT_CHARS

    n = 1_100
    body = "MKTAYIAKQRQISFVKSHFSRQ" * 90  # 1,980 residues
    (tmp_path / "big.fasta").write_text("".join(f">p{i}\n{body}\n" for i in range(n)))
    assert (tmp_path / "big.fasta").stat().st_size > MAX_TEXT_CHARS
    assert main(["features", str(tmp_path / "big.fasta"), "--out", str(tmp_path / "f.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "f.csv")) == n
    err = capsys.readouterr().err
    assert f"1,000 of {n:,} proteins" in err and f"{n:,} of {n:,} proteins" in err


# ---- a file or a sequence: explicit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["predict", "proteins"], "'proteins' is not a file"),
        (["predict", "proteins.fasta"], "The file 'proteins.fasta' does not exist"),
        (["features", "data/seqs"], "The file 'data/seqs' does not exist"),
        (["predict", "MKTAYI", "--sequence", "MKT"], "got both"),
        (["predict"], "got neither"),
        (["predict", "--sequence", "ATGAGCGATAAAATTATTCACCTGACTGAC"], "looks like DNA or RNA"),
        (["predict", "ATGAGCGATAAAATTATTCACCTGACTGAC"], "looks like DNA or RNA"),
        (["predict", "GFP"], "too few for a protein"),
        (["predict", "--sequence", "green fluorescent protein"], "looks like words"),
        (["train", "x.csv", "--embed-dim", "0"], "--embed-dim must be an integer from 1 to 1024; got 0."),
        (["train", "x.csv", "--hidden-dim", "5000"], "--hidden-dim must be an integer from 1 to 2048"),
        (["train", "x.csv", "--model", "mlp", "--embed-dim", "8"], "--embed-dim does not apply to"),
        (["train", "x.csv", "--split", "random"], "--split must be 'stratified' or 'homology'"),
        (["train", "x.csv", "--split", "homology", "--identity", "3"], "--identity must be a number"),
        (["train", "x.csv", "--batch-size", "0"], "--batch-size must be an integer from 1 to 4096; got 0."),
        (["train", "x.csv", "--lr", "-1"], "--lr must be a number above 0"),
    ],
)
def test_inputs_and_numbers_are_refused_naming_what_was_given(args: list[str], fragment: str, capsys) -> None:
    _refused(args, fragment, capsys)


def test_sequence_option_takes_any_text(capsys) -> None:
    assert main(["features", "--sequence", ">x desc\nmktayiakqr"]) == 0
    table = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert table["id"].tolist() == ["x"] and table["length"].tolist() == [10]


# ---- train: every dropped row, and a diverged run keeps its best weights ----------------------------------


def _train_data(folder: Path) -> Path:
    df = pd.read_csv(ROOT / "assets/data/deepsol.csv")
    rows = df[df["sequence"].str.len() <= 120].sample(60, random_state=2)
    bad = pd.DataFrame(
        {"sequence": [f"MKT{i}AA" for i in range(25)] + ["MKTAYIAKQR"], "label": [1] * 25 + ["x"]}
    )
    pd.concat([rows, bad]).to_csv(folder / "d.csv", index=False)
    return folder / "d.csv"


TINY = ["--epochs", "3", "--embed-dim", "8", "--hidden-dim", "8", "--device", "cpu"]


def test_train_prints_each_dropped_row_and_writes_all_of_them(tmp_path: Path, capsys, monkeypatch) -> None:
    from protlab.data import load_labelled

    data = _train_data(tmp_path)
    monkeypatch.setattr("protlab.training.train_model", _no_training)
    assert 130 == main(
        ["train", str(data), *TINY, "--out", str(tmp_path / "m.pt"), "--dropped", str(tmp_path / "dr.csv")]
    )
    out = capsys.readouterr().out
    _, report = load_labelled(data)
    expected = report.dropped
    assert len(expected) == 26
    for row in expected.head(20).itertuples():
        assert f"row {row.row} ({row.reason}): {row.detail}" in out
    assert f"row {expected['row'].iloc[20]} (" not in out and "... and 6 more dropped rows." in out
    written = pd.read_csv(tmp_path / "dr.csv")
    assert written.to_dict("list") == expected.astype({"row": int}).to_dict("list")


def test_train_reads_measured_labels_at_the_cutoff_given(tmp_path: Path, capsys, monkeypatch) -> None:
    rng = np.random.default_rng(2)
    percent = np.round(rng.uniform(0, 100, size=40), 1)
    rows = [(f"MKTAYIAKQRQISFVKSHFSRQ{'A' * i}G", v) for i, v in enumerate(percent)]
    data = tmp_path / "esol.csv"
    pd.DataFrame(rows, columns=["sequence", "solubility"]).to_csv(data, index=False)
    assert main(["train", str(data), *TINY, "--out", str(tmp_path / "m.pt")]) == 2
    assert "on the command line, --label-cutoff" in capsys.readouterr().err
    monkeypatch.setattr("protlab.training.train_model", _no_training)
    assert main(["train", str(data), *TINY, "--label-cutoff", "50", "--out", str(tmp_path / "m.pt")]) == 130
    out = capsys.readouterr().out
    assert "soluble (1) at or above 50, insoluble (0) below" in out
    assert f"{int((percent >= 50).sum()):,} soluble" in out


def _no_training(*args, **kwargs):
    raise KeyboardInterrupt  # the report is printed before training; stop there


def _exploding_validation(monkeypatch, value: float) -> None:
    """Validation reports `value` from the second epoch on."""
    from protlab.training import loop

    real, calls = loop._validate, []

    def validate(*args, **kwargs):
        loss, metrics = real(*args, **kwargs)
        calls.append(loss)
        return (loss if len(calls) == 1 else value), metrics

    monkeypatch.setattr(loop, "_validate", validate)


@pytest.mark.parametrize("value", [2e29, 1e3])
def test_one_exploding_epoch_is_a_divergence_and_the_best_weights_are_saved(
    value: float, tmp_path: Path, capsys, monkeypatch
) -> None:
    _exploding_validation(monkeypatch, value)
    out = tmp_path / "m.pt"
    assert main(["train", str(_train_data(tmp_path)), *TINY, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert f"exploded to {value:.3g}" in captured.err and "finished" not in captured.out
    assert "The best weights (epoch 1, validation loss" in captured.err and str(out) in captured.err
    loaded = load_checkpoint(out)
    assert len(loaded.history) == 1 and loaded.history[0]["epoch"] == 1


def test_direction_marks_never_reach_output_ids(tmp_path: Path) -> None:
    seqs = ["MKTAYIAKQRQISFVKSHF", "MVLSPADKTNVKAAW"]
    (tmp_path / "in.csv").write_text(f"id,sequence\n\u202ea\u202c,{seqs[0]}\nb\u200f,{seqs[1]}\n")
    (tmp_path / "in.fasta").write_text(f">\u2067a\u2069 x\n{seqs[0]}\n>b\u200e\n{seqs[1]}\n")
    for name in ("in.csv", "in.fasta"):
        assert main(["features", str(tmp_path / name), "--out", str(tmp_path / "f.csv")]) == 0
        assert pd.read_csv(tmp_path / "f.csv")["id"].tolist() == ["a", "b"]


def test_a_one_column_csv_is_a_table_not_one_protein(tmp_path: Path) -> None:
    seqs = ["MKTAYIAKQRQISFVKSHF", "MVLSPADKTNVKAAW"]
    (tmp_path / "one.csv").write_text("Sequence\n" + "".join(f"{s}\n" for s in seqs))
    assert main(["features", str(tmp_path / "one.csv"), "--out", str(tmp_path / "f.csv")]) == 0
    table = pd.read_csv(tmp_path / "f.csv")
    assert table["length"].tolist() == [len(s) for s in seqs]  # not one protein 'SEQUENCEMKT...'


# ---- train: every model kind the command offers ------------------------------------------------------------


def test_the_help_names_every_kind_train_accepts(capsys) -> None:
    from protlab.cli_train import cli_kinds

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    model_help = help_text.split("--model MODEL", 2)[2].split("--epochs")[0]
    assert [kind for kind in cli_kinds() if kind not in model_help] == []


@pytest.mark.parametrize("kind", ["dual", "mlp", "composition", "solubility_net", "boosted_trees"])
def test_train_fits_every_offered_kind_into_a_checkpoint_that_predicts(trained, kind: str, capsys) -> None:
    from protlab.cli_train import cli_kinds

    assert kind in cli_kinds()
    folder, _, _ = trained
    out = folder / f"{kind}.pt"
    args = ["train", str(folder / "tiny.csv"), "--model", kind, "--epochs", "1", "--device", "cpu"]
    assert main([*args, "--out", str(out)]) == 0
    assert f"Saved {out}." in capsys.readouterr().out
    loaded = load_checkpoint(out)
    assert loaded.kind == kind and models.model_kind(loaded.model) == kind
    p = Predictor.from_checkpoint(out).predict(["MKTAYIAKQRQISFVKSHFSRQ", "MSDKIIHLTDDSFDTDVLKA" * 3])
    assert np.all((p >= 0) & (p <= 1))
