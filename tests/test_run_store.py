"""Tests for protlab.runs.store: run.json records, interrupted runs and history rows."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from protlab.errors import RunError
from protlab.runs import RUN_ID, LiveRun, RunSpec, home, read_history, read_record

RUN = "20260101-120000-0123abcd"


def test_home_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PROTLAB_HOME", str(tmp_path / "h"))
    assert home() == tmp_path / "h"
    monkeypatch.delenv("PROTLAB_HOME")
    assert home() == Path.home() / ".protlab"


def test_run_ids() -> None:
    assert RUN_ID.match(RUN) and not RUN_ID.match("../../etc") and not RUN_ID.match(RUN + "x")


def test_live_run_saves_a_record_that_reads_back(tmp_path) -> None:
    folder = tmp_path / RUN
    folder.mkdir()
    run = LiveRun(RUN, "alice", RunSpec(name="demo", data_path="x.csv"), folder)
    run.results.update(test_metrics={"auc": 0.7}, predictions="not stored", checkpoint="model.pt")
    run.save()
    on_disk = json.loads((folder / "run.json").read_text())
    assert on_disk == json.loads(json.dumps(run.record()))
    assert on_disk["state"] == "queued" and on_disk["spec"]["name"] == "demo" and "predictions" not in on_disk
    assert read_record(tmp_path, RUN, live_ids={RUN})["state"] == "queued"  # running here: left as is
    left_over = read_record(tmp_path, RUN, live_ids=set())  # no process runs it any more
    assert (left_over["state"], left_over["error"]) == ("interrupted", "The server stopped while this run was going.")


@pytest.mark.parametrize("run_id,message", [
    ("../secret", "'../secret' is not a run id; pick a run from the list."),
    (7, "7 is not a run id; pick a run from the list."),
    (RUN, f"There is no readable run {RUN!r}; it may have been deleted."),
])
def test_read_record_refuses_bad_or_missing_ids(tmp_path, run_id: object, message: str) -> None:
    with pytest.raises(RunError) as info:
        read_record(tmp_path, run_id, live_ids=set())
    assert str(info.value) == message


def test_read_history(tmp_path) -> None:
    assert read_history(tmp_path) == []
    rows = [{"epoch": 1, "val_loss": 0.69}, {"epoch": 2, "val_loss": 0.6}]
    pd.DataFrame(rows).to_csv(tmp_path / "history.csv", index=False)
    assert read_history(tmp_path) == rows
