"""A local cost volume: the correlation of each feature vector with its neighbours in a second feature map
(FlowNet's correlation layer as LiteFlowNet and PWC-Net use it; CCVS App. A, the "match" operation of F).

``local_correlation(a, b, radius)[:, n, y, x] = mean_c a[:, c, y, x] * b[:, c, y + dy_n, x + dx_n]`` for the
``N = (2 radius + 1)^2`` displacements ``(dy_n, dx_n)`` in row-major order (``dy`` outer, ``dx`` inner), zeros
where the neighbour falls outside the map. Pure torch, so it runs on any device (CCVS's official code uses a
CUDA-only cupy kernel for the same quantity): one shifted product per displacement, which on a CPU is about three
times faster, forward and backward, than multiplying by an ``unfold``-ed copy of ``b`` (an ``N``-fold bigger
tensor that autograd must also keep).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def displacements(radius: int) -> torch.Tensor:
    """``[N, 2]`` integer displacements ``(dx, dy)`` in the channel order of :func:`local_correlation`."""
    r = torch.arange(-radius, radius + 1)
    dy, dx = torch.meshgrid(r, r, indexing="ij")
    return torch.stack([dx.flatten(), dy.flatten()], 1)


def local_correlation(a: torch.Tensor, b: torch.Tensor, radius: int) -> torch.Tensor:
    """``a``, ``b`` [B, C, H, W] -> cost volume [B, (2 radius + 1)^2, H, W] (channel-mean of products)."""
    if a.shape != b.shape or a.dim() != 4:
        raise ValueError(f"local_correlation expects two [B, C, H, W] maps of one shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    h, w = a.shape[-2:]
    k = 2 * radius + 1
    padded = F.pad(b, (radius, radius, radius, radius))                        # zeros outside the map
    return torch.stack([(a * padded[:, :, dy:dy + h, dx:dx + w]).mean(1)      # [B, H, W] per displacement
                        for dy in range(k) for dx in range(k)], 1)             # [B, N, H, W]
