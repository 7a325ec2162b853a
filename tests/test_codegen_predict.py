"""The Predict page's script: plain PyTorch that reproduces protlab's Predictor for every checkpoint kind.

The scripts run in this process (runpy); their probabilities and per-residue attributions are compared with
protlab.predict.Predictor on the same checkpoint.
"""

from __future__ import annotations

import ast
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from protlab.alphabet import AMINO_ACIDS
from protlab.codegen import MAX_LISTED, prediction_script, read_template
from protlab.data import FEATURE_COLUMNS, TokenizedSet, compute_features, pad_batch
from protlab.errors import ConfigError
from protlab.models import EnsembleModel, build_model, model_config_dict, save_checkpoint
from protlab.predict import BUNDLED_PRIOR, Predictor, adjust_for_prior, score_threshold
from tests.conftest import random_proteins

ROOT = Path(__file__).resolve().parents[1]
PANEL_WIDTH = 88  # characters a line of the page's code panel shows without scrolling
THIOREDOXIN = (
    "MSDKIIHLTDDSFDTDVLKADGAILVDFWAEWCGPCKMIAPILDEIADEYQGKLTVAKLNIDQNPGTAPKYGIRGIPTLLLFKNGEVAASKVG"
    "ALSKGQLKEFLDANLA"
)
PROTEINS = [  # different lengths (so batches are padded), ambiguous letters (X, B) and a very short protein
    THIOREDOXIN,
    "MKKLLPTAAAGLLLLAAQPAMAXDIQMTQSPSSLSASVGDRVTITCRASQ",
    "ACDEFGHIKLMNPQRSTVWYB",
    "MGSSHHHHHHSSGLVPRGSHMASMTGGQQMGRGS" * 3,
    "MKV",
]


def _run(script: str, tmp_path: Path, monkeypatch) -> dict:
    """Run a generated script in this process from the ProtLab folder and return its variables."""
    path = tmp_path / "predict.py"
    path.write_text(script, encoding="utf-8")
    monkeypatch.chdir(ROOT)  # where the bundled model's relative path points from
    return runpy.run_path(str(path), run_name="__main__")


def _assert_predicts_like_protlab(ns: dict, predictor: Predictor, sequences: list[str]) -> None:
    """Same P(soluble) for every protein and the same attribution for the first one, to float precision."""
    np.testing.assert_allclose(ns["p_soluble"], predictor.predict(sequences), atol=1e-6)
    contribution = ns["contribution"].detach().numpy()  # (L,)
    np.testing.assert_allclose(contribution, predictor.attribution(sequences[0]), atol=1e-6)


def _settings_block(source: str) -> list[str]:
    """The lines of the script between its settings markers."""
    lines = source.splitlines()
    markers = [i for i, line in enumerate(lines) if line.startswith("# ===") and line.endswith(" settings")]
    return lines[markers[0] + 1 : markers[1]]


# ------------------------------------------------------------------------------------------------ the text
def test_the_template_is_the_script_for_the_pages_example() -> None:
    script = prediction_script("default", [THIOREDOXIN], ids=["sp|P0AA25|THIO_ECOLI"], threshold=0.5)
    assert script == read_template("predict_script.py")


def test_only_the_settings_block_changes() -> None:
    template = read_template("predict_script.py")
    script = prediction_script(
        "runs/abc/model.pt",
        PROTEINS,
        threshold=0.42,
        with_attribution=False,
        ids=["first", 'bad"id', "", "x" * 100],
        prior=0.8,
        train_prior=0.25,
    )
    outside = [line for line in script.splitlines() if line not in _settings_block(script)]
    assert outside == [line for line in template.splitlines() if line not in _settings_block(template)]
    settings: dict = {}
    exec("\n".join(_settings_block(script)), settings)  # noqa: S102  the settings alone
    assert settings["CHECKPOINT"] == "runs/abc/model.pt" and settings["THRESHOLD"] == 0.42
    assert settings["ATTRIBUTION"] is False
    assert settings["PRIOR"] == 0.8 and settings["TRAIN_PRIOR"] == 0.25
    records = settings["FASTA"].strip().split(">")[1:]
    assert [r.splitlines()[0] for r in records] == ["first", "seq2", "seq3", "seq4", "seq5"]
    assert ["".join(r.splitlines()[1:]) for r in records] == PROTEINS


def test_without_a_prior_the_script_keeps_the_models_own_share() -> None:
    settings: dict = {}
    exec("\n".join(_settings_block(prediction_script("default", PROTEINS))), settings)  # noqa: S102
    assert settings["PRIOR"] is None and settings["TRAIN_PRIOR"] == BUNDLED_PRIOR


@pytest.mark.parametrize("name, value", [("prior", 0.0), ("prior", 1.0), ("train_prior", 1.5)])
def test_a_share_outside_0_to_1_is_refused(name: str, value: float) -> None:
    with pytest.raises(ConfigError, match=name):
        prediction_script("default", PROTEINS, **{name: value})


def test_many_proteins_list_the_first_ones_and_say_so() -> None:
    script = prediction_script("default", [f"MKV{'A' * i}" for i in range(MAX_LISTED + 5)])
    assert script.count("\n>seq") == MAX_LISTED
    assert f"# the first {MAX_LISTED} of your {MAX_LISTED + 5} proteins" in script


def test_scripts_are_ruff_clean() -> None:
    for script in (
        read_template("predict_script.py"),
        prediction_script("/a/very/long/folder/name/" * 5 + "model.pt", PROTEINS * 6),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", "--stdin-filename", "predict.py", "-"],
            input=script,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert max(len(line) for line in script.splitlines()) <= PANEL_WIDTH


def test_the_script_uses_only_pytorch_and_biopython() -> None:
    imported = set()
    for node in ast.walk(ast.parse(read_template("predict_script.py"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported == {"numpy", "torch", "Bio"}
    assert "weights_only=True" in read_template("predict_script.py")


# ----------------------------------------------------------------------------------------------- the runs
def test_default_model_predictions_match_protlab(tmp_path: Path, monkeypatch) -> None:
    saved = torch.load(ROOT / "assets/models/default.pt", weights_only=True)
    kinds = {member["kind"] for member in saved["model_config"]["members"]}
    assert kinds == {"solubility_net", "cnn", "composition", "boosted_trees"}  # the script defines all four
    ns = _run(prediction_script("default", PROTEINS, threshold=0.5), tmp_path, monkeypatch)
    _assert_predicts_like_protlab(ns, Predictor.default(), PROTEINS)


@pytest.mark.parametrize("prior", [0.1, 0.5, 0.9])
def test_a_prior_adjusts_like_the_predict_page(prior: float, tmp_path: Path, monkeypatch, capsys) -> None:
    predictor, threshold = Predictor.default(), 0.45
    script = prediction_script(
        "default", PROTEINS, threshold=threshold, prior=prior, train_prior=predictor.training_prior
    )
    ns = _run(script, tmp_path, monkeypatch)
    records = [SimpleNamespace(id=f"seq{i}", sequence=s) for i, s in enumerate(PROTEINS, start=1)]
    table = predictor.predict_table(records, threshold=threshold, prior=prior)  # what the page shows
    np.testing.assert_allclose(ns["p_soluble"], table["p_soluble"], atol=1e-6)
    np.testing.assert_allclose(ns["model_score"], table["model_score"], atol=1e-6)
    # the reference formula, written out: the odds move by the ratio of the two shares' odds
    score = predictor.predict(PROTEINS)
    ratio = (prior / (1 - prior)) / (predictor.training_prior / (1 - predictor.training_prior))
    np.testing.assert_allclose(ns["p_soluble"], score * ratio / (score * ratio + 1 - score), atol=1e-6)
    assert not np.allclose(ns["p_soluble"], score, atol=1e-3)  # the adjustment did something
    calls = [line.rsplit("-> ", 1)[1] for line in capsys.readouterr().out.splitlines() if "-> " in line]
    assert calls == table["prediction"].tolist()
    assert ns["cut"] == pytest.approx(score_threshold(threshold, predictor.training_prior, prior), abs=1e-12)


def test_a_prior_adjusts_a_runs_checkpoint_from_its_own_share(tmp_path: Path, monkeypatch) -> None:
    path = _checkpoint(tmp_path / "model.pt", *CHECKPOINTS["dual"], seed=5)
    ns = _run(prediction_script(str(path), PROTEINS, prior=0.3, train_prior=0.6), tmp_path, monkeypatch)
    expected = adjust_for_prior(Predictor.from_checkpoint(path).predict(PROTEINS), 0.6, 0.3)
    np.testing.assert_allclose(ns["p_soluble"], expected, atol=1e-6)


def _checkpoint(path: Path, kind: str, config: dict, seed: int) -> Path:
    """A checkpoint of a freshly initialised model, with non-trivial input scaling where the model has it."""
    torch.manual_seed(seed)
    model = build_model(kind, config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, buffer in model.named_buffers():  # feature_mean/std, stat_mean/std: scaling from training
            if name.endswith(("mean", "std")):
                shift = 0.5 if name.endswith("std") else 0.0
                buffer.copy_(torch.rand(buffer.shape, generator=generator) + shift)
    return save_checkpoint(path, model, kind=kind, model_config=model_config_dict(model))


DUAL = {
    "vocab_size": 22,
    "embed_dim": 8,
    "hidden_dim": 8,
    "kernel_size": 3,
    "global_dim": 4,
    "feature_names": ["length", "gravy", "aromaticity", "net_charge_ph7", "comp_A", "instability_index"],
}
CHECKPOINTS = {
    "cnn (the notes' 21 tokens)": (
        "cnn",
        {"vocab_size": 21, "embed_dim": 8, "hidden_dim": 8, "num_layers": 3},
    ),
    "dual": ("dual", DUAL),
    "solubility_net (mixing layer, no dipeptides, clipped statistics)": (
        "solubility_net",
        {
            "embed_dim": 8,
            "channels": 4,
            "kernel_sizes": [3, 7],
            "mix_channels": 6,
            "use_dipeptides": False,
            "stat_clip": 1.5,
        },
    ),
    "ensemble with a dual-input member": (
        "ensemble",
        {
            "members": [
                {"kind": "solubility_net", "config": {"use_motifs": False}},
                {"kind": "dual", "config": DUAL},
                {"kind": "cnn", "config": {"embed_dim": 8, "hidden_dim": 8, "vocab_size": 22}},
            ]
        },
    ),
}


@pytest.mark.parametrize("name", list(CHECKPOINTS))
def test_every_checkpoint_kind_predicts_like_protlab(name: str, tmp_path: Path, monkeypatch) -> None:
    path = _checkpoint(tmp_path / "model.pt", *CHECKPOINTS[name], seed=3)
    ns = _run(prediction_script(str(path), PROTEINS), tmp_path, monkeypatch)
    _assert_predicts_like_protlab(ns, Predictor.from_checkpoint(path), PROTEINS)


def test_a_weighted_ensemble_with_boosted_trees_predicts_like_protlab(tmp_path: Path, monkeypatch) -> None:
    proteins = random_proteins(150, (20, 90), seed=8)
    labels = [int(p.startswith(("MK", "MA")) or p.count("E") > len(p) / 18) for p in proteins]
    trees = build_model("boosted_trees", {"n_trees": 25, "max_leaf_nodes": 6, "min_samples_leaf": 4})
    trees.fit_training_rows(TokenizedSet.from_sequences(proteins, labels))
    torch.manual_seed(2)
    cnn = build_model("cnn", {"embed_dim": 8, "hidden_dim": 8, "vocab_size": 22})
    model = EnsembleModel([cnn, trees], weights=[1.0, 3.0])
    path = save_checkpoint(
        tmp_path / "model.pt", model, kind="ensemble", model_config=model_config_dict(model)
    )
    ns = _run(prediction_script(str(path), PROTEINS), tmp_path, monkeypatch)
    predictor = Predictor.from_checkpoint(path)
    _assert_predicts_like_protlab(ns, predictor, PROTEINS)
    assert (
        np.ptp(trees.log_odds(trees.stats(*pad_batch(PROTEINS))).numpy()) > 0.1
    )  # the trees tell them apart


def test_an_unknown_model_kind_is_named(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "mlp.pt"
    torch.save(
        {
            "kind": "mlp",
            "model_config": {},
            "state_dict": {},
            "vocab": {"alphabet": AMINO_ACIDS, "vocab_size": 22},
        },
        path,
    )
    with pytest.raises(SystemExit, match="'mlp'"):
        _run(prediction_script(str(path), ["MKV"]), tmp_path, monkeypatch)


def test_global_features_are_protlabs(tmp_path: Path, monkeypatch) -> None:
    ns = _run(prediction_script("default", ["MKV"], with_attribution=False), tmp_path, monkeypatch)
    for sequence in PROTEINS:
        mine = ns["global_features"](sequence, FEATURE_COLUMNS)
        theirs = compute_features(sequence)
        np.testing.assert_allclose(mine, [theirs[name] for name in FEATURE_COLUMNS], rtol=1e-12)
