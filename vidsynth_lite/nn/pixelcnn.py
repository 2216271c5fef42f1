"""A conditional gated PixelCNN over a code volume ``[B, T, H, W]`` (Walker et al. 2021, Sec. 3.2, Table 4;
van den Oord et al. 2016, gated PixelCNN), in one file: its config, its gated layer, the network.

One class serves both priors of the paper:

- the top prior's "PixelCNN extended into time": a true 3D masked convolution first (``first_kernel`` =
  (k, k, k)), then gated layers whose vertical stack convolves in the y-t and x-t planes
  (``v_kernels`` = [(k, k, 1), (k, 1, k)]) and whose horizontal stack convolves in the x-t plane
  (``h_kernel`` = (k, 1, k)); causal attention over the 3D voxel every ``attn_every`` layers;
- the bottom prior's 2D PixelCNN: the same with ``T = 1`` and kernels (1, k, k), [(1, k, k)], (1, 1, k).

The forward pass, with ``E`` the code embedding, ``c`` the conditioning volume (same T, H, W) and
``gate(a) = tanh(a_1) * sigmoid(a_2)`` over the two halves of the channels::

    x = E[codes]                                           # [B, C, T, H, W]
    v, h = conv_v_first(x), conv_h_first(x)                # masks: earlier rows | earlier rows + left
    for each layer l:
        p_v = sum_k conv_v^k(v) + W_cv c                   # vertical stack: sees earlier rows only
        v   = v + gate(p_v)
        p_h = conv_h(h) + W_vh p_v + W_ch c                # horizontal stack: + the vertical link
        h   = h + W_o dropout(gate(p_h))
        if l is an attention layer: h = h + attention(h)   # causal over all earlier positions (t, y, x)
    logits = W_2 relu(W_1 relu(h))                         # [B, K, T, H, W]

Logits at a position depend only on codes at earlier positions (raster order t, y, x) and on ``c``.
:meth:`CausalPixelCNN.begin` / :meth:`CausalPixelCNN.row` evaluate one row at a time with cached inputs,
for fast sampling (:mod:`~vidsynth_lite.nn.pixelcnn_sampling`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .attention import CausalSelfAttention3d
from .masked_conv import MaskedConv3d

Kernel = tuple[int, int, int]


@dataclass
class PixelCNNConfig:
    """Sizes of a :class:`CausalPixelCNN` (Walker et al. 2021, Table 4 for the two priors)."""

    num_codes: int                    # K: categories per position (codebook size)
    hidden: int                       # "hidden units": channels of both stacks
    residual: int                     # "residual units": channels of the horizontal stack's gate
    layers: int                       # gated residual layers
    first_kernel: Kernel              # the first (masked) convolution, (kt, ky, kx)
    v_kernels: list[Kernel]           # the vertical stack's convolutions in each layer
    h_kernel: Kernel                  # the horizontal stack's convolution in each layer
    cond_channels: int = 0            # channels of the conditioning volume (0: unconditional)
    attn_every: int = 5               # causal self-attention after every n-th layer (0: none)
    heads: int = 8                    # attention heads
    dropout: float = 0.0              # on the gated output and the attention output

    @classmethod
    def spacetime(cls, kernel: int, **sizes) -> PixelCNNConfig:
        """The top prior's PixelCNN extended into time (Sec. 3.2): a (k, k, k) first layer, then y-t and x-t
        plane convolutions."""
        k = kernel
        return cls(first_kernel=(k, k, k), v_kernels=[(k, k, 1), (k, 1, k)], h_kernel=(k, 1, k), **sizes)

    @classmethod
    def planar(cls, kernel: int, **sizes) -> PixelCNNConfig:
        """The bottom prior's 2D PixelCNN (one time slice, ``T = 1``)."""
        k = kernel
        return cls(first_kernel=(1, k, k), v_kernels=[(1, k, k)], h_kernel=(1, 1, k), **sizes)

    def __post_init__(self):
        self.first_kernel = tuple(self.first_kernel)
        self.v_kernels = [tuple(k) for k in self.v_kernels]
        self.h_kernel = tuple(self.h_kernel)
        if self.attention_layers and self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")

    @property
    def attention_layers(self) -> list[int]:
        """Indices of the layers followed by attention: every ``attn_every``-th (Table 4: 8 in 40, 4 in 20)."""
        return [i for i in range(self.layers) if self.attn_every and (i + 1) % self.attn_every == 0]


def gate(a: torch.Tensor) -> torch.Tensor:
    """Gated activation: ``tanh(first half) * sigmoid(second half)`` of the channel dimension (dim 1)."""
    x, y = a.chunk(2, dim=1)
    return torch.tanh(x) * torch.sigmoid(y)


class GatedResidualLayer(nn.Module):
    """One layer of the loop in the module docstring: a vertical and a horizontal stack, conditioned on ``c``."""

    def __init__(self, hidden: int, residual: int, v_kernels: list[Kernel], h_kernel: Kernel,
                 cond_channels: int = 0, dropout: float = 0.0):
        super().__init__()
        self.v_convs = nn.ModuleList(MaskedConv3d(hidden, 2 * hidden, tuple(k), "v") for k in v_kernels)
        self.h_conv = MaskedConv3d(hidden, 2 * residual, tuple(h_kernel), "h")
        self.v_to_h = nn.Conv3d(2 * hidden, 2 * residual, 1)                      # W_vh
        self.h_out = nn.Conv3d(residual, hidden, 1)                               # W_o
        self.cond_v = nn.Conv3d(cond_channels, 2 * hidden, 1, bias=False) if cond_channels else None   # W_cv
        self.cond_h = nn.Conv3d(cond_channels, 2 * residual, 1, bias=False) if cond_channels else None  # W_ch
        self.drop = nn.Dropout(dropout)

    def _vertical(self, v_parts, v, cond):
        """-> (W_vh p_v, v'): the vertical stack's update and its link into the horizontal stack."""
        p_v = sum(v_parts)                                                        # sum_k conv_v^k(v)
        if self.cond_v is not None and cond is not None:
            p_v = p_v + self.cond_v(cond)                                         # + W_cv c
        return self.v_to_h(p_v), v + gate(p_v)                                    # v' = v + gate(p_v)

    def _horizontal(self, h_part, h, link, cond):
        p_h = h_part + link                                                       # conv_h(h) + W_vh p_v
        if self.cond_h is not None and cond is not None:
            p_h = p_h + self.cond_h(cond)                                         # + W_ch c
        return h + self.h_out(self.drop(gate(p_h)))                               # h' = h + W_o drop(gate)

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


class CausalPixelCNN(nn.Module):
    """The network of the module docstring, sized by a :class:`PixelCNNConfig`."""

    def __init__(self, cfg: PixelCNNConfig):
        super().__init__()
        if not isinstance(cfg, PixelCNNConfig):
            raise TypeError(f"CausalPixelCNN takes a PixelCNNConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.num_codes = cfg.num_codes
        self.embed = nn.Embedding(cfg.num_codes, cfg.hidden)
        self.v_first = MaskedConv3d(cfg.hidden, cfg.hidden, cfg.first_kernel, "v_first")
        self.h_first = MaskedConv3d(cfg.hidden, cfg.hidden, cfg.first_kernel, "h_first")
        self.layers = nn.ModuleList(
            GatedResidualLayer(cfg.hidden, cfg.residual, cfg.v_kernels, cfg.h_kernel, cfg.cond_channels,
                               cfg.dropout) for _ in range(cfg.layers))
        self.attn = nn.ModuleDict({str(i): CausalSelfAttention3d(cfg.hidden, cfg.heads, cfg.dropout)
                                   for i in cfg.attention_layers})
        self.head = nn.Sequential(nn.ReLU(), nn.Conv3d(cfg.hidden, cfg.hidden, 1), nn.ReLU(),
                                  nn.Conv3d(cfg.hidden, cfg.num_codes, 1))

    def forward(self, codes: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """codes [B, T, H, W] (int64), cond [B, C_cond, T, H, W] -> logits [B, K, T, H, W]."""
        if codes.dim() != 4:
            raise ValueError(f"CausalPixelCNN expects codes [B, T, H, W], got {tuple(codes.shape)}")
        x = self.embed(codes).movedim(-1, 1)                               # [B, T, H, W, C] -> [B, C, T, H, W]
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
