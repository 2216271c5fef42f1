"""The contrastive image discriminator D_I (Tian et al. 2021, Sec. 3.2 Eqs. 5-6, App. A.2.2).

D_I is BigGAN's discriminator without its self-attention layer: residual blocks with spectral normalisation that
halve the resolution down to 4x4, one more block at 4x4, ReLU, global sum pooling and a linear layer to one logit.
Its **feature extractor** F for the contrastive loss shares every layer except the last and adds a 2-layer
projection head (App. A.2.2), whose outputs are compared by cosine similarity (Eq. 6).

:meth:`ImageDiscriminator.forward` returns both the logit (quality matching, Eq. 5) and the projection (content
matching, Eq. 6), computed from one pass through the shared layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .config import ImageDiscriminatorConfig


def _sn_conv(in_ch: int, out_ch: int, kernel: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2))


class DBlock(nn.Module):
    """BigGAN's discriminator block: ``[ReLU] conv3x3 ReLU conv3x3 [avgpool]`` plus a (1x1) shortcut."""

    def __init__(self, in_ch: int, out_ch: int, *, downsample: bool, preactivation: bool):
        super().__init__()
        self.conv1, self.conv2 = _sn_conv(in_ch, out_ch, 3), _sn_conv(out_ch, out_ch, 3)
        self.shortcut = _sn_conv(in_ch, out_ch, 1) if (in_ch != out_ch or downsample) else None
        self.downsample, self.preactivation = downsample, preactivation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.preactivation:                                             # BigGAN: conv, then pool
            s = self.shortcut(s) if self.shortcut is not None else s
            s = F.avg_pool2d(s, 2) if self.downsample else s
        else:                                                              # first block: pool, then conv
            s = F.avg_pool2d(s, 2) if self.downsample else s
            s = self.shortcut(s) if self.shortcut is not None else s
        return h + s


class ImageDiscriminator(nn.Module):
    """D_I and its feature extractor F: images ``[N, 3, S, S]`` -> (logit ``[N]``, projection ``[N, proj_dim]``)."""

    def __init__(self, cfg: ImageDiscriminatorConfig, size: int):
        super().__init__()
        if size < 8 or size & (size - 1):
            raise ValueError(f"ImageDiscriminator needs a power-of-two size >= 8, got {size}")
        self.cfg, self.size = cfg, size
        n_down = size.bit_length() - 3                                     # down to 4x4
        widths = [cfg.width * min(2 ** i, 16) for i in range(n_down)]
        blocks, prev = [], 3
        for i, w in enumerate(widths):
            blocks.append(DBlock(prev, w, downsample=True, preactivation=i > 0))
            prev = w
        blocks.append(DBlock(prev, prev, downsample=False, preactivation=True))   # BigGAN's last block
        self.blocks = nn.Sequential(*blocks)
        self.feature_dim = prev
        self.out = spectral_norm(nn.Linear(prev, 1))                       # the last layer of D_I
        self.projection = nn.Sequential(nn.Linear(prev, cfg.proj_dim), nn.ReLU(),
                                        nn.Linear(cfg.proj_dim, cfg.proj_dim))   # App. A.2.2: 2 FC layers

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The shared trunk: ReLU and global sum pooling of the last block -> ``[N, feature_dim]``."""
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[-1] != self.size or x.shape[-2] != self.size:
            raise ValueError(f"D_I expects images [N, 3, {self.size}, {self.size}], got {tuple(x.shape)}")
        return F.relu(self.blocks(x)).sum(dim=(2, 3))

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """F(x): the projection used by the contrastive loss (Eq. 6) and feature matching."""
        return self.projection(self.features(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        return self.out(f).squeeze(1), self.projection(f)
