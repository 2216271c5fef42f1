"""Data-parallel training from the same loop: ``torchrun --nproc_per_node N script.py`` is all it takes.

gloo on CPU, nccl on GPU. Every process computes ``batches(step)`` (the global batch) and keeps its own
contiguous share, so N processes see exactly the examples one process would; every ``state.update`` averages
the part's gradients over the processes (one all-reduce), which gives the gradient of the mean loss over the
global batch. Parameters and buffers start from rank 0's. This is DDP's arithmetic without its wrapper, so a
step function may call a part several times before updating it (D on real and on fake clips); what it gives
up is DDP's overlap of communication with the backward pass.
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


def mean_over_processes(values: torch.Tensor) -> torch.Tensor:
    """The mean of a tensor over all processes (itself without DDP)."""
    if not dist.is_initialized():
        return values
    total = values.clone()
    dist.all_reduce(total)
    return total / dist.get_world_size()


def average_gradients(params: list[torch.Tensor]) -> None:
    """Replace every parameter's gradient by its mean over the processes (one all-reduce for all of them).

    This is what DDP's reducer does, without DDP's rule of one forward per backward: a step function may call a
    part several times (D on real and on fake clips) before it updates it. A parameter without a gradient on
    this process contributes zeros, so every process joins the same all-reduce.
    """
    if not dist.is_initialized() or not params:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for p, g in zip(params, grads):
        p.grad = flat[offset:offset + g.numel()].view_as(g).clone()
        offset += g.numel()


def broadcast_from_first(module: torch.nn.Module) -> None:
    """Give every process rank 0's parameters and buffers (what DDP does when it wraps a module)."""
    if not dist.is_initialized():
        return
    with torch.no_grad():
        for value in module.state_dict().values():
            dist.broadcast(value, src=0)


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()
