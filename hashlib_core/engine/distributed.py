"""DistributedDataParallel helpers: the engine runs unchanged under ``torchrun``.

Launched with ``torchrun --nproc-per-node N -m hashlib_core.engine ...`` (``WORLD_SIZE``
> 1 in the environment), the engine initialises a process group (``nccl`` on CUDA,
``gloo`` on CPU), wraps the method in ``DistributedDataParallel``, gives every rank a
disjoint share of each epoch's items (a ``DistributedSampler`` over the epoch's order,
which is drawn identically on every rank from the shared seed), encodes each split in
shards gathered on every rank, and lets only rank 0 write checkpoints and draw progress
bars.

``batch_size`` is the global batch: each rank trains on ``batch_size / world_size`` items
per step (:func:`hashlib_core.engine.train.per_rank_batch`), so a preset's learning rate
holds for any number of GPUs. Backend: ``nccl`` on CUDA, ``gloo`` on CPU, or
``$HASHLIB_DIST_BACKEND`` (``gloo`` lets two ranks share one GPU, which NCCL refuses:
the two-process check of ``benchmarks/gpu_check.sh`` on a one-GPU box).

The runner runs a cell on several GPUs with ``--gpus-per-cell N``, which goes through
:func:`hashlib_core.engine.torchrun.run_torchrun`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Rank, world size and local rank of this process (1 process: 0, 1, 0)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_info() -> DistInfo:
    """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` as set by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(
        rank=int(os.environ.get("RANK", "0")),
        world_size=world,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )


def init(device: torch.device) -> DistInfo:
    """Initialise the default process group when launched with WORLD_SIZE > 1."""
    info = env_info()
    if not info.enabled:
        return info
    if not dist.is_initialized():
        backend = os.environ.get("HASHLIB_DIST_BACKEND") or (
            "nccl" if device.type == "cuda" else "gloo")
        dist.init_process_group(backend=backend)
    return info


def barrier(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()


def all_gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """Every rank's ``obj``, in rank order (a one-item list without distribution)."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sync_buffers(module: torch.nn.Module, info: DistInfo) -> None:
    """Copy rank 0's buffers (BN statistics, memory banks, ...) to every rank."""
    if not info.enabled:
        return
    for buf in module.buffers():
        dist.broadcast(buf.data, src=0)


def merge_bank_rows(module: torch.nn.Module, names: tuple[str, ...], rows: list[int],
                    info: DistInfo) -> None:
    """Make the memory banks ``names`` of ``module`` whole on every rank.

    Each rank wrote only the ``rows`` (training indices) of its share of the epoch; the
    rows and their values are gathered from every rank and written back in rank order,
    so every rank ends with the same bank (an item that the sampler's padding gave to two
    ranks takes the higher rank's value, on every rank alike). The shares must have the
    same length on every rank, as a ``DistributedSampler`` gives them.
    """
    if not info.enabled or not names:
        return
    buffers = dict(module.named_buffers())
    for name in names:
        bank = buffers[name]
        idx = torch.as_tensor(rows, dtype=torch.int64, device=bank.device)
        idx_all = [torch.empty_like(idx) for _ in range(info.world_size)]
        dist.all_gather(idx_all, idx)
        vals = bank[idx].contiguous()
        vals_all = [torch.empty_like(vals) for _ in range(info.world_size)]
        dist.all_gather(vals_all, vals)
        for i, v in zip(idx_all, vals_all):
            bank[i] = v


def shard(n: int, info: DistInfo) -> range:
    """This rank's contiguous share of ``range(n)`` (sizes differ by at most one)."""
    per, extra = divmod(n, info.world_size)
    start = info.rank * per + min(info.rank, extra)
    return range(start, start + per + (1 if info.rank < extra else 0))


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()
