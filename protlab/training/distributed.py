"""Several processes, one model: DistributedDataParallel under PyTorch's launcher, torchrun.

`torchrun --nproc_per_node=N -m protlab train ...` starts N copies of the program and tells each one its
place in environment variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Every copy
("rank") builds the same model, computes the same batch order from the seed and trains on its own share of
the batches; DistributedDataParallel averages the gradients over the ranks after every backward pass, so
the weights stay identical everywhere. The backend is nccl on CUDA GPUs (rank r on cuda:LOCAL_RANK) and
gloo on CPUs. Rank 0 alone reports progress and writes files.

Without torchrun (no RANK/WORLD_SIZE in the environment) every helper here is a no-op: one process, as before.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
from collections.abc import Iterator, Sequence
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from protlab.errors import ConfigError
from protlab.training.device import resolve_device

__all__ = [
    "any_rank",
    "broadcast_from_main",
    "cleanup",
    "distributed_session",
    "global_mean",
    "init_from_env",
    "is_distributed",
    "is_main",
    "launched_by_torchrun",
    "local_device",
    "rank",
    "shard_batches",
    "sync_gradients",
    "world_size",
    "wrap_model",
]

T = TypeVar("T")


def launched_by_torchrun() -> bool:
    """True when the environment describes a process group (torchrun sets RANK and WORLD_SIZE)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def _env_int(name: str, default: int | None = None) -> int:
    """An integer environment variable set by torchrun; ConfigError when it is not an integer."""
    raw = os.environ.get(name)
    if raw is None and default is not None:
        return default
    try:
        return int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(
            f"The environment variable {name} must be an integer (torchrun sets it); got {raw!r}."
        ) from None


def init_from_env(device: str = "auto") -> bool:
    """Join the process group torchrun describes (nccl on CUDA, gloo on CPU);
    False, doing nothing, without it.
    """
    if is_distributed():
        return True
    if not launched_by_torchrun():
        return False
    _env_int("RANK"), _env_int("WORLD_SIZE")  # clear messages before torch reads them
    local_rank = _env_int("LOCAL_RANK", 0)
    if resolve_device(device).type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"LOCAL_RANK is {local_rank} but this machine has {torch.cuda.device_count()} "
                "CUDA GPU(s); start at most one process per GPU (--nproc_per_node)."
            )
        torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
    else:
        dist.init_process_group("gloo")
    return True


def is_distributed() -> bool:
    """True inside an initialised process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of processes training together (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True on the one process that reports progress and writes files (rank 0, or the only process)."""
    return rank() == 0


def local_device(device: torch.device) -> torch.device:
    """This rank's device: cuda:LOCAL_RANK for a CUDA run under torchrun, else `device` unchanged."""
    if is_distributed() and device.type == "cuda":
        return torch.device("cuda", _env_int("LOCAL_RANK", 0))
    return device


def shard_batches(batches: Sequence[T], rank_: int | None = None, world: int | None = None) -> list[T]:
    """This rank's share of a batch list every rank computed alike: batches rank, rank + world, ...

    The list is first padded by wrapping around to a multiple of `world`, so every rank gets the same number
    of batches (and so takes part in every gradient all-reduce); step k trains on global batches
    k*world .. k*world + world - 1, one per rank.
    """
    rank_ = rank() if rank_ is None else rank_
    world = world_size() if world is None else world
    if world == 1 or not batches:
        return list(batches)
    n = len(batches)
    padded = [batches[i % n] for i in range(math.ceil(n / world) * world)]
    return padded[rank_::world]


class _DDP(DistributedDataParallel):
    """DistributedDataParallel that shows the wrapped model's `uses_features` flag to model_forward."""

    @property
    def uses_features(self) -> bool:
        """Whether the wrapped model takes global features as well as tokens."""
        return bool(getattr(self.module, "uses_features", False))


def wrap_model(model: nn.Module, device: torch.device) -> nn.Module:
    """Wrap in DistributedDataParallel when distributed (weights broadcast from rank 0);
    else the model itself.
    """
    if not is_distributed():
        return model
    return _DDP(model, device_ids=[device.index] if device.type == "cuda" else None)


def sync_gradients(model: nn.Module, sync: bool) -> contextlib.AbstractContextManager:
    """Context for one forward + backward: skip DDP's all-reduce when `sync` is False
    (mid accumulation group).
    """
    if sync or not isinstance(model, DistributedDataParallel):
        return contextlib.nullcontext()
    return model.no_sync()


def _collective_device() -> torch.device:
    """Where small tensors for collectives must live: the current GPU for nccl, the CPU for gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def global_mean(loss: torch.Tensor, rows: int) -> tuple[float, int]:
    """(mean loss per row, rows) over every rank's current batch; (loss, rows) of this batch when alone."""
    if not is_distributed():
        return loss.item(), rows
    count = torch.tensor(float(rows), dtype=torch.float64, device=loss.device)
    totals = torch.stack([loss.detach().double() * rows, count])  # (2,) loss sum and row count
    dist.all_reduce(totals)
    loss_sum, total_rows = totals.tolist()
    return loss_sum / total_rows, int(total_rows)


def any_rank(flag: bool) -> bool:
    """True on every rank when `flag` is True on at least one of them."""
    if not is_distributed():
        return flag
    value = torch.tensor([float(flag)], device=_collective_device())  # (1,)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def broadcast_from_main(value: float) -> float:
    """Rank 0's `value` on every rank, so decisions taken from it (best epoch, early stop, lr) agree."""
    if not is_distributed():
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=_collective_device())  # (1,)
    dist.broadcast(tensor, src=0)
    return float(tensor.item())


def cleanup(*, wait_for_others: bool = False) -> None:
    """Leave the process group (a no-op when there is none).

    wait_for_others (only where every rank gets, never after an error): first wait until all ranks are
    done, so no rank closes its connections while another still talks. The garbage collection frees the
    DistributedDataParallel reducers that reference cycles keep alive, while the interpreter is whole: a
    reducer still holding the group at interpreter exit can abort the process (SIGABRT in gloo's threads).
    """
    if is_distributed():
        if wait_for_others:
            dist.barrier()
        gc.collect()
        dist.destroy_process_group()


@contextlib.contextmanager
def distributed_session(device: str = "auto") -> Iterator[bool]:
    """Join torchrun's process group for the block (if launched by torchrun); other ranks' stdout is silenced.

    Yields True when distributed. Without torchrun nothing changes. A group joined earlier is left open.
    """
    owned = not is_distributed() and init_from_env(device)
    finished = False
    try:
        if is_main():
            yield is_distributed()
        else:
            with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
                yield True
        finished = True
    finally:
        if owned:
            cleanup(wait_for_others=finished)
