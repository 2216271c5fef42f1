"""Training checkpoints: a folder per saved step, made complete (and checksummed) before it becomes visible.

Layout of ``run_dir/checkpoints/``::

    step_00000100/<part>.safetensors      weights of each trained part (+ config and step in its metadata)
    step_00000100/<part>.ema.safetensors  the part's weight EMA, when it keeps one
    step_00000100/state.pt                optimizers, schedulers, RNG states, the step and the run's signature
                                          (torch.load(weights_only=True)-safe)
    step_00000100/manifest.json           size and SHA-256 of every file above, verified at load
    latest.json                           {"step": 100, "dir": "step_00000100"}, replaced atomically

A step folder is written under a temporary name and renamed when complete; ``latest.json`` is replaced only
after that. A crash at any moment therefore leaves the previous checkpoint intact and loadable, and a file that
changes afterwards (a bad disk, a stray edit) is caught by its checksum instead of being trained on.

A frozen part's weights are not stored: its fingerprint is part of the signature, so resuming with another
frozen network is refused (see :mod:`vidsynth_lite.train.signature`).
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
from vidsynth_lite.train.ema import EMA
from vidsynth_lite.train.parts import Part

STATE_FORMAT = "vidsynth-lite/train-state-v2"


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
    """Save and restore the complete training state of one run (every part, optimizer, scheduler, EMA, RNG)."""

    def __init__(self, run_dir: str | Path, keep: int = 2):
        self.root = Path(run_dir) / "checkpoints"
        self.keep = keep

    def latest(self) -> Path | None:
        """The newest complete checkpoint folder, or ``None`` for a run that has none yet."""
        pointer = self.root / "latest.json"
        if not pointer.is_file():
            return None
        try:
            entry = json.loads(pointer.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CheckpointError(f"{pointer} is not valid JSON ({error}); delete it to resume from the newest "
                                  f"step folder beside it, or delete {self.root.parent} to start afresh") from error
        if not isinstance(entry, dict) or not isinstance(entry.get("dir"), str) or "/" in entry["dir"]:
            raise CheckpointError(f"{pointer} must hold {{\"step\": N, \"dir\": \"step_...\"}}, got {entry!r}; "
                                  f"delete it to resume from the newest step folder, or delete "
                                  f"{self.root.parent} to start afresh")
        folder = self.root / entry["dir"]
        if not (folder / "state.pt").is_file():
            raise CheckpointError(f"{pointer} points at {folder}, which holds no state.pt")
        return folder

    def save(self, step: int, parts: dict[str, Part], emas: dict[str, EMA], signature: dict[str, Any],
             config: dict | None = None) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"step_{step:08d}"
        final = self.root / name
        tmp = self.root / f".tmp-{name}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for part_name, part in parts.items():
            if part.frozen:
                continue
            save_weights(tmp / f"{part_name}.safetensors", part.model, config=config, step=step)
            if part_name in emas:
                save_weights(tmp / f"{part_name}.ema.safetensors", emas[part_name].state_dict(), config=config,
                             step=step)
        trained = {n: p for n, p in parts.items() if not p.frozen}
        save_state(tmp / "state.pt", {
            "format": STATE_FORMAT,
            "step": step,
            "optimizers": {n: p.optimizer.state_dict() for n, p in trained.items()},
            "schedulers": {n: p.scheduler.state_dict() if p.scheduler is not None else None
                           for n, p in trained.items()},
            "rng": rng_state(),
            "signature": json.dumps(signature, sort_keys=True),
        })
        files = {p.name: {"bytes": p.stat().st_size, "sha256": atomic_io.file_sha256(p)} for p in sorted(tmp.iterdir())}
        atomic_io.write_text(tmp / "manifest.json", json.dumps({"step": step, "files": files}, indent=1))
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

    def verify(self, folder: Path) -> None:
        """Check every file of a checkpoint folder against its manifest (size, then SHA-256)."""
        manifest_path = folder / "manifest.json"
        advice = (f"delete {folder} to resume from the previous checkpoint (if one is left), or delete "
                  f"{self.root.parent} to start afresh")
        try:
            files = json.loads(manifest_path.read_text())["files"]
        except FileNotFoundError as error:
            raise CheckpointError(f"{folder} has no manifest.json (it was not written by this version of "
                                  f"vidsynth_lite, or was damaged); {advice}") from error
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
            raise CheckpointError(f"{manifest_path} is damaged ({type(error).__name__}: {error}); {advice}") from error
        for file_name, entry in files.items():
            path = folder / file_name
            if not path.is_file():
                raise CheckpointError(f"{path} is missing from the checkpoint; {advice}")
            if path.stat().st_size != entry["bytes"]:
                raise CheckpointError(f"{path} has {path.stat().st_size} bytes, the checkpoint recorded "
                                      f"{entry['bytes']}: the file is truncated or was replaced; {advice}")
            if atomic_io.file_sha256(path) != entry["sha256"]:
                raise CheckpointError(f"{path} does not match its recorded SHA-256: the file changed after it was "
                                      f"written (disk corruption or an edit); {advice}")

    def read_state(self, folder: Path) -> dict[str, Any]:
        """The verified ``state.pt`` of a checkpoint folder, with its signature decoded."""
        self.verify(folder)
        path = folder / "state.pt"
        state = load_state(path)
        if state.get("format") != STATE_FORMAT:
            raise CheckpointError(f"{path} is a training state of another format ({state.get('format')!r}, "
                                  f"expected {STATE_FORMAT!r}); delete {self.root.parent} to start afresh")
        missing = [k for k in ("step", "optimizers", "schedulers", "rng", "signature") if k not in state]
        if missing:
            raise CheckpointError(f"{path} lacks {missing}; it is damaged: delete {folder} to resume from the "
                                  f"previous checkpoint, or {self.root.parent} to start afresh")
        state["signature"] = json.loads(state["signature"])
        return state

    def load(self, folder: Path, parts: dict[str, Part], emas: dict[str, EMA],
             state: dict[str, Any] | None = None) -> int:
        """Restore everything saved in ``folder`` into ``parts`` and ``emas``; returns the step to continue from.

        Callers compare the signature first (:func:`vidsynth_lite.train.signature.differences`), so that a
        checkpoint of another configuration is refused with a message naming the difference.
        """
        state = state if state is not None else self.read_state(folder)
        for name, part in parts.items():
            if part.frozen:
                continue
            weights, meta = load_weights(folder / f"{name}.safetensors")
            if meta["step"] != state["step"]:
                raise CheckpointError(f"{folder / (name + '.safetensors')} is of step {meta['step']}, the training "
                                      f"state of step {state['step']}; the checkpoint is inconsistent")
            _load_module(part.model, weights, folder / f"{name}.safetensors")
            part.optimizer.load_state_dict(state["optimizers"][name])
            if part.scheduler is not None:
                part.scheduler.load_state_dict(state["schedulers"][name])
            if name in emas:
                emas[name].load_state_dict(load_weights(folder / f"{name}.ema.safetensors")[0])
        set_rng_state(state["rng"])
        return int(state["step"])


def _load_module(model: torch.nn.Module, weights: dict[str, torch.Tensor], path: Path) -> None:
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:  # keys or shapes differ: name the file, not only torch's list
        raise CheckpointError(f"the weights in {path} do not fit the model given ({type(model).__name__}): "
                              f"{str(error).splitlines()[0]} ...; it was saved from another architecture or "
                              "width -- use another run_dir to train this one") from error
