"""Autoregressive sampling of a PixelCNN's code volume in raster order (t, y, x) (Walker et al. 2021, Sec. 3.2:
"generate voxels left-to-right, top-to-bottom within each temporal step ... then the next step").

Two samplers, the same draws: both take the uniforms ``u`` [B, T, H, W] that decide every position through
:func:`~vidsynth_lite.nn.logit_sampling.sample_from_logits`, so for the same ``u`` they return the same codes.

- :func:`sample_naive` calls a full forward pass on the whole volume for every position: ``T H W`` passes of
  cost ``O(T H W)`` each;
- :func:`sample_cached` uses :meth:`CausalPixelCNN.row`: every position recomputes only the horizontal stack
  of its own row at every layer (the vertical stack of a row is computed once per row), reading earlier rows
  from per-layer caches and attention keys/values from a KV cache: ``T H W`` passes of cost ``O(W)`` each.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .logit_sampling import sample_from_logits
from .pixelcnn import CausalPixelCNN


@torch.no_grad()
def sample_naive(logits_fn: Callable[[torch.Tensor], torch.Tensor], uniforms: torch.Tensor,
                 temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                 device: torch.device | None = None) -> torch.Tensor:
    """``logits_fn(codes [B, T, H, W]) -> logits [B, K, T, H, W]``; returns codes [B, T, H, W]."""
    b, t_, h_, w_ = uniforms.shape
    codes = torch.zeros(b, t_, h_, w_, dtype=torch.long, device=device or uniforms.device)
    for t in range(t_):
        for y in range(h_):
            for x in range(w_):
                logits = logits_fn(codes)[:, :, t, y, x]                     # [B, K]
                codes[:, t, y, x] = sample_from_logits(logits, temperature, top_k, top_p, uniforms[:, t, y, x])
    return codes


@torch.no_grad()
def sample_cached(model: CausalPixelCNN, cond: torch.Tensor | None, uniforms: torch.Tensor,
                  temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                  device: torch.device | None = None) -> torch.Tensor:
    """Row-cached sampling of ``model(codes, cond)``; ``cond`` [B, C, T, H, W] or None."""
    b, t_, h_, w_ = uniforms.shape
    codes = torch.zeros(b, t_, h_, w_, dtype=torch.long, device=device or uniforms.device)
    model.begin(b, t_, h_, w_)
    try:
        for t in range(t_):
            for y in range(h_):
                c = None if cond is None else cond[:, :, t, y]               # [B, C, W]
                for x in range(w_):
                    logits = model.row(codes[:, t, y], c, t, y)[:, :, x]     # [B, K]
                    codes[:, t, y, x] = sample_from_logits(logits, temperature, top_k, top_p,
                                                           uniforms[:, t, y, x])
                model.row(codes[:, t, y], c, t, y)                           # store the finished row
    finally:
        model.end()
    return codes
