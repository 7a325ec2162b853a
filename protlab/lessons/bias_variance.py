"""The bias-variance lab: a sweep over model width and training-set size, run as ordinary classroom runs.

Each sweep point is one RunSpec submitted through protlab.runs, one after another (the queue allows one
queued-or-running run per student, so a sweep never holds more than one worker and the class's runs
interleave with it). A point is keyed by the hash of its spec summary, so a point that already finished for
this student is read back from the run store instead of being trained again. The regions of the notes'
bias-variance trade-off are then read off the final losses:

- under-fitting (high bias): training loss already high, validation loss close to it;
- over-fitting (high variance): training loss low, validation loss well above it, the gap growing;
- the best point is the one with the lowest validation loss, as the notes say.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from protlab.checks import Choice, FloatRange, IntRange, check_fields, setting
from protlab.data.loading import LabelledData
from protlab.errors import ConfigError, RunError
from protlab.runs.spec import RunSpec
from protlab.training.config import TrainConfig

__all__ = [
    "BV_PRESETS",
    "Regions",
    "SweepConfig",
    "SweepPoint",
    "advance_sweep",
    "mark_regions",
    "match_runs",
    "sweep_data",
    "sweep_points",
    "sweep_results",
    "spec_key",
    "summary_key",
]

SWEEP_KINDS = ("mlp", "cnn")  # the composition MLP (fast) or the notes' 1D-CNN
VAL_FRACTION, TEST_FRACTION = 0.3, 0.1  # a large, fixed validation set: its loss is what the lesson reads
ACTIVE = ("queued", "running")  # run states that are not over yet
MIN_TOLERANCE = 0.01  # nats: smaller loss differences are noise at these sample sizes, never a region
RETRYABLE = ("interrupted",)  # ended states a running sweep submits again by itself (the server stopped)


@dataclass(frozen=True)
class SweepConfig:
    """One bias-variance sweep: every width is trained on every share of the training rows."""

    model_kind: str = setting("mlp", Choice(SWEEP_KINDS))  # 'mlp' (composition) or 'cnn' (the notes')
    widths: tuple[int, ...] = (1, 4, 16, 256)  # hidden width (MLP neurons / CNN filters), the model size
    fractions: tuple[float, ...] = (0.25, 0.5, 1.0)  # shares of the training rows each width is trained on
    sample_size: int = setting(500, IntRange(50, 10_000))  # proteins drawn from the data (train+val+test)
    max_length: int = setting(600, IntRange(20, 2000))  # longest protein drawn (short ones train faster)
    epochs: int = setting(40, IntRange(1, 1000))  # every epoch is trained: no early stopping
    lr: float = setting(1e-2, FloatRange(0, 1, low_open=True))  # Adam's learning rate
    batch_size: int = setting(16, IntRange(1, 4096))  # proteins per mini-batch
    seed: int = setting(0, IntRange(0, 2**31 - 1))  # seeds the sample, the split and the training

    def validate(self) -> None:
        """Raise ConfigError for a sweep that cannot run."""
        check_fields(self)
        if not self.widths or any(not isinstance(w, int) or not 1 <= w <= 1024 for w in self.widths):
            raise ConfigError(f"widths must be integers from 1 to 1024; got {list(self.widths)}.")
        share = FloatRange(0, 1, low_open=True)
        if not self.fractions or not all(share.ok(f) for f in self.fractions):
            raise ConfigError(f"fractions must be numbers above 0 and at most 1; got {list(self.fractions)}.")


def _preset_label(title: str, config: SweepConfig, time: str) -> str:
    """A preset's radio label, its sizes read from its own config (so the label cannot drift from it)."""
    runs = len(config.widths) * len(config.fractions)
    return (
        f"{title}: {len(config.widths)} widths × {len(config.fractions)} data sizes, {config.sample_size} "
        f"proteins, {config.epochs} epochs ({runs} runs, {time} on an idle CPU)"
    )


_TINY = SweepConfig("mlp", (1, 64), (0.5, 1.0), 120, 400, 3, 1e-2, 16, 0)
_CNN = SweepConfig("cnn", (2, 8, 32, 128), (0.25, 0.5, 1.0), 400, 300, 15, 3e-3, 16, 0)
# name -> (label, config), quickest first; "mlp" is the page's default, the lesson's main sweep
BV_PRESETS: dict[str, tuple[str, SweepConfig]] = {
    "tiny": (_preset_label("Tiny check", _TINY, "under a minute"), _TINY),
    "mlp": (_preset_label("Composition MLP", SweepConfig(), "a few minutes"), SweepConfig()),
    "cnn": (_preset_label("The notes' 1D-CNN (widths are filters)", _CNN, "a few minutes"), _CNN),
}


@dataclass
class SweepPoint:
    """One run of the sweep: a width trained on a share of the training rows."""

    width: int  # hidden width (model size)
    fraction: float  # share of the training rows
    n_train: int  # training proteins it sees
    parameters: int  # trainable weights of the model
    spec: RunSpec = field(repr=False)  # the run to submit
    key: str = ""  # spec_key(spec): equal keys train to equal results


def summary_key(summary: dict) -> str:
    """The hash of a run's spec summary without its display name (list_runs rows carry the summary)."""
    fields = {k: v for k, v in summary.items() if k != "name"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


def spec_key(spec: RunSpec) -> str:
    """The hash that identifies a spec's result: same settings and same data give the same key."""
    return summary_key(spec.summary())


def sweep_data(config: SweepConfig, data: LabelledData) -> LabelledData:
    """The seeded sample of proteins no longer than max_length that every point of the sweep uses."""
    short = np.flatnonzero([len(s) <= config.max_length for s in data.sequences])  # (M,) row indices
    if short.size < config.sample_size:
        raise ConfigError(
            f"sample_size must be at most {short.size:,} (proteins up to {config.max_length} residues in "
            f"this data); got {config.sample_size:,}."
        )
    rows = np.sort(np.random.default_rng(config.seed).choice(short, config.sample_size, replace=False))
    labels = np.asarray(data.labels)[rows]  # (sample_size,) int64
    return LabelledData([data.sequences[i] for i in rows], labels, [data.ids[i] for i in rows])


def _fingerprint(data: LabelledData) -> str:
    """A short hash of the sequences and labels, so the spec summary names exactly this data."""
    digest = hashlib.sha256()
    for sequence, label in zip(data.sequences, np.asarray(data.labels).tolist()):
        digest.update(f"{sequence}:{label};".encode())
    return digest.hexdigest()[:12]


def sweep_model_config(kind: str, width: int) -> dict:
    """Model settings of one width: two hidden layers for the MLP, one conv layer of filters for the CNN."""
    if kind == "mlp":
        return {"layers": [{"width": width}, {"width": width}]}
    return {"embed_dim": 16, "hidden_dim": width, "kernel_size": 9, "num_layers": 1, "dropout": 0.0}


def _parameters(kind: str, width: int) -> int:
    """Trainable weights of one width (built once, on the CPU)."""
    from protlab.models import build_model

    model = build_model(kind, sweep_model_config(kind, width))
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _training_rows(labels: np.ndarray, fraction: float, seed: int) -> int:
    """How many training proteins a share keeps (the split and share the run system makes)."""
    from protlab.data.splits import stratified_split

    split = stratified_split(labels, val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION, seed=seed)
    train = labels[split.train]
    return int(sum(max(1, round(fraction * np.sum(train == c))) for c in np.unique(train)))


def sweep_points(
    config: SweepConfig, data: LabelledData, *, description: str = "DeepSol"
) -> list[SweepPoint]:
    """Every (share, width) run of the sweep, largest share first, with its spec and spec key."""
    config.validate()
    sample = sweep_data(config, data)
    about = f"{description} sample of {len(sample):,} (seed {config.seed}, data {_fingerprint(sample)})"
    train = TrainConfig(
        optimizer="adam",
        lr=config.lr,
        batch_size=config.batch_size,
        epochs=config.epochs,
        patience=0,  # no early stopping: the lesson watches what happens when training goes on
        scheduler="none",
        seed=config.seed,
        max_length=config.max_length,
    )
    points = []
    sizes = {width: _parameters(config.model_kind, width) for width in set(config.widths)}
    for fraction in sorted(set(config.fractions), reverse=True):  # all the data first: the main plot
        for width in sorted(sizes):
            split = {"val_fraction": VAL_FRACTION, "test_fraction": TEST_FRACTION, "seed": config.seed}
            if fraction < 1:
                split["train_fraction"] = float(fraction)
            spec = RunSpec(
                name=f"Bias-variance: width {width}, {fraction:.0%} of the training rows",
                data=sample,
                data_description=about,
                split_params=split,
                model_kind=config.model_kind,
                model_config=sweep_model_config(config.model_kind, width),
                train_config=replace(train),
            )
            n_train = _training_rows(sample.labels, fraction, config.seed)
            points.append(SweepPoint(width, float(fraction), n_train, sizes[width], spec, spec_key(spec)))
    return points


def match_runs(points: list[SweepPoint], runs: list[dict]) -> dict[str, dict]:
    """The run that stands for each point: its newest finished run, else its newest run of any state."""
    wanted, found = {p.key for p in points}, {}
    for row in runs:  # newest first, as list_runs gives them
        key = summary_key(row.get("spec") or {})
        if key not in wanted:
            continue
        if key not in found or (row["state"] == "finished" and found[key]["state"] != "finished"):
            found[key] = row
    return found


def advance_sweep(manager, owner: str, points: list[SweepPoint], *, retry: bool = False) -> str | None:
    """Submit the next point that still needs a run, unless the student has a run going; its id or None.

    A finished point is never trained again. An interrupted one (the server stopped) is submitted again;
    failed, stopped and cancelled ones only with retry (the student pressed Run again).
    """
    runs = manager.list_runs(owner)
    if any(row["state"] in ACTIVE for row in runs):
        return None  # one run at a time per student: the next point waits for this one
    matched = match_runs(points, runs)
    for point in points:
        row = matched.get(point.key)
        if row is None or row["state"] in RETRYABLE or (retry and row["state"] != "finished"):
            try:
                return manager.submit(point.spec, owner)
            except RunError:
                if any(r["state"] in ACTIVE for r in manager.list_runs(owner)):
                    return None  # another tab of this student submitted a moment ago
                raise
    return None


def sweep_results(manager, owner: str, points: list[SweepPoint]) -> tuple[pd.DataFrame, dict[str, list]]:
    """One table row per point (state, final and best losses) and the epoch rows of every point's run."""
    matched = match_runs(points, manager.list_runs(owner))
    rows, histories = [], {}
    for point in points:
        row = matched.get(point.key)
        state = row["state"] if row else "not started"
        events = manager.status(row["run_id"], owner).events if row and state != "queued" else []
        histories[point.key] = events
        last = events[-1] if events and state == "finished" else {}
        val = [e["val_loss"] for e in events] if state == "finished" else []
        rows.append(
            {
                "width": point.width,
                "fraction": point.fraction,
                "n_train": point.n_train,
                "parameters": point.parameters,
                "state": state,
                "epochs_done": len(events),
                "train_loss": last.get("train_loss", np.nan),
                "val_loss": last.get("val_loss", np.nan),
                "gap": last.get("val_loss", np.nan) - last.get("train_loss", np.nan),
                "best_val_loss": min(val) if val else np.nan,
                "error": (row.get("error") or "") if row else "",
                "run_id": row["run_id"] if row else "",
                "key": point.key,
            }
        )
    return pd.DataFrame(rows), histories


@dataclass
class Regions:
    """Where a loss-versus-size curve under-fits, over-fits and is best, read from its final losses."""

    labels: list[str]  # per point, in the order given: 'under-fit', 'over-fit' or 'good'
    best: int  # index of the lowest validation loss
    tolerance: float  # loss difference treated as real (a tenth of the losses' spread, >= 0.01)


def mark_regions(train_loss, val_loss) -> Regions:
    """Label each point from the data: under-fit, over-fit or good (the notes' three cases).

    best = lowest validation loss. Over-fit: the gap (validation minus training) is larger than at the best
    point by more than the tolerance (a tenth of the losses' spread, at least MIN_TOLERANCE). Under-fit:
    training loss higher than at the best point by more than the tolerance, the gap not grown (both high).
    """
    train, val = np.asarray(train_loss, dtype=float), np.asarray(val_loss, dtype=float)  # (P,), (P,)
    if (
        train.shape != val.shape
        or train.size == 0
        or not np.isfinite(train).all()
        or not np.isfinite(val).all()
    ):
        raise ConfigError("mark_regions needs finite training and validation losses of equal length.")
    best = int(np.argmin(val))
    gap = val - train  # (P,)
    spread = float(np.ptp(np.concatenate([train, val])))
    tol = max(0.1 * spread, MIN_TOLERANCE)
    labels = []
    for i in range(train.size):
        if gap[i] > gap[best] + tol:
            labels.append("over-fit")
        elif train[i] > train[best] + tol and i != best:
            labels.append("under-fit")
        else:
            labels.append("good")
    return Regions(labels, best, tol)
