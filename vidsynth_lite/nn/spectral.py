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
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _torch_spectral_norm

from vidsynth_lite.train.ema import refresh_spectral_norm  # lives with the EMA, its main user (layer order)

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
