"""What a training run is: the settings a page hands over (RunSpec) and the snapshot it gets back
(RunStatus)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from protlab.checks import Choice, FloatRange, check_fields, setting
from protlab.data.loading import LabelledData
from protlab.errors import ConfigError
from protlab.models import make_config
from protlab.training.config import TrainConfig

__all__ = ["RunSpec", "RunStatus", "SPLIT_METHODS", "TASKS"]

SPLIT_METHODS = ("stratified", "homology")
RESIDUE_MODEL_KINDS = ("residue_cnn", "residue_mlp")  # per-residue models: the dilated CNN, Exercise 1's MLP
TASKS = ("solubility", "secondary_structure")  # an answer per protein, or per residue (protlab.structure)


@dataclass
class RunSpec:
    """Everything a training run needs; data is given as LabelledData or as a file path."""

    name: str = "run"  # display name typed by the user (shown only, never used in paths)
    # 'solubility' (labelled proteins) or 'secondary_structure' (the bundled CB513 / TS115 residue labels)
    task: str = setting("solubility", Choice(TASKS))
    data: LabelledData | None = None  # labelled sequences already loaded (bundled or uploaded) ...
    data_path: str | None = None  # ... or a CSV/FASTA path read with protlab.data.load_labelled
    data_description: str = ""  # e.g. "bundled DeepSol, 6,942 rows"
    split_method: str = setting("stratified", Choice(SPLIT_METHODS))  # 'stratified' or 'homology'
    split_params: dict = field(default_factory=dict)  # val/test_fraction, seed (+ homology_split's settings)
    model_kind: str = "cnn"  # a kind known to protlab.models.build_model
    model_config: dict = field(default_factory=dict)  # settings of that model kind
    train_config: TrainConfig = field(default_factory=TrainConfig)  # optimizer, epochs, ...

    def validate(self) -> None:
        """Raise a ProtlabError for any setting that cannot work, before a thread is started."""
        if self.task != "solubility":
            self._validate_structure()  # a per-residue run (an unknown task is refused by its first check)
            return
        if (self.data is None) == (self.data_path is None):
            raise ConfigError("A run needs exactly one data source: give either data or data_path.")
        check_fields(self)
        homology = {"identity", "k", "clustering", "assignment"} if self.split_method == "homology" else set()
        allowed = {"val_fraction", "test_fraction", "seed", "train_fraction"} | homology
        if set(self.split_params) - allowed:
            raise ConfigError(
                f"Unknown split settings {sorted(set(self.split_params) - allowed)}; "
                f"allowed are {sorted(allowed)}."
            )
        if "train_fraction" in self.split_params:  # train on a share of the training rows (learning curves)
            FloatRange(0, 1, low_open=True).check(self.split_params["train_fraction"], "train_fraction")
        make_config(self.model_kind, self.model_config)
        self.train_config.validate()

    def _validate_structure(self) -> None:
        """A per-residue run: bundled CB513 / TS115 proteins, a validation share and a per-residue model."""
        check_fields(self)
        if self.data is not None or self.data_path is not None:
            raise ConfigError(
                "A secondary-structure run uses the bundled CB513 and TS115 proteins; "
                "give neither data nor data_path."
            )
        if set(self.split_params) - {"val_fraction", "seed"}:
            unknown = sorted(set(self.split_params) - {"val_fraction", "seed"})
            raise ConfigError(
                f"Unknown split settings {unknown}; a secondary-structure run allows val_fraction and seed."
            )
        if self.model_kind not in RESIDUE_MODEL_KINDS:
            raise ConfigError(
                "A secondary-structure run needs a per-residue model (model_kind "
                f"{' or '.join(map(repr, RESIDUE_MODEL_KINDS))}); got {self.model_kind!r}."
            )
        make_config(self.model_kind, self.model_config)
        self.train_config.validate()

    def summary(self) -> dict:
        """A JSON-friendly description (no sequences)."""
        return {
            "name": str(self.name)[:200],
            "task": self.task,
            "data": self.data_description or self.data_path or "uploaded data",
            "n_rows": None if self.data is None else len(self.data),
            "split_method": self.split_method,
            "split_params": dict(self.split_params),
            "model_kind": self.model_kind,
            "model_config": dict(self.model_config),
            "train_config": self.train_config.to_dict(),
        }


@dataclass
class RunStatus:
    """A snapshot of one run for the page to render."""

    run_id: str  # generated id
    name: str  # display name
    state: str  # queued, running, finished, stopped, failed, cancelled or interrupted
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
    queue_position: int | None = None  # 1-based place among queued runs; None unless queued
    queue_wait_seconds: float | None = None  # estimated wait before it starts; None if unknown or not queued
    batch_losses: list[dict] = field(default_factory=list)  # {'step', 'epoch', 'loss'} every few batches
    shared: bool = False  # the owner shares it with the class (class_runs)
    display_name: str = ""  # the name shown to the class when shared
    data_summary: dict | None = None  # rows per split, clustering, cluster sizes, leak check (finished runs)
