"""Training recipes: named, reproducible ways to train a solubility model, including the shipped default.

A recipe is a list of run specs plus an ensemble step. Each member (a model kind and config, a seed, its
training settings) becomes one protlab.runs.RunSpec, all with the recipe's split, and is trained by
prepare_run + train_model, the same code as the Train page and `python -m protlab train`. The ensemble
step averages the members' probabilities, picks the decision threshold on the validation rows, scores the
held-out test rows and writes a checkpoint plus a JSON model card beside it.

The held-out test set of the "kmer_cluster" split is homology-aware: sequences sharing more than
`KMER_MIN_SHARED` of their distinct 4-mers (linked transitively) form one cluster, and whole clusters,
in a seeded random order, fill the test set, so no test protein has a close relative in training.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from protlab.alphabet import VOCAB_SIZE
from protlab.checks import Choice
from protlab.data import LabelledData, Split, load_labelled
from protlab.errors import ConfigError
from protlab.files import atomic_write
from protlab.models import EnsembleModel, model_config_dict, model_kind, save_checkpoint
from protlab.runs import RunSpec, prepare_run, tokenise_for_model
from protlab.training import (
    EpochEvent,
    TrainConfig,
    TrainResult,
    compute_metrics,
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
    split: str = "stratified"  # "stratified" (the notes' 80/10/10) or "kmer_cluster" (homology-aware)
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
}  # its training settings
COMPACT_CNN_CONFIG = {
    "vocab_size": VOCAB_SIZE,
    "embed_dim": 32,
    "hidden_dim": 64,
    "kernel_size": 5,
    "num_layers": 2,
    "dropout": 0.3,
}  # a notes-style CNN at a quarter of the notes' cost
COMPACT_CNN_TRAIN = {"optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0}  # overrides SOLUBILITY_NET_TRAIN

THREE_SOLUBILITY_NETS = {
    "kind": "solubility_net",
    "model_config": SOLUBILITY_NET_CONFIG,
    "train": SOLUBILITY_NET_TRAIN,
    "seeds": (1, 2, 3),
    "split": "kmer_cluster",
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
        "statistics) trained with AdamW and early stopping, averaged; homology-aware (k-mer cluster) "
        "held-out test set.",
        **THREE_SOLUBILITY_NETS,
    ),
    "default": Recipe(
        name="default",
        description="ProtLab's default: an ensemble of three SolubilityNets (multi-kernel CNN + composition, "
        "terminal and dipeptide statistics; AdamW) and three compact notes-style CNNs (vocabulary 22, "
        "embedding 32, two Conv1d layers of 64 channels; Adam), each trained with early stopping on "
        "validation loss, probabilities averaged; homology-aware (k-mer cluster) held-out test set.",
        **THREE_SOLUBILITY_NETS,
        extra_members=tuple(Member("cnn", COMPACT_CNN_CONFIG, s, COMPACT_CNN_TRAIN) for s in (11, 12, 13)),
    ),
}


def get_recipe(name: str) -> Recipe:
    """Look a recipe up by name, with a helpful error for unknown names."""
    Choice(sorted(RECIPES)).check(name, "recipe")
    return RECIPES[name]


def run_specs(recipe: Recipe, data: LabelledData, train_overrides: dict | None = None) -> list[RunSpec]:
    """One RunSpec per member, in training order: its model and seed, the recipe's split and settings."""
    homology = recipe.split == "kmer_cluster"
    method, params = ("homology", KMER_CLUSTER_SPLIT) if homology else ("stratified", {})
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


def mcc_threshold(labels: np.ndarray, probs: np.ndarray) -> float:
    """Threshold in [0.2, 0.8] (step 0.01) that maximises MCC on the given (validation) predictions."""
    grid = np.round(np.arange(0.2, 0.801, 0.01), 2)
    scores = [compute_metrics(labels, probs, threshold=float(t))["mcc"] for t in grid]
    return float(grid[int(np.nanargmax(scores))])


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
) -> dict:
    """Train every member of recipe `name`, then run its ensemble step; returns the metrics."""
    overrides = overrides or {}
    recipe = _with_overrides(get_recipe(name), test_fraction, seed, overrides)
    config = TrainConfig(**{**recipe.train, **overrides.get("train", {})})  # the recipe-level settings
    config.validate()  # settings first, then the data
    data = _as_data(data)
    specs = run_specs(recipe, data, overrides.get("train"))
    for spec in specs:
        spec.validate()
    started = time.perf_counter()
    members, history, split = [], [], None
    for spec in specs:
        prepared = prepare_run(spec, data)
        if split is None:
            split = prepared.split
            progress(
                f"Recipe {recipe.name}: {len(split.train)} train, {len(split.val)} validation, "
                f"{len(split.test)} held-out test rows ({recipe.split} split)."
            )
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
    return ensemble_step(recipe, data, split, members, history, out_path, progress, started, config)


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
) -> dict:
    """Average the members, pick the threshold, score the test rows, save checkpoint and card."""
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
    seconds = time.perf_counter() - started
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
        "class_counts": np.bincount(data.labels, minlength=2).tolist(),
    }
    extra = {
        "threshold": threshold,
        "recipe": recipe.name,
        "training_seconds": round(seconds, 1),
        "held_out_rows": split.test.tolist(),
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
        out_path.with_suffix(".json"), recipe, model, metrics, summary, extra, {"model_config": model_config}
    )
    progress(
        f"Held-out test: AUC {metrics['test']['auc']:.3f}, accuracy {metrics['test']['accuracy']:.3f}, "
        f"MCC {metrics['test']['mcc']:.3f}; saved {out_path} ({seconds:.0f} s)."
    )
    return metrics


def write_card(
    path: Path,
    recipe: Recipe,
    model: torch.nn.Module,
    metrics: dict,
    summary: dict,
    extra: dict,
    notes: dict | None = None,
) -> Path:
    """Write the JSON model card that travels with a checkpoint (atomically)."""
    card = {
        "name": recipe.name,
        "description": recipe.description,
        "architecture": {
            "members": [asdict(m) for m in recipe.members()],
            "parameters": int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
        },
        "training": {"settings": recipe.train, "seconds": extra["training_seconds"]},
        "data": summary,
        "split": {
            "method": recipe.split,
            "seed": recipe.split_seed,
            "kmer_size": KMER_SIZE,
            "kmer_min_shared": KMER_MIN_SHARED,
            "held_out_rows": extra["held_out_rows"],
        },
        "threshold": extra["threshold"],
        "metrics": metrics,
        "date": _dt.date.today().isoformat(),
        "command": f"python -m protlab train <data.csv> --recipe {recipe.name} --out <model.pt>",
        **(notes or {}),
    }
    return atomic_write(path, json.dumps(card, indent=1, default=float) + "\n")
