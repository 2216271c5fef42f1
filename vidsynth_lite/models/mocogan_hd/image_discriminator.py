"""The contrastive image discriminator D_I (Tian et al. 2021, Sec. 3.2 Eqs. 5-6, App. A.2.2).

D_I is BigGAN's discriminator without its self-attention layer (the shared
:class:`~vidsynth_lite.nn.ResidualDiscriminator`: spectrally normalised residual blocks that halve the resolution
down to 4x4, one more block at 4x4, ReLU, global sum pooling and a linear layer to one logit). Its **feature
extractor** F for the contrastive loss shares every layer except the last and adds a 2-layer projection head
(App. A.2.2), whose outputs are compared by cosine similarity (Eq. 6).

:meth:`ImageDiscriminator.forward` returns both the logit (quality matching, Eq. 5) and the projection (content
matching, Eq. 6), computed from one pass through the shared layers.
"""

from __future__ import annotations

import torch
from torch import nn

from vidsynth_lite import nn as vnn
from vidsynth_lite.checks import check_video

from .config import ImageDiscriminatorConfig


class ImageDiscriminator(nn.Module):
    """D_I and its feature extractor F: images ``[N, 3, S, S]`` -> (logit ``[N]``, projection ``[N, proj_dim]``)."""

    def __init__(self, cfg: ImageDiscriminatorConfig, size: int):
        super().__init__()
        if size < 8 or size & (size - 1):
            raise ValueError(f"ImageDiscriminator needs a power-of-two size >= 8, got {size}")
        self.cfg, self.size = cfg, size
        widths = [cfg.width * min(2 ** i, 16) for i in range(size.bit_length() - 3)]   # halve down to 4x4
        self.trunk = vnn.ResidualDiscriminator(3, widths + widths[-1:], spectral=True)   # + BigGAN's last block
        self.projection = nn.Sequential(nn.Linear(widths[-1], cfg.proj_dim), nn.ReLU(),
                                        nn.Linear(cfg.proj_dim, cfg.proj_dim))   # App. A.2.2: 2 FC layers

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The shared trunk: last block, ReLU and global sum pooling -> ``[N, C]``."""
        # shapes only: augmented and generated frames leave [-1, 1], and reading values would synchronise
        check_video(x, name="D_I input", rank=4, channels=3, size=self.size, values=False)
        h, _ = self.trunk.forward_features(x)
        return self.trunk.head.pooled(h)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """F(x): the projection used by the contrastive loss (Eq. 6) and feature matching."""
        return self.projection(self.features(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(x)
        return self.trunk.head.linear(f).squeeze(-1), self.projection(f)
