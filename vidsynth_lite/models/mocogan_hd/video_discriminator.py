"""The video discriminator D_V (Tian et al. 2021, Sec. 3.1 Eq. 4, App. A.2.1, Tab. 6).

A PatchGAN (Isola et al. 2017) with 3D convolutions (the shared :class:`~vidsynth_lite.nn.PatchDiscriminator`):
the clip is split into overlapping 3D patches and each is classified real or fake (Tab. 6: 4x4x4 convolutions
with 64, 128, 256 channels at stride 2, 512 at stride 1, then 1 output channel; instance norm and LeakyReLU(0.2)
between; padding 2 as the official code). Two copies look at the clip at full and at half spatial resolution
(the official code halves it with a 3x3x3 average pool of stride (1, 2, 2)).

In-domain, every later frame is **paired with the first frame**: the discriminator sees
``[x_1, x_t]`` stacked channel by channel (6 channels) for ``t = 2..T``, so it judges each frame's motion
relative to a frame of the image generator's own distribution. Across domains the first frame would reveal the
domain gap, so the clip is given as is (3 channels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite import nn as vnn
from vidsynth_lite.checks import InputError, check_video

from .config import VideoDiscriminatorConfig


def pair_with_first(video: torch.Tensor) -> torch.Tensor:
    """``[B, T, C, H, W]`` -> ``[B, T-1, 2C, H, W]``: frame 1 concatenated with each of frames 2..T."""
    check_video(video, name="video", channels=None, values=False)
    first = video[:, :1].expand(-1, video.shape[1] - 1, -1, -1, -1)        # [B, T-1, C, H, W]
    return torch.cat([first, video[:, 1:]], dim=2)                         # [B, T-1, 2C, H, W]


class VideoDiscriminator(nn.Module):
    """D_V: clips ``[B, T, 3, H, W]`` -> one patch-logit map per scale (list of ``[B, 1, t, h, w]``)."""

    def __init__(self, cfg: VideoDiscriminatorConfig):
        super().__init__()
        self.cfg = cfg
        in_ch = 6 if cfg.pair_first else 3
        self.scales = nn.ModuleList(
            vnn.PatchDiscriminator(in_ch, dims=3, base_channels=cfg.base_channels, n_layers=3, norm="instance",
                                   padding=2) for _ in range(cfg.scales))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv3d):                                   # pix2pixHD's N(0, 0.02)
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)

    def prepare(self, video: torch.Tensor) -> torch.Tensor:
        """The discriminator's input ``[B, C', T', H, W]``: paired with frame 1 (in-domain) and channels first."""
        x = pair_with_first(video) if self.cfg.pair_first else video       # [B, T', C', H, W]
        return x.transpose(1, 2)                                           # [B, C', T', H, W]

    def forward(self, video: torch.Tensor) -> list[torch.Tensor]:
        """Clips ``[B, T >= 2, 3, H, W]``; shapes are checked, values are not (generated clips are not clamped in
        training, and a value check would synchronise with the GPU at every step)."""
        check_video(video, name="D_V input", channels=3, values=False)
        if video.shape[1] < 2:
            raise InputError(f"D_V input: expected clips of T >= 2 frames [B, T, 3, H, W], got {tuple(video.shape)}")
        return self.logits(self.prepare(video))

    def logits(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Patch logits per scale for an already prepared input ``[B, C', T', H, W]``."""
        out = []
        for i, disc in enumerate(self.scales):
            if i > 0:
                x = F.avg_pool3d(x, 3, stride=(1, 2, 2), padding=1, count_include_pad=False)   # half resolution
            out.append(disc(x))
        return out
