"""Training recipes: named, reproducible ways to train a solubility model, including the shipped default.

A recipe is a list of run specs plus an ensemble step. Each member (a model kind and config, a seed, its
training settings) becomes one protlab.runs.RunSpec, all with the recipe's split, and is trained by
prepare_run + train_model, the same code as the Train page and `python -m protlab train`. The ensemble
step averages the members' probabilities, picks the decision threshold on the validation rows, scores the
held-out test rows and writes a checkpoint plus a JSON model card beside it.

The recipes themselves (members, settings, split) are in protlab.recipe_book; a leak check (one MMseqs2
search of the validation and test proteins against the training proteins) confirms that a homology split
left no relative across it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from protlab.data import LabelledData, Split, leak_checks, load_labelled
from protlab.errors import ConfigError
from protlab.model_card import CALIBRATION_BINS, write_card
from protlab.models import EnsembleModel, build_model, model_config_dict, model_kind, save_checkpoint
from protlab.recipe_book import (
    KMER_MIN_SHARED,
    KMER_SIZE,
    Recipe,
    get_recipe,
    recipe_split,
    run_specs,
)
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
    weights = [m.weight for m in recipe.members()]  # (M,) shares, 1.0 each unless the recipe says otherwise
    weights = None if set(weights) == {1.0} else weights  # equal shares keep the plain ensemble config
    model = members[0] if len(members) == 1 else EnsembleModel(members, weights)
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
        "train_class_counts": np.bincount(data.labels[split.train], minlength=2).tolist(),  # its prior
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
