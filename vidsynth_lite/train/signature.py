"""A run's signature: everything a checkpoint must agree with before a run resumes from it.

Resuming is only exact if the resumed call asks for the very run that was saved. The signature records, at the
start of a run: the caller's ``config``; for every part its module class, every parameter's and buffer's shape,
the optimizer's class and hyperparameters (learning rate, betas, weight decay, ... of every group), the
scheduler's class, ``grad_clip``, ``ema_decay`` and ``ema_start``; a frozen part's fingerprint (SHA-256 of its
weights); the batches' description (batch size, seed, dataset length, for :class:`StepBatches`); and ``bf16``.
:func:`differences` lists every field that differs, so that the loop can refuse with one message naming them.
"""

from __future__ import annotations

import json
from typing import Any

import torch

from vidsynth_lite.io.checkpoint import tensor_digest
from vidsynth_lite.train.parts import Part


def fingerprint(module: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer (names, dtypes, shapes, values): equal iff the weights are equal."""
    return tensor_digest(module.state_dict())


def _plain(value: Any) -> Any:
    """JSON-comparable form of a hyperparameter (tensors become numbers, tuples lists, the rest its repr)."""
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _optimizer(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    groups = []
    for group in optimizer.param_groups:
        hyper = {k: _plain(v) for k, v in group.items() if k != "params"}
        if "initial_lr" in hyper:            # a scheduler moves "lr"; what was asked for is "initial_lr"
            hyper["lr"] = hyper["initial_lr"]
        groups.append({"tensors": len(group["params"]), **hyper})
    return {"class": type(optimizer).__name__, "groups": groups}


def part_signature(part: Part) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "module": type(part.model).__name__,
        "shapes": {k: list(v.shape) for k, v in part.model.state_dict().items()},
        "frozen": part.frozen,
    }
    if part.frozen:
        entry["fingerprint"] = fingerprint(part.model)
        return entry
    entry.update(optimizer=_optimizer(part.optimizer),
                 scheduler=type(part.scheduler).__name__ if part.scheduler is not None else None,
                 grad_clip=part.grad_clip, ema_decay=part.ema_decay,
                 ema_start=part.ema_start if part.ema_decay is not None else None)
    return entry


def run_signature(parts: dict[str, Part], *, config: dict | None, batches: Any, bf16: bool) -> dict[str, Any]:
    """The signature of a run about to start (see the module docstring)."""
    describe = getattr(batches, "describe", None)
    return {
        "config": json.loads(json.dumps(config or {}, sort_keys=True, default=str)),
        "parts": {name: part_signature(part) for name, part in parts.items()},
        "batches": describe() if callable(describe) else None,
        "bf16": bool(bf16),
    }


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 5] + " ...]"


def _diff(key: str, old: Any, new: Any, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        if set(old) != set(new):             # other parts, other parameter names: name the keys once
            out.append(f"{key}: {_short(sorted(old))} in the checkpoint, {_short(sorted(new))} now")
        for k in old:
            if k in new:
                _diff(f"{key}.{k}" if key else str(k), old[k], new[k], out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new) and any(
            isinstance(v, dict) for v in old):
        for i, (a, b) in enumerate(zip(old, new)):
            _diff(f"{key}[{i}]", a, b, out)
    elif old != new:
        out.append(f"{key}: another frozen network (its weights differ)" if key.endswith("fingerprint")
                   else f"{key}: {_short(old)} in the checkpoint, {_short(new)} now")


def differences(saved: dict[str, Any], requested: dict[str, Any]) -> list[str]:
    """One line per field that differs: ``"config.lr: 0.003 in the checkpoint, 0.0005 now"``; parts, parameters
    or config fields present on one side only are named once at the level where they differ."""
    out: list[str] = []
    _diff("", saved, requested, out)
    return out
