"""Drawing one category from logits: temperature, top-k, top-p (nucleus), all in one place.

Model-agnostic: the PixelCNN priors' samplers (:mod:`~vidsynth_lite.nn.pixelcnn_sampling`) and any
autoregressive transformer draw their codes through it.

Every sampler in the package draws through :func:`sample_from_logits`, which turns one uniform number per row
into a category by inverting the cumulative distribution. Passing the uniforms explicitly is what lets two
different samplers (e.g. a cached one and a naive one) produce *identical* samples from the same random draws.
"""

from __future__ import annotations

import torch


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``logits / T``; T > 1 flattens, T < 1 sharpens (the paper's project page shows T = 1.0 and 1.2)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return logits / temperature


def top_k_filter(logits: torch.Tensor, k: int | None) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row (last dim), set the rest to -inf. ``None``/0: no filtering."""
    if not k or k >= logits.shape[-1]:
        return logits
    if k < 0:
        raise ValueError(f"top_k must be >= 0, got {k}")
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float | None) -> torch.Tensor:
    """Nucleus filtering: keep the smallest set of most likely codes whose probability reaches ``p``."""
    if p is None or p >= 1.0:
        return logits
    if p <= 0:
        raise ValueError(f"top_p must be in (0, 1], got {p}")
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    cum = sorted_logits.softmax(-1).cumsum(-1)
    drop_sorted = (cum - sorted_logits.softmax(-1)) >= p          # mass before this code already reaches p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Temperature, then top-k, then top-p."""
    return top_p_filter(top_k_filter(apply_temperature(logits, temperature), top_k), top_p)


def sample_from_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                       top_p: float | None = None, uniform: torch.Tensor | None = None,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw one category per row of ``logits`` ``[..., K]`` -> ``[...]`` (int64).

    ``uniform`` (shape ``[...]``, values in [0, 1)) fixes the draw: the category is the first whose cumulative
    probability exceeds it (inverse-CDF sampling). Without it, uniforms come from ``generator``.
    """
    probs = filter_logits(logits.to(torch.float64), temperature, top_k, top_p).softmax(-1)
    if uniform is None:
        uniform = torch.rand(probs.shape[:-1], generator=generator, dtype=torch.float64,
                             device=probs.device if generator is None else generator.device)
    uniform = uniform.to(device=probs.device, dtype=torch.float64)
    if uniform.shape != probs.shape[:-1]:
        raise ValueError(f"uniform must have shape {tuple(probs.shape[:-1])}, got {tuple(uniform.shape)}")
    cdf = probs.cumsum(-1)
    idx = (cdf <= uniform.unsqueeze(-1) * cdf[..., -1:]).sum(-1)
    return idx.clamp_max(probs.shape[-1] - 1)
