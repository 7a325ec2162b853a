"""The overfit-one-batch check as a background job: the page picks the batch, a worker trains on it.

The web server never trains: it picks the check's seeded batch (a few short proteins, a cheap selection), and
request_sanity() returns the cached result of that exact check when there is one, otherwise the state of the
job computing it (submit_sanity() queues one through protlab.runs' workers). Results are cached per check in
<runs root>/_sanity/<key>.json, so a reload, or a classmate asking for the same check, shows it at once.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from protlab.files import atomic_write
from protlab.runs.jobs import CachedJob, request_cached, submit_cached

MAX_BATCH = 16  # proteins in the one batch
MAX_LENGTH = 300  # residues: the batch's proteins are short, so the check takes seconds
LIMIT_S = 20.0  # seconds: the check stops after this long whatever the steps (it shares the class's workers)
STOP_FACTOR = 5  # the check stops once the loss is below NEAR_ZERO_LOSS / STOP_FACTOR
CACHE_FOLDER = "_sanity"  # under the runs root


@dataclass(frozen=True)
class SanitySpec:
    """One check: which model, which batch, how long to train."""

    kind: str  # model kind (protlab.models.build_model)
    model_config: dict  # the model's settings, as the Train page has them
    sequences: list[str]  # the batch's proteins (at most MAX_BATCH)
    labels: list[int]  # their labels, 0 or 1
    steps: int  # most optimizer steps
    lr: float  # Adam's learning rate
    seed: int  # seeds the batch choice and the model's initial weights

    def key(self) -> str:
        """A short hash naming this exact check (same model, batch and settings: same key)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class SanityResult:
    """What a finished check found."""

    losses: list[float]  # the loss after each step, on the one batch
    n_proteins: int  # proteins in the batch
    seconds: float  # how long the training took (in the worker)


SanityRequest = CachedJob  # what the page can show now (result: a SanityResult when ready)


# ---------------------------------------------------------------- the check (cheap parts run in the server)


def pick_batch(data, batch_size: int, seed: int) -> tuple[list[str], list[int]]:
    """Seeded rows of short proteins of both classes (balanced where possible): (sequences, labels)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(data.labels)  # (N,) int64
    short = np.array([len(s) <= MAX_LENGTH for s in data.sequences])  # (N,) bool
    size = min(batch_size, MAX_BATCH, len(labels))
    rows: list[int] = []
    for label in (0, 1):
        pool = np.flatnonzero((labels == label) & short)
        pool = pool if pool.size else np.flatnonzero(labels == label)
        rows += rng.choice(pool, size=min(pool.size, (size + 1 - label) // 2), replace=False).tolist()
    rows = sorted(rows)
    return [data.sequences[i] for i in rows], [int(labels[i]) for i in rows]


def sanity_spec(
    data, kind: str, model_config: dict, batch_size: int, seed: int, steps: int, lr: float
) -> SanitySpec:
    """The check of this model on the seeded batch of data."""
    sequences, labels = pick_batch(data, batch_size, seed)
    return SanitySpec(kind, dict(model_config), sequences, labels, int(steps), float(lr), int(seed))


def build_check(spec: SanitySpec):  # -> (model, Batch)
    """A fresh seeded model and the batch as its tensors (input scaling fitted on the batch's rows)."""
    import torch

    from protlab.data import LabelledData, make_batch
    from protlab.models import build_model
    from protlab.runs.prep import tokenise_for_model

    ids = [f"row{i}" for i in range(len(spec.labels))]
    chosen = LabelledData(list(spec.sequences), np.asarray(spec.labels, dtype=np.int64), ids)
    torch.manual_seed(spec.seed)
    model = build_model(spec.kind, spec.model_config)
    tokens = tokenise_for_model(model, chosen)  # only the batch's proteins: quick even with global features
    if hasattr(model, "fit_training_rows"):
        model.fit_training_rows(tokens)
    return model, make_batch(tokens, np.arange(len(spec.labels)))


def run_check(spec: SanitySpec, progress: Callable[[float], None] | None = None) -> SanityResult:
    """Train the spec's model on its batch (bounded by spec.steps and LIMIT_S)."""
    from protlab.training.sanity import NEAR_ZERO_LOSS, overfit_one_batch

    started = time.perf_counter()
    model, batch = build_check(spec)
    losses = overfit_one_batch(
        model,
        batch,
        spec.steps,
        spec.lr,
        stop_below=NEAR_ZERO_LOSS / STOP_FACTOR,
        max_seconds=LIMIT_S,
        progress=progress,
    )
    return SanityResult(losses, len(batch), time.perf_counter() - started)


# ---------------------------------------------------------------- cache and the job (runs in a worker)


def cache_path(root: Path, spec: SanitySpec) -> Path:
    """Where the result of this check is kept."""
    return Path(root) / CACHE_FOLDER / f"{spec.key()}.json"


def sanity_job(params: dict, progress: Callable[[float], None]) -> dict:
    """The 'sanity' job of protlab.runs.jobs: run the check, write the cache file, return its result."""
    result = run_check(SanitySpec(**params["spec"]), progress)
    atomic_write(Path(params["cache"]), json.dumps(asdict(result)))
    return {"cache": params["cache"], "seconds": result.seconds}


# ---------------------------------------------------------------- the server side: poll and submit


def _load(cache: Path) -> SanityResult:
    """A finished check from its cache file."""
    return SanityResult(**json.loads(cache.read_text(encoding="utf-8")))


def request_sanity(root: Path, spec: SanitySpec) -> SanityRequest:
    """The cached result, or the state of the job computing it ('missing' when none was asked for)."""
    return request_cached(Path(root), cache_path(root, spec), _load)


def submit_sanity(root: Path, spec: SanitySpec) -> SanityRequest:
    """Queue the check (unless it is cached or already queued or running) and return its state."""
    return submit_cached(Path(root), cache_path(root, spec), "sanity", {"spec": asdict(spec)}, _load)
