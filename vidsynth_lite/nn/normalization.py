"""Adaptive normalisation layers (AdaIN, SPADE, conditional batch norm) and batch norm's "standing statistics".

The contract of the adaptive layers
-----------------------------------
``layer(x, cond) -> y`` with ``y.shape == x.shape``: normalise ``x`` *without* a learned affine, then scale and
shift it per channel by ``gamma(cond)`` and ``beta(cond)``::

    y = gamma(cond) * normalise(x) + beta(cond)

``x`` is channels-first, ``[B, C, H, W]`` (images, or frames folded into the batch) or ``[B, C, T, H, W]``
(videos); the layers differ in the normaliser and in what ``cond`` is:

==========================  ===================  ==============================  ===============================
layer                       normalise            cond                            paper / used by
==========================  ===================  ==============================  ===============================
:class:`AdaIN`              instance norm        a vector ``[B, D]``             Huang & Belongie 2017; cINN's
                                                                                 Video ResBlk (z, Sec. 3.3)
:class:`SPADE`              group / batch /      a map ``[B, Cc, H', W']`` or    Park et al. 2019; cINN (x_0,
                            instance norm        ``[B, Cc, T, H', W']``          GroupNorm); CCVS App. D layouts
:class:`ConditionalBatchNorm`  batch norm        a vector ``[B, D]``             TrIVD-GAN-FP App. A, E.2;
                                                                                 BigGAN / DVD-GAN generators
==========================  ===================  ==============================  ===============================

``gamma`` is parametrised as ``1 + Linear(cond)`` (zero-initialised offset in SPADE; in AdaIN and conditional
batch norm the linear layer's bias starts at 1 for the gain), so every layer starts as a plain normalisation.
A per-sample condition of a video whose frames are folded into the batch (``[B * T, C, H, W]``) must be
repeated per frame with :func:`vidsynth_lite.nn.frames.repeat_per_frame`, never ``Tensor.repeat``.

Standing statistics (TrIVD-GAN-FP App. E.2)
-------------------------------------------
:func:`standing_statistics` replaces every batch-norm layer's running mean and variance by their average over
many forward passes of generator samples, so that evaluation uses statistics of what the generator produces
(not an exponential average left over from training).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SPADE", "AdaIN", "ConditionalBatchNorm", "standing_statistics"]


def _check_features(name: str, x: torch.Tensor, channels: int) -> None:
    if x.dim() not in (4, 5) or x.shape[1] != channels:
        raise ValueError(f"{name}: expected x of shape [B, {channels}, H, W] or [B, {channels}, T, H, W], "
                         f"got {tuple(x.shape)}")


def _per_channel(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """[B, C] -> [B, C, 1, 1(, 1)] to broadcast over x's spatial (and time) axes."""
    return values.view(*values.shape, *([1] * (x.dim() - 2)))


def _check_vector(name: str, cond: torch.Tensor, x: torch.Tensor, dim: int) -> None:
    if cond.dim() != 2 or cond.shape[1] != dim or cond.shape[0] != x.shape[0]:
        raise ValueError(f"{name}: expected cond of shape [{x.shape[0]}, {dim}] (one vector per sample of x), "
                         f"got {tuple(cond.shape)}")


class AdaIN(nn.Module):
    """Adaptive instance normalisation ``gamma(z) * IN(x) + beta(z)`` (Huang & Belongie 2017, Eq. 8).

    ``IN`` normalises each channel of each sample over its spatial (and time) axes; ``gamma, beta`` come from
    one linear layer on the code ``z`` ``[B, cond_dim]``. cINN (Sec. 3.3, supp. B.1) inserts its video
    representation ``z`` into every Video ResBlk this way, with instance normalisation.
    """

    def __init__(self, num_features: int, cond_dim: int, *, eps: float = 1e-5):
        super().__init__()
        self.num_features, self.cond_dim, self.eps = num_features, cond_dim, eps
        self.affine = nn.Linear(cond_dim, 2 * num_features)        # -> [gamma, beta]
        with torch.no_grad():
            self.affine.bias[:num_features].fill_(1.0)             # gamma starts at 1
            self.affine.bias[num_features:].zero_()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        _check_features("AdaIN", x, self.num_features)
        _check_vector("AdaIN", cond, x, self.cond_dim)
        gamma, beta = self.affine(cond).chunk(2, dim=1)            # [B, C] each
        normalised = F.instance_norm(x, eps=self.eps)              # per sample, per channel
        return _per_channel(gamma, x) * normalised + _per_channel(beta, x)


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose gain and bias are affine functions of a conditioning vector (de Vries et al. 2017).

    ``y = (gain(c)) * BN(x) + bias(c)`` with ``gain(c) = 1 + W_g c`` at initialisation; TrIVD-GAN-FP App. E.2:
    "the scale and offset parameters [are] an affine transformation of the conditioning vector" (DVD-GAN's
    256-d ``[z, class embedding]``). Frames folded into the batch share the batch statistics, and the running
    statistics are those :func:`standing_statistics` replaces before evaluation.
    """

    def __init__(self, num_features: int, cond_dim: int, *, eps: float = 1e-5, momentum: float | None = 0.1):
        super().__init__()
        self.num_features, self.cond_dim = num_features, cond_dim
        self.norm = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.affine = nn.Linear(cond_dim, 2 * num_features)
        with torch.no_grad():
            self.affine.bias[:num_features].fill_(1.0)
            self.affine.bias[num_features:].zero_()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        _check_features("ConditionalBatchNorm", x, self.num_features)
        _check_vector("ConditionalBatchNorm", cond, x, self.cond_dim)
        gain, bias = self.affine(cond).chunk(2, dim=1)             # [B, C] each
        flat = x if x.dim() == 4 else x.flatten(3)                 # [B, C, T, H * W]: BN2d over B, T, H, W
        normalised = self.norm(flat).view_as(x)
        return _per_channel(gain, x) * normalised + _per_channel(bias, x)


class SPADE(nn.Module):
    """Spatially-adaptive normalisation (Park et al. 2019, Eq. 1): ``gamma(m) * norm(x) + beta(m)`` per pixel.

    ``m`` is a conditioning map (a semantic layout, or cINN's first frame ``x_0``) resized to x's spatial size
    (``resize="nearest"`` for label maps as in SPADE, ``"bilinear"`` for images as cINN does), passed through a
    shared ``conv3x3 -> activation`` of ``hidden`` channels, then two ``conv3x3`` give ``gamma`` and ``beta``
    (``gamma`` as ``1 + conv``, its conv zero-initialised). For a video ``x [B, C, T, H, W]`` an image map
    ``[B, Cc, H', W']`` is shared by every frame (cINN: ``x_0`` conditions all frames) and a video map
    ``[B, Cc, T, H', W']`` conditions each frame with its own layout.

    ``norm``: ``"group"`` (cINN: GroupNorm, ``groups`` at most 16 dividing C), ``"batch"`` (SPADE) or
    ``"instance"``; never with a learned affine.
    """

    def __init__(self, num_features: int, cond_channels: int, *, hidden: int = 128, norm: str = "group",
                 groups: int = 16, resize: str = "nearest", kernel_size: int = 3, negative_slope: float = 0.0):
        super().__init__()
        if norm not in ("group", "batch", "instance"):
            raise ValueError(f"SPADE: norm must be 'group', 'batch' or 'instance', got {norm!r}")
        if resize not in ("nearest", "bilinear"):
            raise ValueError(f"SPADE: resize must be 'nearest' or 'bilinear', got {resize!r}")
        self.num_features, self.cond_channels, self.norm_kind, self.resize = num_features, cond_channels, norm, resize
        if norm == "group":
            groups = max(g for g in range(1, min(groups, num_features) + 1) if num_features % g == 0)
            self.norm = nn.GroupNorm(groups, num_features, affine=False)
        elif norm == "batch":
            self.norm = nn.BatchNorm2d(num_features, affine=False)
        else:
            self.norm = None
        pad = kernel_size // 2
        self.shared = nn.Sequential(nn.Conv2d(cond_channels, hidden, kernel_size, padding=pad),
                                    nn.LeakyReLU(negative_slope) if negative_slope else nn.ReLU())
        self.to_gamma = nn.Conv2d(hidden, num_features, kernel_size, padding=pad)
        self.to_beta = nn.Conv2d(hidden, num_features, kernel_size, padding=pad)
        nn.init.zeros_(self.to_gamma.weight)
        nn.init.zeros_(self.to_gamma.bias)

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm is None:
            return F.instance_norm(x)
        if isinstance(self.norm, nn.BatchNorm2d) and x.dim() == 5:
            return self.norm(x.flatten(3)).view_as(x)              # [B, C, T, H * W]
        return self.norm(x)

    def _modulation(self, cond: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        kwargs = {"align_corners": False} if self.resize == "bilinear" else {}
        cond = F.interpolate(cond, size=size, mode=self.resize, **kwargs)   # [N, Cc, H, W]
        hidden = self.shared(cond)
        return 1.0 + self.to_gamma(hidden), self.to_beta(hidden)           # [N, C, H, W] each

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        _check_features("SPADE", x, self.num_features)
        batch, size = x.shape[0], tuple(x.shape[-2:])
        normalised = self._normalise(x)
        if cond.dim() == 4 and cond.shape[0] == batch and cond.shape[1] == self.cond_channels:
            gamma, beta = self._modulation(cond, size)                      # [B, C, H, W]
            if x.dim() == 5:                                                 # one map for every frame
                gamma, beta = gamma.unsqueeze(2), beta.unsqueeze(2)          # [B, C, 1, H, W]
            return gamma * normalised + beta
        if (x.dim() == 5 and cond.dim() == 5 and cond.shape[0] == batch and cond.shape[1] == self.cond_channels
                and cond.shape[2] == x.shape[2]):
            frames = x.shape[2]
            folded = cond.transpose(1, 2).flatten(0, 1)                     # [B * T, Cc, H', W']
            gamma, beta = self._modulation(folded, size)                    # [B * T, C, H, W]
            gamma = gamma.view(batch, frames, -1, *size).transpose(1, 2)    # [B, C, T, H, W]
            beta = beta.view(batch, frames, -1, *size).transpose(1, 2)
            return gamma * normalised + beta
        raise ValueError(f"SPADE: cond must be [{batch}, {self.cond_channels}, H', W'] or, for a video x, "
                         f"[{batch}, {self.cond_channels}, T, H', W'] with T = x's frames; got x "
                         f"{tuple(x.shape)}, cond {tuple(cond.shape)}")


@torch.no_grad()
def standing_statistics(model: nn.Module, sample: Callable[[int], object], *, batches: int = 100) -> nn.Module:
    """Recompute every batch-norm layer's running statistics as the average over ``batches`` forward passes.

    TrIVD-GAN-FP App. E.2: "we always evaluate using standing statistics, where we run a large number of
    forward passes of the model (100 batches of 256 samples), and record the average means and variances for
    all Batch Normalization layers. These averages are used as the batch statistics for all subsequent
    evaluations. This process is repeated for each evaluation."

    ``sample(i)`` runs the i-th forward pass (e.g. ``lambda i: G(torch.randn(256, 128, generator=g))``; its
    result is ignored). The running statistics are reset and accumulated with ``momentum=None`` (PyTorch's
    cumulative average: the plain mean over the passes of each batch's mean and unbiased variance) while
    every other layer stays in evaluation mode; each layer's momentum is restored afterwards and the model is
    left in evaluation mode, where batch norm uses these statistics. Parameters are not touched. Call it on the weights you evaluate (e.g. the EMA copy).
    """
    if batches < 1:
        raise ValueError(f"standing_statistics: batches must be >= 1, got {batches}")
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        raise ValueError("standing_statistics: the model has no batch-norm layer")
    if any(not m.track_running_stats for m in norms):
        raise ValueError("standing_statistics: every batch-norm layer must track running statistics")
    momenta = [m.momentum for m in norms]
    model.eval()                                                   # dropout & co. as at evaluation ...
    for m in norms:
        m.train()                                                  # ... but batch norm accumulates
        m.reset_running_stats()
        m.momentum = None                                          # cumulative moving average
    try:
        for i in range(batches):
            sample(i)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.eval()
    return model
