"""Turn a RunSpec into tensors and a fresh model; turn a finished run into test metrics and a checkpoint."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from protlab.data.batching import TokenizedSet
from protlab.data.homology import leak_check
from protlab.data.loading import LabelledData, load_labelled
from protlab.data.splits import Split, homology_split, stratified_split
from protlab.errors import ProtlabError
from protlab.files import atomic_write
from protlab.models import build_model, model_config_dict, model_vocab_size
from protlab.models.checkpoint import save_checkpoint
from protlab.models.protocol import FitsTrainingRows, ProteinClassifier
from protlab.runs.spec import RunSpec
from protlab.structure.task import prepare_structure, score_structure, structure_predictions
from protlab.training.events import TrainResult
from protlab.training.inference import predict_probabilities
from protlab.training.loop import set_seed
from protlab.training.metrics import compute_metrics, majority_baseline

__all__ = ["PreparedRun", "prepare_run", "evaluate_and_save", "tokenise_for_model"]


def _split(spec: RunSpec, data: LabelledData) -> Split:
    """Split the data as the spec asks (seed defaults to the training seed)."""
    params = {"seed": spec.train_config.seed, **spec.split_params}
    share = float(params.pop("train_fraction", 1.0))  # the validation and test rows do not depend on it
    if spec.split_method == "homology":
        split = homology_split(data.sequences, data.labels, **params)
    else:
        split = stratified_split(data.labels, **params)
    return split if share >= 1.0 else _training_share(split, data.labels, share, params["seed"])


def _training_share(split: Split, labels: np.ndarray, share: float, seed: int) -> Split:
    """Keep a seeded share of each class's training rows; smaller shares are subsets of larger ones."""
    rng = np.random.default_rng(seed)
    kept = []
    for label in np.unique(labels[split.train]):
        rows = rng.permutation(split.train[labels[split.train] == label])  # this class's training rows
        kept.append(rows[: max(1, round(share * rows.size))])
    return replace(split, train=np.sort(np.concatenate(kept)).astype(np.int64))


LEAK_IDENTITY = 0.3  # identity the leak check uses after a split without its own (the notes' 30%)
LEAK_CACHE = "_leaks"  # folder under the runs root: leak checks kept by content (a class shares splits)


def _leak_key(train: list[str], test: list[str], identity: float) -> str:
    """A hash of what a leak check depends on: both sets of proteins and the identity."""
    digest = hashlib.sha256(f"{identity:.6f}\n".encode())
    for part in (train, test):
        digest.update("\n".join(part).encode() + b"\0")
    return digest.hexdigest()[:24]


def _leak_check(train: list[str], test: list[str], identity: float, cache: Path | None) -> dict | None:
    """leak_check(...).as_dict(), from cache when this split was checked before (a class shares splits)."""
    path = None if cache is None else Path(cache) / f"{_leak_key(train, test, identity)}.json"
    if path is not None and path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # unreadable: check again
    try:
        found = leak_check(train, test, identity=identity).as_dict()
    except (ProtlabError, OSError, RuntimeError, ValueError, MemoryError):  # a report must not fail the run
        return None
    if path is not None and found["method"] == "mmseqs2":  # a fallback estimate is not kept
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps(found))
        except OSError:
            pass
    return found


def _split_report(split: Split, data: LabelledData, cache: Path | None = None) -> dict:
    """Clustering used, cluster count and largest cluster, and the leak check of the test rows."""
    report = {
        "clustering": split.clustering,
        "n_clusters": split.n_clusters,
        "largest_cluster": split.largest_cluster,
        "split_notes": split.notes,
    }
    identity = split.identity if split.identity is not None else LEAK_IDENTITY
    train = [data.sequences[i] for i in split.train]
    test = [data.sequences[i] for i in split.test]
    report["leak_check"] = _leak_check(train, test, max(0.2, identity), cache)
    return report


def tokenise_for_model(model: ProteinClassifier, data: LabelledData) -> TokenizedSet:
    """Tokenise every row once for the model's vocabulary, with its global features when it uses them."""
    features = None
    if model.uses_features:
        from protlab.data.features import features_frame

        features = features_frame(data.sequences)[list(model.feature_names)].to_numpy(np.float32)  # (N, F)
    longest = max(len(s) for s in data.sequences)  # the data layer has already dropped what is too long
    return TokenizedSet.from_sequences(
        data.sequences, data.labels, vocab_size=model_vocab_size(model), max_length=longest, features=features
    )


@dataclass
class PreparedRun:
    """A spec turned into tensors: the data, its split, tokenised subsets and a fresh model."""

    data: LabelledData  # the cleaned labelled sequences (ResidueData for a secondary-structure run)
    split: Split  # train/val/test row indices
    sets: dict[str, TokenizedSet]  # 'train', 'val', 'test' subsets, tokenised once
    model: ProteinClassifier  # built from spec.model_kind / model_config (input scaling fitted on train rows)
    leak_cache: Path | None = None  # where leak checks are kept by split (the worker: <runs root>/_leaks)


def prepare_run(spec: RunSpec, data: LabelledData | None = None, split: Split | None = None) -> PreparedRun:
    """Load (unless given), split (unless given), tokenise and build the model of a spec; seeded."""
    if spec.task == "secondary_structure":  # bundled CB513 (train / validation), TS115 (test), residue labels
        residues, split, sets = prepare_structure(**{"seed": spec.train_config.seed, **spec.split_params})
        set_seed(spec.train_config.seed)
        return PreparedRun(residues, split, sets, build_model(spec.model_kind, spec.model_config))
    if data is None:
        data = spec.data if spec.data is not None else load_labelled(spec.data_path)[0]
    split = split if split is not None else _split(spec, data)
    set_seed(spec.train_config.seed)
    model = build_model(spec.model_kind, spec.model_config)
    full = tokenise_for_model(model, data)
    sets = {part: full.subset(getattr(split, part)) for part in ("train", "val", "test")}
    if isinstance(model, FitsTrainingRows):
        model.fit_training_rows(sets["train"])  # feature / statistics standardisation from training rows only
    return PreparedRun(data, split, sets, model)


def evaluate_and_save(
    prepared: PreparedRun, result: TrainResult, spec: RunSpec, path: Path, extra: dict | None = None
) -> dict:
    """Load the best weights, score the test split, save the checkpoint; return metrics and predictions."""
    model, split, data = prepared.model, prepared.split, prepared.data
    model.load_state_dict(result.best_state)
    model.cpu()
    if spec.task == "secondary_structure":  # Q3 and per-class scores over the scored test residues
        scored = score_structure(model, prepared.sets["test"], prepared.sets["train"])
        metrics, baseline = scored["test"], scored["baseline"]
        predictions = structure_predictions(data.subset(split.test), scored["inference"])
    else:
        probs = predict_probabilities(model, prepared.sets["test"], device="cpu").probs  # (N_test,)
        labels = prepared.sets["test"].labels  # (N_test,)
        metrics = compute_metrics(labels, probs)
        baseline = majority_baseline(data.labels[split.train], labels)
        ids = [data.ids[i] for i in split.test]
        predictions = pd.DataFrame({"id": ids, "label": labels, "p_soluble": probs})
    summary = {
        "task": spec.task,
        "n_rows": len(data),
        "n_train": len(split.train),
        "n_val": len(split.val),
        "n_test": len(split.test),
        "split": split.method,
        "identity": split.identity,
        **(_split_report(split, data, prepared.leak_cache) if spec.task != "secondary_structure" else {}),
    }
    if spec.task != "secondary_structure":  # the prior the model learned under (Predict adjusts from it)
        summary["train_class_counts"] = np.bincount(data.labels[split.train], minlength=2).tolist()
    metrics_block = {"test": metrics, "validation": result.best_metrics}
    saved = save_checkpoint(
        path,
        model,
        kind=spec.model_kind,
        model_config=model_config_dict(model),
        train_config=result.config,
        metrics=metrics_block,
        data_summary=summary,
        history=result.history_rows(),
        extra=extra,
    )
    return {
        "test_metrics": metrics,
        "baseline": baseline,
        "best_epoch": result.best_epoch,
        "stopped_reason": result.stopped_reason,
        "data_summary": summary,
        "checkpoint": str(saved),
        "predictions": predictions,
    }
