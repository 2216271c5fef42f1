"""Causal multi-head self-attention over a space-time volume (Walker et al. 2021, Sec. 3.2: attention "applied
to a 3D voxel", every few PixelCNN layers; Chen et al. 2018, PixelSNAIL).

Positions ``(t, y, x)`` are flattened in raster order; a query may attend to its own position and every
earlier one. Used on horizontal-stack features, whose value at a position already excludes that position's
input, so the whole model stays causal. :meth:`row` computes one row with a key/value cache and gives the same
numbers as :meth:`forward` (the KV-cache of a transformer decoder, one row at a time).
"""

from __future__ import annotations

import torch
from torch import nn


class CausalSelfAttention3d(nn.Module):
    def __init__(self, channels: int, heads: int, dropout: float = 0.0):
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels ({channels}) must be divisible by heads ({heads})")
        self.heads = heads
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        self.drop = nn.Dropout(dropout)
        self._k: torch.Tensor | None = None
        self._v: torch.Tensor | None = None

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, n, c = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)                              # 3 x [B, N, C]
        shape = (b, n, self.heads, c // self.heads)
        return tuple(a.reshape(shape).transpose(1, 2) for a in (q, k, v))  # [B, heads, N, d]

    @staticmethod
    def _attend(q, k, v, offset: int) -> torch.Tensor:
        """Query i (global index offset + i) sees keys 0 .. offset + i."""
        nq, nk = q.shape[2], k.shape[2]
        mask = torch.arange(nk, device=q.device)[None, :] <= (offset + torch.arange(nq, device=q.device))[:, None]
        att = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5               # [B, heads, Nq, Nk]
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        return att @ v                                                       # [B, heads, Nq, d]

    def forward(self, x: torch.Tensor) -> torch.Tensor:                     # [B, C, T, H, W]
        b, c, t, h, w = x.shape
        seq = x.flatten(2).transpose(1, 2)                                   # [B, T*H*W, C]
        q, k, v = self._split(seq)
        out = self._attend(q, k, v, 0).transpose(1, 2).reshape(b, t * h * w, c)
        return self.drop(self.proj(out)).transpose(1, 2).reshape(b, c, t, h, w)

    def begin(self, batch: int, t: int, h: int, w: int, like: torch.Tensor) -> None:
        d = self.qkv.in_features // self.heads
        self._k = like.new_zeros(batch, self.heads, t * h * w, d)
        self._v = like.new_zeros(batch, self.heads, t * h * w, d)
        self._hw = (h, w)

    def end(self) -> None:
        self._k = self._v = None

    def row(self, x_row: torch.Tensor, t: int, y: int) -> torch.Tensor:     # [B, C, 1, 1, W]
        b, c, _, _, w = x_row.shape
        h, _ = self._hw
        start = (t * h + y) * w
        q, k, v = self._split(x_row.flatten(2).transpose(1, 2))            # [B, heads, W, d]
        self._k[:, :, start:start + w] = k
        self._v[:, :, start:start + w] = v
        out = self._attend(q, self._k[:, :, :start + w], self._v[:, :, :start + w], start)
        out = out.transpose(1, 2).reshape(b, w, c)
        return self.drop(self.proj(out)).transpose(1, 2).reshape(b, c, 1, 1, w)
