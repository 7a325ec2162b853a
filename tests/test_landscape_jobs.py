"""The real loss landscape as a job: kept epochs, queue, worker, cache; checked by direct losses."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from protlab.data import load_bundled
from protlab.errors import RunError
from protlab.lessons import (
    SliceSettings,
    compute_landscape,
    default_source,
    request_landscape,
    run_source,
    sample_batches,
    submit_landscape,
)
from protlab.models import CNNConfig, SolubilityCNN, load_checkpoint
from protlab.runs import (
    MAX_SNAPSHOTS,
    ClassSettings,
    EpochSnapshots,
    RunManager,
    job_status,
    read_snapshots,
    run_folder,
    submit_job,
)
from tests.conftest import train_tiny_run

SMALL = SliceSettings(n_proteins=16, grid=5, span=0.5, seed=1)


def _reference_loss(model, weights: dict, batches) -> float:
    """The mean cross-entropy of a copy of model holding these weights (load_state_dict, plain forward)."""
    copy = SolubilityCNN(model.config).eval()
    state = copy.state_dict()
    state.update({n: w for n, w in weights.items()})
    copy.load_state_dict(state)
    total, count = 0.0, 0
    with torch.no_grad():
        for b in batches:
            logits = copy(b.tokens, b.mask).double()
            total += float(torch.nn.functional.cross_entropy(logits, b.labels, reduction="sum"))
            count += len(b)
    return total / count


def _wait_ready(root: Path, source, settings, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = request_landscape(root, source, settings)
        if request.state in ("ready", "failed", "interrupted"):
            return request
        time.sleep(0.3)
    raise AssertionError("the landscape job did not end in time")


def test_a_cnn_run_keeps_its_epochs_and_its_landscape_is_computed_by_a_worker(tmp_path, monkeypatch):
    manager = RunManager(tmp_path / "runs", ClassSettings(workers=1))
    try:
        run_id = train_tiny_run(manager, "ana", epochs=3, rows=40)
        status = manager.status(run_id, "ana")
        assert status.state == "finished"
        kept = read_snapshots(Path(status.checkpoint_path).parent)
        assert [e for e, _ in kept] == [0, 1, 2, 3]
        with pytest.raises(RunError):
            run_source(manager, "bob", run_id)  # another student's run
        source = run_source(manager, "ana", run_id)
        assert request_landscape(manager.root, source, SMALL).state == "missing"
        assert submit_landscape(manager.root, source, SMALL).state == "queued"
        assert submit_landscape(manager.root, source, SMALL).state in ("queued", "running")  # not twice
        request = _wait_ready(manager.root, source, SMALL)
        assert request.state == "ready", request.error
        assert [r["run_id"] for r in manager.list_runs("ana")] == [run_id]  # the job is not one of her runs
    finally:
        manager.close(stop_runs=True)
    result = request.result
    model = load_checkpoint(status.checkpoint_path).model
    batches = sample_batches(model, load_bundled()[0], SMALL.n_proteins, SMALL.seed)
    best = {n: p.detach() for n, p in model.named_parameters()}
    assert result.slice.losses.shape == (5, 5)
    assert result.slice.centre_loss == pytest.approx(_reference_loss(model, best, batches), rel=1e-5)
    assert result.slice.losses[2, 2] == pytest.approx(result.slice.centre_loss, rel=1e-9)
    # the path: one point per kept epoch, true losses of those weights, and the best epoch at the centre
    assert result.path.shape == (4, 2) and result.path_epochs.tolist() == [0, 1, 2, 3]
    for (_, weights), loss in zip(kept, result.path_losses):
        assert loss == pytest.approx(_reference_loss(model, weights, batches), rel=1e-5)
    best_epoch = int(manager_best_epoch(status))
    np.testing.assert_allclose(result.path[best_epoch], [0.0, 0.0], atol=1e-5)
    assert Path(status.checkpoint_path).parent.joinpath("epochs").is_dir()
    # directions along the path (PCA of the kept epochs): the path fills ±0.8 of the view on both axes,
    # and the generated code, run in the run folder, computes the same slice
    along = replace(SMALL, directions="path")
    on_path = compute_landscape(source, along)
    np.testing.assert_allclose(np.abs(on_path.path).max(axis=0), [0.8, 0.8], rtol=1e-4)
    from protlab.codegen import slice_code

    monkeypatch.chdir(Path(status.checkpoint_path).parent)
    code = slice_code(status.checkpoint_path, None, 16, 5, 0.5, 1, "sgd", 0.1, 0.9, (0.1, 0.1), "path")
    namespace: dict = {}
    exec(compile(code.replace("range(20)", "range(1)"), "slice_code", "exec"), namespace)  # noqa: S102
    np.testing.assert_allclose(namespace["losses"], on_path.slice.losses, rtol=1e-4)


def manager_best_epoch(status) -> int:
    """The best epoch of a finished run, from its epoch rows."""
    rows = status.events
    return min(rows, key=lambda r: r["val_loss"])["epoch"]


def test_the_default_model_landscape_is_cached_for_everyone(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    source = default_source()
    assert source.member is not None and "CNN" in source.label
    submitted = submit_landscape(root, source, SMALL)
    assert submitted.state == "queued"
    job_id = next(p.name for p in root.iterdir() if (p / "job.json").is_file())
    assert run_folder(root / job_id) == "finished"  # what a worker process does with the claimed folder
    assert job_status(root, job_id).progress == 1.0
    request = request_landscape(root, default_source(), SMALL)
    assert request.state == "ready" and request.result.path.shape == (0, 2)  # no epochs kept for it
    model = load_checkpoint(source.checkpoint).model.members[source.member]
    batches = sample_batches(model, load_bundled()[0], SMALL.n_proteins, SMALL.seed)
    best = {n: p.detach() for n, p in model.named_parameters()}
    assert request.result.slice.centre_loss == pytest.approx(_reference_loss(model, best, batches), rel=1e-5)
    other = SliceSettings(n_proteins=16, grid=7, span=0.5, seed=1)
    assert request_landscape(root, source, other).state == "missing"  # other settings: another file


def test_a_failed_job_says_why(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    source = default_source()
    broken = replace(source, checkpoint=str(tmp_path / "gone.pt"))
    (tmp_path / "gone.pt").write_bytes(b"not a checkpoint")
    submit_landscape(root, broken, SMALL)
    job_id = next(p.name for p in root.iterdir() if (p / "job.json").is_file())
    assert run_folder(root / job_id) == "failed"
    request = request_landscape(root, broken, SMALL)
    assert request.state == "failed" and "gone.pt" in request.error
    with pytest.raises(RunError, match="kind must be one of"):
        submit_job(root, "mine_bitcoin", {})


def test_snapshots_are_bounded(tmp_path):
    small = SolubilityCNN(CNNConfig(vocab_size=22, embed_dim=4, hidden_dim=4, num_layers=1))
    keeper = EpochSnapshots(tmp_path, small, "solubility", "cnn", epochs=100)
    from protlab.training.events import EpochEvent

    for epoch in range(1, 101):
        keeper(EpochEvent(epoch, 100, 0.5, 0.5, {}, 1e-3, 1.0, 10.0, False, 0.0))
    epochs = [e for e, _ in read_snapshots(tmp_path)]
    assert epochs[0] == 0 and epochs[-1] == 100 and len(epochs) <= MAX_SNAPSHOTS
    big = SolubilityCNN(CNNConfig(vocab_size=22, embed_dim=256, hidden_dim=512, num_layers=3))
    assert not EpochSnapshots(tmp_path / "big", big, "solubility", "cnn", epochs=5).enabled
    assert not EpochSnapshots(tmp_path / "mlp", small, "solubility", "mlp", epochs=5).enabled
    assert not (tmp_path / "big").exists()


def test_generated_code_reproduces_the_slice_and_steps_on_it():
    from protlab.codegen import slice_code

    source = default_source()
    code = slice_code(source.checkpoint, source.member, 16, 5, 0.5, 1, "adam", 0.05, 0.9, (-0.4, 0.3))
    namespace: dict = {}
    exec(compile(code.replace("range(20)", "range(3)"), "slice_code", "exec"), namespace)  # noqa: S102
    expected = compute_landscape(source, SMALL)
    np.testing.assert_allclose(namespace["losses"], expected.slice.losses, rtol=1e-5)
    assert namespace["ab"].tolist() != [-0.4, 0.3]  # Adam moved the point
