"""Training recipes: named, reproducible ways to train a solubility model, including the shipped default.

A recipe fixes the model (kind + config), the training settings, how many seeds are averaged into an
ensemble, and how the data are split. `train_recipe` runs one end to end with the shared trainer
(protlab.training.train_model), evaluates it on a held-out test set, and writes a checkpoint plus a
JSON model card beside it.

The held-out test set of the "kmer_cluster" split is homology-aware: sequences sharing more than
`KMER_MIN_SHARED` of their distinct 4-mers (linked transitively) form one cluster, and whole clusters
go to the test set, so no test protein has a close relative in training.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from protlab.alphabet import BYTE_TO_INDEX, VOCAB_SIZE
from protlab.data import LabelledData, TokenizedSet, load_labelled, make_batch, stratified_split
from protlab.errors import ConfigError
from protlab.models import EnsembleModel, build_model, model_forward, save_checkpoint
from protlab.models.solubility_net import register as _register_solubility_net
from protlab.training import TrainConfig, compute_metrics, train_model

_register_solubility_net()

KMER_SIZE = 4  # residues per k-mer used to find homologous clusters
KMER_MIN_SHARED = 0.1  # fraction of the shorter sequence's distinct 4-mers two relatives must share


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
    split: str = "stratified"  # "stratified" (the notes' 80/10/10) or "kmer_cluster" (homology-aware test set)
    test_fraction: float = 0.1  # fraction of rows held out for the final test
    val_fraction: float = 0.1  # fraction of all rows used for early stopping and threshold choice
    split_seed: int = 42  # seed of the split
    tune_threshold: bool = False  # choose the MCC-optimal threshold on validation predictions
    extra_members: tuple[Member, ...] = ()  # further members (other kinds) trained after the seed members

    def members(self) -> list[Member]:
        """Every member in training order: one per seed of (kind, model_config), then extra_members."""
        return [Member(self.kind, self.model_config, s) for s in self.seeds] + list(self.extra_members)


SOLUBILITY_NET_CONFIG = {"embed_dim": 32, "kernel_sizes": [3, 5, 9], "channels": 32, "dropout": 0.3,
                         "stat_clip": 4.0}  # SolubilityNet as shipped in the default ensemble
SOLUBILITY_NET_TRAIN = {"optimizer": "adamw", "lr": 3e-3, "weight_decay": 1e-2, "batch_size": 32, "epochs": 40,
                        "patience": 6, "scheduler": "plateau", "plateau_factor": 0.5, "plateau_patience": 2,
                        "grad_clip": 1.0, "max_length": 2000}  # its training settings
COMPACT_CNN_CONFIG = {"vocab_size": VOCAB_SIZE, "embed_dim": 32, "hidden_dim": 64, "kernel_size": 5,
                      "num_layers": 2, "dropout": 0.3}  # a notes-style CNN at a quarter of the notes' cost
COMPACT_CNN_TRAIN = {"optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0}  # overrides SOLUBILITY_NET_TRAIN

THREE_SOLUBILITY_NETS = {"kind": "solubility_net", "model_config": SOLUBILITY_NET_CONFIG, "train": SOLUBILITY_NET_TRAIN,
                         "seeds": (1, 2, 3), "split": "kmer_cluster", "tune_threshold": True}  # shared by two recipes

RECIPES: dict[str, Recipe] = {
    "notes-cnn": Recipe(
        name="notes-cnn",
        description="The course notes' case-study CNN trained the notes' way (Adam 1e-3, batch 32, "
        "ReduceLROnPlateau patience 5 factor 0.5, early stopping patience 10, clip 1.0, 80/10/10 split).",
        kind="cnn",
        model_config={"vocab_size": 21, "embed_dim": 64, "hidden_dim": 128, "kernel_size": 5, "num_layers": 2,
                      "dropout": 0.3},
        train={"optimizer": "adam", "lr": 1e-3, "batch_size": 32, "epochs": 50, "patience": 10,
               "scheduler": "plateau", "plateau_factor": 0.5, "plateau_patience": 5, "grad_clip": 1.0,
               "max_length": 2000},
    ),
    "solubility-net": Recipe(
        name="solubility-net",
        description="Three SolubilityNets (multi-kernel CNN + composition, terminal and dipeptide statistics) "
        "trained with AdamW and early stopping, averaged; homology-aware (k-mer cluster) held-out test set.",
        **THREE_SOLUBILITY_NETS,
    ),
    "default": Recipe(
        name="default",
        description="ProtLab's default: an ensemble of three SolubilityNets (multi-kernel CNN + composition, "
        "terminal and dipeptide statistics; AdamW) and three compact notes-style CNNs (vocabulary 22, embedding "
        "32, two Conv1d layers of 64 channels; Adam), each trained with early stopping on validation loss, "
        "probabilities averaged; homology-aware (k-mer cluster) held-out test set.",
        **THREE_SOLUBILITY_NETS,
        extra_members=tuple(Member("cnn", COMPACT_CNN_CONFIG, seed, COMPACT_CNN_TRAIN) for seed in (11, 12, 13)),
    ),
}


def get_recipe(name: str) -> Recipe:
    """Look a recipe up by name, with a helpful error for unknown names."""
    if name not in RECIPES:
        raise ConfigError(f"recipe must be one of {sorted(RECIPES)}; got {name!r}.")
    return RECIPES[name]


def kmer_clusters(sequences: Sequence[str], *, k: int = KMER_SIZE, min_shared: float = KMER_MIN_SHARED) -> np.ndarray:
    """Cluster id per sequence: connected components of pairs sharing > min_shared of their distinct k-mers."""
    base = VOCAB_SIZE  # token indices 1..21 (unknown = 21) as digits of the k-mer code
    rows, cols = [], []
    for i, seq in enumerate(sequences):
        tokens = BYTE_TO_INDEX[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]  # (L,) int64
        if len(tokens) < k:
            continue
        code = np.zeros(len(tokens) - k + 1, dtype=np.int64)  # (L-k+1,) one integer per k-mer
        for j in range(k):
            code = code * base + tokens[j: len(tokens) - k + 1 + j]
        distinct = np.unique(code)
        rows.append(np.full(distinct.size, i))
        cols.append(distinct)
    n = len(sequences)
    if not rows:
        return np.arange(n)
    rows_, cols_ = np.concatenate(rows), np.concatenate(cols)
    _, cols_ = np.unique(cols_, return_inverse=True)
    x = sparse.csr_matrix((np.ones(rows_.size, np.float32), (rows_, cols_)), shape=(n, int(cols_.max()) + 1))
    counts = np.asarray(x.sum(axis=1)).ravel()  # (N,) distinct k-mers per sequence
    shared = (x @ x.T).tocoo()  # pairs with at least one shared k-mer
    upper = shared.row < shared.col
    r, c, v = shared.row[upper], shared.col[upper], shared.data[upper]
    linked = v / np.maximum(np.minimum(counts[r], counts[c]), 1) > min_shared
    graph = sparse.coo_matrix((np.ones(linked.sum()), (r[linked], c[linked])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def cluster_split(sequences: Sequence[str], labels: np.ndarray, *, val_fraction: float, test_fraction: float,
                  seed: int) -> dict[str, np.ndarray]:
    """Homology-aware split: whole k-mer clusters, in a seeded random order, fill test, then val, then train."""
    clusters = kmer_clusters(sequences)
    n_clusters = int(clusters.max()) + 1
    order = np.random.default_rng(seed).permutation(n_clusters)
    filled = np.cumsum(np.bincount(clusters, minlength=n_clusters)[order])  # rows covered by the first j clusters
    n = len(sequences)
    n_test = int(np.searchsorted(filled, test_fraction * n)) + 1
    n_val = int(np.searchsorted(filled, (test_fraction + val_fraction) * n)) + 1
    test_set, val_set = order[:n_test], order[n_test:n_val]
    test = np.where(np.isin(clusters, test_set))[0]
    val = np.where(np.isin(clusters, val_set))[0]
    train = np.setdiff1d(np.arange(n), np.concatenate([test, val]))
    return {"train": train, "val": val, "test": test, "n_clusters": n_clusters}


def make_split(recipe: Recipe, data: LabelledData) -> dict[str, np.ndarray]:
    """Split data as the recipe says; returns train/val/test row-index arrays."""
    if recipe.split == "kmer_cluster":
        return cluster_split(data.sequences, data.labels, val_fraction=recipe.val_fraction,
                             test_fraction=recipe.test_fraction, seed=recipe.split_seed)
    split = stratified_split(data.labels, val_fraction=recipe.val_fraction, test_fraction=recipe.test_fraction,
                             seed=recipe.split_seed)
    return {"train": split.train, "val": split.val, "test": split.test, "n_clusters": None}


def mcc_threshold(labels: np.ndarray, probs: np.ndarray) -> float:
    """Threshold in [0.2, 0.8] (step 0.01) that maximises MCC on the given (validation) predictions."""
    grid = np.round(np.arange(0.2, 0.801, 0.01), 2)
    scores = [compute_metrics(labels, probs, threshold=float(t))["mcc"] for t in grid]
    return float(grid[int(np.nanargmax(scores))])


@torch.no_grad()
def predict_set(model: torch.nn.Module, data: TokenizedSet, batch_size: int = 128) -> np.ndarray:
    """P(soluble) for every row of a TokenizedSet, in row order."""
    model.eval()
    device = next(model.parameters()).device
    out = np.zeros(len(data))
    for start in range(0, len(data), batch_size):
        index = np.arange(start, min(start + batch_size, len(data)))
        batch = make_batch(data, index).to(device)
        out[index] = torch.softmax(model_forward(model, batch).float(), dim=-1)[:, 1].cpu().numpy()
    return out


def _as_data(data: LabelledData | str | Path) -> LabelledData:
    """Accept LabelledData or a path to a labelled CSV/FASTA file."""
    if isinstance(data, LabelledData):
        return data
    if isinstance(data, (str, Path)):
        return load_labelled(data)[0]
    raise ConfigError(f"data must be LabelledData or a path to a labelled CSV/FASTA file; got {type(data).__name__}.")


def _train_member(recipe: Recipe, seed: int, train: TokenizedSet, val: TokenizedSet,
                  progress: Callable[[str], None], config: TrainConfig) -> tuple[torch.nn.Module, list[dict]]:
    """Build one member, fit its input standardiser on the training rows, and train it with the shared trainer."""
    torch.manual_seed(seed)
    model = build_model(recipe.kind, recipe.model_config)
    if hasattr(model, "fit_standardizer"):
        everything = make_batch(train, np.arange(len(train)))
        model.fit_standardizer(everything.tokens, everything.mask)

    def report(event: object) -> None:
        if hasattr(event, "val_loss"):
            progress(f"  seed {seed} epoch {event.epoch:2d}: train loss {event.train_loss:.4f}, "
                     f"val loss {event.val_loss:.4f}, val AUC {event.val_metrics['auc']:.3f}")

    result = train_model(model, train, val, replace(config, seed=seed), callback=report)
    progress(f"  seed {seed}: best epoch {result.best_epoch} ({result.stopped_reason}, {result.seconds:.0f} s)")
    history = [{"seed": seed, "epoch": e.epoch, "train_loss": e.train_loss, "val_loss": e.val_loss,
                "val_auc": e.val_metrics["auc"], "lr": e.lr} for e in result.history]
    return model.cpu(), history


def train_recipe(name: str, data: LabelledData | str | Path, out_path: str | Path, *,
                 progress: Callable[[str], None] = print, test_fraction: float | None = None,
                 seed: int | None = None, overrides: dict | None = None) -> dict:
    """Train recipe `name` on data, evaluate on its held-out test rows, save checkpoint + card; return metrics."""
    recipe = get_recipe(name)
    if test_fraction is not None:
        recipe = replace(recipe, test_fraction=float(test_fraction))
    if seed is not None:
        recipe = replace(recipe, split_seed=int(seed))
    config = TrainConfig(**{**recipe.train, **((overrides or {}).get("train", {}))})
    if overrides and "seeds" in overrides:
        recipe = replace(recipe, seeds=tuple(overrides["seeds"]))
    if overrides and "model_config" in overrides:
        recipe = replace(recipe, model_config={**recipe.model_config, **overrides["model_config"]})
    config.validate()
    data = _as_data(data)
    started = time.perf_counter()
    split = make_split(recipe, data)
    progress(f"Recipe {recipe.name}: {len(split['train'])} train, {len(split['val'])} validation, "
             f"{len(split['test'])} held-out test rows ({recipe.split} split).")
    vocab = int(recipe.model_config.get("vocab_size", VOCAB_SIZE))
    full = TokenizedSet.from_sequences(data.sequences, data.labels, vocab_size=vocab,
                                       max_length=max(len(s) for s in data.sequences))
    sets = {part: full.subset(split[part]) for part in ("train", "val", "test")}
    members, history = [], []
    for member in recipe.members():
        member_config = TrainConfig(**{**recipe.train, **member.train, **(overrides or {}).get("train", {})})
        model, member_history = _train_member(replace(recipe, kind=member.kind, model_config=member.config),
                                              member.seed, sets["train"], sets["val"], progress, member_config)
        members.append((member.kind, model))
        history += member_history
    return finish_recipe(recipe, data, split, sets, members, history, out_path, progress, started, config)


def finish_recipe(recipe: Recipe, data: LabelledData, split: dict, sets: dict, members: list, history: list,
                  out_path: str | Path, progress: Callable[[str], None], started: float,
                  config: TrainConfig) -> dict:
    """Average trained (kind, model) members, pick the threshold, evaluate on test, save checkpoint and card."""
    if len(members) == 1:
        (kind, model), model_config = members[0], _config_dict(members[0][1])
    else:
        model, kind = EnsembleModel([m for _, m in members]), "ensemble"
        model_config = {"members": [{"kind": k, "config": _config_dict(m)} for k, m in members]}
    val_probs, test_probs = predict_set(model, sets["val"]), predict_set(model, sets["test"])
    threshold = mcc_threshold(data.labels[split["val"]], val_probs) if recipe.tune_threshold else 0.5
    metrics = {"test": compute_metrics(data.labels[split["test"]], test_probs),
               "validation": compute_metrics(data.labels[split["val"]], val_probs)}
    if threshold != 0.5:
        metrics["test_at_threshold"] = compute_metrics(data.labels[split["test"]], test_probs, threshold=threshold)
    seconds = time.perf_counter() - started
    summary = {"n_rows": len(data), "n_train": len(split["train"]), "n_val": len(split["val"]),
               "n_test": len(split["test"]), "split": recipe.split, "split_seed": recipe.split_seed,
               "test_fraction": recipe.test_fraction, "val_fraction": recipe.val_fraction,
               "n_clusters": split["n_clusters"], "class_counts": np.bincount(data.labels, minlength=2).tolist()}
    extra = {"threshold": threshold, "recipe": recipe.name, "training_seconds": round(seconds, 1),
             "held_out_rows": split["test"].tolist()}
    out_path = Path(out_path)
    save_checkpoint(out_path, model, kind=kind, model_config=model_config, train_config=config.to_dict(),
                    metrics=metrics, data_summary=summary, history=history, extra=extra)
    write_card(out_path.with_suffix(".json"), recipe, model, metrics, summary, extra, {"model_config": model_config})
    progress(f"Held-out test: AUC {metrics['test']['auc']:.3f}, accuracy {metrics['test']['accuracy']:.3f}, "
             f"MCC {metrics['test']['mcc']:.3f}; saved {out_path} ({seconds:.0f} s).")
    return metrics


def _config_dict(model: torch.nn.Module) -> dict:
    """A member's config as a plain dict."""
    config = model.config
    return config.to_dict() if hasattr(config, "to_dict") else asdict(config)


def write_card(path: Path, recipe: Recipe, model: torch.nn.Module, metrics: dict, summary: dict,
               extra: dict, notes: dict | None = None) -> Path:
    """Write the JSON model card that travels with a checkpoint."""
    card = {
        "name": recipe.name,
        "description": recipe.description,
        "architecture": {"members": [asdict(m) for m in recipe.members()],
                         "parameters": int(sum(p.numel() for p in model.parameters() if p.requires_grad))},
        "training": {"settings": recipe.train, "seconds": extra["training_seconds"]},
        "data": summary,
        "split": {"method": recipe.split, "seed": recipe.split_seed, "kmer_size": KMER_SIZE,
                  "kmer_min_shared": KMER_MIN_SHARED, "held_out_rows": extra["held_out_rows"]},
        "threshold": extra["threshold"],
        "metrics": metrics,
        "date": _dt.date.today().isoformat(),
        "command": f"python -m protlab train <data.csv> --recipe {recipe.name} --out <model.pt>",
        **(notes or {}),
    }
    path.write_text(json.dumps(card, indent=1, default=float) + "\n", encoding="utf-8")
    return path
