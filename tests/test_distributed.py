"""Tests for protlab.training.distributed: DDP over 2 CPU processes (gloo) against one process
on the same batches.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch.utils.data import DistributedSampler

from protlab.alphabet import AMINO_ACIDS, VOCAB_SIZE
from protlab.cli import main
from protlab.data import TokenizedSet, batch_indices, make_batch
from protlab.errors import ConfigError
from protlab.models import build_model, load_checkpoint, model_forward
from protlab.predict import Predictor
from protlab.training import (
    TrainConfig,
    any_rank,
    broadcast_from_main,
    build_optimizer,
    cleanup,
    global_mean,
    init_from_env,
    is_distributed,
    is_main,
    launched_by_torchrun,
    rank,
    shard_batches,
    sync_gradients,
    train_model,
    world_size,
    wrap_model,
)

ROOT = Path(__file__).resolve().parents[1]
WORLD = 2
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
# 34 rows in batches of 4 -> 9 batches per epoch (the last holds 2), padded to 10 -> 5 per rank
CONFIGS = {
    "adam": TrainConfig(
        optimizer="adam",
        lr=1e-2,
        batch_size=4,
        epochs=2,
        patience=0,
        scheduler="none",
        grad_clip=1.0,
        seed=3,
        device="cpu",
        cpu_bf16=False,
    ),
    "sgd_accum2": TrainConfig(
        optimizer="sgd_momentum",
        lr=0.1,
        batch_size=4,
        epochs=2,
        patience=0,
        scheduler="none",
        grad_clip=0.0,
        grad_accum_steps=2,
        seed=5,
        device="cpu",
        cpu_bf16=False,
    ),
}


def _sets() -> tuple[TokenizedSet, TokenizedSet]:
    """Reproducible random train (34 rows) and validation (10 rows) sets."""
    rng = np.random.default_rng(0)
    letters = np.array(list(AMINO_ACIDS))
    seqs = ["".join(rng.choice(letters, size=int(n))) for n in rng.integers(5, 40, size=44)]
    labels = rng.integers(0, 2, size=44)
    return (
        TokenizedSet.from_sequences(seqs[:34], labels[:34]),
        TokenizedSet.from_sequences(seqs[34:], labels[34:]),
    )


def _model() -> torch.nn.Module:
    """The same small CNN in every process (fixed init, no dropout so ranks draw no random masks)."""
    torch.manual_seed(0)
    return build_model("cnn", {"vocab_size": VOCAB_SIZE, "embed_dim": 8, "hidden_dim": 8, "dropout": 0.0})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank_: int, port: int, out_dir: str) -> None:
    """One rank: join the gloo group the way torchrun would describe it, train every config, rank 0 saves."""
    os.environ.update(
        RANK=str(rank_),
        WORLD_SIZE=str(WORLD),
        LOCAL_RANK=str(rank_),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    assert init_from_env("cpu") and world_size() == WORLD and rank() == rank_
    train, val = _sets()
    try:
        for name, config in CONFIGS.items():
            model = _model()
            events = []
            result = train_model(model, train, val, config, callback=events.append)
            assert (len(events) > 0) == (rank_ == 0)  # other ranks stay quiet
            if rank_ == 0:
                torch.save(model.state_dict(), Path(out_dir) / f"{name}.pt")
                summary = {
                    "best_epoch": result.best_epoch,
                    "train_loss": [e.train_loss for e in result.history],
                    "val_loss": [e.val_loss for e in result.history],
                }
                (Path(out_dir) / f"{name}.json").write_text(json.dumps(summary))
        cleanup(wait_for_others=True)  # as distributed_session ends a run that every rank finished
    finally:
        cleanup()  # after an error: leave at once (a no-op once left)


def _reference(config: TrainConfig, train: TokenizedSet) -> tuple[list[dict], list[float]]:
    """One process, by hand: each step's gradient is the mean over ranks of their per-batch mean losses."""
    model = _model()
    optimizer = build_optimizer(model, config)
    states, train_losses = [], []
    for epoch in range(1, config.epochs + 1):
        groups = batch_indices(
            train, batch_size=config.batch_size, shuffle=True, seed=config.seed, epoch=epoch
        )
        shards = [
            list(DistributedSampler(groups, num_replicas=WORLD, rank=r, shuffle=False)) for r in range(WORLD)
        ]
        steps, accum = len(shards[0]), config.grad_accum_steps
        loss_sum, rows = 0.0, 0
        for start in range(0, steps, accum):
            micro = range(start, min(start + accum, steps))
            for k in micro:
                losses = []
                for r in range(WORLD):
                    idx = groups[shards[r][k]]
                    batch = make_batch(train, idx)
                    losses.append(F.cross_entropy(model_forward(model, batch), batch.labels))
                    loss_sum, rows = loss_sum + losses[-1].item() * len(idx), rows + len(idx)
                (torch.stack(losses).mean() / len(micro)).backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        train_losses.append(loss_sum / rows)
    return states, train_losses


def test_two_gloo_processes_match_one_process_on_the_same_global_batches(tmp_path) -> None:
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    train, _ = _sets()
    initial = _model().state_dict()
    for name, config in CONFIGS.items():
        summary = json.loads((tmp_path / f"{name}.json").read_text())
        states, train_losses = _reference(config, train)
        np.testing.assert_allclose(summary["train_loss"], train_losses, rtol=1e-5)
        got = torch.load(tmp_path / f"{name}.pt")
        expected = states[summary["best_epoch"] - 1]  # train_model returns the best epoch's weights
        assert got.keys() == expected.keys()
        for key in got:
            torch.testing.assert_close(got[key], expected[key], rtol=1e-4, atol=1e-6, msg=f"{name}: {key}")
        assert any(not torch.equal(got[key], initial[key]) for key in got)  # training moved the weights


@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [1, 2, 5, 8, 9])
def test_shards_match_distributed_sampler(world: int, n: int) -> None:
    batches = [np.array([i]) for i in range(n)]
    shards = [shard_batches(batches, r, world) for r in range(world)]
    for r, shard in enumerate(shards):
        expected = list(DistributedSampler(range(n), num_replicas=world, rank=r, shuffle=False))
        assert [int(b[0]) for b in shard] == expected
    assert {int(b[0]) for shard in shards for b in shard} == set(range(n))  # every batch is used


def test_without_torchrun_everything_is_single_process(monkeypatch) -> None:
    for key in TORCHRUN_ENV:
        monkeypatch.delenv(key, raising=False)
    assert not launched_by_torchrun() and not init_from_env("cpu") and not is_distributed()
    assert (rank(), world_size(), is_main()) == (0, 1, True)
    model = _model()
    assert wrap_model(model, torch.device("cpu")) is model
    loss = torch.tensor(0.25)
    assert global_mean(loss, 7) == (loss.item(), 7)
    assert any_rank(True) and not any_rank(False) and broadcast_from_main(1.5) == 1.5
    batches = [np.array([i]) for i in range(5)]
    assert shard_batches(batches) == batches
    with sync_gradients(model, sync=False):
        pass


def test_bad_torchrun_environment_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ConfigError, match="WORLD_SIZE must be an integer"):
        init_from_env("cpu")
    assert not is_distributed()


def test_recipe_is_refused_in_a_process_group(tmp_path, monkeypatch, capsys) -> None:
    """A one-process group stands in for torchrun; the CLI leaves it again afterwards."""
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    (tmp_path / "d.csv").write_text(
        "sequence,label\n" + "".join(f"{AMINO_ACIDS[i:] * 2},{i % 2}\n" for i in range(12))
    )
    assert (
        main(
            [
                "train",
                str(tmp_path / "d.csv"),
                "--recipe",
                "default",
                "--out",
                str(tmp_path / "r.pt"),
                "--device",
                "cpu",
            ]
        )
        == 2
    )
    assert "--recipe trains in a single process" in capsys.readouterr().err
    assert not is_distributed() and not (tmp_path / "r.pt").exists()


def test_torchrun_cli_writes_one_checkpoint_that_predicts(tmp_path) -> None:
    df = pd.read_csv(ROOT / "assets/data/deepsol.csv")
    df[df["sequence"].str.len() <= 120].sample(60, random_state=2).to_csv(tmp_path / "tiny.csv", index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    for key in TORCHRUN_ENV:
        env.pop(key, None)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={WORLD}",
            "-m",
            "protlab",
            "train",
            "tiny.csv",
            "--epochs",
            "2",
            "--embed-dim",
            "8",
            "--hidden-dim",
            "8",
            "--batch-size",
            "8",
            "--device",
            "cpu",
            "--out",
            "model.pt",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "tiny.csv"]  # one file, no leftovers
    for line in ("Split (", "epoch   1/2", "epoch   2/2", "Test:", "Saved "):
        assert out.stdout.count(line) == 1, (line, out.stdout)  # rank 0 alone prints
    checkpoint = load_checkpoint(tmp_path / "model.pt")
    assert len(checkpoint.history) == 2
    probs = Predictor.from_checkpoint(tmp_path / "model.pt").predict(df["sequence"].head(5).tolist())
    assert probs.shape == (5,) and np.all((probs >= 0) & (probs <= 1))


def test_leaving_the_group_frees_the_ddp_wrappers_that_cycles_keep_alive() -> None:
    # A DistributedDataParallel wrapper sits in a reference cycle after training returns; alive at interpreter
    # exit, it still holds the process group, and gloo's threads can then abort the process (SIGABRT).
    code = (
        "import gc, os, torch\n"
        "from torch.nn.parallel import DistributedDataParallel as DDP\n"
        "from protlab.training.distributed import cleanup, init_from_env, is_distributed, wrap_model\n"
        "os.environ.update(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0', MASTER_ADDR='127.0.0.1',\n"
        f"                  MASTER_PORT='{_free_port()}')\n"
        "gc.disable()\n"
        "assert init_from_env('cpu')\n"
        "def train():\n"
        "    model = wrap_model(torch.nn.Linear(3, 2), torch.device('cpu'))\n"
        "    model(torch.randn(4, 3)).sum().backward()\n"
        "train()\n"
        "alive = lambda: sum(isinstance(o, DDP) for o in gc.get_objects())\n"
        "assert alive() == 1, alive()\n"
        "cleanup(wait_for_others=True)\n"
        "assert alive() == 0 and not is_distributed(), alive()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
