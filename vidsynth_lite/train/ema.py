"""Exponential moving average of a model's weights (Polyak averaging), used for evaluation and sampling."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch.nn.utils import parametrize


class EMA:
    """Keep ``shadow = decay * shadow + (1 - decay) * weights`` after every optimiser step.

    Floating-point parameters and buffers are averaged; integer buffers (counters) are copied.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module, decay: float | None = None) -> None:
        """One averaging step; ``decay`` overrides ``self.decay`` for this step (``0.0`` copies the weights)."""
        decay = self.decay if decay is None else decay
        for key, value in model.state_dict().items():
            average = self.shadow[key]
            if average.dtype.is_floating_point:
                average.lerp_(value.detach(), 1.0 - decay)  # shadow += (1 - decay) (value - shadow)
            else:
                average.copy_(value)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.shadow) - set(state)
        if missing:
            raise KeyError(f"EMA state lacks {sorted(missing)[:5]}")
        for key, value in state.items():
            self.shadow[key].copy_(value)

    def copy_to(self, model: torch.nn.Module) -> torch.nn.Module:
        """Load the averaged weights into ``model`` (in place) and return it. Spectrally normalised layers get
        their power-iteration vectors re-estimated for the averaged weights: the average of ``u, v`` is not the
        singular vector of the average of ``W`` (:func:`refresh_spectral_norm`)."""
        model.load_state_dict(self.shadow)
        return refresh_spectral_norm(model)

    def averaged(self, model: torch.nn.Module) -> torch.nn.Module:
        """A copy of ``model`` holding the averaged weights (the original is untouched)."""
        return self.copy_to(copy.deepcopy(model)).eval()


@torch.no_grad()
def refresh_spectral_norm(model: torch.nn.Module, *, iterations: int = 50) -> torch.nn.Module:
    """Re-estimate the power-iteration vectors ``u, v`` of every spectrally normalised layer of ``model`` for
    its current weights (``iterations`` steps from the stored ``u``); returns ``model``. Also exported as
    ``vidsynth_lite.nn.refresh_spectral_norm``.

    Needed whenever weights are set from outside training, above all by an EMA: averaging ``u`` and ``v`` with
    the weights gives vectors that are neither unit-norm nor the singular vectors of the averaged weight, so in
    evaluation mode ``sigma = u^T W v`` underestimates the largest singular value and the layer's gain exceeds
    1. (TrIVD-GAN-FP's lite pushbot EMA generator had gains up to 12; its activations grew to ~1e11 and its
    float16 standing statistics overflowed. BigGAN avoids it by running the EMA copy in training mode while it
    accumulates standing statistics, which also runs power iterations.)"""
    if iterations < 1:
        raise ValueError(f"refresh_spectral_norm: iterations must be >= 1, got {iterations}")
    for module in model.modules():
        if not parametrize.is_parametrized(module, "weight"):
            continue
        for sn in module.parametrizations.weight:
            if type(sn).__name__ != "_SpectralNorm":                      # PyTorch's spectral_norm parametrization
                continue
            weight = module.parametrizations.weight.original
            matrix = weight.movedim(sn.dim, 0).flatten(1)                   # [out, in * k...] as PyTorch reads it
            u = F.normalize(sn._u, dim=0, eps=sn.eps)
            for _ in range(iterations):
                v = F.normalize(matrix.T @ u, dim=0, eps=sn.eps)            # v <- W^T u / |W^T u|
                u = F.normalize(matrix @ v, dim=0, eps=sn.eps)              # u <- W v / |W v|
            sn._u.copy_(u)
            sn._v.copy_(v)
    return model
