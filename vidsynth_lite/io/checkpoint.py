"""Checkpoints in safe formats, written atomically.

* Weights: one safetensors file whose metadata carries the format tag, the config (JSON), the step and a
  SHA-256 of the tensors (names, dtypes, shapes, bytes), verified at load, so silent corruption is caught. It
  can be inspected, shared and loaded without executing any code.
* Training state (optimizer, scheduler, RNG states): ``torch.save`` of plain tensors and containers, loaded
  back with ``torch.load(weights_only=True)`` -- which refuses pickled code.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from vidsynth_lite.io.atomic import atomic_path

WEIGHTS_FORMAT = "vidsynth-lite/weights-v1"


class CheckpointError(ValueError):
    """A file that is missing or is not a checkpoint of this package."""


def _state_dict(module_or_state: torch.nn.Module | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    state = module_or_state.state_dict() if isinstance(module_or_state, torch.nn.Module) else module_or_state
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TypeError("expected an nn.Module or a dict of tensors")
    # safetensors refuses tensors that share memory: store an independent, contiguous CPU copy of each.
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def tensor_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes (in key order): equal iff the tensors are."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().to("cpu").contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_weights(path: str | os.PathLike, module_or_state: torch.nn.Module | dict[str, torch.Tensor],
                 config: dict[str, Any] | None = None, step: int = 0,
                 extra: dict[str, Any] | None = None) -> Path:
    """Save weights + their config and step to a safetensors file, atomically (temp file, fsync, rename)."""
    from safetensors.torch import save_file

    state = _state_dict(module_or_state)
    metadata = {
        "format": WEIGHTS_FORMAT,
        "config": json.dumps(config or {}, sort_keys=True, default=str),
        "step": str(int(step)),
        "extra": json.dumps(extra or {}, sort_keys=True, default=str),
        "sha256": tensor_digest(state),
    }
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(state, str(tmp), metadata=metadata)
    return Path(path)


def load_weights(path: str | os.PathLike, device: str | torch.device = "cpu"
                 ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load a file written by :func:`save_weights`: ``(state_dict, {"config", "step", "extra"})``.

    Raises :class:`CheckpointError` (naming the file) for a missing file, a file that is not safetensors, a
    safetensors file without this package's format tag, damaged metadata, or tensors that do not match their
    recorded SHA-256 (files written before the checksum existed load without that check).
    """
    from safetensors import safe_open

    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {str(p)!r}")
    try:
        with safe_open(str(p), framework="pt", device=str(device)) as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - safe_open is no dict
    except Exception as error:
        raise CheckpointError(f"{str(p)!r} is not a checkpoint: it is not a safetensors file "
                              f"({type(error).__name__}: {error}); expected a file written by "
                              "vidsynth_lite.io.save_weights") from error
    if metadata.get("format") != WEIGHTS_FORMAT:
        raise CheckpointError(f"{str(p)!r} is a safetensors file but not a vidsynth-lite checkpoint (metadata "
                              f"'format' is {metadata.get('format')!r}, expected {WEIGHTS_FORMAT!r})")
    try:
        meta = {"config": json.loads(metadata["config"]), "step": int(metadata["step"]),
                "extra": json.loads(metadata.get("extra", "{}"))}
    except (KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"{str(p)!r} has damaged metadata ({type(error).__name__}: {error}); expected the keys "
                              "'config' (JSON), 'step' (an integer) and 'extra' (JSON) written by save_weights"
                              ) from error
    if "sha256" in metadata and tensor_digest(state) != metadata["sha256"]:
        raise CheckpointError(f"{str(p)!r}: the tensors do not match the SHA-256 recorded when the file was written; "
                              "the file is corrupted")
    return state, meta


def save_state(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Save training state (plain tensors, numbers, lists, dicts) atomically with ``torch.save``."""
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_state(path: str | os.PathLike) -> dict[str, Any]:
    """Load a file written by :func:`save_state` with ``weights_only=True`` (no code is unpickled)."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"training state not found: {str(p)!r}")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"{str(p)!r} is not a training-state file readable with weights_only=True "
                              f"({type(error).__name__}: {error})") from error
    if not isinstance(state, dict):
        raise CheckpointError(f"{str(p)!r} holds a {type(state).__name__}, expected a dict of training state")
    return state
