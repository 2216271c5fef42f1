"""Transformation-based recurrent units: TSRU_c, TSRU_p, TSRU_s, PTSRU_s and K-TrajGRU (Luc et al. 2020,
TrIVD-GAN-FP Sec. 3.2, Eqs. 6-10, App. B, F.1, F.2, F.5).

Each unit warps its past state ``h_{t-1}`` with kernels a small hyper-network ``f`` predicts from
``[h_{t-1}; x_t]`` (:mod:`.kernel_warp`, Eqs. 11-12), then mixes the warped state with newly generated content.
TSRU_c (Eqs. 6-10)::

    theta  = f(h_{t-1}, x_t)                             (6)
    h~     = w(h_{t-1}; theta)                           (7)  kernel-based warping
    c      = rho(W_c *_k [h~; x_t] + b_c)               (8)
    u      = sigmoid(W_u *_k [h_{t-1}; x_t] + b_u)      (9)
    h_t    = u (.) h~ + (1 - u) (.) c                   (10)

TSRU_p computes ``c`` from ``[h_{t-1}; x_t]`` (theta, u and c in parallel); TSRU_s gives ``u`` the outputs
``[h~; c]`` (fully sequential). PTSRU_s is TSRU_s with pixelwise instead of factorised warping. K-TrajGRU
(Eqs. 16-22) feeds the warped state to every gate of a ConvGRU but keeps the unwarped ``h_{t-1}`` in its
final mix.

Every unit has ``transform(x, h) -> W`` (per-pixel kernels ``[B, k*k, H, W]``, the motion-like features one
can visualise) and ``update(x, h, W) -> h_t``; ``forward(x, h) = update(x, h, transform(x, h))``.
"""

from __future__ import annotations

import torch
from torch import nn

from .conv_recurrent import Activation, check_step_inputs
from .kernel_warp import factorised_weights, pixelwise_warp


class FactorisedKernelNet(nn.Module):
    """Hyper-network ``f`` of TSRU and K-TrajGRU (App. F.1): ``[h; x]`` -> ``N`` basis kernels and a selection map.

    Kernels: one convolution, adaptive max-pooling to 4x4, an MLP with one hidden layer, a softmax over the
    ``k*k`` offsets of each kernel (one set per sample, shared over space). Selection map ``S``: one
    convolution, a softmax over the ``N`` kernels at every position. Hidden widths are half the input's.
    Returns the per-pixel weights of Eq. 12, ``[B, k*k, H, W]``.
    """

    def __init__(self, in_channels: int, warp_kernel: int = 3, num_basis: int | None = None, pooled: int = 4):
        super().__init__()
        self.k = warp_kernel
        self.num_basis = num_basis or warp_kernel ** 2                       # the paper: N = k^2
        hidden = max(1, in_channels // 2)
        self.kernel_conv = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.pool = nn.AdaptiveMaxPool2d(pooled)
        self.kernel_mlp = nn.Sequential(nn.Linear(hidden * pooled * pooled, hidden), nn.ReLU(),
                                        nn.Linear(hidden, self.k ** 2 * self.num_basis))
        self.selection_conv = nn.Conv2d(in_channels, self.num_basis, 3, padding=1)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(torch.relu(self.kernel_conv(inp))).flatten(1)     # [B, hidden * 4 * 4]
        basis = self.kernel_mlp(pooled).view(len(inp), self.k ** 2, self.num_basis)   # [B, k*k, N]
        basis = basis.softmax(dim=1)                                          # each kernel sums to one
        selection = self.selection_conv(inp).softmax(dim=1)                   # [B, N, H, W], sums to one
        return factorised_weights(basis, selection)                           # Eq. 12: [B, k*k, H, W]


class PixelwiseKernelNet(nn.Module):
    """Hyper-network ``f`` of PTSRU (App. F.1): a resolution-preserving CNN with two hidden layers, a softmax
    over the ``k*k`` offsets at every position. Returns ``[B, k*k, H, W]`` (the ``W`` of Eq. 11)."""

    def __init__(self, in_channels: int, warp_kernel: int = 3):
        super().__init__()
        self.k = warp_kernel
        hidden = max(1, in_channels // 2)
        self.net = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, warp_kernel ** 2, 3, padding=1))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        return self.net(inp).softmax(dim=1)


class _TransformationUnit(nn.Module):
    """Shared parts: the hyper-network ``f``, the warp ``w`` and the shape checks."""

    pixelwise = False

    def __init__(self, input_channels: int, hidden_channels: int, kernel_size: int = 3,
                 activation: Activation = torch.relu, warp_kernel: int = 3, num_basis: int | None = None):
        super().__init__()
        self.input_channels, self.hidden_channels = input_channels, hidden_channels
        self.kernel_size, self.activation = kernel_size, activation
        both = hidden_channels + input_channels
        self.kernel_net = (PixelwiseKernelNet(both, warp_kernel) if self.pixelwise
                           else FactorisedKernelNet(both, warp_kernel, num_basis))

    def conv(self, in_channels: int, out_channels: int) -> nn.Conv2d:
        return nn.Conv2d(in_channels, out_channels, self.kernel_size, padding=self.kernel_size // 2)

    def transform(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Eq. 6: ``theta = f(h_{t-1}, x_t)`` as per-pixel kernels ``[B, k*k, H, W]``."""
        check_step_inputs(x, h, self.input_channels, self.hidden_channels, type(self).__name__)
        return self.kernel_net(torch.cat([h, x], 1))

    def update(self, x: torch.Tensor, h: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.update(x, h, self.transform(x, h))


class TSRUc(_TransformationUnit):
    """TSRU_c, Eqs. 6-10: ``c`` sees the warped state, ``u`` the unwarped one (closest to ConvGRU)."""

    def __init__(self, input_channels: int, hidden_channels: int, **kwargs):
        super().__init__(input_channels, hidden_channels, **kwargs)
        self.candidate = self.conv(hidden_channels + input_channels, hidden_channels)    # W_c
        self.mix_gate = self.conv(hidden_channels + input_channels, hidden_channels)     # W_u

    def update(self, x: torch.Tensor, h: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        h_warped = pixelwise_warp(h, weights)                                         # Eq. 7
        c = self.activation(self.candidate(torch.cat([h_warped, x], 1)))              # Eq. 8
        u = torch.sigmoid(self.mix_gate(torch.cat([h, x], 1)))                        # Eq. 9
        return u * h_warped + (1 - u) * c                                             # Eq. 10


class TSRUp(_TransformationUnit):
    """TSRU_p: theta, ``u`` and ``c`` computed in parallel from ``[h_{t-1}; x_t]``
    (Eq. 8 becomes ``c = rho(W_c *_k [h_{t-1}; x_t] + b_c)``), so ``W_c`` and ``W_u`` are one fused conv."""

    def __init__(self, input_channels: int, hidden_channels: int, **kwargs):
        super().__init__(input_channels, hidden_channels, **kwargs)
        self.candidate_and_gate = self.conv(hidden_channels + input_channels, 2 * hidden_channels)

    def update(self, x: torch.Tensor, h: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        h_warped = pixelwise_warp(h, weights)                                         # Eq. 7
        c_pre, u_pre = self.candidate_and_gate(torch.cat([h, x], 1)).chunk(2, 1)
        c, u = self.activation(c_pre), torch.sigmoid(u_pre)                           # Eqs. 8 (p), 9
        return u * h_warped + (1 - u) * c                                             # Eq. 10


class TSRUs(_TransformationUnit):
    """TSRU_s: fully sequential; ``c`` sees the warped state and ``u`` sees ``[h~; c]``
    (Eq. 9 becomes ``u = sigmoid(W_u *_k [h~_{t-1}; c] + b_u)``)."""

    def __init__(self, input_channels: int, hidden_channels: int, **kwargs):
        super().__init__(input_channels, hidden_channels, **kwargs)
        self.candidate = self.conv(hidden_channels + input_channels, hidden_channels)    # W_c
        self.mix_gate = self.conv(2 * hidden_channels, hidden_channels)                  # W_u on [h~; c]

    def update(self, x: torch.Tensor, h: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        h_warped = pixelwise_warp(h, weights)                                         # Eq. 7
        c = self.activation(self.candidate(torch.cat([h_warped, x], 1)))              # Eq. 8
        u = torch.sigmoid(self.mix_gate(torch.cat([h_warped, c], 1)))                 # Eq. 9 (s)
        return u * h_warped + (1 - u) * c                                             # Eq. 10


class PTSRUs(TSRUs):
    """PTSRU_s: TSRU_s with pixelwise kernel-based warping (Eq. 11 with ``W`` predicted per position)."""

    pixelwise = True


class KTrajGRU(_TransformationUnit):
    """K-TrajGRU, App. F.2 Eqs. 16-22: a ConvGRU whose gates read the warped state::

        theta = f(h_{t-1}, x_t);  h~ = w(h_{t-1}; theta)         (16, 17)
        r  = sigmoid(W_r *_k [h~; x_t] + b_r)                     (18)
        h' = r (.) h~                                             (19)
        c  = rho(W_c *_k [h'; x_t] + b_c)                        (20)
        u  = sigmoid(W_u *_k [h~; x_t] + b_u)                    (21)
        h_t = u (.) h_{t-1} + (1 - u) (.) c                      (22)

    (App. F.2 prints Eq. 18 twice, once with ``h_{t-1}``; we follow the first and the text: "provides the warped
    features to equations (18, 20, 21)".)
    """

    def __init__(self, input_channels: int, hidden_channels: int, **kwargs):
        super().__init__(input_channels, hidden_channels, **kwargs)
        self.gates = self.conv(hidden_channels + input_channels, 2 * hidden_channels)    # W_r, W_u fused
        self.candidate = self.conv(hidden_channels + input_channels, hidden_channels)    # W_c

    def update(self, x: torch.Tensor, h: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        h_warped = pixelwise_warp(h, weights)                                         # Eq. 17
        r, u = torch.sigmoid(self.gates(torch.cat([h_warped, x], 1))).chunk(2, 1)     # Eqs. 18, 21
        c = self.activation(self.candidate(torch.cat([r * h_warped, x], 1)))          # Eqs. 19, 20
        return u * h + (1 - u) * c                                                    # Eq. 22
