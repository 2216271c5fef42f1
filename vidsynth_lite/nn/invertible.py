"""Invertible blocks for normalising flows on vectors, one contract for all (FrEIA's ``modules/base.py``).

Every module here maps ``x`` ``[B, D]`` (optionally with a condition ``cond`` ``[B, C]``) to ``(y, log_det)``::

    y, log_det = block(x, cond)                 # forward:  y = f(x; c),      log_det = log|det df/dx|      [B]
    x2, minus = block(y, cond, reverse=True)    # reverse:  x = f^-1(y; c),   minus  = log|det df^-1/dy| = -log_det

so that ``x2 == x`` and ``minus == -log_det`` (checked in ``tests/test_nn_invertible.py`` against
``torch.func.jacrev`` and against FrEIA's ``AllInOneBlock`` on the same weights). The pieces are the ones of
Glow / RealNVP flows as used by Dorkenwald et al. (CVPR 2021, Sec. 3.2 and supplement B.1) and Rombach et al.
(ECCV 2020):

- :class:`ActNorm` (Kingma & Dhariwal 2018, Sec. 3.1): a per-feature affine map whose first forward batch sets it
  so that the batch leaves with zero mean and unit variance (data-dependent initialisation);
- :class:`InvertibleLeakyReLU`: ``y = x`` for ``x >= 0``, ``alpha x`` otherwise; its exact log-determinant is
  ``(number of negative entries) * log(alpha)``. The official cINN code returns 0 instead
  (``official_zero_log_det=True`` reproduces that, for the chapter that shows what it does to the NLL);
- :class:`AffineCoupling` (Dinh et al. 2017, Eq. 7): ``y_a = x_a``, ``y_b = x_b * exp(s(x_a, c)) + t(x_a, c)``;
- :class:`FixedPermutation`: a random shuffle of the features, drawn once from a seed;
- :class:`InvertibleSequence`: a chain of the above; the log-determinants add up.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class InvertibleModule(nn.Module):
    """Base class: ``forward(x, cond=None, reverse=False) -> (y, log_det)``, ``log_det`` of shape ``[B]``.

    ``log_det`` is the log of the absolute Jacobian determinant *of the direction evaluated*: ``log|det df/dx|``
    forward, ``log|det df^-1/dy| = -log|det df/dx|`` in reverse. Inputs are ``[B, D]``.
    """

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None,
                reverse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def _check(x: torch.Tensor, dim: int, name: str) -> None:
        if x.ndim != 2 or x.shape[1] != dim:
            raise ValueError(f"{name} expects x of shape [B, {dim}], got {tuple(x.shape)}")


class ActNorm(InvertibleModule):
    """``y = exp(log_scale) * x + bias`` per feature (Glow, Sec. 3.1), data-dependently initialised.

    The first forward call while uninitialised sets ``bias = -mean / std`` and ``log_scale = -log std`` of that
    batch (population std), so the batch leaves with zero mean and unit variance; a buffer records that the
    initialisation happened, so a loaded checkpoint is never re-initialised. ``log|det| = sum(log_scale)``.
    """

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.dim, self.eps = dim, eps
        self.log_scale = nn.Parameter(torch.zeros(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Data-dependent start: this batch leaves with zero mean and unit variance per feature."""
        if x.shape[0] < 2:
            raise ValueError(f"ActNorm's data-dependent start needs a batch of at least 2, got {x.shape[0]}")
        mean, std = x.mean(0), x.std(0, unbiased=False)
        self.log_scale.copy_(-torch.log(std + self.eps))
        self.bias.copy_(-mean / (std + self.eps))
        self.initialized.fill_(True)

    def forward(self, x, cond=None, reverse=False):
        self._check(x, self.dim, "ActNorm")
        if not reverse and not bool(self.initialized):
            self.initialize(x.detach())
        log_det = self.log_scale.sum().expand(x.shape[0])               # [B]
        if not reverse:
            return x * self.log_scale.exp() + self.bias, log_det
        return (x - self.bias) * torch.exp(-self.log_scale), -log_det


class InvertibleLeakyReLU(InvertibleModule):
    """``y = x`` where ``x >= 0``, ``y = alpha x`` elsewhere (``0 < alpha``), an elementwise bijection.

    Its Jacobian is diagonal with entries 1 or ``alpha``, so ``log|det| = n_neg * log(alpha)`` where ``n_neg``
    counts the negative entries of the sample (the sign is kept by the map, so the reverse counts them in ``y``).
    ``official_zero_log_det=True`` returns 0 instead, as the official cINN code does (``InvLeakyRelu``): the flow
    then claims a density that is not normalised, and its NLL is wrong by ``-n_neg log(alpha)`` per sample.
    """

    def __init__(self, alpha: float = 0.9, official_zero_log_det: bool = False):
        super().__init__()
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0 for the leaky ReLU to be invertible, got {alpha}")
        self.alpha, self.official_zero_log_det = float(alpha), bool(official_zero_log_det)

    def forward(self, x, cond=None, reverse=False):
        if x.ndim != 2:
            raise ValueError(f"InvertibleLeakyReLU expects x of shape [B, D], got {tuple(x.shape)}")
        negative = x < 0                                                  # same mask for x and y
        slope = torch.where(negative, torch.full_like(x, self.alpha), torch.ones_like(x))
        log_det = negative.sum(1).to(x.dtype) * math.log(self.alpha)     # [B]
        if self.official_zero_log_det:
            log_det = torch.zeros_like(log_det)
        if not reverse:
            return x * slope, log_det
        return x / slope, -log_det


class FixedPermutation(InvertibleModule):
    """A fixed random shuffle of the ``dim`` features (drawn from ``seed``); ``log|det| = 0``."""

    def __init__(self, dim: int, seed: int = 0):
        super().__init__()
        perm = torch.randperm(dim, generator=torch.Generator().manual_seed(seed))
        self.register_buffer("perm", perm)
        self.register_buffer("inverse", torch.argsort(perm))
        self.dim = dim

    def forward(self, x, cond=None, reverse=False):
        self._check(x, self.dim, "FixedPermutation")
        zero = x.new_zeros(x.shape[0])
        return (x[:, self.inverse] if reverse else x[:, self.perm]), zero


def mlp(dim_in: int, dim_out: int, hidden: int, depth: int, zero_last: bool = True) -> nn.Sequential:
    """``Linear -> LeakyReLU -> (Linear -> LeakyReLU) x depth -> Linear``: the official cINN's
    ``BasicFullyConnectedNet`` layout. ``zero_last`` starts the last layer at zero (the coupling starts as the
    identity; Glow Sec. 3.3)."""
    layers: list[nn.Module] = [nn.Linear(dim_in, hidden), nn.LeakyReLU()]
    for _ in range(depth):
        layers += [nn.Linear(hidden, hidden), nn.LeakyReLU()]
    last = nn.Linear(hidden, dim_out)
    if zero_last:
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class ScaleShiftNet(nn.Module):
    """The coupling's conditioner: two fully connected networks, ``s`` and ``t`` (Dorkenwald et al., supp. B.1:
    "each affine coupling layer is parameterized by two fully connected layers"). Returns ``[s, t]`` stacked on
    the last axis, ``[B, 2 * dim_out]``."""

    def __init__(self, dim_in: int, dim_out: int, hidden: int, depth: int):
        super().__init__()
        self.s = mlp(dim_in, dim_out, hidden, depth)
        self.t = mlp(dim_in, dim_out, hidden, depth)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.s(h), self.t(h)], 1)


class AffineCoupling(InvertibleModule):
    """Conditional affine coupling (RealNVP, Dinh et al. 2017, Eq. 7; conditioned as in Ardizzone et al. 2019):

    split ``x`` into a passive part ``x_p`` and an active part ``x_a`` (``x_p`` = the first ``dim - dim // 2``
    features, or the last ones with ``active_first=True``); ``[s, t] = net([x_p, c])``;
    ``y_a = x_a * exp(s) + t``, ``y_p = x_p``; ``log|det| = sum(s)``. With ``clamp`` the scale is soft-clamped,
    ``s <- clamp * tanh(s)`` (FrEIA's ``affine_clamping``; the official cINN code does not clamp).
    ``net`` maps ``[B, n_passive + cond_dim]`` to ``[B, 2 * n_active]``.
    """

    def __init__(self, dim: int, net: nn.Module, cond_dim: int = 0, clamp: float | None = None,
                 active_first: bool = False):
        super().__init__()
        if dim < 2:
            raise ValueError(f"a coupling needs dim >= 2, got {dim}")
        self.dim, self.cond_dim, self.clamp, self.active_first = dim, cond_dim, clamp, active_first
        passive = dim - dim // 2
        self.sizes = (dim - passive, passive) if active_first else (passive, dim - passive)
        self.net = net

    def _split(self, x):
        first, second = torch.split(x, self.sizes, dim=1)
        return (second, first) if self.active_first else (first, second)          # (passive, active)

    def _join(self, passive, active):
        return torch.cat([active, passive] if self.active_first else [passive, active], 1)

    def _scale_shift(self, passive, cond):
        if self.cond_dim:
            if cond is None or cond.ndim != 2 or cond.shape != (passive.shape[0], self.cond_dim):
                got = None if cond is None else tuple(cond.shape)
                raise ValueError(f"AffineCoupling expects cond of shape [{passive.shape[0]}, {self.cond_dim}], "
                                 f"got {got}")
            passive = torch.cat([passive, cond], 1)
        s, t = self.net(passive).chunk(2, dim=1)                                   # [B, n_active] each
        if self.clamp is not None:
            s = self.clamp * torch.tanh(s)
        return s, t

    def forward(self, x, cond=None, reverse=False):
        self._check(x, self.dim, "AffineCoupling")
        passive, active = self._split(x)
        s, t = self._scale_shift(passive, cond)
        log_det = s.sum(1)                                                          # [B]
        if not reverse:
            return self._join(passive, active * s.exp() + t), log_det
        return self._join(passive, (active - t) * torch.exp(-s)), -log_det


class InvertibleSequence(InvertibleModule):
    """A chain of invertible modules sharing one condition; reverse runs the chain backwards."""

    def __init__(self, *blocks: InvertibleModule):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x, cond=None, reverse=False):
        total = x.new_zeros(x.shape[0])
        for block in (reversed(self.blocks) if reverse else self.blocks):
            x, log_det = block(x, cond, reverse=reverse)
            total = total + log_det
        return x, total


def standard_normal_nll(nu: torch.Tensor, log_det: torch.Tensor) -> torch.Tensor:
    """Per-sample negative log-likelihood in nats under ``nu = f(z)``, ``nu ~ N(0, I)`` (change of variables):

    ``-log p(z) = 0.5 ||f(z)||^2 + (D / 2) log(2 pi) - log|det df/dz|``  -> ``[B]``.
    """
    d = nu.shape[1]
    return 0.5 * nu.pow(2).sum(1) + 0.5 * d * math.log(2 * math.pi) - log_det
