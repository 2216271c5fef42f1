"""A conditional gated PixelCNN over a code volume ``[B, T, H, W]`` (Walker et al. 2021, Sec. 3.2, Table 4).

One class serves both priors of the paper:

- the top prior's "PixelCNN extended into time": a true 3D masked convolution first (``first_kernel`` =
  (k, k, k)), then gated layers whose vertical stack convolves in the y-t and x-t planes
  (``v_kernels`` = [(k, k, 1), (k, 1, k)]) and whose horizontal stack convolves in the x-t plane
  (``h_kernel`` = (k, 1, k)); causal attention over the 3D voxel every ``attn_every`` layers;
- the bottom prior's 2D PixelCNN: the same with ``T = 1`` and kernels (1, k, k), [(1, k, k)], (1, 1, k).

Logits at a position depend only on codes at earlier positions (raster order t, y, x) and on ``cond``.
:meth:`begin` / :meth:`row` evaluate one row at a time with cached inputs for fast sampling.
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import CausalSelfAttention3d
from .gated import GatedResidualLayer
from .masked_conv import MaskedConv3d


class CausalPixelCNN(nn.Module):
    def __init__(self, num_codes: int, hidden: int, residual: int, layers: int,
                 first_kernel: tuple[int, int, int], v_kernels: list[tuple[int, int, int]],
                 h_kernel: tuple[int, int, int], cond_channels: int = 0, attn_every: int = 5, heads: int = 8,
                 dropout: float = 0.0):
        super().__init__()
        self.num_codes = num_codes
        self.embed = nn.Embedding(num_codes, hidden)
        self.v_first = MaskedConv3d(hidden, hidden, tuple(first_kernel), "v_first")
        self.h_first = MaskedConv3d(hidden, hidden, tuple(first_kernel), "h_first")
        self.layers = nn.ModuleList(GatedResidualLayer(hidden, residual, v_kernels, h_kernel, cond_channels,
                                                       dropout) for _ in range(layers))
        self.attn = nn.ModuleDict({str(i): CausalSelfAttention3d(hidden, heads, dropout)
                                   for i in range(layers) if attn_every and (i + 1) % attn_every == 0})
        self.head = nn.Sequential(nn.ReLU(), nn.Conv3d(hidden, hidden, 1), nn.ReLU(),
                                  nn.Conv3d(hidden, num_codes, 1))

    def _embed(self, codes: torch.Tensor) -> torch.Tensor:
        return self.embed(codes).movedim(-1, 1)                           # [B, T, H, W] -> [B, C, T, H, W]

    def forward(self, codes: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """codes [B, T, H, W] (int64), cond [B, C_cond, T, H, W] -> logits [B, K, T, H, W]."""
        if codes.dim() != 4:
            raise ValueError(f"CausalPixelCNN expects codes [B, T, H, W], got {tuple(codes.shape)}")
        x = self._embed(codes)                                             # [B, C, T, H, W]
        v, h = self.v_first(x), self.h_first(x)
        for i, layer in enumerate(self.layers):
            v, h = layer(v, h, cond)
            if str(i) in self.attn:
                h = h + self.attn[str(i)](h)
        return self.head(h)

    # -- row-incremental evaluation -----------------------------------------------------------------------
    def _cached(self):
        return [m for m in self.modules() if isinstance(m, (MaskedConv3d, CausalSelfAttention3d))]

    def begin(self, batch: int, t: int, h: int, w: int) -> None:
        like = self.embed.weight
        for m in self._cached():
            m.begin(batch, t, h, w, like)
        self._vrow = None

    def end(self) -> None:
        for m in self._cached():
            m.end()
        self._vrow = None

    def row(self, codes_row: torch.Tensor, cond_row: torch.Tensor | None, t: int, y: int) -> torch.Tensor:
        """Logits of row (t, y) -> [B, K, W], given that row's codes [B, W] and conditioning [B, C, W].

        Rows must be visited in raster order; calling it again for the same row overwrites that row's
        horizontal stack. The vertical stack of a row sees only earlier rows, so it is computed on the first
        call for the row and reused by the following calls.
        """
        x = self.embed(codes_row).movedim(-1, 1)[:, :, None, None]        # [B, C, 1, 1, W]
        c = None if cond_row is None else cond_row[:, :, None, None]        # [B, Cc, 1, 1, W]
        self.v_first.write_row(x, t, y)
        self.h_first.write_row(x, t, y)
        if getattr(self, "_vrow", None) is None or self._vrow[0] != (t, y):
            v, links = self.v_first.row(t, y), []
            for layer in self.layers:
                link, v = layer.row_vertical(v, c, t, y)
                links.append(link)
            self._vrow = ((t, y), links)
        h = self.h_first.row(t, y)
        for i, (layer, link) in enumerate(zip(self.layers, self._vrow[1])):
            h = layer.row_horizontal(h, link, c, t, y)
            if str(i) in self.attn:
                h = h + self.attn[str(i)].row(h, t, y)
        return self.head(h)[:, :, 0, 0]                                     # [B, K, W]
