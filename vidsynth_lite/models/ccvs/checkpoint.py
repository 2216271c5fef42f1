"""Checkpoints of CCVS's networks that carry their own settings (safetensors, atomic, through
:func:`vidsynth_lite.io.save_weights`): ``save_model`` / ``load_model`` for the autoencoder, the transformer and
the position estimator. ``half=True`` stores float16 weights (the shipped checkpoints); loading restores float32.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from vidsynth_lite.io import CheckpointError, load_weights, save_weights

from .autoencoder import Autoencoder
from .config import AutoencoderConfig
from .controls import PositionEstimator
from .transformer import CCVSTransformer, TokenLayout


def _describe(model: torch.nn.Module) -> dict:
    if isinstance(model, Autoencoder):
        return {"kind": "autoencoder", "model": asdict(model.cfg)}
    if isinstance(model, CCVSTransformer):
        return {"kind": "transformer", "model": model.config()}
    if isinstance(model, PositionEstimator):
        return {"kind": "position_estimator", "model": model.arch}
    raise TypeError(f"expected a CCVS Autoencoder, CCVSTransformer or PositionEstimator, got {type(model).__name__}")


def save_model(path: str | Path, model: torch.nn.Module, step: int = 0, half: bool = False,
               extra: dict | None = None) -> Path:
    """Write ``model``'s weights with ``{"kind", "model"}`` (its config) beside them."""
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in model.state_dict().items()}
    return save_weights(path, state, config=_describe(model), step=step, extra=extra)


def build(config: dict) -> torch.nn.Module:
    """The (untrained) network a checkpoint's config describes."""
    kind, m = config.get("kind"), config.get("model", {})
    if kind == "autoencoder":
        return Autoencoder(AutoencoderConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in m.items()}))
    if kind == "transformer":
        layout = TokenLayout(**m["layout"])
        return CCVSTransformer(layout, m["n_layer"], m["n_head"], m["n_embd"], m["dropout"], m["decomposed"])
    if kind == "position_estimator":
        return PositionEstimator(**m)
    raise CheckpointError(f"not a CCVS checkpoint (kind {kind!r}); expected autoencoder, transformer or "
                          "position_estimator")


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild the network a :func:`save_model` file holds -> ``(model in eval mode, metadata)``."""
    state, meta = load_weights(path, device)
    model = build(meta["config"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.to(device).eval(), meta
