"""Causal multi-head self-attention over a space-time volume (Walker et al. 2021, Sec. 3.2: attention "applied
to a 3D voxel", every few PixelCNN layers; Chen et al. 2018, PixelSNAIL).

Positions ``(t, y, x)`` are flattened in raster order; a query may attend to its own position and every
earlier one. Used on horizontal-stack features, whose value at a position already excludes that position's
input, so the whole model stays causal. :meth:`row` computes one row with a key/value cache and gives the same
numbers as :meth:`forward` (the KV-cache of a transformer decoder, one row at a time).

Both go through ``torch.nn.functional.scaled_dot_product_attention``, which never stores the ``N x N``
attention matrix when a fused kernel applies (flash / memory-efficient on a GPU, flash on a CPU). At the
paper's top prior (batch 512, ``N = 3 x 32 x 32 = 3072`` positions, 8 heads) the dense matrix alone is
``512 * 8 * 3072^2 * 4 B = 155 GB`` per layer in float32; see :func:`attention_memory_bytes`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention.bias import causal_lower_right


def attention_memory_bytes(batch: int, positions: int, channels: int, heads: int, bytes_per_value: int = 4,
                           dense: bool = False) -> dict[str, int]:
    """Memory of one attention layer's forward pass, by calculation (activations kept for the backward pass).

    ``qkv_out``: queries, keys, values and the output, ``4 B N C`` values (both ways); ``scores``: the
    ``B h N N`` score matrix and its softmax (dense only: two such tensors); ``logsumexp``: the ``B h N``
    float32 row statistics a fused kernel keeps instead.
    """
    qkv_out = 4 * batch * positions * channels * bytes_per_value
    if dense:
        scores = 2 * batch * heads * positions * positions * bytes_per_value
        return {"qkv_out": qkv_out, "scores": scores, "total": qkv_out + scores}
    logsumexp = batch * heads * positions * 4
    return {"qkv_out": qkv_out, "logsumexp": logsumexp, "total": qkv_out + logsumexp}


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:                     # [B, C, T, H, W]
        b, c, t, h, w = x.shape
        seq = x.flatten(2).transpose(1, 2)                                   # [B, T*H*W, C]
        q, k, v = self._split(seq)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)        # softmax(q k^T / sqrt(d)) v
        out = out.transpose(1, 2).reshape(b, t * h * w, c)                  # [B, N, C]
        return self.drop(self.proj(out)).transpose(1, 2).reshape(b, c, t, h, w)

    # -- row-incremental evaluation (sampling) ---------------------------------------------------------
    def begin(self, batch: int, t: int, h: int, w: int, like: torch.Tensor) -> None:
        d = self.qkv.in_features // self.heads
        self._k = like.new_zeros(batch, self.heads, t * h * w, d)
        self._v = like.new_zeros(batch, self.heads, t * h * w, d)
        self._hw = (h, w)

    def end(self) -> None:
        self._k = self._v = None

    def row(self, x_row: torch.Tensor, t: int, y: int) -> torch.Tensor:     # [B, C, 1, 1, W]
        """Row (t, y): its W queries see the cached keys 0 .. start + i (``causal_lower_right``)."""
        b, c, _, _, w = x_row.shape
        h, _ = self._hw
        start = (t * h + y) * w                                              # raster index of the row's first x
        q, k, v = self._split(x_row.flatten(2).transpose(1, 2))            # [B, heads, W, d]
        self._k[:, :, start:start + w] = k
        self._v[:, :, start:start + w] = v
        out = F.scaled_dot_product_attention(q, self._k[:, :, :start + w], self._v[:, :, :start + w],
                                             attn_mask=causal_lower_right(w, start + w))
        out = out.transpose(1, 2).reshape(b, w, c)                           # [B, W, C]
        return self.drop(self.proj(out)).transpose(1, 2).reshape(b, c, 1, 1, w)
