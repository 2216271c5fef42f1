"""Frame-wise similarity: PSNR and SSIM, one value per image, with per-time-step and K-sample helpers.

Inputs are tensors ``[..., 3, H, W]`` in [-1, 1]; the data range is therefore ``L = 2`` unless stated. Every
function checks its inputs (float, finite, equal shapes; within [-1, 1] when the data range is 2).

- :func:`psnr`: ``10 log10(L^2 / MSE)`` with the MSE over channels and pixels of each image.
- :func:`ssim`: Wang et al. 2004 (IEEE TIP, Eq. 13) with an 11x11 Gaussian window (sigma 1.5, weights
  normalised over the window), ``K1 = 0.01``, ``K2 = 0.03``, population (co)variances, the map averaged over the
  valid region (no padding) and over channels. Equals ``skimage.metrics.structural_similarity(...,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=2)``.
- :func:`ssim_skimage_default`: the variant scikit-image computes when called with its defaults (a 7x7 uniform
  window, sample covariances with N - 1 = 48) and the data range that its older releases inferred for float
  images (``dtype_range[float] = (-1, 1)``, so ``L = 2``). CCVS evaluated with scikit-image's SSIM; use this
  variant, labelled ``SSIM (skimage default)``, to compare with the CCVS tables like for like.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidsynth_lite.checks import check_video

DATA_RANGE = 2.0  # images in [-1, 1]


def _check_pair(a: torch.Tensor, b: torch.Tensor, name: str, data_range: float = DATA_RANGE) -> None:
    """Both float tensors ``[..., C, H, W]`` of one shape, finite, and (for the default data range 2) in [-1, 1]."""
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        raise TypeError(f"{name} expects two torch tensors")
    if a.shape != b.shape:
        raise ValueError(f"{name}: shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    if a.ndim < 3 or a.shape[-3] not in (1, 3):
        raise ValueError(f"{name} expects [..., C, H, W] with C = 1 or 3, got {tuple(a.shape)}")
    value_range = (-1.0, 1.0) if data_range == DATA_RANGE else None
    for arg, x in (("first", a), ("second", b)):
        check_video(x.reshape(-1, *x.shape[-3:]), name=f"{name} ({arg} argument)", rank=4, channels=None,
                    value_range=value_range)


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = DATA_RANGE) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image: ``[..., C, H, W] -> [...]`` (inf for identical images)."""
    _check_pair(a, b, "psnr", data_range)
    mse = (a.double() - b.double()).pow(2).flatten(-3).mean(-1)
    return (10.0 * torch.log10(data_range ** 2 / mse)).to(a.dtype)


def gaussian_window(size: int = 11, sigma: float = 1.5, dtype=torch.float64) -> torch.Tensor:
    """1-D Gaussian weights ``exp(-x^2 / 2 sigma^2)`` on ``x = -(size//2) .. size//2``, summing to 1."""
    x = torch.arange(size, dtype=dtype) - (size - 1) / 2
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def _filter_valid(x: torch.Tensor, w1d: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' filtering of ``[N, C, H, W]`` with the 1-D window in both directions."""
    c = x.shape[1]
    k = w1d.to(x.dtype)
    x = F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)   # along H
    return F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # along W


def _ssim_core(a, b, w1d, data_range, cov_norm, k1=0.01, k2=0.03):
    lead = a.shape[:-3]
    c, h, w = a.shape[-3:]
    if h < w1d.numel() or w < w1d.numel():
        raise ValueError(f"ssim: images {h}x{w} are smaller than the {w1d.numel()}x{w1d.numel()} window")
    x = a.double().reshape(-1, c, h, w)   # [N, C, H, W]
    y = b.double().reshape(-1, c, h, w)
    mx, my = _filter_valid(x, w1d), _filter_valid(y, w1d)             # local means
    sxx = cov_norm * (_filter_valid(x * x, w1d) - mx * mx)             # local variances
    syy = cov_norm * (_filter_valid(y * y, w1d) - my * my)
    sxy = cov_norm * (_filter_valid(x * y, w1d) - mx * my)             # local covariance
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    smap = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2))  # Eq. 13
    return smap.flatten(1).mean(1).reshape(lead).to(a.dtype)


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = DATA_RANGE, win_size: int = 11,
         sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity per image, ``[..., C, H, W] -> [...]`` (Gaussian window 11, sigma 1.5)."""
    _check_pair(a, b, "ssim", data_range)
    return _ssim_core(a, b, gaussian_window(win_size, sigma), data_range, cov_norm=1.0)


def ssim_skimage_default(a: torch.Tensor, b: torch.Tensor, data_range: float = DATA_RANGE) -> torch.Tensor:
    """``SSIM (skimage default)``: 7x7 uniform window, sample covariance (N-1), the variant CCVS reports."""
    _check_pair(a, b, "ssim_skimage_default", data_range)
    win = 7
    return _ssim_core(a, b, torch.full((win,), 1.0 / win, dtype=torch.float64), data_range,
                      cov_norm=win * win / (win * win - 1.0))


def per_timestep(values: torch.Tensor, time_dim: int = 1) -> torch.Tensor:
    """Average per-image scores ``[B, T]`` (or ``[B, K, T]`` ...) over every axis but time: ``-> [T]``."""
    time_dim = time_dim % values.ndim
    dims = [d for d in range(values.ndim) if d != time_dim]
    return values.mean(dim=dims) if dims else values


def best_of_k(values: torch.Tensor, k_dim: int = 1, higher_is_better: bool = True) -> torch.Tensor:
    """Best of K stochastic samples per input: values ``[B, K, ...]`` (per-video scores) ``-> [B, ...]``.

    Pass per-video scores (e.g. SSIM averaged over time) so that one whole sample is selected, as in the
    SAVP/CCVS "best of 100" protocol.
    """
    return values.amax(k_dim) if higher_is_better else values.amin(k_dim)


def mean_of_k(values: torch.Tensor, k_dim: int = 1) -> torch.Tensor:
    """Mean over K stochastic samples per input: ``[B, K, ...] -> [B, ...]``."""
    return values.mean(k_dim)
