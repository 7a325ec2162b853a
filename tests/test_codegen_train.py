"""The Train page's script: the template with the page's settings, ruff-clean, and it trains like the app.

Every option of the script is run on a tiny sample (in this process, one runpy call per combination
of settings); its per-epoch losses, learning rates and test predictions are compared with protlab's own
pipeline (prepare_run, train_model, evaluate_and_save) for the same settings and seed.
"""

from __future__ import annotations

import itertools
import math
import runpy
import subprocess
import sys
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import deepsol_sample

from protlab.codegen import TrainScriptSettings, read_template, training_script
from protlab.data import LabelledData, load_bundled, load_labelled
from protlab.errors import ConfigError
from protlab.models import CNNConfig
from protlab.runs import RunSpec, evaluate_and_save, prepare_run
from protlab.training import (
    OPTIMIZERS,
    SCHEDULERS,
    TrainConfig,
    build_optimizer,
    cpu_bf16_available,
    train_model,
)

ROOT = Path(__file__).resolve().parents[1]
TINY_CNN = {"embed_dim": 8, "hidden_dim": 8}  # small widths keep every run well under a second
PANEL_WIDTH = 88  # characters a line of the page's code panel shows without scrolling


def _settings_span(source: str) -> slice:
    """The lines of a script's settings block, marker lines excluded."""
    lines = source.splitlines()
    markers = [i for i, line in enumerate(lines) if line.startswith("# ===") and line.endswith(" settings")]
    assert len(markers) == 2 and lines[markers[1]].endswith(" end of settings")
    return slice(markers[0] + 1, markers[1])


def _settings(source: str) -> dict:
    """The values a script's settings block defines (only the settings block is executed)."""
    namespace: dict = {"torch": torch}
    exec("\n".join(source.splitlines()[_settings_span(source)]), namespace)  # noqa: S102
    return namespace


def _outside_settings(source: str) -> list[str]:
    """The lines of a script outside its settings block."""
    lines, span = source.splitlines(), _settings_span(source)
    return lines[: span.start] + lines[span.stop :]


# ------------------------------------------------------------------------------------------------ the text
def test_default_settings_give_the_template_itself() -> None:
    # the template's own defaults are TrainConfig's and CNNConfig's: the generator changes nothing
    assert training_script(TrainScriptSettings()) == read_template("train_script.py")


def test_only_the_settings_block_changes() -> None:
    train = {"optimizer": "sgd_momentum", "lr": 0.03, "scheduler": "warmup"}
    settings = TrainScriptSettings(
        data_source="my proteins.csv",
        label_cutoff=42.5,
        sample_size=500,
        split_method="homology",
        identity=0.55,
        model_kind="dual",
        model_config={"global_dim": 7},
        train_config=train,
    )
    script = training_script(settings)
    assert _outside_settings(script) == _outside_settings(read_template("train_script.py"))
    namespace = _settings(script)
    assert namespace["DATA"] == "my proteins.csv" and namespace["SAMPLE_SIZE"] == 500
    assert namespace["LABEL_CUTOFF"] == 42.5
    assert namespace["SPLIT"] == "homology" and namespace["IDENTITY"] == 0.55 and namespace["MODEL"] == "dual"
    assert namespace["MODEL_CONFIG"]["global_dim"] == 7 and namespace["MODEL_CONFIG"]["feature_names"]
    assert namespace["OPTIMIZER"] is torch.optim.SGD
    assert namespace["OPTIMIZER_OPTIONS"] == {"lr": 0.03, "momentum": 0.9, "weight_decay": 0.0}
    assert namespace["SCHEDULER"] == "warmup"


def test_a_model_kind_the_script_lacks_is_refused() -> None:
    with pytest.raises(ConfigError, match="model_kind 'solubility_net'"):
        training_script(TrainScriptSettings(model_kind="solubility_net"))


def _changed(value: object) -> object:
    """A different valid value of the same TrainConfig field type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return {"sgd_momentum": "adamw", "plateau": "warmup", "auto": "cpu", "none": "balanced"}[value]
    return value + 1 if isinstance(value, int) else value / 2 + 0.01


# TrainConfig fields that cannot change the arithmetic of a run (progress messages, CPU threads, speed),
# or cannot matter as protlab's runs never cut sequences (the loaders drop longer ones before training).
NOT_IN_SCRIPT = {"batch_events", "batch_event_every", "num_threads", "flush_denormal", "max_length"}


@pytest.mark.parametrize("name", [f.name for f in fields(TrainConfig)])
def test_every_training_setting_that_matters_reaches_the_script(name: str) -> None:
    base = TrainConfig(optimizer="sgd_momentum").to_dict()  # sgd_momentum: momentum is used too
    changed = {**base, name: _changed(base[name])}
    before = training_script(TrainScriptSettings(train_config=base))
    after = training_script(TrainScriptSettings(train_config=changed))
    assert (before != after) == (name not in NOT_IN_SCRIPT)


def test_optimizer_settings_come_from_protlabs_optimizer_table() -> None:
    model = torch.nn.Linear(3, 2)
    for name in OPTIMIZERS:
        config = TrainConfig(optimizer=name, lr=0.02, weight_decay=0.001, momentum=0.8)
        namespace = _settings(training_script(TrainScriptSettings(train_config=config.to_dict())))
        ours = namespace["OPTIMIZER"](model.parameters(), **namespace["OPTIMIZER_OPTIONS"])
        theirs = build_optimizer(model, config)
        assert type(ours) is type(theirs)
        mine, app = ours.param_groups[0], theirs.param_groups[0]
        assert {k: mine[k] for k in ("lr", "weight_decay", "momentum", "betas") if k in app} == {
            k: app[k] for k in ("lr", "weight_decay", "momentum", "betas") if k in app
        }


def _ruff(source: str) -> subprocess.CompletedProcess:
    """ruff check on a script, with the project's settings."""
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--stdin-filename", "train.py", "-"]
    return subprocess.run(
        command, input=source, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )


def test_template_and_generated_scripts_are_ruff_clean() -> None:
    scripts = [
        read_template("train_script.py"),
        training_script(
            TrainScriptSettings(
                data_source="a very long file name " * 6 + ".csv",
                model_kind="dual",
                split_method="homology",
                train_config={"optimizer": "sgd_momentum"},
            )
        ),
        training_script(TrainScriptSettings(sample_size=1000, model_config={"num_layers": 3})),
    ]
    for script in scripts:
        out = _ruff(script)
        assert out.returncode == 0, out.stdout + out.stderr
        assert max(len(line) for line in script.splitlines()) <= PANEL_WIDTH


# --------------------------------------------------------------------------------------- runs vs the app
def _combinations() -> list[dict]:
    """Combinations: optimizer x scheduler and model x split crossed, the other values spread over them."""
    combos = []
    for i, (optimizer, scheduler) in enumerate(itertools.product(OPTIMIZERS, SCHEDULERS)):
        o = i // len(SCHEDULERS)  # index of the optimizer
        vocab = (21, 22)[i // 4 % 2]
        if i % 2 == 0:
            model = {
                **TINY_CNN,
                "num_layers": 1 + i % 3,
                "dropout": (0.0, 0.3)[i // 2 % 2],
                "vocab_size": vocab,
            }
        else:
            model = {**TINY_CNN, "global_dim": 4, "vocab_size": vocab}
        train = {
            "optimizer": optimizer,
            "scheduler": scheduler,
            "lr": 3e-3,
            "epochs": 3,
            "batch_size": 10,
            "grad_accum_steps": (1, 2, 3)[o % 3],
            "grad_clip": (1.0, 0.0, 0.5)[i // 2 % 3],
            "patience": (0, 1)[(i + 1) // 3 % 2],
            "label_smoothing": (0.0, 0.1)[o % 2],
            "class_weighting": ("none", "balanced")[i // 6],
            "cpu_bf16": i % 4 == 3,
            "eval_batch_size": (64, 4)[o % 2],
            "device": ("auto", "cpu")[i // 7],
            "warmup_steps": (4, 0)[i // 3 % 2],  # 0: the warm-up is warmup_fraction of the run
            "warmup_fraction": 0.3,
            "plateau_patience": 0,
            "plateau_factor": 0.3,
            "weight_decay": 0.01,
            "momentum": 0.8,
            "seed": 11 + i,
        }
        combos.append(
            {
                "model_kind": ("cnn", "dual")[i % 2],
                "model_config": model,
                "train": train,
                "split_method": ("stratified", "homology")[i // 2 % 2],
            }
        )
    return combos


COMBINATIONS = _combinations()


def test_the_combinations_cover_every_option() -> None:
    values: dict[str, set] = {}
    for combo in COMBINATIONS:
        for key, value in {
            **combo["train"],
            "model": combo["model_kind"],
            "split": combo["split_method"],
            "layers": combo["model_config"].get("num_layers"),
            "vocab": combo["model_config"]["vocab_size"],
        }.items():
            values.setdefault(key, set()).add(value)
    assert values["optimizer"] == set(OPTIMIZERS) and values["scheduler"] == set(SCHEDULERS)
    assert values["model"] == {"cnn", "dual"} and values["split"] == {"stratified", "homology"}
    assert values["class_weighting"] == {"none", "balanced"} and values["cpu_bf16"] == {True, False}
    assert values["device"] == {"auto", "cpu"} and values["vocab"] == {21, 22}
    assert values["layers"] >= {1, 2, 3}
    assert {c["model_config"].get("dropout") for c in COMBINATIONS} == {None, 0.0, 0.3}
    for key in ("patience", "grad_clip", "grad_accum_steps", "label_smoothing", "eval_batch_size"):
        assert len(values[key]) >= 2, key
    crossed = {(c["train"]["optimizer"], c["train"]["scheduler"]) for c in COMBINATIONS}
    assert crossed == set(itertools.product(OPTIMIZERS, SCHEDULERS))
    assert {(c["model_kind"], c["split_method"]) for c in COMBINATIONS} == set(
        itertools.product(("cnn", "dual"), ("stratified", "homology"))
    )
    assert {(c["train"]["scheduler"], c["train"]["grad_accum_steps"]) for c in COMBINATIONS} >= {
        ("warmup", 1),
        ("warmup", 2),
        ("plateau", 1),
        ("plateau", 2),
    }  # steps counted per accumulated group
    warmups = {c["train"]["warmup_steps"] > 0 for c in COMBINATIONS if c["train"]["scheduler"] == "warmup"}
    assert warmups == {True, False}  # warm-up given in steps and as a share of the run


@pytest.fixture(autouse=True)
def _one_thread():
    """The tiny models run fastest on one CPU thread (the script and the app share this process)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def proteins(tmp_path_factory) -> Path:
    """60 DeepSol proteins (up to 400 residues) as an 'uploaded' CSV file."""
    sample = deepsol_sample(60, max_length=400, seed=5)
    path = tmp_path_factory.mktemp("data") / "proteins.csv"
    pd.DataFrame({"sequence": sample.sequences, "label": sample.labels}).to_csv(path, index=False)
    return path


def _run_script(script: str, folder: Path, monkeypatch) -> dict:
    """Run a generated script in this process (in `folder`) and return its variables."""
    path = folder / "train.py"
    path.write_text(script, encoding="utf-8")
    monkeypatch.chdir(folder)
    try:
        return runpy.run_path(str(path), run_name="__main__")
    finally:
        torch.set_flush_denormal(False)  # the script turns it on for the rest of its process


def _run_app(data: LabelledData, settings: TrainScriptSettings, folder: Path) -> dict:
    """protlab's pipeline for these settings, as the Train page runs it: history, test metrics, P(soluble)."""
    config = TrainConfig(**settings.train_config)
    if settings.sample_size is not None and settings.sample_size < len(data):  # the Train page's sample_rows
        keep = np.sort(
            np.random.default_rng(config.seed).choice(len(data), size=settings.sample_size, replace=False)
        )
        data = LabelledData(
            [data.sequences[i] for i in keep], np.asarray(data.labels)[keep], [data.ids[i] for i in keep]
        )
    params = {"identity": settings.identity} if settings.split_method == "homology" else {}
    spec = RunSpec(
        data=data,
        split_method=settings.split_method,
        split_params=params,
        train_config=config,
        model_kind=settings.model_kind,
        model_config=dict(settings.model_config),
    )
    prepared = prepare_run(spec)
    result = train_model(prepared.model, prepared.sets["train"], prepared.sets["val"], config)
    saved = evaluate_and_save(prepared, result, spec, folder / "app.pt")
    return {
        "history": [asdict(event) for event in result.history],
        "test_metrics": saved["test_metrics"],
        "p_test": saved["predictions"]["p_soluble"].to_numpy(),
    }


def _assert_same_run(ns: dict, app: dict, bf16: bool) -> None:
    """The script's epochs, losses, learning rates and test predictions are the app's (bf16 rounds more)."""
    tol = 2e-3 if bf16 and cpu_bf16_available() else 2e-5
    assert [row["epoch"] for row in ns["history"]] == [row["epoch"] for row in app["history"]]
    for mine, theirs in zip(ns["history"], app["history"]):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], abs=tol)
        assert mine["val_loss"] == pytest.approx(theirs["val_loss"], abs=tol)
        assert mine["lr"] == pytest.approx(theirs["lr"], rel=1e-6)
    np.testing.assert_allclose(np.sort(ns["p_test"]), np.sort(app["p_test"]), atol=tol)  # in any order
    for name, value in ns["test_metrics"].items():
        assert 0.0 <= value <= 1.0 or (name == "mcc" and -1.0 <= value <= 1.0) or math.isnan(value), name
        if tol < 1e-3:  # same predictions to float precision: the same calls, so the same metrics
            assert value == pytest.approx(app["test_metrics"][name], abs=1e-9, nan_ok=True), name


def test_every_combination_runs_and_trains_like_the_app(proteins: Path, tmp_path: Path, monkeypatch) -> None:
    data, _ = load_labelled(proteins)
    for number, combo in enumerate(COMBINATIONS):
        settings = TrainScriptSettings(
            data_source=str(proteins),
            split_method=combo["split_method"],
            model_kind=combo["model_kind"],
            model_config=combo["model_config"],
            train_config=combo["train"],
        )
        folder = tmp_path / f"run{number}"
        folder.mkdir()
        ns = _run_script(training_script(settings), folder, monkeypatch)
        app = _run_app(data, settings, folder)
        try:
            _assert_same_run(ns, app, combo["train"]["cpu_bf16"])
        except AssertionError as err:
            raise AssertionError(f"combination {number}: {combo}") from err
        assert (folder / "best_model.pt").is_file()


def test_bundled_data_with_a_sample_trains_like_the_app(tmp_path: Path, monkeypatch) -> None:
    settings = TrainScriptSettings(
        sample_size=60,
        model_config={**asdict(CNNConfig()), **TINY_CNN},
        train_config={"epochs": 2, "batch_size": 16, "cpu_bf16": False, "seed": 3},
    )
    ns = _run_script(training_script(settings), tmp_path, monkeypatch)
    assert len(ns["sequences"]) == 60
    _assert_same_run(ns, _run_app(load_bundled()[0], settings, tmp_path), bf16=False)


def test_mixed_precision_is_ignored_without_a_gpu(proteins: Path, tmp_path: Path, monkeypatch) -> None:
    # the app refuses mixed precision without CUDA; the script (on a CPU) simply computes in float32
    train = {"epochs": 1, "batch_size": 16, "cpu_bf16": False, "device": "cpu"}
    base = TrainScriptSettings(data_source=str(proteins), model_config=TINY_CNN, train_config=train)
    runs = []
    for mixed in (False, True):
        settings = replace(base, train_config={**base.train_config, "mixed_precision": mixed})
        folder = tmp_path / str(mixed)
        folder.mkdir()
        runs.append(_run_script(training_script(settings), folder, monkeypatch)["history"])
    assert runs[0] == runs[1]
