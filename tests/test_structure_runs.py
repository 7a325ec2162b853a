"""Per-residue runs go through the one run system: spec, queue, worker, live Q3, test scoring, checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from protlab.errors import ConfigError
from protlab.runs import RunManager, RunSpec, read_record, run_folder
from protlab.runs.queue import RunQueue
from protlab.runs.store import new_run_id, queued_record, write_record, write_spec
from protlab.structure import RELATED_TEST_IDS, StructurePredictor, load_bundled_structure
from protlab.training import TrainConfig

TINY = {"embed_dim": 4, "channels": 8, "kernel_size": 3, "dilations": [1], "dropout": 0.0}


def _spec(**changes) -> RunSpec:
    config = TrainConfig(epochs=1, batch_size=32, scheduler="none", patience=0, device="cpu", lr=5e-3)
    fields = {
        "name": "per-residue test",
        "task": "secondary_structure",
        "model_kind": "residue_cnn",
        "model_config": TINY,
        "split_params": {"val_fraction": 0.1, "seed": 3},
        "train_config": config,
    }
    return RunSpec(**(fields | changes))


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"data_path": "mine.csv"}, "bundled CB513 and TS115"),
        ({"split_params": {"test_fraction": 0.2}}, "test_fraction"),
        ({"model_kind": "cnn"}, "per-residue model"),
        ({"task": "folding"}, "task must be"),
        ({"model_config": {"dilations": [0]}}, "dilation"),
    ],
)
def test_structure_specs_are_checked_before_queueing(changes, words):
    with pytest.raises(ConfigError, match=words):
        _spec(**changes).validate()


def test_a_structure_run_folder_trains_scores_ts115_and_saves_a_per_residue_checkpoint(tmp_path: Path):
    spec = _spec()
    spec.validate()
    run_id = new_run_id()
    folder = tmp_path / run_id
    folder.mkdir()
    write_spec(folder, spec)
    write_record(folder, queued_record(run_id, "alice", spec))
    queue = RunQueue(tmp_path)
    queue.enqueue(run_id, "alice", 1)
    assert queue.claim(queue.entries()[-1], {"host": "test"})
    assert run_folder(folder) == "finished"
    record = read_record(tmp_path, run_id)
    assert (
        record["spec"]["task"] == "secondary_structure"
        and record["data_summary"]["task"] == "secondary_structure"
    )
    history = pd.read_csv(folder / "history.csv")
    assert {"val_q3", "val_precision_H", "val_recall_E"} <= set(history.columns)
    # the test figure is recomputed from the saved per-protein predictions with sklearn
    table = pd.read_csv(folder / "test_predictions.csv", dtype=str)
    test = load_bundled_structure("ts115")
    assert table["id"].tolist() == test.ids and not set(RELATED_TEST_IDS) & set(table["id"])
    true, pred = [], []
    for ss3, resolved, predicted in zip(table["ss3"], table["resolved"], table["predicted"]):
        assert len(ss3) == len(resolved) == len(predicted)
        keep = [r == "1" for r in resolved]
        true += [s for s, k in zip(ss3, keep) if k]
        pred += [p for p, k in zip(predicted, keep) if k]
    assert record["test_metrics"]["q3"] == pytest.approx(skm.accuracy_score(true, pred))
    assert record["test_metrics"]["n"] == test.n_scored
    coil = np.mean(np.array(true) == "C")
    assert record["baseline"]["q3"] == pytest.approx(coil)  # CB513's commonest state is coil
    predictor = StructurePredictor.from_checkpoint(record["checkpoint"])
    assert predictor.predict_one(test.sequences[0]).ss3 == table["predicted"].iloc[0]


def test_the_run_manager_queues_a_structure_run_and_reports_q3(tmp_path: Path):
    manager = RunManager(tmp_path / "runs")
    try:
        run_id = manager.submit(_spec(), "bob-the-student-01")
        assert manager.wait(run_id, 300)
        status = manager.status(run_id, "bob-the-student-01")
        assert status.state == "finished", status.error
        assert status.events and "val_q3" in status.events[-1]
        assert 0 < status.test_metrics["q3"] < 1 and status.test_labels is None
        rows = manager.list_runs("bob-the-student-01")
        assert rows[0]["spec"]["task"] == "secondary_structure" and Path(rows[0]["checkpoint"]).is_file()
    finally:
        manager.close(stop_runs=True)
