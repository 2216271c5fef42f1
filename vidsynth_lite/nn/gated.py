"""Gated residual PixelCNN layer with a vertical and a horizontal stack (van den Oord et al. 2016, gated
PixelCNN; Walker et al. 2021 Sec. 3.2 extend its 1D stack convolutions into 2D x-t / y-t convolutions).

``gate(a) = tanh(a_1) * sigmoid(a_2)`` (the two halves of the channels). Per layer::

    p_v = sum_k conv_v^k(v) + W_cv c                 # masked "v" convolutions (e.g. y-t and x-t planes)
    v'  = v + gate(p_v)
    p_h = conv_h(h) + W_vh p_v + W_ch c              # masked "h" convolution (x-t plane) + vertical link
    h'  = h + W_o dropout(gate(p_h))

``c`` is the conditioning volume (same T, H, W), added in every layer.
"""

from __future__ import annotations

import torch
from torch import nn

from .masked_conv import MaskedConv3d


def gate(a: torch.Tensor) -> torch.Tensor:
    """Gated activation: ``tanh(first half) * sigmoid(second half)`` of the channel dimension (dim 1)."""
    x, y = a.chunk(2, dim=1)
    return torch.tanh(x) * torch.sigmoid(y)


class GatedResidualLayer(nn.Module):
    def __init__(self, hidden: int, residual: int, v_kernels: list[tuple[int, int, int]],
                 h_kernel: tuple[int, int, int], cond_channels: int = 0, dropout: float = 0.0):
        super().__init__()
        self.v_convs = nn.ModuleList(MaskedConv3d(hidden, 2 * hidden, tuple(k), "v") for k in v_kernels)
        self.h_conv = MaskedConv3d(hidden, 2 * residual, tuple(h_kernel), "h")
        self.v_to_h = nn.Conv3d(2 * hidden, 2 * residual, 1)
        self.h_out = nn.Conv3d(residual, hidden, 1)
        self.cond_v = nn.Conv3d(cond_channels, 2 * hidden, 1, bias=False) if cond_channels else None
        self.cond_h = nn.Conv3d(cond_channels, 2 * residual, 1, bias=False) if cond_channels else None
        self.drop = nn.Dropout(dropout)

    def _vertical(self, v_parts, v, cond):
        """-> (W_vh p_v, v'): the vertical stack's update and its link into the horizontal stack."""
        p_v = sum(v_parts)
        if self.cond_v is not None and cond is not None:
            p_v = p_v + self.cond_v(cond)
        return self.v_to_h(p_v), v + gate(p_v)

    def _horizontal(self, h_part, h, link, cond):
        p_h = h_part + link
        if self.cond_h is not None and cond is not None:
            p_h = p_h + self.cond_h(cond)
        return h + self.h_out(self.drop(gate(p_h)))

    def forward(self, v: torch.Tensor, h: torch.Tensor, cond: torch.Tensor | None = None):
        link, v_new = self._vertical([c(v) for c in self.v_convs], v, cond)
        return v_new, self._horizontal(self.h_conv(h), h, link, cond)

    # -- row-incremental evaluation: ``v``, ``h``, ``cond`` are rows [B, C, 1, 1, W] --------------------
    def row_vertical(self, v: torch.Tensor, cond: torch.Tensor | None, t: int, y: int):
        """Vertical stack at row (t, y) -> (link, v'). It reads only earlier rows, so the sampler computes it
        once per row, not once per position."""
        for c in self.v_convs:
            c.write_row(v, t, y)
        return self._vertical([c.row(t, y) for c in self.v_convs], v, cond)

    def row_horizontal(self, h: torch.Tensor, link: torch.Tensor, cond: torch.Tensor | None, t: int, y: int):
        self.h_conv.write_row(h, t, y)
        return self._horizontal(self.h_conv.row(t, y), h, link, cond)
