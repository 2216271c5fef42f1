"""Stage 1's two discriminators (Dorkenwald et al., supplement B.1 "Discriminators"), from the shared blocks.

- D_S, the *static* discriminator: "a patch discriminator" on single frames -- the shared
  :class:`~vidsynth_lite.nn.discriminators.PatchDiscriminator` (2D, spectral norm, no normalisation layer; the
  official one uses ActNorm).
- D_T, the *temporal* discriminator: "a 3D ResNet" on clips -- like the official one, a (3, 7, 7) stem
  convolution with stride 2 in time and space, then residual 3D blocks
  (:class:`~vidsynth_lite.nn.discriminators.DBlock`, pooling time and space) and a sum-and-linear score. Its
  per-block activations are the features of the feature-matching loss l_F (Eq. 10), as in the official code.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from vidsynth_lite.nn.discriminators import DBlock, PatchDiscriminator, ScoreHead
from vidsynth_lite.nn.spectral import spectral_norm

from .config import DiscriminatorConfig


def spatial_discriminator(cfg: DiscriminatorConfig) -> PatchDiscriminator:
    """D_S: PatchGAN on frames ``[N, 3, H, W]`` -> score map ``[N, 1, H', W']``."""
    return PatchDiscriminator(3, dims=2, base_channels=cfg.patch_width, n_layers=cfg.patch_layers, norm="none",
                              spectral=True)


class TemporalDiscriminator(nn.Module):
    """D_T over a clip ``[B, 3, T, H, W]``: a stride-2 stem, then 3D residual blocks (each but the last halves
    time and space) -> one score per clip ``[B]``; :meth:`forward_features` returns every stage's output."""

    def __init__(self, cfg: DiscriminatorConfig):
        super().__init__()
        widths = cfg.temporal_channels
        self.stem = spectral_norm(nn.Conv3d(3, widths[0], (3, 7, 7), stride=2, padding=(1, 3, 3)))
        self.blocks = nn.ModuleList(
            DBlock(c_in, c_out, dims=3, pool=None if i == len(widths) - 2 else 2, preactivation=True,
                   spectral=True, negative_slope=0.2)
            for i, (c_in, c_out) in enumerate(itertools.pairwise(widths)))
        self.head = ScoreHead(widths[-1], spectral=True)

    def forward_features(self, clip: torch.Tensor) -> list[torch.Tensor]:
        if clip.ndim != 5 or clip.shape[1] != 3:
            raise ValueError(f"TemporalDiscriminator expects clips [B, 3, T, H, W], got {tuple(clip.shape)}")
        h = self.stem(clip)                                  # [B, C0, T/2, H/2, W/2]
        feats = [h]
        for block in self.blocks:
            h = block(h)                                     # [B, C, T/2, H/2, W/2] after a pooling block
            feats.append(h)
        return feats

    def score(self, features: list[torch.Tensor]) -> torch.Tensor:
        """The score ``[B]`` from :meth:`forward_features`' output (one pass serves the score and l_F)."""
        return self.head(features[-1])

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.score(self.forward_features(clip))      # [B]
