"""Checkpoints that carry their own settings: ``save_model`` / ``load_model`` for the three networks, through
:func:`vidsynth_lite.io.save_weights` (safetensors, atomic)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from vidsynth_lite.io import CheckpointError, load_weights, save_weights

from .bottom_prior import BottomPrior
from .config import BottomPriorConfig, TopPriorConfig, VQVAEConfig
from .top_prior import TopPrior
from .vqvae import VideoVQVAE

KINDS = {"vqvae": (VideoVQVAE, VQVAEConfig), "top_prior": (TopPrior, TopPriorConfig),
         "bottom_prior": (BottomPrior, BottomPriorConfig)}


def _kind(model: torch.nn.Module) -> str:
    for name, (cls, _) in KINDS.items():
        if isinstance(model, cls):
            return name
    raise TypeError(f"expected one of {[c.__name__ for c, _ in KINDS.values()]}, got {type(model).__name__}")


def save_model(path: str | Path, model: torch.nn.Module, step: int = 0) -> Path:
    """Write the weights with ``{"kind", "config"}`` beside them."""
    return save_weights(path, model, config={"kind": _kind(model), "model": asdict(model.cfg)}, step=step)


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, int]:
    """Rebuild the network a :func:`save_model` file holds -> ``(model in eval mode, step)``."""
    state, meta = load_weights(path, device)
    kind = meta["config"].get("kind")
    if kind not in KINDS:
        raise CheckpointError(f"{str(path)!r} holds no VQ-VAE chapter model (kind {kind!r}); expected one of "
                              f"{sorted(KINDS)}")
    cls, cfg_cls = KINDS[kind]
    model = cls(cfg_cls(**meta["config"]["model"]))
    model.load_state_dict(state)
    return model.to(device).eval(), meta["step"]
