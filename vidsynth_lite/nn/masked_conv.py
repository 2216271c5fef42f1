"""Masked (PixelCNN) convolutions over a space-time volume ``[B, C, T, H, W]`` (Walker et al. 2021, Sec. 3.2;
van den Oord et al. 2016, gated PixelCNN).

Positions are ordered in time first, then top-to-bottom, then left-to-right. A kernel tap at offset
``(dt, dy, dx)`` from the output position is kept only if the input it reads may be seen:

- ``"v_first"`` (input -> vertical stack): earlier time steps, or rows above in the same step;
- ``"v"`` (vertical -> vertical): as ``v_first`` plus the same row (vertical features never see their own row);
- ``"h_first"`` (input -> horizontal stack, PixelCNN mask A): ``v_first`` plus positions to the left;
- ``"h"`` (horizontal -> horizontal, mask B): ``h_first`` plus the position itself.

A kernel ``(kt, ky, 1)`` is a 2D convolution in the y-t plane and ``(kt, 1, kx)`` one in the x-t plane, the
paper's decomposition of the 3D PixelCNN; ``(1, ky, kx)`` is an ordinary 2D PixelCNN layer.

For fast sampling each convolution can keep a zero-padded copy of its input (:meth:`begin`) and compute one
row ``(t, y)`` at a time (:meth:`row`) from it, giving exactly the numbers the full convolution gives there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

RULES = ("v_first", "v", "h_first", "h")


def allowed(rule: str, dt: int, dy: int, dx: int) -> bool:
    """May a layer of kind ``rule`` read the input at offset (dt, dy, dx) from its output position?"""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    past = dt < 0 or (dt == 0 and dy < 0)
    if rule == "v_first":
        return past
    if rule == "v":
        return past or (dt == 0 and dy == 0)
    if rule == "h_first":
        return past or (dt == 0 and dy == 0 and dx < 0)
    return past or (dt == 0 and dy == 0 and dx <= 0)


def causal_mask(kernel: tuple[int, int, int], rule: str) -> torch.Tensor:
    """Mask [kt, ky, kx] of 0/1 for a centred kernel (offsets ``d = index - k // 2``)."""
    kt, ky, kx = kernel
    m = torch.zeros(kt, ky, kx)
    for i in range(kt):
        for j in range(ky):
            for k in range(kx):
                m[i, j, k] = float(allowed(rule, i - kt // 2, j - ky // 2, k - kx // 2))
    return m


class MaskedConv3d(nn.Conv3d):
    """A 'same'-padded Conv3d whose kernel is multiplied by :func:`causal_mask` (odd kernel sizes)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int, int], rule: str,
                 bias: bool = True):
        if any(k % 2 == 0 for k in kernel):
            raise ValueError(f"masked convolutions need odd kernel sizes, got {kernel}")
        super().__init__(in_channels, out_channels, kernel, padding=0, bias=bias)
        self.rule = rule
        self.pad = tuple(k // 2 for k in kernel)                       # (pt, py, px)
        self.register_buffer("mask", causal_mask(tuple(kernel), rule)[None, None], persistent=False)
        self._buf: torch.Tensor | None = None

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        pt, py, px = self.pad
        return F.pad(x, (px, px, py, py, pt, pt))

    def forward(self, x: torch.Tensor) -> torch.Tensor:                 # [B, C, T, H, W] -> same T, H, W
        return F.conv3d(self._pad(x), self.weight * self.mask, self.bias)

    # -- row-incremental evaluation (sampling) ---------------------------------------------------------
    def begin(self, batch: int, t: int, h: int, w: int, like: torch.Tensor) -> None:
        """Allocate the padded input buffer for a volume of size (t, h, w)."""
        pt, py, px = self.pad
        self._buf = like.new_zeros(batch, self.in_channels, t + 2 * pt, h + 2 * py, w + 2 * px)

    def end(self) -> None:
        self._buf = None

    def write_row(self, x_row: torch.Tensor, t: int, y: int) -> None:
        """Store the input row (t, y): ``x_row`` is [B, C, 1, 1, W]."""
        pt, py, px = self.pad
        self._buf[:, :, t + pt, y + py, px:px + x_row.shape[-1]] = x_row[:, :, 0, 0]

    def row(self, t: int, y: int) -> torch.Tensor:
        """Output row (t, y) -> [B, C_out, 1, 1, W], from the rows stored so far (masked taps read zeros)."""
        kt, ky, _ = self.kernel_size
        window = self._buf[:, :, t:t + kt, y:y + ky]                   # [B, C, kt, ky, W + 2 px]
        return F.conv3d(window, self.weight * self.mask, self.bias)
