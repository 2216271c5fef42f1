"""Measurements on clips that chapter 1 and the tests use to check a world against its annotations."""

from __future__ import annotations

import torch


def motion_magnitude(video: torch.Tensor) -> torch.Tensor:
    """Mean absolute temporal difference per clip: ``[B, T, C, H, W]`` -> ``[B]``.

    ``mean |x_{t+1} - x_t|`` over time, channels and pixels; 0 for a still clip (values in [-1, 1], so at most 2).
    """
    if video.ndim != 5 or video.shape[1] < 2:
        raise ValueError(f"expected clips [B, T, C, H, W] with T >= 2, got {tuple(video.shape)}")
    return (video[:, 1:] - video[:, :-1]).abs().mean(dim=(1, 2, 3, 4))


def phase_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The integer shift ``(dx, dy)`` that moves image ``a`` ``[H, W]`` onto image ``b`` (Kuglin & Hines 1975).

    The normalised cross-power spectrum ``R = B conj(A) / |B conj(A)|`` of two shifted copies is a pure phase
    ramp ``exp(-2 pi i (u dx / W + v dy / H))``; its inverse FFT is a peak at ``(dy, dx)``. Shifts are wrapped to
    ``[-W/2, W/2)`` and ``[-H/2, H/2)``. Returns a float tensor ``[dx, dy]``.
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two images [H, W] of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    A, B = torch.fft.fft2(a.double()), torch.fft.fft2(b.double())
    R = B * A.conj()
    r = torch.fft.ifft2(R / (R.abs() + 1e-12)).real                          # [H, W], peak at the shift
    h, w = a.shape
    iy, ix = divmod(int(r.argmax()), w)
    dx = ix - w if ix >= (w + 1) // 2 else ix
    dy = iy - h if iy >= (h + 1) // 2 else iy
    return torch.tensor([float(dx), float(dy)])


def capsule_distance(points: torch.Tensor, a: torch.Tensor, b: torch.Tensor, radius: float) -> torch.Tensor:
    """Signed distance from ``points`` ``[N, 2]`` to a capsule (segment ``a``-``b`` thickened by ``radius``).

    Project each point on the segment, ``h = clamp(((p - a) . (b - a)) / |b - a|^2, 0, 1)``, then
    ``d = |p - a - h (b - a)| - radius``: negative inside. This is how the worlds draw robot links, limbs and sticks.
    """
    ab = b - a
    h = (((points - a) * ab).sum(-1) / (ab * ab).sum().clamp_min(1e-12)).clamp(0, 1)   # [N]
    return (points - a - h[:, None] * ab).norm(dim=-1) - radius
