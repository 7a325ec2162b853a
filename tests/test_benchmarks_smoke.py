"""Smoke test: every benchmark script runs in --quick mode and prints its figures in the documented format.

These are not performance tests: no timing is asserted, only that each script
works end to end and its machine-readable last line parses.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def run_quick(script: str) -> list[str]:
    """Run benchmarks/<script> --quick from the repository root; return its stdout lines."""
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick"],
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{script} failed with code {done.returncode}:\n{done.stderr[-3000:]}"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines, f"{script} printed nothing"
    return lines


def test_encoding_speed_prints_rates_and_speedup():
    lines = run_quick("encoding_speed.py")
    assert any(line.startswith("# machine: ") for line in lines)
    for method in ("notes_loop", "protlab_encode", "protlab_pad_batch", "protlab_tokenized_set"):
        assert any(re.match(rf"{method}\s+[0-9,]+ residues/s", line) for line in lines), method
    assert re.fullmatch(rf"encoding_speedup={NUMBER}", lines[-1])


def test_train_throughput_prints_both_pipelines_and_speedup():
    lines = run_quick("train_throughput.py")
    text = "\n".join(lines)
    assert re.search(rf"^reference\s+{NUMBER} seqs/s wall, +{NUMBER} seqs/s per CPU-second", text, re.M)
    assert re.search(rf"^protlab\s+{NUMBER} seqs/s wall", text, re.M)
    assert re.search(
        rf"useful conv FLOP rate \(CPU time\): reference {NUMBER} GFLOP/s \({NUMBER}% of peak\)", text
    )
    assert "load average" in text
    assert re.fullmatch(rf"cpu_speedup_vs_reference={NUMBER}", lines[-2])
    assert re.fullmatch(rf"speedup_vs_reference={NUMBER}", lines[-1])


def test_predict_latency_prints_three_figures():
    lines = run_quick("predict_latency.py")
    assert re.fullmatch(rf"single_p50_ms={NUMBER}", lines[-3])
    assert re.fullmatch(rf"batch[0-9]+_seconds={NUMBER}", lines[-2])
    assert re.fullmatch(rf"attribution_p50_ms={NUMBER}", lines[-1])


def test_scale_prints_one_row_per_size_and_peak_memory():
    lines = run_quick("scale.py")
    rows = [line for line in lines if re.match(r"\s*[0-9,]+\s+[0-9,]+\s+[0-9.]+\s", line)]
    assert len(rows) == 2, lines
    assert re.fullmatch(rf"peak_rss_mb_at_[0-9]+={NUMBER} data_mb_per_string_mb=-?{NUMBER}", lines[-1])


def test_gpu_train_skips_cleanly_or_runs():
    lines = run_quick("gpu_train.py")
    if torch.cuda.is_available():
        assert re.fullmatch(rf"speedup_vs_reference={NUMBER}", lines[-1])
    else:
        assert lines == ["GPU benchmark skipped: no CUDA device on this machine"]


@pytest.mark.e2e
def test_app_latency_prints_start_and_switch_times():
    lines = run_quick("app_latency.py")
    assert any(line.startswith("protlab  start->home painted") for line in lines)
    assert re.fullmatch(
        rf"start_seconds={NUMBER} switch_seconds={NUMBER} first_visit_seconds={NUMBER}", lines[-1]
    )


@pytest.mark.e2e
def test_classroom_prints_acceptance_click_p95_ratio_and_queue_wait():
    lines = run_quick("classroom.py")
    assert any(line.startswith("pool ") for line in lines)
    assert any(line.startswith("inprocess ") for line in lines)
    assert re.fullmatch(r"accepted=[0-9]+/[0-9]+", lines[-4])
    assert re.fullmatch(rf"click_p95_s={NUMBER}", lines[-3])
    assert re.fullmatch(rf"inproc_vs_pool={NUMBER}", lines[-2])
    assert re.fullmatch(rf"queue_wait_p50_s={NUMBER}", lines[-1])


def test_cpu_bf16_prints_speedup_and_auc_delta():
    lines = run_quick("cpu_bf16.py")
    assert any(line.startswith("# native CPU bf16") for line in lines)
    assert any(
        re.match(rf"fp32: epoch wall s {NUMBER}, CPU s {NUMBER}; val acc {NUMBER} auc {NUMBER}", line)
        for line in lines
    )
    assert re.fullmatch(rf"bf16_epoch_speedup={NUMBER} test_auc_delta=-?{NUMBER}", lines[-1])


def test_label_check_prints_time_and_peak_memory():
    lines = run_quick("label_check.py")
    assert re.match(rf"check_labels\s+{NUMBER} s \(median of 1\)\s+peak {NUMBER} MB", lines[-4])
    assert re.fullmatch(rf"label_check_peak_mb={NUMBER}", lines[-2])
    assert re.fullmatch(rf"label_check_seconds={NUMBER}", lines[-1])
