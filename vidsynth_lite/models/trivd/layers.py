"""BigGAN-style blocks of DVD-GAN-FP (Clark et al. 2019; TrIVD-GAN-FP App. A, E.1, E.2).

- :class:`FrameBatchNorm`: batch norm with statistics per time step and channel ("independently for each time
  step", App. A), its gain and offset an affine function of the conditioning vector [z, class] (App. E.2), or
  plain learned ones for G's final norm ("the final batch normalization layer in G is not conditional").
- :class:`GBlock`: BigGAN's G residual block, frame by frame, optional nearest-neighbour upsampling by 2.
- :func:`mixed_projection`: App. E.1, Eq. 15.

D's residual blocks are the shared :class:`vidsynth_lite.nn.discriminators.DBlock`. Orthogonal initialisation
(:func:`orthogonal_init`) and spectral normalisation (:func:`vidsynth_lite.nn.spectral.apply_spectral_norm`) are
applied to a whole network once it is built, not inside the blocks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FrameBatchNorm(nn.Module):
    """Batch norm of ``[B*T, C, H, W]`` frames with statistics per (time step, channel) over (batch, H, W).

    Viewing the frames as ``[B, T*C, H, W]``, this is a ``BatchNorm2d(T*C)`` without affine parameters, so the
    running statistics (and standing statistics, App. E.2) are ordinary BatchNorm buffers. Gain and offset:
    ``x_hat * (1 + gain(y)) + bias(y)`` with ``y`` ``[B, cond_dim]`` (conditional), else learned per channel.
    Each sample's gain is broadcast over its own frames by a view (no ``repeat``: that is DVD-GAN bug 1).
    """

    def __init__(self, channels: int, frames: int, cond_dim: int | None = None):
        super().__init__()
        self.channels, self.frames = channels, frames
        self.norm = nn.BatchNorm2d(channels * frames, affine=False)
        self.conditional = cond_dim is not None
        if self.conditional:
            self.gain = nn.Linear(cond_dim, channels, bias=False)
            self.bias = nn.Linear(cond_dim, channels, bias=False)
        else:
            self.weight = nn.Parameter(torch.ones(channels))
            self.offset = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        bt, c, h, w = x.shape
        b = bt // self.frames
        if c != self.channels or b * self.frames != bt:
            raise ValueError(f"FrameBatchNorm({self.channels} channels, {self.frames} frames) got {tuple(x.shape)}")
        x_hat = self.norm(x.reshape(b, self.frames * c, h, w)).view(b, self.frames, c, h, w)   # [B, T, C, H, W]
        if self.conditional:
            gain = 1 + self.gain(y).view(b, 1, c, 1, 1)                # one gain per sample, all its frames
            offset = self.bias(y).view(b, 1, c, 1, 1)
        else:
            gain, offset = self.weight.view(1, 1, c, 1, 1), self.offset.view(1, 1, c, 1, 1)
        return (x_hat * gain + offset).view(bt, c, h, w)


class GBlock(nn.Module):
    """BigGAN G residual block on frames ``[B*T, C, H, W]`` (App. A)::

        h = conv2(relu(BN2(conv1(up(relu(BN1(x, y)))), y)));   out = h + conv_sc(up(x))
    """

    def __init__(self, in_channels: int, out_channels: int, frames: int, cond_dim: int, upsample: bool):
        super().__init__()
        self.upsample = upsample
        self.bn1 = FrameBatchNorm(in_channels, frames, cond_dim)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.bn2 = FrameBatchNorm(out_channels, frames, cond_dim)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = (nn.Conv2d(in_channels, out_channels, 1)
                         if upsample or in_channels != out_channels else nn.Identity())

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(x, y))
        if self.upsample:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.conv2(torch.relu(self.bn2(self.conv1(h), y)))
        return h + self.shortcut(x)


def mixed_projection(r_x: torch.Tensor, r_xy: torch.Tensor) -> torch.Tensor:
    """Mixed projection discriminator output, App. E.1, Eq. 15.

    From a discriminator's features ``h[b, t]`` (``t``: the time axis of the features, or the K sampled frames)
    the head takes per sample and step ``r_x[b, t] = <w, h[b, t]> + c`` (depends only on the video) and
    ``r_xy[b, t] = <embed(y), h[b, t]>`` (the dummy class ``y = 0``), both ``[B, T]``, and returns ``B x B x T``
    outputs ``o[b, b', t] = r_x[b, t] + sum_t' r_xy[b', t']`` (15). Call it on one group of samples (the real,
    or the generated batch): it mixes samples, so a batch holding both must be split first.
    """
    return r_x[:, None, :] + r_xy.sum(1)[None, :, None]


def orthogonal_init(network: nn.Module) -> nn.Module:
    """Orthogonal initialisation (Saxe et al. 2014; App. E.2: "all weights are initialized orthogonally") of
    every convolution, linear and embedding weight; biases at zero. Call it *before* spectral normalisation
    (:func:`vidsynth_lite.nn.spectral.apply_spectral_norm`) so that the power iteration starts on these weights."""
    for module in network.modules():
        if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.Linear, nn.Embedding)):
            nn.init.orthogonal_(module.weight)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
    return network
