"""Training recipes: named, reproducible ways to train a solubility model, including the shipped default.

A recipe is a list of run specs plus an ensemble step. Each member (a model kind and config, a seed, its
training settings) becomes one protlab.runs.RunSpec, all with the recipe's split, and is trained by
prepare_run + train_model, the same code as the Train page and `python -m protlab train`. The ensemble
step averages the members' probabilities, picks the decision threshold on the validation rows, scores the
held-out test rows and writes a checkpoint plus a JSON model card beside it.

The default's split is the notes' homology-aware split ("mmseqs"): MMseqs2 links proteins aligned at
>= 30% identity over >= 80% of both (protlab.data.homology), linked proteins form one cluster (single
linkage), and whole clusters go to train / validation / test with the class balance kept as well as whole
clusters allow (seeded), so no validation or test protein has a training relative at that identity; a
leak check (MMseqs2 search of test against train) confirms it. The older "kmer_cluster" split links
sequences sharing more than `KMER_MIN_SHARED` of their distinct 4-mers and fills the test set with whole
clusters in a seeded random order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from protlab.alphabet import VOCAB_SIZE
from protlab.checks import Choice
from protlab.data import LabelledData, Split, homology_split, leak_checks, load_labelled, stratified_split
from protlab.errors import ConfigError
from protlab.model_card import CALIBRATION_BINS, write_card
from protlab.models import EnsembleModel, build_model, model_config_dict, model_kind, save_checkpoint
from protlab.runs import RunSpec, prepare_run, tokenise_for_model
from protlab.training import (
    EpochEvent,
    TrainConfig,
    TrainResult,
    bootstrap_intervals,
    calibration_bins,
    compute_metrics,
    mcc_at_thresholds,
    predict_probabilities,
    train_model,
)

KMER_SIZE = 4  # residues per k-mer used to find homologous clusters
KMER_MIN_SHARED = 0.1  # fraction of the shorter sequence's distinct 4-mers two relatives must share
KMER_CLUSTER_SPLIT = {
    "clustering": "shared_kmers",
    "k": KMER_SIZE,
    "identity": KMER_MIN_SHARED ** (1 / KMER_SIZE),  # linked when f^(1/k) > this
    "assignment": "random",
}  # homology_split settings of the "kmer_cluster" split
MMSEQS_SPLIT = {"clustering": "mmseqs", "assignment": "balanced"}  # homology_split settings of "mmseqs"
RECIPE_SPLITS = ("stratified", "kmer_cluster", "mmseqs")  # the split a recipe can ask for


@dataclass(frozen=True)
class Member:
    """One ensemble member: its model, its seed and any training settings of its own."""

    kind: str  # model kind (protlab.models registry)
    config: dict  # config dict for build_model(kind, ...)
    seed: int  # seeds the weights and the batch order
    train: dict = field(default_factory=dict)  # TrainConfig fields that override the recipe's for this member


@dataclass(frozen=True)
class Recipe:
    """Everything needed to reproduce one trained model."""

    name: str  # recipe name, e.g. "default"
    description: str  # one sentence for the CLI and the model card
    kind: str  # model kind of every member (protlab.models registry)
    model_config: dict  # config dict for build_model(kind, ...)
    train: dict  # TrainConfig fields
    seeds: tuple[int, ...] = (42,)  # one member per seed; several seeds are averaged as an ensemble
    split: str = "stratified"  # one of RECIPE_SPLITS: the notes' 80/10/10, or homology-aware (k-mer, MMseqs2)
    identity: float = 0.3  # "mmseqs" split: sequence identity at which proteins are linked
    test_fraction: float = 0.1  # fraction of rows held out for the final test
    val_fraction: float = 0.1  # fraction of all rows used for early stopping and threshold choice
    split_seed: int = 42  # seed of the split
    tune_threshold: bool = False  # choose the MCC-optimal threshold on validation predictions
    extra_members: tuple[Member, ...] = ()  # further members (other kinds) trained after the seed members

    def members(self) -> list[Member]:
        """Every member in training order: one per seed of (kind, model_config), then extra_members."""
        return [Member(self.kind, self.model_config, s) for s in self.seeds] + list(self.extra_members)


SOLUBILITY_NET_CONFIG = {
    "embed_dim": 32,
    "kernel_sizes": [3, 5, 9],
    "channels": 32,
    "dropout": 0.3,
    "stat_clip": 4.0,
}  # SolubilityNet as shipped in the default ensemble
SOLUBILITY_NET_TRAIN = {
    "optimizer": "adamw",
    "lr": 3e-3,
    "weight_decay": 1e-2,
    "batch_size": 32,
    "epochs": 40,
    "patience": 6,
    "scheduler": "plateau",
    "plateau_factor": 0.5,
    "plateau_patience": 2,
    "grad_clip": 1.0,
    "max_length": 2000,
    "label_smoothing": 0.1,  # chosen on validation (model card: selection)
}  # its training settings (the compact CNNs take them too, with COMPACT_CNN_TRAIN's changes)
COMPACT_CNN_CONFIG = {
    "vocab_size": VOCAB_SIZE,
    "embed_dim": 32,
    "hidden_dim": 64,
    "kernel_size": 5,
    "num_layers": 2,
    "dropout": 0.3,
}  # a notes-style CNN at a quarter of the notes' cost
COMPACT_CNN_TRAIN = {"optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0}  # overrides SOLUBILITY_NET_TRAIN
COMPOSITION_CONFIG = {
    "terminal_window": 25,
    "terminal_positions": 5,
    "use_groups": False,
    "use_dipeptides": False,
    "hidden_dim": 0,
}  # logistic regression on composition, terminal composition and terminal residues (model card: selection)
COMPOSITION_TRAIN = {
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 1e-2,
    "batch_size": 64,
    "label_smoothing": 0.0,
    "cpu_bf16": False,
}  # overrides SOLUBILITY_NET_TRAIN: an L2-penalised logistic regression, as scikit-learn's would fit it

THREE_SOLUBILITY_NETS = {
    "kind": "solubility_net",
    "model_config": SOLUBILITY_NET_CONFIG,
    "train": SOLUBILITY_NET_TRAIN,
    "seeds": (1, 2, 3),
    "split": "mmseqs",
    "tune_threshold": True,
}  # shared by two recipes

RECIPES: dict[str, Recipe] = {
    "notes-cnn": Recipe(
        name="notes-cnn",
        description="The course notes' case-study CNN trained the notes' way (Adam 1e-3, batch 32, "
        "ReduceLROnPlateau patience 5 factor 0.5, early stopping patience 10, clip 1.0, 80/10/10 split).",
        kind="cnn",
        model_config={
            "vocab_size": 21,
            "embed_dim": 64,
            "hidden_dim": 128,
            "kernel_size": 5,
            "num_layers": 2,
            "dropout": 0.3,
        },
        train={
            "optimizer": "adam",
            "lr": 1e-3,
            "batch_size": 32,
            "epochs": 50,
            "patience": 10,
            "scheduler": "plateau",
            "plateau_factor": 0.5,
            "plateau_patience": 5,
            "grad_clip": 1.0,
            "max_length": 2000,
        },
    ),
    "solubility-net": Recipe(
        name="solubility-net",
        description="Three SolubilityNets (multi-kernel CNN + composition, terminal and dipeptide "
        "statistics) trained with AdamW, early stopping and label smoothing 0.1, averaged; held-out test "
        "set split at 30% identity with MMseqs2.",
        **THREE_SOLUBILITY_NETS,
    ),
    "default": Recipe(
        name="default",
        description="ProtLab's default: an ensemble of three SolubilityNets (multi-kernel CNN + composition, "
        "terminal and dipeptide statistics; AdamW), three compact notes-style CNNs (vocabulary 22, "
        "embedding 32, two Conv1d layers of 64 channels; Adam), each trained with early stopping on "
        "validation loss and label smoothing 0.1, and one CompositionNet (logistic regression on residue "
        "composition, terminal composition, the first and last five residues and log length), "
        "probabilities averaged; held-out test set split at 30% identity with MMseqs2.",
        **THREE_SOLUBILITY_NETS,
        extra_members=tuple(Member("cnn", COMPACT_CNN_CONFIG, s, COMPACT_CNN_TRAIN) for s in (11, 12, 13))
        + (Member("composition", COMPOSITION_CONFIG, 42, COMPOSITION_TRAIN),),
    ),
}


def get_recipe(name: str) -> Recipe:
    """Look a recipe up by name, with a helpful error for unknown names."""
    Choice(sorted(RECIPES)).check(name, "recipe")
    return RECIPES[name]


def run_specs(recipe: Recipe, data: LabelledData, train_overrides: dict | None = None) -> list[RunSpec]:
    """One RunSpec per member, in training order: its model and seed, the recipe's split and settings."""
    Choice(RECIPE_SPLITS).check(recipe.split, "split")
    method, params = {
        "stratified": ("stratified", {}),
        "kmer_cluster": ("homology", KMER_CLUSTER_SPLIT),
        "mmseqs": ("homology", {**MMSEQS_SPLIT, "identity": recipe.identity}),
    }[recipe.split]
    params = {
        **params,
        "val_fraction": recipe.val_fraction,
        "test_fraction": recipe.test_fraction,
        "seed": recipe.split_seed,
    }  # the same split for every member, whatever its training seed
    specs = []
    for m in recipe.members():
        settings = {**recipe.train, **m.train, **(train_overrides or {}), "seed": m.seed}
        specs.append(
            RunSpec(
                name=f"{recipe.name}: {m.kind} seed {m.seed}",
                data=data,
                data_description=f"recipe {recipe.name}",
                split_method=method,
                split_params=params,
                model_kind=m.kind,
                model_config=m.config,
                train_config=TrainConfig(**settings),
            )
        )
    return specs


def recipe_split(recipe: Recipe, data: LabelledData) -> Split:
    """The recipe's train/validation/test split of the data (the same for every member)."""
    spec = run_specs(recipe, data)[0]
    if spec.split_method == "homology":
        return homology_split(data.sequences, data.labels, **spec.split_params)
    return stratified_split(data.labels, **spec.split_params)


def mcc_threshold(labels: np.ndarray, probs: np.ndarray) -> float:
    """Threshold in [0.2, 0.8] (step 0.01) that maximises MCC on the given (validation) predictions."""
    grid = np.round(np.arange(0.2, 0.801, 0.01), 2)
    return float(grid[int(np.argmax(mcc_at_thresholds(labels, probs, grid)))])  # the lowest of equal bests


def _as_data(data: LabelledData | str | Path) -> LabelledData:
    """Accept LabelledData or a path to a labelled CSV/FASTA file."""
    if isinstance(data, LabelledData):
        return data
    if isinstance(data, (str, Path)):
        return load_labelled(data)[0]
    raise ConfigError(
        f"data must be LabelledData or a path to a labelled CSV/FASTA file; got {type(data).__name__}."
    )


def _with_overrides(recipe: Recipe, test_fraction: float | None, seed: int | None, overrides: dict) -> Recipe:
    """The recipe with a changed held-out fraction, split seed, member seeds or model settings."""
    if test_fraction is not None:
        recipe = replace(recipe, test_fraction=float(test_fraction))
    if seed is not None:
        recipe = replace(recipe, split_seed=int(seed))
    if "seeds" in overrides:
        recipe = replace(recipe, seeds=tuple(overrides["seeds"]))
    if "model_config" in overrides:
        recipe = replace(recipe, model_config={**recipe.model_config, **overrides["model_config"]})
    return recipe


def _epoch_reporter(seed: int, progress: Callable[[str], None]) -> Callable[[object], None]:
    """A train_model callback that reports each finished epoch of one member."""

    def report(event: object) -> None:
        if isinstance(event, EpochEvent):
            progress(
                f"  seed {seed} epoch {event.epoch:2d}: train loss {event.train_loss:.4f}, "
                f"val loss {event.val_loss:.4f}, val AUC {event.val_metrics['auc']:.3f}"
            )

    return report


def _history(seed: int, result: TrainResult) -> list[dict]:
    """One row per epoch of one member, for the checkpoint."""
    return [
        {
            "seed": seed,
            "epoch": e.epoch,
            "train_loss": e.train_loss,
            "val_loss": e.val_loss,
            "val_auc": e.val_metrics["auc"],
            "lr": e.lr,
        }
        for e in result.history
    ]


def train_recipe(
    name: str,
    data: LabelledData | str | Path,
    out_path: str | Path,
    *,
    progress: Callable[[str], None] = print,
    test_fraction: float | None = None,
    seed: int | None = None,
    overrides: dict | None = None,
    reuse: str | Path | None = None,
) -> dict:
    """Train every member of recipe `name`, then run its ensemble step; returns the metrics.
    reuse: a checkpoint of this recipe's split whose members, in order, stand for the recipe's first
    members (same kind and settings); only the members after them are trained."""
    overrides = overrides or {}
    recipe = _with_overrides(get_recipe(name), test_fraction, seed, overrides)
    config = TrainConfig(**{**recipe.train, **overrides.get("train", {})})  # the recipe-level settings
    config.validate()  # settings first, then the data
    data = _as_data(data)
    specs = run_specs(recipe, data, overrides.get("train"))
    for spec in specs:
        spec.validate()
    started = time.perf_counter()
    members, history = [], []
    partial = Path(out_path).with_suffix(".members.pt")  # state dicts of the members trained so far
    split = recipe_split(recipe, data)  # every member shares it
    progress(
        f"Recipe {recipe.name}: {len(split.train)} train, {len(split.val)} validation, "
        f"{len(split.test)} held-out test rows ({recipe.split} split"
        + (f", {split.clustering} at {split.identity:.0%} identity, {split.n_clusters:,} clusters, "
           f"largest {split.largest_cluster:,}" if split.clustering else "")
        + ")."
    )  # fmt: skip
    if reuse is not None:
        members, history = _reused_members(reuse, specs, split, len(data))
        progress(f"  reusing the {len(members)} trained members of {reuse}")
    for spec in specs[len(members) :]:
        prepared = prepare_run(spec, data, split)
        member_seed = spec.train_config.seed
        result = train_model(
            prepared.model,
            prepared.sets["train"],
            prepared.sets["val"],
            spec.train_config,
            callback=_epoch_reporter(member_seed, progress),
        )
        progress(
            f"  seed {member_seed}: best epoch {result.best_epoch} ({result.stopped_reason}, "
            f"{result.seconds:.0f} s)"
        )
        members.append(prepared.model.cpu())  # train_model leaves the best epoch's weights in the model
        history += _history(member_seed, result)
        torch.save([m.state_dict() for m in members], partial)  # finished members survive an interruption
    metrics = ensemble_step(recipe, data, split, members, history, out_path, progress, started, config)
    partial.unlink(missing_ok=True)
    return metrics


def _reused_members(
    checkpoint: str | Path, specs: list[RunSpec], split: Split, n_rows: int
) -> tuple[list[torch.nn.Module], list[dict]]:
    """The members of a checkpoint trained on this split, checked against the recipe's first members."""
    from protlab.models import load_checkpoint

    loaded = load_checkpoint(checkpoint)
    members = list(getattr(loaded.model, "members", [loaded.model]))
    same_split = split.test.tolist() == (loaded.extra or {}).get("held_out_rows")
    if not same_split or (loaded.data_summary or {}).get("n_rows") != n_rows or len(members) > len(specs):
        raise ConfigError(
            f"reuse: {checkpoint} was not trained on this recipe's split of this data (its held-out rows or "
            "number of rows differ), or holds more members than the recipe."
        )
    for i, (member, spec) in enumerate(zip(members, specs), start=1):
        wanted = model_config_dict(build_model(spec.model_kind, spec.model_config))
        if model_kind(member) != spec.model_kind or model_config_dict(member) != wanted:
            raise ConfigError(
                f"reuse: member {i} of {checkpoint} is a {model_kind(member)} that differs from the recipe's "
                f"member {i} ({spec.model_kind}, {spec.model_config})."
            )
    return [m.cpu() for m in members], list(loaded.history or [])


def ensemble_step(
    recipe: Recipe,
    data: LabelledData,
    split: Split,
    members: list[torch.nn.Module],
    history: list[dict],
    out_path: str | Path,
    progress: Callable[[str], None],
    started: float,
    config: TrainConfig,
    card_notes: dict | None = None,
    seconds: float | None = None,
) -> dict:
    """Average the members, pick the threshold, score the test rows, save checkpoint and card.
    seconds: the training time to record (default: since `started`)."""
    model = members[0] if len(members) == 1 else EnsembleModel(members)
    kind, model_config = model_kind(model), model_config_dict(model)
    full = tokenise_for_model(model, data)
    val_probs, test_probs = (
        predict_probabilities(model, full.subset(rows), device="cpu", batch_size=128).probs
        for rows in (split.val, split.test)
    )  # (N_val,), (N_test,) P(soluble)
    threshold = mcc_threshold(data.labels[split.val], val_probs) if recipe.tune_threshold else 0.5
    metrics = {
        "test": compute_metrics(data.labels[split.test], test_probs),
        "validation": compute_metrics(data.labels[split.val], val_probs),
    }
    if threshold != 0.5:
        metrics["test_at_threshold"] = compute_metrics(
            data.labels[split.test], test_probs, threshold=threshold
        )
    labels = data.labels[split.test]  # (N_test,)
    metrics["test_ci"] = bootstrap_intervals(labels, test_probs, threshold=threshold)  # shipped threshold
    metrics["test"]["brier"] = metrics["test_ci"]["brier"]["value"]
    calibration = calibration_bins(labels, test_probs, CALIBRATION_BINS).to_dict(orient="records")
    held = {part: [data.sequences[i] for i in getattr(split, part)] for part in ("val", "test")}
    leaks = {
        part: found.as_dict()
        for part, found in leak_checks(
            [data.sequences[i] for i in split.train], held, identity=recipe.identity
        ).items()
    }  # held-out proteins with a training relative (one MMseqs2 search)
    if threshold != 0.5:
        metrics["test_ci_at_0.5"] = bootstrap_intervals(labels, test_probs, threshold=0.5)
    seconds = time.perf_counter() - started if seconds is None else seconds
    summary = {
        "n_rows": len(data),
        "n_train": len(split.train),
        "n_val": len(split.val),
        "n_test": len(split.test),
        "split": recipe.split,
        "split_seed": recipe.split_seed,
        "test_fraction": recipe.test_fraction,
        "val_fraction": recipe.val_fraction,
        "n_clusters": split.n_clusters,
        "largest_cluster": split.largest_cluster,
        "clustering": split.clustering,
        "identity": split.identity,
        "coverage": split.coverage,
        "class_counts": np.bincount(data.labels, minlength=2).tolist(),
    }
    extra = {
        "threshold": threshold,
        "recipe": recipe.name,
        "training_seconds": round(seconds, 1),
        "held_out_rows": split.test.tolist(),
        "calibration": calibration,
        "leak_check": leaks,
    }
    out_path = Path(out_path)
    save_checkpoint(
        out_path,
        model,
        kind=kind,
        model_config=model_config,
        train_config=config.to_dict(),
        metrics=metrics,
        data_summary=summary,
        history=history,
        extra=extra,
    )
    write_card(
        out_path.with_suffix(".json"),
        recipe,
        model,
        metrics,
        summary,
        extra,
        {"model_config": model_config, **(card_notes or {})},
        _split_settings(recipe, summary),
    )
    ci = metrics["test_ci"]
    progress(
        "Held-out test (95% bootstrap CI): "
        + ", ".join(f"{k} {v['value']:.3f} [{v['low']:.3f}, {v['high']:.3f}]" for k, v in ci.items())
        + f" at threshold {threshold:.2f}; test proteins with a training relative at "
        f"{recipe.identity:.0%} identity: {leaks['test']['n_leaked']}; saved {out_path} ({seconds:.0f} s)."
    )
    return metrics


def rescore_checkpoint(
    name: str,
    data: LabelledData | str | Path,
    checkpoint: str | Path,
    out_path: str | Path,
    *,
    progress: Callable[[str], None] = print,
    card_notes: dict | None = None,
) -> dict:
    """Run the ensemble step again on a trained recipe's checkpoint (same split, members, history)."""
    from protlab.models import load_checkpoint

    recipe, data = get_recipe(name), _as_data(data)
    loaded = load_checkpoint(checkpoint)
    members = list(getattr(loaded.model, "members", [loaded.model]))
    split = recipe_split(recipe, data)
    saved_rows = (loaded.data_summary or {}).get("n_rows")
    if split.test.tolist() != (loaded.extra or {}).get("held_out_rows") or saved_rows != len(data):
        raise ConfigError(
            f"The checkpoint {checkpoint} was not trained on recipe {name}'s split of this data (its "
            "held-out rows differ, or its number of rows); train it again."
        )
    seconds = float((loaded.extra or {}).get("training_seconds", 0.0))  # as trained, not this rescoring
    config = TrainConfig(**recipe.train)
    return ensemble_step(
        recipe, data, split, members, loaded.history or [], out_path, progress,
        time.perf_counter(), config, card_notes, seconds,
    )  # fmt: skip


def _split_settings(recipe: Recipe, summary: dict) -> dict:
    """How the recipe's split linked proteins, for the model card."""
    if recipe.split == "kmer_cluster":
        return {"kmer_size": KMER_SIZE, "kmer_min_shared": KMER_MIN_SHARED}
    if recipe.split == "stratified":
        return {}
    return {
        "clustering": summary.get("clustering"),
        "identity": summary.get("identity"),
        "coverage": summary.get("coverage"),
        "coverage_mode": "both sequences (mmseqs --cov-mode 0)",
        "n_clusters": summary.get("n_clusters"),
        "largest_cluster": summary.get("largest_cluster"),
    }
