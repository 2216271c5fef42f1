"""Convolutional recurrent units: ConvGRU (Ballas et al. 2015; TrIVD-GAN-FP Sec. 2.3, Eqs. 1-5) and ConvLSTM
(Shi et al. 2015; TrIVD-GAN-FP App. F.3).

Every unit here and in :mod:`.transform_recurrent` has one contract: ``unit(x, h) -> h_next`` with the input
``x`` ``[B, C_x, H, W]`` and the state ``h`` ``[B, C_h, H, W]``; the new state is also the unit's output. So a
generator can swap units without knowing which one it holds (the paper's "drop-in replacements").

The activation ``rho`` of the candidate is ReLU by default: DVD-GAN's ConvGRU uses ReLU, and TrIVD App. F.1
finds ReLU better than tanh for the ConvLSTM too (51.8 vs 62.7 train FVD after 180K steps).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Activation = Callable[[torch.Tensor], torch.Tensor]


def check_step_inputs(x: torch.Tensor, h: torch.Tensor, input_channels: int, hidden_channels: int,
                      name: str) -> None:
    """One clear error when a recurrent unit gets tensors of the wrong shape."""
    if x.ndim != 4 or h.ndim != 4 or x.shape[0] != h.shape[0] or x.shape[2:] != h.shape[2:] \
            or x.shape[1] != input_channels or h.shape[1] != hidden_channels:
        raise ValueError(f"{name}: expected x [B, {input_channels}, H, W] and h [B, {hidden_channels}, H, W] "
                         f"with the same B, H, W; got x {tuple(x.shape)}, h {tuple(h.shape)}")


class ConvGRU(nn.Module):
    """ConvGRU, TrIVD-GAN-FP Eqs. 1-5 (``*_k`` is a ``k x k`` convolution, ``[a; b]`` channel concatenation)::

        r  = sigmoid(W_r *_k [h_{t-1}; x_t] + b_r)          (1)
        h' = r (.) h_{t-1}                                   (2)
        c  = rho(W_c *_k [h'; x_t] + b_c)                   (3)
        u  = sigmoid(W_u *_k [h_{t-1}; x_t] + b_u)          (4)
        h_t = u (.) h_{t-1} + (1 - u) (.) c                 (5)

    ``W_r`` and ``W_u`` read the same input, so they are one fused convolution with ``2 C_h`` outputs.
    """

    def __init__(self, input_channels: int, hidden_channels: int, kernel_size: int = 3,
                 activation: Activation = torch.relu):
        super().__init__()
        self.input_channels, self.hidden_channels = input_channels, hidden_channels
        pad = kernel_size // 2
        self.gates = nn.Conv2d(hidden_channels + input_channels, 2 * hidden_channels, kernel_size, padding=pad)
        self.candidate = nn.Conv2d(hidden_channels + input_channels, hidden_channels, kernel_size, padding=pad)
        self.activation = activation

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        check_step_inputs(x, h, self.input_channels, self.hidden_channels, "ConvGRU")
        r, u = torch.sigmoid(self.gates(torch.cat([h, x], 1))).chunk(2, 1)   # Eqs. 1, 4: [B, C_h, H, W] each
        h_reset = r * h                                                       # Eq. 2
        c = self.activation(self.candidate(torch.cat([h_reset, x], 1)))       # Eq. 3
        return u * h + (1 - u) * c                                            # Eq. 5


class ConvLSTM(nn.Module):
    """ConvLSTM (Shi et al. 2015, without peephole terms), as TrIVD-GAN-FP App. F.3 uses it.

    The state ``[B, C_h, H, W]`` holds the hidden state ``h`` (first half of the channels) and the memory cell
    ``m`` (second half): "the hidden state and memory cell each have half as many channels as the hidden state
    used in the other designs", and the unit's output is their concatenation. ``C_h`` must be even::

        i, f, o = sigmoid(W_{i,f,o} *_k [h_{t-1}; x_t] + b_{i,f,o})
        g       = rho(W_g *_k [h_{t-1}; x_t] + b_g)
        m_t     = f (.) m_{t-1} + i (.) g
        h_t     = o (.) rho(m_t)
    """

    def __init__(self, input_channels: int, hidden_channels: int, kernel_size: int = 3,
                 activation: Activation = torch.relu):
        super().__init__()
        if hidden_channels % 2:
            raise ValueError(f"ConvLSTM splits its state into hidden state and memory cell: hidden_channels must "
                             f"be even, got {hidden_channels}")
        self.input_channels, self.hidden_channels = input_channels, hidden_channels
        half = hidden_channels // 2
        self.gates = nn.Conv2d(half + input_channels, 4 * half, kernel_size, padding=kernel_size // 2)
        self.activation = activation

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        check_step_inputs(x, state, self.input_channels, self.hidden_channels, "ConvLSTM")
        h, m = state.chunk(2, 1)                                               # [B, C_h/2, H, W] each
        i, f, o, g = self.gates(torch.cat([h, x], 1)).chunk(4, 1)
        m_next = torch.sigmoid(f) * m + torch.sigmoid(i) * self.activation(g)
        h_next = torch.sigmoid(o) * self.activation(m_next)
        return torch.cat([h_next, m_next], 1)                                  # [B, C_h, H, W]
