"""Tests for protlab.runs.worker: one run folder trained start to end, its files, stop, failures, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import deepsol_sample

import protlab.training.loop as loop
from protlab.data import LabelledData
from protlab.models import load_checkpoint
from protlab.runs import RunSpec, read_batches, read_record, run_folder
from protlab.runs.queue import RunQueue
from protlab.runs.store import INTERRUPTED, new_run_id, queued_record, request_stop, write_record, write_spec
from protlab.runs.worker import main
from protlab.training import BatchEvent, TrainConfig, compute_metrics

REPO = Path(__file__).resolve().parents[1]
TINY = {"embed_dim": 4, "hidden_dim": 4, "num_layers": 1}


@pytest.fixture(scope="module")
def data() -> LabelledData:
    return deepsol_sample(60, max_length=120, seed=11)


def _spec(data: LabelledData, **train) -> RunSpec:
    config = TrainConfig(**{"epochs": 2, "batch_size": 4, "scheduler": "none", "device": "cpu", **train})
    return RunSpec(name="worker test", data=data, model_kind="cnn", model_config=TINY, train_config=config)


def _queued(root: Path, spec: RunSpec, owner: str = "alice") -> Path:
    """A run folder as RunManager.submit leaves it, claimed from the queue as a dispatcher would."""
    run_id = new_run_id()
    folder = root / run_id
    folder.mkdir(parents=True)
    write_spec(folder, spec)
    write_record(folder, queued_record(run_id, owner, spec))
    queue = RunQueue(root)
    queue.enqueue(run_id, owner, spec.train_config.epochs)
    assert queue.claim(queue.entries()[-1], {"host": "test"})
    return folder


def test_a_run_folder_trains_and_gets_every_file(tmp_path, data) -> None:
    folder = _queued(tmp_path, _spec(data))
    assert run_folder(folder) == "finished"
    record = read_record(tmp_path, folder.name)
    assert (record["state"], record["error"], record["progress"], record["epochs_done"]) == (
        "finished",
        None,
        1.0,
        2,
    )
    assert record["owner"] == "alice" and record["worker"]["pid"] == os.getpid()
    assert {
        "run.json",
        "spec.json",
        "data.csv",
        "history.csv",
        "batches.csv",
        "model.pt",
        "test_predictions.csv",
        "epochs",  # a small CNN run keeps its per-epoch weights (protlab.runs.snapshots)
    } == {p.name for p in folder.iterdir()}
    assert [row["epoch"] for row in pd.read_csv(folder / "history.csv").to_dict("records")] == [1, 2]
    predictions = pd.read_csv(folder / "test_predictions.csv")
    expected = compute_metrics(predictions["label"].to_numpy(), predictions["p_soluble"].to_numpy())
    assert record["test_metrics"] == pytest.approx(expected)
    assert load_checkpoint(record["checkpoint"]).kind == "cnn"
    points = read_batches(folder)
    n_batches = -(-int(record["data_summary"]["n_train"]) // 4)  # under 50 batches: one point per batch
    assert [p["step"] for p in points] == list(range(1, 2 * n_batches + 1))
    assert points[-1]["epoch"] == pytest.approx(2.0) and all(np.isfinite(p["loss"]) for p in points)
    assert RunQueue(tmp_path).running() == []  # the claim was released


def test_a_stop_file_ends_training_within_one_batch(tmp_path, data, monkeypatch) -> None:
    folder = _queued(tmp_path, _spec(data, epochs=50))
    seen, real_train = [], loop.train_model

    def stop_during_batch_3(model, train, val, config, *, callback, stop):
        def chained(event) -> None:
            callback(event)
            if isinstance(event, BatchEvent):
                seen.append((event.epoch, event.batch))
                marker = json.loads((tmp_path / "_running" / folder.name).read_text())
                assert marker["worker_pid"] == os.getpid()  # the worker put itself on its claim
                if len(seen) == 3:
                    request_stop(folder)  # what RunManager.stop does, from any process

        return real_train(model, train, val, config, callback=chained, stop=stop)

    monkeypatch.setattr(loop, "train_model", stop_during_batch_3)
    assert run_folder(folder) == "stopped"
    assert seen == [(1, 1), (1, 2), (1, 3)]  # no batch started after the stop file appeared
    record = read_record(tmp_path, folder.name)
    assert record["stopped_reason"] == "stopped" and record["progress"] < 0.01
    assert len(read_batches(folder)) == 3 and (folder / "model.pt").exists()  # what it learned is kept


def test_a_stop_before_the_start_cancels_without_training(tmp_path, data) -> None:
    folder = _queued(tmp_path, _spec(data))
    request_stop(folder)
    assert run_folder(folder) == "cancelled"
    record = read_record(tmp_path, folder.name)
    assert record["state"] == "cancelled" and record["timings"]["ended"] is not None
    assert not (folder / "history.csv").exists() and not (folder / "model.pt").exists()


def test_a_run_that_already_ended_is_left_alone(tmp_path, data) -> None:
    folder = _queued(tmp_path, _spec(data))
    record = read_record(tmp_path, folder.name)
    write_record(folder, {**record, "state": "interrupted"})
    before = (folder / "run.json").read_bytes()
    assert run_folder(folder) == "interrupted"
    assert (folder / "run.json").read_bytes() == before


def test_a_crash_becomes_a_failed_run_with_a_message(tmp_path, data, monkeypatch) -> None:
    def out_of_memory(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(loop, "train_model", out_of_memory)
    folder = _queued(tmp_path, _spec(data))
    assert run_folder(folder) == "failed"
    record = read_record(tmp_path, folder.name)
    assert record["error"] == "The run failed: RuntimeError: out of memory"
    assert RunQueue(tmp_path).running() == []


def test_user_errors_and_divergence_fail_with_their_own_sentences(tmp_path, data) -> None:
    missing = _queued(
        tmp_path,
        RunSpec(
            data_path=str(tmp_path / "missing.csv"),
            model_config=TINY,
            train_config=TrainConfig(epochs=1, device="cpu"),
        ),
    )
    assert run_folder(missing) == "failed"
    error = read_record(tmp_path, missing.name)["error"]
    assert "missing.csv" in error and not error.startswith("The run failed")
    diverging = _queued(tmp_path, _spec(data, lr=1e6, optimizer="sgd", grad_clip=0.0))
    assert run_folder(diverging) == "failed"
    assert "the learning rate 1e+06 is probably too high" in read_record(tmp_path, diverging.name)["error"]


def test_main_needs_one_folder(capsys) -> None:
    assert main([]) == 2 and "usage: python -m protlab.runs <run folder> | --serve" in capsys.readouterr().err


def _worker_env(server_pid: int | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PROTLAB_THREADS_PER_RUN": "1"}
    if server_pid is not None:
        env["PROTLAB_SERVER_PID"] = str(server_pid)
    return env


def _wait_for_batches(folder: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not read_batches(folder):
        assert time.monotonic() < deadline, "the worker never started training"
        time.sleep(0.1)


def test_sigterm_ends_a_worker_process_as_interrupted(tmp_path, data) -> None:
    folder = _queued(tmp_path, _spec(data, epochs=500))
    worker = subprocess.Popen(
        [sys.executable, "-m", "protlab.runs", str(folder)],
        env=_worker_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_batches(folder)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, worker.stderr.read()
    finally:
        worker.kill()
        worker.wait()
    record = read_record(tmp_path, folder.name)
    assert (record["state"], record["error"]) == ("interrupted", INTERRUPTED)
    assert record["worker"]["pid"] == worker.pid and RunQueue(tmp_path).running() == []


def test_a_worker_ends_itself_when_its_server_is_gone(tmp_path, data) -> None:
    folder = _queued(tmp_path, _spec(data, epochs=500))
    # a 'server' that starts the worker and dies at once: the worker is left without its parent
    launcher = (
        "import os, subprocess, sys; "
        "p = subprocess.Popen([sys.executable, '-m', 'protlab.runs', sys.argv[1]],"
        " env={**os.environ, 'PROTLAB_SERVER_PID': str(os.getpid())}); print(p.pid)"
    )
    done = subprocess.run(
        [sys.executable, "-c", launcher, str(folder)],
        env=_worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    worker_pid = int(done.stdout)
    try:
        deadline = time.monotonic() + 180
        while read_record(tmp_path, folder.name)["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, "the orphaned worker kept training"
            time.sleep(0.2)
    finally:
        try:
            os.kill(worker_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    record = read_record(tmp_path, folder.name)
    assert (record["state"], record["error"]) == ("interrupted", INTERRUPTED)


def test_serve_ends_quietly_when_the_server_has_gone() -> None:
    """A worker whose server closed the answer pipe ends its loop instead of dying with a traceback."""
    code = (
        "from protlab.runs import worker\n"
        "worker.run_folder = lambda folder, threads: 'finished'\n"
        "worker.serve(1)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        text=True,
    )
    proc.stdout.close()  # the server is gone: nobody reads the answers
    _, err = proc.communicate("/tmp/run-a\n/tmp/run-b\n", timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
