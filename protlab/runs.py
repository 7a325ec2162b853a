"""Background training runs: one thread per run, progress polled by the page, results written atomically to disk.

Decisions (documented for the pages):
- Run ids are generated (UTC time + random hex), never derived from user text.
- One active (queued or running) run per owner: a second start raises RunError (a double-clicked Start starts
  one run); at most `max_concurrent` active runs overall (RunError when full).
- status / stop / delete check the owner, so sessions never see each other's runs. `list_runs(owner)` lists that
  owner's runs in every state; `list_runs()` without an owner lists everyone's *finished* runs (owners removed)
  for comparison, and `run_history(run_id)` reads such a finished run's epoch curves.
- Runs whose run.json says queued/running but that this process is not running (the server restarted) are
  reported as 'interrupted'.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from protlab.batching import TokenizedSet
from protlab.checkpoint import save_checkpoint
from protlab.data import LabelledData, load_labelled
from protlab.errors import ConfigError, ProtlabError, RunError, TrainingDivergedError
from protlab.metrics import compute_metrics, majority_baseline
from protlab.models import build_model, make_config, model_config_dict, model_vocab_size
from protlab.splits import Split, homology_split, stratified_split
from protlab.training import BatchEvent, EpochEvent, TrainConfig, TrainResult, evaluate, set_seed, train_model

ACTIVE = ("queued", "running")  # states of a run that is not over yet
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}$")  # the shape of generated run ids
SPLIT_METHODS = ("stratified", "homology")


@dataclass
class RunSpec:
    """Everything a training run needs; data is given as LabelledData or as a file path."""

    name: str = "run"  # display name typed by the user (shown only, never used in paths)
    data: LabelledData | None = None  # labelled sequences already loaded (bundled or uploaded) ...
    data_path: str | None = None  # ... or a CSV/FASTA path read with protlab.data.load_labelled
    data_description: str = ""  # e.g. "bundled DeepSol, 6,942 rows"
    split_method: str = "stratified"  # 'stratified' or 'homology'
    split_params: dict = field(default_factory=dict)  # val_fraction, test_fraction, seed, identity (homology)
    model_kind: str = "cnn"  # a kind known to protlab.models.build_model
    model_config: dict = field(default_factory=dict)  # settings of that model kind
    train_config: TrainConfig = field(default_factory=TrainConfig)  # optimizer, epochs, ...

    def validate(self) -> None:
        """Raise a ProtlabError for any setting that cannot work, before a thread is started."""
        if (self.data is None) == (self.data_path is None):
            raise ConfigError("A run needs exactly one data source: give either data or data_path.")
        if self.split_method not in SPLIT_METHODS:
            raise ConfigError(f"split_method must be 'stratified' or 'homology'; got {self.split_method!r}.")
        allowed = {"val_fraction", "test_fraction", "seed"} | ({"identity"} if self.split_method == "homology" else set())
        if set(self.split_params) - allowed:
            raise ConfigError(f"Unknown split settings {sorted(set(self.split_params) - allowed)}; "
                              f"allowed are {sorted(allowed)}.")
        make_config(self.model_kind, self.model_config)
        self.train_config.validate()

    def summary(self) -> dict:
        """A JSON-friendly description (no sequences)."""
        return {"name": str(self.name)[:200], "data": self.data_description or self.data_path or "uploaded data",
                "n_rows": None if self.data is None else len(self.data), "split_method": self.split_method,
                "split_params": dict(self.split_params), "model_kind": self.model_kind,
                "model_config": dict(self.model_config), "train_config": self.train_config.to_dict()}


@dataclass
class RunStatus:
    """A snapshot of one run for the page to render."""

    run_id: str  # generated id
    name: str  # display name
    state: str  # queued, running, finished, stopped, failed or interrupted
    events: list[dict]  # one flat row per finished epoch (EpochEvent.to_row())
    progress: float  # 0..1 of the planned epochs
    eta_seconds: float | None  # estimated seconds left (None before the first batch)
    error: str | None  # why the run failed, as one sentence
    test_metrics: dict | None  # compute_metrics on the test split
    baseline: dict | None  # majority-class baseline on the test split
    checkpoint_path: str | None  # model.pt of the best epoch, when saved
    test_labels: np.ndarray | None  # (N_test,) int64, for a movable threshold
    test_probs: np.ndarray | None  # (N_test,) float64 P(soluble)
    spec: dict  # RunSpec.summary()
    timings: dict  # created/started/ended (epoch seconds) and seconds taken


def _home() -> Path:
    """$PROTLAB_HOME, or ~/.protlab."""
    return Path(os.environ.get("PROTLAB_HOME") or Path.home() / ".protlab")


def _atomic_write(path: Path, text: str) -> None:
    """Write text next to path under a temporary name, then rename it over path."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Run:
    """In-memory state of a run owned by this process (guarded by its lock)."""

    def __init__(self, run_id: str, owner: str, spec: RunSpec, folder: Path):
        self.run_id, self.owner, self.spec, self.folder = run_id, owner, spec, folder
        self.summary = spec.summary()  # kept so the data can be released when the run ends
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.state, self.error = "queued", None
        self.events: list[dict] = []
        self.progress, self.eta = 0.0, None
        self.results: dict = {}
        self.timings = {"created": time.time(), "started": None, "ended": None}
        self.thread: threading.Thread | None = None

    def record(self) -> dict:
        """The run.json content."""
        return {"run_id": self.run_id, "owner": self.owner, "state": self.state, "error": self.error,
                "spec": self.summary, "timings": self.timings, "progress": self.progress,
                **{k: v for k, v in self.results.items() if k in ("test_metrics", "baseline", "best_epoch",
                                                                  "stopped_reason", "data_summary")},
                "checkpoint": self.results.get("checkpoint")}

    def save(self) -> None:
        """Write run.json atomically."""
        _atomic_write(self.folder / "run.json", json.dumps(self.record(), indent=2, default=float))


class RunManager:
    """Starts, tracks, stops and lists background training runs under <root>/<run_id>/."""

    def __init__(self, root: Path | str | None = None, max_concurrent: int = 2):
        self.root = Path(root) if root is not None else _home() / "runs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_concurrent = max_concurrent  # active runs allowed at once over all sessions
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def start(self, spec: RunSpec, owner: str) -> str:
        """Validate spec and start it in a background thread; returns the new run id."""
        _check_owner(owner)
        spec.validate()
        with self._lock:
            active = [r for r in self._runs.values() if r.state in ACTIVE]
            if any(r.owner == owner for r in active):
                raise RunError("A training run is already going for this session; stop it first.")
            if len(active) >= self.max_concurrent:
                raise RunError(f"{len(active)} training runs are already going on this server (the limit is "
                               f"{self.max_concurrent}); wait for one to finish and try again.")
            run_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(4)}"
            folder = self.root / run_id
            folder.mkdir(parents=True)
            run = _Run(run_id, owner, spec, folder)
            run.save()
            self._runs[run_id] = run
            run.thread = threading.Thread(target=_work, args=(run,), name=f"protlab-run-{run_id}", daemon=True)
            run.thread.start()
        return run_id

    def status(self, run_id: str | dict, owner: str) -> RunStatus:
        """Snapshot of one of owner's runs (live if running here, else read from disk); a list_runs row works too."""
        run_id = _run_id(run_id)
        run = self._own(run_id, owner)
        if run is not None:
            with run.lock:
                record, events = run.record(), list(run.events)
                eta = run.eta
        else:
            record = self._read(run_id)
            events, eta = self._history(run_id), None
        labels = probs = None
        predictions = self.root / run_id / "test_predictions.csv"
        if record["state"] not in ACTIVE and predictions.exists():
            table = pd.read_csv(predictions)
            labels, probs = table["label"].to_numpy(np.int64), table["p_soluble"].to_numpy(np.float64)
        return RunStatus(run_id, record["spec"]["name"], record["state"], events, float(record["progress"]), eta,
                         record["error"], record.get("test_metrics"), record.get("baseline"),
                         record.get("checkpoint"), labels, probs, record["spec"], record["timings"])

    def stop(self, run_id: str, owner: str) -> None:
        """Ask owner's run to stop; it ends within one batch, keeping its best weights."""
        run = self._own(run_id, owner)
        if run is not None:
            run.stop.set()

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        """Block until the run's thread ends (for the CLI and tests); True when it has ended."""
        run = self._runs.get(run_id)
        if run is None or run.thread is None:
            return True
        run.thread.join(timeout)
        return not run.thread.is_alive()

    def list_runs(self, owner: str | None = None) -> list[dict]:
        """Owner's runs (any state), or everyone's finished runs without owners when owner is None."""
        rows = []
        for folder in sorted(self.root.iterdir(), reverse=True):
            if not RUN_ID.match(folder.name) or not (folder / "run.json").exists():
                continue
            live = self._runs.get(folder.name)
            if live is not None:
                with live.lock:
                    record = live.record()  # fresher than run.json while the run is going
            else:
                try:
                    record = self._read(folder.name)
                except RunError:
                    continue
            if (owner is None and record["state"] == "finished") or (owner is not None and record["owner"] == owner):
                if owner is None:
                    record.pop("owner", None)
                rows.append(record)
        return rows

    def run_history(self, run_id: str) -> list[dict]:
        """Epoch rows of a finished run (any session may read these, to compare runs)."""
        run_id = _run_id(run_id)
        if self._read(run_id)["state"] != "finished":
            raise RunError(f"Run {run_id} has not finished, so its curves are not shared.")
        return self._history(run_id)

    def delete_run(self, run_id: str, owner: str) -> None:
        """Delete one of owner's runs that is not active."""
        run_id = _run_id(run_id)
        run = self._own(run_id, owner)
        if run is not None and run.state in ACTIVE:
            raise RunError("This run is still going; stop it first, then delete it.")
        with self._lock:
            self._runs.pop(run_id, None)
        shutil.rmtree(self.root / run_id, ignore_errors=True)

    def _own(self, run_id: str, owner: str) -> _Run | None:
        """The live run if it belongs to owner; None if it exists only on disk (owner checked); RunError else."""
        _check_owner(owner)
        run_id = _run_id(run_id)
        run = self._runs.get(run_id) if isinstance(run_id, str) else None
        if run is not None:
            if run.owner != owner:
                raise RunError(f"There is no run {run_id!r} in this session.")
            return run
        if self._read(run_id).get("owner") != owner:
            raise RunError(f"There is no run {run_id!r} in this session.")
        return None

    def _read(self, run_id: str) -> dict:
        """run.json of a run, with 'interrupted' for runs left active by a previous process."""
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            raise RunError(f"{run_id!r} is not a run id; pick a run from the list.")
        try:
            record = json.loads((self.root / run_id / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise RunError(f"There is no readable run {run_id!r}; it may have been deleted.") from None
        if record.get("state") in ACTIVE and run_id not in self._runs:
            record["state"] = "interrupted"
            record["error"] = record.get("error") or "The server stopped while this run was going."
        return record

    def _history(self, run_id: str) -> list[dict]:
        """Epoch rows from history.csv (empty if none yet)."""
        path = self.root / run_id / "history.csv"
        return pd.read_csv(path).to_dict("records") if path.exists() else []


def _run_id(run: object) -> object:
    """Accept a run id or a row from list_runs (its 'run_id')."""
    return run.get("run_id") if isinstance(run, dict) else run


def _check_owner(owner: object) -> None:
    """Owners are non-empty session strings."""
    if not isinstance(owner, str) or not owner.strip():
        raise RunError(f"owner must be a non-empty session id string; got {owner!r}.")


def _split(spec: RunSpec, data: LabelledData) -> Split:
    """Split the data as the spec asks (seed defaults to the training seed)."""
    params = {"seed": spec.train_config.seed, **spec.split_params}
    if spec.split_method == "homology":
        return homology_split(data.sequences, data.labels, **params)
    return stratified_split(data.labels, **params)


def _tokenise(spec: RunSpec, data: LabelledData, model: torch.nn.Module) -> TokenizedSet:
    """Tokenise once for the model's vocabulary, with its global features when it uses them."""
    features = None
    if getattr(model, "uses_features", False):
        from protlab.features import features_frame

        features = features_frame(data.sequences)[list(model.feature_names)].to_numpy(np.float32)  # (N, F)
    max_length = max(spec.train_config.max_length, max(len(s) for s in data.sequences))
    return TokenizedSet.from_sequences(data.sequences, data.labels, vocab_size=model_vocab_size(model),
                                       max_length=max_length, features=features)


def _progress(run: _Run, event: EpochEvent | BatchEvent) -> None:
    """Training callback: update progress/ETA and, per epoch, the event list and history.csv."""
    started = run.timings["started"] or time.time()
    with run.lock:
        if isinstance(event, BatchEvent):
            epochs = run.spec.train_config.epochs
            run.progress = ((event.epoch - 1) + event.batch / event.n_batches) / epochs
        else:
            run.events.append(event.to_row())
            run.progress = event.epoch / event.epochs
            rows = list(run.events)
        elapsed = time.time() - started
        run.eta = elapsed / run.progress * (1 - run.progress) if run.progress > 0 else None
    if isinstance(event, EpochEvent):
        _atomic_write(run.folder / "history.csv", pd.DataFrame(rows).to_csv(index=False))


@dataclass
class PreparedRun:
    """A spec turned into tensors: the data, its split, tokenised subsets and a fresh model."""

    data: LabelledData  # the cleaned labelled sequences
    split: Split  # train/val/test row indices
    sets: dict[str, TokenizedSet]  # 'train', 'val', 'test' subsets, tokenised once
    model: torch.nn.Module  # built from spec.model_kind / model_config (feature scaling set from train rows)


def prepare_run(spec: RunSpec, data: LabelledData | None = None) -> PreparedRun:
    """Load (unless given), split, tokenise and build the model of a spec; seeded by the training seed."""
    data = data if data is not None else (spec.data if spec.data is not None else load_labelled(spec.data_path)[0])
    split = _split(spec, data)
    set_seed(spec.train_config.seed)
    model = build_model(spec.model_kind, spec.model_config)
    full = _tokenise(spec, data, model)
    sets = {part: full.subset(getattr(split, part)) for part in ("train", "val", "test")}
    if getattr(model, "uses_features", False):
        train_features = sets["train"].features  # (N_train, F)
        model.set_feature_stats(train_features.mean(axis=0), train_features.std(axis=0))
    return PreparedRun(data, split, sets, model)


def evaluate_and_save(prepared: PreparedRun, result: TrainResult, spec: RunSpec, path: Path,
                      extra: dict | None = None) -> dict:
    """Load the best weights, score the test split, save the checkpoint; returns metrics, baseline, predictions."""
    model, split, data = prepared.model, prepared.split, prepared.data
    model.load_state_dict(result.best_state)
    model.cpu()
    _, probs, labels = evaluate(model, prepared.sets["test"], "cpu")
    metrics = compute_metrics(labels, probs)
    baseline = majority_baseline(data.labels[split.train], labels)
    summary = {"n_rows": len(data), "n_train": len(split.train), "n_val": len(split.val),
               "n_test": len(split.test), "split": split.method, "identity": split.identity}
    saved = save_checkpoint(path, model, kind=spec.model_kind, model_config=model_config_dict(model),
                            train_config=result.config, metrics={"test": metrics, "validation": result.best_metrics},
                            data_summary=summary, history=result.history_rows(), extra=extra)
    predictions = pd.DataFrame({"id": [data.ids[i] for i in split.test], "label": labels, "p_soluble": probs})
    return {"test_metrics": metrics, "baseline": baseline, "best_epoch": result.best_epoch,
            "stopped_reason": result.stopped_reason, "data_summary": summary, "checkpoint": str(saved),
            "predictions": predictions}


def _work(run: _Run) -> None:
    """Thread body: load, split, tokenise, build, train, save; every outcome ends in run.json."""
    spec = run.spec
    with run.lock:
        run.state, run.timings["started"] = "running", time.time()
    run.save()
    state, error, result, prepared = "finished", None, None, None
    try:
        prepared = prepare_run(spec)
        result = train_model(prepared.model, prepared.sets["train"], prepared.sets["val"], spec.train_config,
                             callback=lambda e: _progress(run, e), stop=run.stop)
        state = "stopped" if result.stopped_reason == "stopped" else "finished"
    except TrainingDivergedError as err:
        state, error, result = "failed", str(err), getattr(err, "partial_result", None)
    except ProtlabError as err:
        state, error = "failed", str(err)
    except Exception as err:  # noqa: BLE001 - any crash (out of memory, ...) must end as a readable failure
        state, error = "failed", f"The run failed: {type(err).__name__}: {err}"
    try:
        if prepared is not None and result is not None and result.best_state is not None:
            saved = evaluate_and_save(prepared, result, spec, run.folder / "model.pt", {"run_id": run.run_id})
            _atomic_write(run.folder / "test_predictions.csv", saved.pop("predictions").to_csv(index=False))
            with run.lock:
                run.results.update(saved)
    except Exception as err:  # noqa: BLE001 - saving failed: report it rather than lose the state
        state, error = "failed", error or f"The run failed while saving: {type(err).__name__}: {err}"
    with run.lock:
        run.state, run.error = state, error
        run.progress = 1.0 if state == "finished" else run.progress
        run.timings["ended"] = time.time()
        run.timings["seconds"] = run.timings["ended"] - run.timings["started"]
        run.eta = 0.0
        run.spec = dataclasses.replace(spec, data=None)  # release the sequences; the summary stays
    run.save()


_MANAGER: RunManager | None = None
_MANAGER_LOCK = threading.Lock()


def get_manager() -> RunManager:
    """The process-wide RunManager (the app wraps this in st.cache_resource)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = RunManager()
        return _MANAGER
