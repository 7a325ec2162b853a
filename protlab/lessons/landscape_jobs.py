"""The real loss landscape as a background job: which model, where the result is cached, submit and poll.

The web server never computes a landscape: request_landscape() returns the cached result when there is one,
and otherwise the state of the job computing it (submit_landscape() queues one through protlab.runs' workers).
Results are cached per model and settings: next to the run (<run folder>/landscape-<key>.npz) for a run, in
<runs root>/_landscape/ for the bundled default model, so a class asking for the same slice computes it once.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from protlab.errors import ConfigError
from protlab.files import atomic_write_with
from protlab.lessons.real_landscape import (
    LossSlice,
    SliceSettings,
    filter_normalised_directions,
    loss_surface,
    mean_loss,
    path_directions,
    project_path,
    sample_batches,
)
from protlab.runs.jobs import CachedJob, request_cached, submit_cached

LANDSCAPE_KINDS = ("cnn",)  # model kinds whose landscape can be drawn (a CNN member of an ensemble too)
DEFAULT_KEY = "default"


@dataclass(frozen=True)
class LandscapeSource:
    """Which trained network the landscape is of."""

    key: str  # 'default', or the run id
    checkpoint: str  # model.pt path
    member: int | None  # index of the CNN member when the checkpoint is an ensemble
    folder: str | None  # the run folder (cache and per-epoch weights), None for the default model
    label: str  # shown to students, e.g. 'the default model's CNN member 4 of 6'


@dataclass
class LandscapeResult:
    """A computed slice and the training path projected onto it."""

    slice: LossSlice  # the loss grid around the trained weights
    path: np.ndarray  # (T, 2) float64 projected (α, β) of each saved epoch; (0, 2) when none were kept
    path_epochs: np.ndarray  # (T,) int64 the epoch of each point (0 = before training)
    path_losses: np.ndarray  # (T,) float64 the true loss of each epoch's weights on the same sample
    label: str  # which model
    seconds: float  # how long the computation took (in the worker)
    settings: dict  # SliceSettings as a dict


LandscapeRequest = CachedJob  # what the page can show now (result: a LandscapeResult when ready)


# ---------------------------------------------------------------- sources


def default_source() -> LandscapeSource:
    """The bundled default model: its first CNN member when it is an ensemble."""
    from protlab.predict import DEFAULT_MODEL_PATH, Predictor

    model = Predictor.default().model  # loaded once per process and file version
    members = [m["kind"] for m in model.config.members] if hasattr(model, "members") else None
    if members is None:
        kind = type(model).__name__
        if kind != "SolubilityCNN":
            raise ConfigError(f"The default model is a {kind}; the landscape is drawn for a CNN.")
        return LandscapeSource(DEFAULT_KEY, str(DEFAULT_MODEL_PATH), None, None, "the default model")
    cnn = next((i for i, k in enumerate(members) if k in LANDSCAPE_KINDS), None)
    if cnn is None:
        raise ConfigError("The default model has no CNN member; train a CNN run to see its landscape.")
    label = f"the default model's CNN (member {cnn + 1} of its {len(members)})"
    return LandscapeSource(DEFAULT_KEY, str(DEFAULT_MODEL_PATH), cnn, None, label)


def run_source(manager: object, owner: str, run_id: str) -> LandscapeSource:
    """One of owner's CNN runs with weights (RunError: not theirs; ConfigError: it cannot be used)."""
    status = manager.status(run_id, owner)  # refuses another owner's run
    kind = (status.spec or {}).get("model_kind")
    if kind not in LANDSCAPE_KINDS or (status.spec or {}).get("task", "solubility") != "solubility":
        raise ConfigError(
            f"The landscape is drawn for solubility CNN runs; run {status.name!r} is a {kind!r} run."
        )
    if not status.checkpoint_path or not Path(status.checkpoint_path).is_file():
        raise ConfigError(f"Run {status.name!r} saved no weights yet; wait until it has finished an epoch.")
    folder = Path(status.checkpoint_path).parent
    return LandscapeSource(run_id, status.checkpoint_path, None, str(folder), f"your run {status.name!r}")


def _load_model(source: LandscapeSource):  # -> nn.Module
    """The trained network of a source, in eval mode."""
    from protlab.models.checkpoint import load_checkpoint

    model = load_checkpoint(source.checkpoint).model
    if source.member is not None:
        model = model.members[source.member]
    return model.eval()


# ---------------------------------------------------------------- cache


def cache_path(root: Path, source: LandscapeSource, settings: SliceSettings) -> Path:
    """Where the result for this model and these settings is kept."""
    stat = Path(source.checkpoint).stat()
    text = json.dumps([source.key, source.member, stat.st_size, stat.st_mtime_ns, asdict(settings)])
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = Path(source.folder) if source.folder else Path(root) / "_landscape"
    return folder / f"landscape-{key}.npz"


def save_landscape(path: Path, result: LandscapeResult) -> None:
    """Write a result atomically (NumPy arrays plus a JSON header, no pickles)."""
    header = {"label": result.label, "seconds": result.seconds, "settings": result.settings}
    sl = result.slice
    arrays = dict(
        alphas=sl.alphas,
        betas=sl.betas,
        losses=sl.losses,
        n_proteins=np.array(sl.n_proteins),
        centre_loss=np.array(sl.centre_loss),
        path=result.path,
        path_epochs=result.path_epochs,
        path_losses=result.path_losses,
        header=np.array(json.dumps(header)),
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    atomic_write_with(path, write)


def load_landscape(path: Path) -> LandscapeResult:
    """Read a result written by save_landscape."""
    with np.load(path, allow_pickle=False) as f:
        header = json.loads(str(f["header"]))
        sl = LossSlice(f["alphas"], f["betas"], f["losses"], int(f["n_proteins"]), float(f["centre_loss"]))
        return LandscapeResult(
            sl,
            f["path"],
            f["path_epochs"],
            f["path_losses"],
            header["label"],
            header["seconds"],
            header["settings"],
        )


# ---------------------------------------------------------------- the job (runs in a worker process)


def compute_landscape(
    source: LandscapeSource, settings: SliceSettings, progress: Callable[[float], None] | None = None
) -> LandscapeResult:
    """Load the model and the sample, evaluate the slice, project the kept training path."""
    from protlab.data.loading import load_bundled
    from protlab.runs.snapshots import read_snapshots

    settings.validate()
    started = time.perf_counter()
    model = _load_model(source)
    data, _ = load_bundled()
    batches = sample_batches(model, data, settings.n_proteins, settings.seed)
    snapshots = read_snapshots(Path(source.folder)) if source.folder else []
    origin = {n: p.detach() for n, p in model.named_parameters()}
    if settings.directions == "path":
        directions = path_directions([w for _, w in snapshots], origin)
    else:
        directions = filter_normalised_directions(model, settings.seed)
    grid_progress = None if progress is None else (lambda f: progress(0.95 * f))
    sl = loss_surface(model, batches, directions, settings.axis, progress=grid_progress)
    path, epochs, losses = np.zeros((0, 2)), np.zeros(0, dtype=np.int64), np.zeros(0)
    if snapshots:
        weights = [w for _, w in snapshots]
        path = project_path(weights, origin, directions)
        epochs = np.array([e for e, _ in snapshots], dtype=np.int64)
        losses = np.array([mean_loss(model, batches, w) for w in weights])
    if progress is not None:
        progress(1.0)
    seconds = time.perf_counter() - started
    return LandscapeResult(sl, path, epochs, losses, source.label, seconds, asdict(settings))


def landscape_job(params: dict, progress: Callable[[float], None]) -> dict:
    """The 'landscape' job of protlab.runs.jobs: compute, write the cache file, return where it is."""
    source = LandscapeSource(**params["source"])
    result = compute_landscape(source, SliceSettings(**params["settings"]), progress)
    save_landscape(Path(params["cache"]), result)
    return {"cache": params["cache"], "seconds": result.seconds}


# ---------------------------------------------------------------- the server side: poll and submit


def request_landscape(root: Path, source: LandscapeSource, settings: SliceSettings) -> LandscapeRequest:
    """The cached result, or the state of the job computing it ('missing' when none was asked for)."""
    settings.validate()
    return request_cached(Path(root), cache_path(root, source, settings), load_landscape)


def submit_landscape(root: Path, source: LandscapeSource, settings: SliceSettings) -> LandscapeRequest:
    """Queue the computation (unless it is cached or already queued or running) and return the state."""
    settings.validate()
    params = {"source": asdict(source), "settings": asdict(settings)}
    return submit_cached(Path(root), cache_path(root, source, settings), "landscape", params, load_landscape)
