"""Tests for protlab.runs.executors: what a crashed worker's run says, and how executors report an end."""

from __future__ import annotations

import time

import pytest

import protlab.runs.worker as worker_module
from protlab.runs import ClassSettings
from protlab.runs.executors import InProcessExecutor, exit_message, make_executor


def test_exit_messages_explain_the_usual_causes(tmp_path) -> None:
    assert exit_message(-9) == (
        "The training process ended unexpectedly (killed by signal 9 — often out of memory). "
        "Try a smaller model, a smaller batch size or shorter sequences, then run it again."
    )
    assert exit_message(-11).startswith("The training process ended unexpectedly (killed by signal 11). ")
    log = tmp_path / "worker.log"
    log.write_text("Traceback (most recent call last):\n  ...\nOSError: [Errno 28] No space left on device\n")
    assert exit_message(1, log) == (
        "The training process ended unexpectedly (exit code 1): OSError: [Errno 28] No space left on device. "
        "Run it again; if it fails the same way, tell your teacher."
    )
    no_log = exit_message(3, tmp_path / "none.log")
    assert no_log.startswith("The training process ended unexpectedly (exit code 3).")


def _until_ended(executor, timeout: float = 180.0) -> list[tuple[str, str | None]]:
    deadline = time.monotonic() + timeout
    while True:
        ended = executor.poll()
        if ended:
            return ended
        assert time.monotonic() < deadline, "the executor never reported the end"
        time.sleep(0.05)


def test_the_in_process_executor_reports_a_thread_that_raised(tmp_path, monkeypatch) -> None:
    def broken(folder, threads=None):
        raise MemoryError("no room")

    monkeypatch.setattr(worker_module, "run_folder", broken)
    executor = make_executor(ClassSettings(workers=1, executor="inprocess"))
    assert isinstance(executor, InProcessExecutor)
    executor.launch(tmp_path)
    assert _until_ended(executor) == [(tmp_path.name, "The run failed: MemoryError: no room")]


@pytest.mark.parametrize("executor", ["local", "inprocess"])
def test_shutdown_without_runs_is_harmless(executor: str) -> None:
    made = make_executor(ClassSettings(workers=1, executor=executor))
    made.shutdown(stop_runs=True)
    assert made.poll() == [] and made.active() == []
