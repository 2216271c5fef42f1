"""Training checkpoints: a folder per saved step, made complete before it becomes visible.

Layout of ``run_dir/checkpoints/``::

    step_00000100/model.safetensors   weights + config + step (safetensors)
    step_00000100/ema.safetensors     EMA weights, when kept
    step_00000100/state.pt            optimizer, scheduler, RNG states (torch.load(weights_only=True)-safe)
    latest.json                       {"step": 100, "dir": "step_00000100"}, replaced atomically

A step folder is written under a temporary name and renamed when complete; ``latest.json`` is replaced only
after that. A crash at any moment therefore leaves the previous checkpoint intact and loadable.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidsynth_lite.io import atomic as atomic_io
from vidsynth_lite.io.checkpoint import CheckpointError, load_state, load_weights, save_state, save_weights


def rng_state() -> dict[str, Any]:
    """Every random generator's state, as tensors and plain numbers (weights_only-safe)."""
    _, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": int(version), "internal": torch.tensor(internal, dtype=torch.int64),
                   "gauss": gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["internal"].tolist()), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class CheckpointStore:
    """Save and restore the complete training state of one run."""

    def __init__(self, run_dir: str | Path, keep: int = 2):
        self.root = Path(run_dir) / "checkpoints"
        self.keep = keep

    def latest(self) -> Path | None:
        pointer = self.root / "latest.json"
        if not pointer.is_file():
            return None
        try:
            entry = json.loads(pointer.read_text())
        except json.JSONDecodeError as error:
            raise CheckpointError(f"{pointer} is not valid JSON ({error}); delete it to start over") from error
        folder = self.root / entry["dir"]
        if not (folder / "model.safetensors").is_file():
            raise CheckpointError(f"{pointer} points at {folder}, which holds no model.safetensors")
        return folder

    def save(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler=None,
             ema=None, config: dict | None = None) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"step_{step:08d}"
        final = self.root / name
        tmp = self.root / f".tmp-{name}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        save_weights(tmp / "model.safetensors", model, config=config, step=step)
        if ema is not None:
            save_weights(tmp / "ema.safetensors", ema.state_dict(), config=config, step=step)
        save_state(tmp / "state.pt", {
            "step": step,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "rng": rng_state(),
        })
        atomic_io.fsync_dir(tmp)
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        atomic_io.fsync_dir(self.root)
        atomic_io.write_text(self.root / "latest.json", json.dumps({"step": step, "dir": name}))
        self._prune(keep_name=name)
        return final

    def _prune(self, keep_name: str) -> None:
        folders = sorted(p for p in self.root.glob("step_*") if p.is_dir())
        for old in folders[:-self.keep]:
            if old.name != keep_name:
                shutil.rmtree(old, ignore_errors=True)
        for stale in self.root.glob(".tmp-step_*"):
            shutil.rmtree(stale, ignore_errors=True)

    def load(self, folder: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler=None,
             ema=None) -> int:
        """Restore everything saved in ``folder``; returns the step to continue from."""
        weights, meta = load_weights(folder / "model.safetensors")
        model.load_state_dict(weights)
        state = load_state(folder / "state.pt")
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            if state["scheduler"] is None:
                raise CheckpointError(f"{folder} was saved without a scheduler, but one was given")
            scheduler.load_state_dict(state["scheduler"])
        if ema is not None:
            ema_path = folder / "ema.safetensors"
            if not ema_path.is_file():
                raise CheckpointError(f"{folder} holds no EMA weights, but ema_decay was given")
            ema.load_state_dict(load_weights(ema_path)[0])
        set_rng_state(state["rng"])
        return int(meta["step"])
