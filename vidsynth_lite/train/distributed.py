"""DDP from the same training loop: ``torchrun --nproc_per_node N script.py`` is all it takes.

gloo on CPU, nccl on GPU. Every process computes ``batches(step)`` (the global batch) and keeps its own
contiguous share, so N processes see exactly the examples one process would, and DDP's gradient averaging
gives the gradient of the mean loss over the global batch.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """``(rank, world_size)``; initialises the process group when launched by torchrun."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def local_device(default: torch.device) -> torch.device:
    """Under DDP on CUDA each process uses its own GPU."""
    if default.type == "cuda" and dist.is_initialized():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return default


def shard(batch: Any, rank: int, size: int) -> Any:
    """This process's contiguous share of a global batch (tensors and dicts of tensors, split on dim 0)."""
    if size == 1:
        return batch
    if isinstance(batch, torch.Tensor):
        if batch.shape[0] % size:
            raise ValueError(f"global batch of {batch.shape[0]} does not split evenly over {size} processes")
        n = batch.shape[0] // size
        return batch[rank * n:(rank + 1) * n]
    if isinstance(batch, dict):
        return {k: shard(v, rank, size) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(shard(v, rank, size) for v in batch)
    return batch


def mean_over_processes(value: float, dev: torch.device) -> float:
    if not dist.is_initialized():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=dev)
    dist.all_reduce(t)
    return float(t.item()) / dist.get_world_size()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()
