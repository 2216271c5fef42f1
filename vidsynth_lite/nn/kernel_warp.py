"""Kernel-based warping: dynamic, depth-wise, locally connected layers (Luc et al. 2020, TrIVD-GAN-FP,
Sec. 2.2 and App. B, Eqs. 11-12, Fig. 3-4).

A network predicts, for every position ``(i, j)`` of a feature map ``h`` ``[B, C, H, W]``, a ``k x k`` weight
vector ``W[i, j]`` and the output is a weighted average of the ``k x k`` neighbourhood, the same weights for
every channel (depth-wise)::

    h~[i, j, c] = sum_{m, n in [0, k-1]} W[i, j, m k + n] * h[i + m - (k-1)/2, j + n - (k-1)/2, c]   (Eq. 11)

``h`` is zero-padded so that the output keeps its size. The *factorised* variant predicts ``N`` basis kernels
``w`` ``[k^2, N]`` per sample and a selection map ``S`` ``[H, W, N]`` (a probability vector per position, a
pseudo motion-segmentation), and combines them into per-pixel weights::

    W[i, j, q] = sum_{l=1..N} S[i, j, l] * w[q, l]                                                   (Eq. 12)

When the weights at a position are a probability distribution over the ``k x k`` offsets (both TSRU
hyper-networks end in a softmax), their expectation is a flow vector (Fig. 3): :func:`expected_flow`, in the
convention of :func:`vidsynth_lite.nn.warp.warp`.
Layout here: weights are ``[B, k*k, H, W]`` (channels first), offsets in raster order ``q = m k + n``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .warp import upsample_flow


def _check_kernel_size(k: int) -> None:
    if not isinstance(k, int) or k < 1 or k % 2 == 0:
        raise ValueError(f"the kernel size k must be a positive odd int, got {k!r}")


def kernel_size_of(weights: torch.Tensor) -> int:
    """``k`` from per-pixel weights ``[B, k*k, H, W]``; a clear error when the second dim is not a square."""
    if weights.ndim != 4:
        raise ValueError(f"kernel weights must be [B, k*k, H, W], got shape {tuple(weights.shape)}")
    k = round(weights.shape[1] ** 0.5)
    if k * k != weights.shape[1] or k % 2 == 0:
        raise ValueError(f"kernel weights need k*k channels with k odd, got {weights.shape[1]}")
    return k


def pixelwise_warp(h: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Eq. 11: warp ``h`` ``[B, C, H, W]`` with per-pixel kernels ``weights`` ``[B, k*k, H, W]`` -> ``[B, C, H, W]``.

    Written as a sum over the ``k*k`` shifted copies of the zero-padded input (no ``k*k``-times larger
    ``unfold`` buffer): ``out += W[:, q] * h_pad[..., m:m+H, n:n+W]``.
    """
    k = kernel_size_of(weights)
    if h.ndim != 4 or h.shape[0] != weights.shape[0] or h.shape[2:] != weights.shape[2:]:
        raise ValueError(f"h must be [B, C, H, W] matching weights [B, k*k, H, W]; got {tuple(h.shape)} and "
                         f"{tuple(weights.shape)}")
    pad = (k - 1) // 2
    height, width = h.shape[2:]
    h_pad = F.pad(h, (pad, pad, pad, pad))                            # [B, C, H+k-1, W+k-1], zeros outside
    out = torch.zeros_like(h)
    for m in range(k):
        for n in range(k):
            w_q = weights[:, m * k + n].unsqueeze(1)                  # [B, 1, H, W]: same weight for every channel
            out = out + w_q * h_pad[:, :, m:m + height, n:n + width]   # h[i + m - pad, j + n - pad]
    return out


def factorised_weights(basis: torch.Tensor, selection: torch.Tensor) -> torch.Tensor:
    """Eq. 12: per-pixel weights ``[B, k*k, H, W]`` from basis kernels ``w`` ``[B, k*k, N]`` and a selection map
    ``S`` ``[B, N, H, W]``: ``W[i, j, q] = sum_l S[i, j, l] w[q, l]``."""
    if basis.ndim != 3 or selection.ndim != 4 or basis.shape[0] != selection.shape[0] \
            or basis.shape[2] != selection.shape[1]:
        raise ValueError(f"expected basis [B, k*k, N] and selection [B, N, H, W]; got {tuple(basis.shape)} and "
                         f"{tuple(selection.shape)}")
    return torch.einsum("bqn,bnhw->bqhw", basis, selection)           # [B, k*k, H, W]


def factorised_warp(h: torch.Tensor, basis: torch.Tensor, selection: torch.Tensor) -> torch.Tensor:
    """Eqs. 11-12: factorised kernel-based warping of ``h`` ``[B, C, H, W]``."""
    return pixelwise_warp(h, factorised_weights(basis, selection))


def identity_weights(batch: int, k: int, height: int, width: int, *, dtype=None, device=None) -> torch.Tensor:
    """Per-pixel weights ``[B, k*k, H, W]`` that leave any input unchanged (all mass on the centre offset)."""
    _check_kernel_size(k)
    w = torch.zeros(batch, k * k, height, width, dtype=dtype, device=device)
    w[:, (k * k) // 2] = 1.0
    return w


def kernel_offsets(k: int, *, dtype=None, device=None) -> torch.Tensor:
    """``[k*k, 2]`` offsets ``(dy, dx)`` of the kernel grid, raster order ``q = m k + n``: ``(m - r, n - r)``."""
    _check_kernel_size(k)
    r = (k - 1) // 2
    grid = torch.arange(k, dtype=dtype or torch.float32, device=device) - r
    dy, dx = torch.meshgrid(grid, grid, indexing="ij")
    return torch.stack([dy.reshape(-1), dx.reshape(-1)], dim=1)


def expected_flow(weights: torch.Tensor) -> torch.Tensor:
    """Fig. 3: the expected flow ``[B, 2, H, W]`` of per-pixel kernels, channels ``(dx, dy)`` in pixels of this
    resolution, in the package's one flow convention (:mod:`vidsynth_lite.nn.warp`: the output at ``p`` reads
    the input at ``p + flow``).

    The weights at a position are read as a probability distribution over the kernel's offsets; Eq. 11 reads
    ``h[p + offset_q]`` with weight ``W[q]``, so the expected flow is ``sum_q W[q] offset_q``. For a one-hot kernel
    it is exact: ``pixelwise_warp(h, W) == warp(h, expected_flow(W))``. The content *moves* by ``-flow`` (a kernel
    on the left neighbour, ``dx = -1``, moves content one pixel to the right).
    """
    k = kernel_size_of(weights)
    off = kernel_offsets(k, dtype=weights.dtype, device=weights.device)            # [k*k, 2] (dy, dx)
    dy = torch.einsum("bqhw,q->bhw", weights, off[:, 0])
    dx = torch.einsum("bqhw,q->bhw", weights, off[:, 1])
    return torch.stack([dx, dy], dim=1)                                              # [B, 2, H, W]


def combine_flows(flows: list[torch.Tensor]) -> torch.Tensor:
    """Fig. 3: combine flows across resolutions, coarse to fine, each level twice the size of the previous:
    iteratively upsample the running flow by 2 scaling its displacements by 2
    (:func:`vidsynth_lite.nn.warp.upsample_flow`), then add the next level's flow."""
    if not flows:
        raise ValueError("combine_flows needs at least one flow field")
    total = flows[0]
    for finer in flows[1:]:
        if finer.shape[-2:] != tuple(2 * s for s in total.shape[-2:]):
            raise ValueError(f"each flow must be twice the size of the previous one; got {tuple(total.shape)} "
                             f"then {tuple(finer.shape)}")
        total = upsample_flow(total, tuple(finer.shape[-2:])) + finer
    return total
