"""Spectral normalisation (Miyato et al. 2018) through ``torch.nn.utils.parametrizations.spectral_norm``.

``W_SN = W / sigma(W)``, with ``sigma(W)`` the largest singular value of the weight read as a matrix
``[out, in * k...]``, estimated by power iteration (one iteration per training-mode forward pass, the vectors
``u, v`` persisting between steps). In evaluation mode the estimate is frozen, so sampling does not change it.
For a convolution this bounds the reshaped kernel's norm, not the exact operator norm of the convolution (the
paper's choice too).

Used by: DVD-GAN-FP / TrIVD-GAN-FP (App. A: every linear and convolutional layer of G and D, except the linear
embedding to the first spatial features), cINN (supp. B.1: the decoder), BigGAN-style discriminators
(:mod:`vidsynth_lite.nn.discriminators` with ``spectral=True``).

Use PyTorch's parametrization, not the deprecated ``torch.nn.utils.spectral_norm`` hook: the parametrized weight
is then ``module.weight`` as usual, the trainable tensor is ``module.parametrizations.weight.original`` and the
power-iteration state lives in the state dict (checkpoints resume exactly).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _torch_spectral_norm

__all__ = ["apply_spectral_norm", "has_spectral_norm", "largest_singular_value", "refresh_spectral_norm",
           "spectral_norm"]

_NORMALISED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
               nn.ConvTranspose3d, nn.Embedding)


def spectral_norm(module: nn.Module, *, n_power_iterations: int = 1, eps: float = 1e-12) -> nn.Module:
    """Return ``module`` with its ``weight`` spectrally normalised (PyTorch's parametrization, ``dim`` chosen by
    PyTorch: 1 for transposed convolutions, else 0)."""
    if not hasattr(module, "weight") or not isinstance(module.weight, torch.Tensor):
        raise TypeError(f"spectral_norm: {type(module).__name__} has no weight tensor to normalise")
    return _torch_spectral_norm(module, n_power_iterations=n_power_iterations, eps=eps)


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module.weight`` is spectrally normalised by a parametrization."""
    return parametrize.is_parametrized(module, "weight") and any(
        type(p).__name__ == "_SpectralNorm" for p in module.parametrizations.weight)


def apply_spectral_norm(model: nn.Module, *, exclude: Iterable[nn.Module] = (),
                        n_power_iterations: int = 1) -> nn.Module:
    """Spectrally normalise every linear, convolutional and embedding layer of ``model`` in place.

    ``exclude``: modules to leave alone (DVD-GAN-FP leaves the first linear embedding unnormalised).
    Layers that already have spectral norm are skipped. Returns ``model``.
    """
    skip = {id(m) for m in exclude}
    for module in list(model.modules()):
        if isinstance(module, _NORMALISED) and id(module) not in skip and not has_spectral_norm(module):
            spectral_norm(module, n_power_iterations=n_power_iterations)
    return model


@torch.no_grad()
def largest_singular_value(weight: torch.Tensor) -> torch.Tensor:
    """Exact largest singular value of ``weight`` read as ``[out, in * k...]`` (what spectral norm bounds)."""
    return torch.linalg.matrix_norm(weight.detach().flatten(1).double(), ord=2).to(weight.dtype)


@torch.no_grad()
def refresh_spectral_norm(model: nn.Module, *, iterations: int = 50) -> nn.Module:
    """Re-estimate the power-iteration vectors ``u, v`` of every spectrally normalised layer of ``model`` for
    its current weights (``iterations`` steps from the stored ``u``); returns ``model``.

    Needed whenever weights are set from outside training, above all by an EMA: averaging ``u`` and ``v`` with
    the weights gives vectors that are neither unit-norm nor the singular vectors of the averaged weight, so in
    evaluation mode ``sigma = u^T W v`` underestimates the largest singular value and the layer's gain exceeds
    1. (TrIVD-GAN-FP's lite pushbot EMA generator had gains up to 12; its activations grew to ~1e11 and its
    float16 standing statistics overflowed. BigGAN avoids it by running the EMA copy in training mode while it
    accumulates standing statistics, which also runs power iterations.)"""
    if iterations < 1:
        raise ValueError(f"refresh_spectral_norm: iterations must be >= 1, got {iterations}")
    for module in model.modules():
        if not has_spectral_norm(module):
            continue
        sn = next(p for p in module.parametrizations.weight if type(p).__name__ == "_SpectralNorm")
        weight = module.parametrizations.weight.original
        matrix = weight.movedim(sn.dim, 0).flatten(1)                       # [out, in * k...] as PyTorch reads it
        u = F.normalize(sn._u, dim=0, eps=sn.eps)
        for _ in range(iterations):
            v = F.normalize(matrix.T @ u, dim=0, eps=sn.eps)                # v <- W^T u / |W^T u|
            u = F.normalize(matrix @ v, dim=0, eps=sn.eps)                  # u <- W v / |W v|
        sn._u.copy_(u)
        sn._v.copy_(v)
    return model
