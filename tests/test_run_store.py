"""Tests for protlab.runs.store: run folders, run.json records, spec and data files, history, loss points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from protlab.data import LabelledData
from protlab.errors import ConfigError, RunError
from protlab.runs import RUN_ID, RunSpec, home, read_batches, read_history, read_record
from protlab.runs.store import StopFile, new_run_id, read_spec, request_stop, write_record, write_spec
from protlab.training import TrainConfig

RUN = "20260101-120000-0123abcd"
DATA = LabelledData(
    ["MKVL" * 4, "ACDEF" * 3, "GHIK" * 5], np.array([0, 1, 1], dtype=np.int64), ["a", "007", "c,d"]
)


def test_home_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PROTLAB_HOME", str(tmp_path / "h"))
    assert home() == tmp_path / "h"
    monkeypatch.delenv("PROTLAB_HOME")
    assert home() == Path.home() / ".protlab"


def test_run_ids() -> None:
    assert RUN_ID.match(RUN) and not RUN_ID.match("../../etc") and not RUN_ID.match(RUN + "x")
    made = {new_run_id() for _ in range(50)}
    assert len(made) == 50 and all(RUN_ID.match(r) for r in made)


def test_a_record_reads_back(tmp_path) -> None:
    (tmp_path / RUN).mkdir()
    record = {
        "run_id": RUN,
        "owner": "alice",
        "state": "queued",
        "progress": 0.25,
        "timings": {"created": 1.5},
    }
    write_record(tmp_path / RUN, record)
    assert read_record(tmp_path, RUN) == record
    assert [p.name for p in (tmp_path / RUN).iterdir()] == ["run.json"]  # no temporary file left


@pytest.mark.parametrize(
    "run_id,message",
    [
        ("../secret", "'../secret' is not a run id; pick a run from the list."),
        (7, "7 is not a run id; pick a run from the list."),
        (RUN, f"There is no readable run {RUN!r}; it may have been deleted."),
    ],
)
def test_read_record_refuses_bad_or_missing_ids(tmp_path, run_id: object, message: str) -> None:
    with pytest.raises(RunError) as info:
        read_record(tmp_path, run_id)
    assert str(info.value) == message


def test_a_spec_with_data_in_memory_round_trips_through_the_folder(tmp_path) -> None:
    config = TrainConfig(epochs=3, lr=0.01, optimizer="adamw")
    spec = RunSpec(
        name="my run",
        data=DATA,
        data_description="three rows",
        split_method="homology",
        split_params={"identity": 0.4},
        model_kind="cnn",
        model_config={"hidden_dim": 8},
        train_config=config,
    )
    write_spec(tmp_path, spec)
    assert "MKVL" not in (tmp_path / "spec.json").read_text()  # sequences live in data.csv only
    back = read_spec(tmp_path)
    assert back.data.sequences == DATA.sequences and back.data.ids == DATA.ids
    assert np.array_equal(back.data.labels, DATA.labels) and back.data.labels.dtype == np.int64
    assert back.train_config == config and back.summary() == spec.summary()


def test_a_spec_with_a_data_path_keeps_the_path(tmp_path) -> None:
    write_spec(tmp_path, RunSpec(data_path="/data/mine.csv"))
    back = read_spec(tmp_path)
    assert (back.data, back.data_path) == (None, "/data/mine.csv") and not (tmp_path / "data.csv").exists()


def test_damaged_spec_files_are_reported(tmp_path) -> None:
    with pytest.raises(RunError, match="spec.json"):
        read_spec(tmp_path)
    write_spec(tmp_path, RunSpec(data=DATA))
    (tmp_path / "data.csv").unlink()
    with pytest.raises(RunError, match="data.csv"):
        read_spec(tmp_path)
    fields = json.loads((tmp_path / "spec.json").read_text())
    fields["train_config"]["lr"] = -1
    (tmp_path / "spec.json").write_text(json.dumps(fields))
    with pytest.raises(ConfigError, match="lr must be"):
        read_spec(tmp_path)


def test_read_history(tmp_path) -> None:
    assert read_history(tmp_path) == []
    rows = [{"epoch": 1, "val_loss": 0.69}, {"epoch": 2, "val_loss": 0.6}]
    pd.DataFrame(rows).to_csv(tmp_path / "history.csv", index=False)
    assert read_history(tmp_path) == rows


def test_read_batches_skips_a_half_written_last_line(tmp_path) -> None:
    assert read_batches(tmp_path) == []
    (tmp_path / "batches.csv").write_text("step,epoch,loss\n2,0.5,0.71\n4,1.0,0.65\n6,1.")
    assert read_batches(tmp_path) == [
        {"step": 2, "epoch": 0.5, "loss": 0.71},
        {"step": 4, "epoch": 1.0, "loss": 0.65},
    ]


def test_stop_file(tmp_path) -> None:
    flag = StopFile(tmp_path)
    assert not flag.is_set()
    request_stop(tmp_path)
    assert flag.is_set() and StopFile(tmp_path).is_set()


def test_newest_records_come_newest_first_and_skip_what_is_not_a_readable_run(tmp_path) -> None:
    from protlab.runs.store import newest_records

    ids = ["20261203-100000-0000000a", "20261203-100100-0000000b", "20261203-100200-0000000c"]
    for run_id in ids:
        (tmp_path / run_id).mkdir()
        (tmp_path / run_id / "run.json").write_text(json.dumps({"run_id": run_id}), encoding="utf-8")
    (tmp_path / "20261203-100300-0000000d").mkdir()  # no run.json yet
    (tmp_path / "_jobs").mkdir()  # not a run folder
    assert [name for name, _ in newest_records(tmp_path, 10)] == ids[::-1]
    assert [record["run_id"] for _, record in newest_records(tmp_path, 2)] == [ids[2]]  # the 2 newest folders
    assert list(newest_records(tmp_path / "missing", 5)) == []
