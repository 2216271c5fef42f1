"""The one training loop every method uses: small, explicit, resumable.

One step: take the batch for this step, compute the loss, guard against NaN/inf, back-propagate, clip the
gradient norm, step the optimiser and scheduler, update the EMA, log, checkpoint. Interrupt it any time
(Ctrl-C, a killed process, a lost GPU node): calling :func:`fit` again with the same ``run_dir`` continues from the
last checkpoint and ends with exactly the weights an uninterrupted run has (on CPU, bit for bit).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vidsynth_lite import runtime
from vidsynth_lite.train import distributed
from vidsynth_lite.train.ema import EMA
from vidsynth_lite.train.state import CheckpointStore


class NonFiniteLossError(FloatingPointError):
    """The loss (or one of its logged terms) became NaN or inf; the message names the step and the term."""


@dataclass
class FitResult:
    model: torch.nn.Module
    step: int                           # steps completed
    history: list[dict[str, float]]     # one record per step run in this call
    run_dir: Path
    resumed_from: int | None = None     # the checkpoint step this call started from, if any
    ema: EMA | None = None
    seconds: float = 0.0                # wall time of this call
    extras: dict[str, Any] = field(default_factory=dict)


def to_device(batch: Any, dev: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(dev, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, dev) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, dev) for v in batch)
    return batch


def _split_loss(out: Any) -> tuple[torch.Tensor, dict[str, float]]:
    if isinstance(out, tuple):
        loss, logs = out
    else:
        loss, logs = out, {}
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        raise TypeError("loss_fn must return a scalar tensor, or (scalar tensor, dict of floats)")
    return loss, {k: float(v) for k, v in logs.items()}


def _append_log(path: Path, record: dict[str, float]) -> None:
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def _truncate_log(path: Path, step: int) -> None:
    """Keep only the log records of steps <= ``step`` (a resumed run rewrites what followed)."""
    if path.is_file():
        kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
        path.write_text("".join(line + "\n" for line in kept))


def fit(model: torch.nn.Module, loss_fn: Callable, batches: Callable[[int], Any], *, steps: int,
        optimizer: torch.optim.Optimizer, run_dir: str | Path, scheduler=None, grad_clip: float | None = None,
        ema_decay: float | None = None, ckpt_every: int = 100, log_every: int = 10,
        config: dict | None = None, device: torch.device | None = None, bf16: bool = False,
        desc: str = "train", progress: bool = True,
        on_step: Callable[[int, dict], None] | None = None) -> FitResult:
    """Train ``model`` for ``steps`` optimiser steps in total, resuming from ``run_dir`` if it has a checkpoint.

    Args:
        loss_fn: ``loss_fn(model, batch) -> loss`` or ``(loss, {"term": value})``.
        batches: ``batches(step) -> batch``, deterministic in ``step`` (see :class:`StepBatches`).
        steps: total number of steps of the run (not of this call).
        grad_clip: clip the global gradient norm to this value.
        ema_decay: keep an exponential moving average of the weights with this decay.
        ckpt_every / log_every: checkpoint / log period in steps (the last step is always both).
        on_step: called as ``on_step(step, record)`` after every step (e.g. to stop early).
    """
    import time

    from tqdm.auto import tqdm

    if steps < 1 or ckpt_every < 1 or log_every < 1:
        raise ValueError(f"expected steps, ckpt_every, log_every >= 1; got {steps}, {ckpt_every}, {log_every}")
    rank, size = distributed.world()
    dev = distributed.local_device(device or runtime.device())
    model.to(dev)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "metrics.jsonl"
    store = CheckpointStore(run_dir)
    ema = EMA(model, ema_decay) if ema_decay else None

    start, resumed_from = 0, None
    latest = store.latest()
    if latest is not None:
        start = resumed_from = store.load(latest, model, optimizer, scheduler, ema)
        if rank == 0:
            _truncate_log(log_path, start)
    elif rank == 0 and log_path.exists():
        log_path.unlink()  # a fresh run starts a fresh log
    distributed.barrier()

    net = model
    if size > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

    history: list[dict[str, float]] = []
    began = time.perf_counter()
    bar = tqdm(total=steps, initial=start, desc=desc, disable=not progress or rank != 0, leave=True)
    try:
        for step in range(start, steps):
            batch = to_device(distributed.shard(batches(step), rank, size), dev)
            net.train()
            with runtime.autocast(dev, bf16):
                loss, logs = _split_loss(loss_fn(net, batch))
            bad = [k for k, v in {"loss": float(loss.detach()), **logs}.items() if not math.isfinite(v)]
            if bad:
                raise NonFiniteLossError(f"non-finite value at step {step + 1}: " + ", ".join(
                    f"{k} = {float(loss.detach()) if k == 'loss' else logs[k]}" for k in bad)
                    + f"; the last good checkpoint is in {store.root}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            record = {"step": step + 1, "loss": distributed.mean_over_processes(float(loss.detach()), dev), **logs}
            if grad_clip is not None:
                record["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip))
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            record["lr"] = optimizer.param_groups[0]["lr"]
            if ema is not None:
                ema.update(model)
            done = step + 1
            history.append(record)
            if rank == 0 and (done % log_every == 0 or done == steps):
                _append_log(log_path, record)
            if done % ckpt_every == 0 or done == steps:
                if rank == 0:
                    store.save(done, model, optimizer, scheduler, ema, config=config)
                distributed.barrier()
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.4f}")
            if on_step is not None:
                on_step(done, record)
    finally:
        bar.close()
    return FitResult(model=model, step=max(start, steps), history=history, run_dir=run_dir,
                     resumed_from=resumed_from, ema=ema, seconds=time.perf_counter() - began)


def read_log(run_dir: str | Path) -> list[dict[str, float]]:
    """The logged records of a run (``run_dir/metrics.jsonl``)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]
