"""StyleGAN2's residual discriminator (Karras et al. 2020, Fig. 7c, config F).

``FromRGB`` (1x1 convolution), then one residual block per resolution from ``size`` down to 8: two 3x3
convolutions (the second blurs and downsamples) with a blurred 1x1 stride-2 skip, summed and divided by
``sqrt(2)``; at 4x4 the minibatch standard deviation (ProGAN Sec. 3) is appended as one feature map, then a 3x3
convolution and two fully connected layers give one logit per image.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vidsynth_lite.checks import check_video

from .config import StyleGAN2Config
from .layers import ConvLayer, EqualLinear


class ResBlock(nn.Module):
    """``x -> (conv3x3(conv3x3_down(x)) + conv1x1_down(x)) / sqrt(2)``, halving the resolution."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1 = ConvLayer(in_ch, in_ch, 3)
        self.conv2 = ConvLayer(in_ch, out_ch, 3, downsample=True)
        self.skip = ConvLayer(in_ch, out_ch, 1, downsample=True, activate=False, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2)


def minibatch_stddev(x: torch.Tensor, group: int) -> torch.Tensor:
    """Append the standard deviation over groups of ``group`` samples, averaged to one map ``[N, C + 1, H, W]``."""
    n, c, h, w = x.shape
    g = min(group, n)
    if n % g:
        g = 1
    y = x.reshape(g, n // g, c, h, w)                                      # [G, N/G, C, H, W]
    y = torch.sqrt(y.var(dim=0, unbiased=False) + 1e-8)                    # [N/G, C, H, W] per-group std
    y = y.mean(dim=(1, 2, 3), keepdim=True)                                # [N/G, 1, 1, 1]
    y = y.repeat(g, 1, h, w)                                               # [N, 1, H, W]
    return torch.cat([x, y], dim=1)


class Discriminator(nn.Module):
    """Image ``[N, 3, size, size]`` in [-1, 1] -> logit ``[N]``."""

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.cfg = cfg.validate()
        ch = cfg.channels
        self.from_rgb = ConvLayer(3, ch(cfg.size), 1)
        self.blocks = nn.Sequential(*[ResBlock(ch(2 ** i), ch(2 ** (i - 1))) for i in range(cfg.log_size, 2, -1)])
        self.final_conv = ConvLayer(ch(4) + 1, ch(4), 3)
        self.final = nn.Sequential(EqualLinear(ch(4) * 16, ch(4), activate=True), EqualLinear(ch(4), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # shapes only: generated images are not clamped to [-1, 1] in training, and a value check would
        # synchronise with the GPU at every step
        check_video(x, name="Discriminator input", rank=4, channels=3, size=self.cfg.size, values=False)
        h = self.blocks(self.from_rgb(x))                                  # [N, C, 4, 4]
        h = self.final_conv(minibatch_stddev(h, self.cfg.mbstd_group))
        return self.final(h.flatten(1)).squeeze(1)                        # [N]
