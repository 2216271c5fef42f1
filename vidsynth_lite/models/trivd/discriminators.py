"""The discriminator decompositions of TrIVD-GAN-FP (Sec. 3.1, Fig. 1, Table 1; App. A, App. E.1).

A *decomposition* is a set of sub-discriminators, each judging one *view* of the clip ``[B, T, 3, H, W]``
(conditioning + predicted frames; for a generated clip the conditioning frames are the real ones):

=========  =====================================================  =====================================
kind       view                                                   network
=========  =====================================================  =====================================
``F``      K frames sampled among the predicted ones, full size   BigGAN D, 2D, per frame
``F1``     the same with K = 1 (MoCoGAN's setting)                 BigGAN D, 2D, per frame
``dF``     the K frames downsampled by s                           BigGAN D, 2D, per frame
``clV``    the whole clip                                          BigGAN D, first two blocks 3D
``dV``     the whole clip downsampled by s                         BigGAN D, first two blocks 3D
``crV``    a T x H/s x W/s crop at full resolution                 BigGAN D, first two blocks 3D
=========  =====================================================  =====================================

The decompositions (:data:`~.config.DECOMPOSITIONS`): Clip, Downsampled, Cropped, Cropped + Downsampled,
MoCoGAN-like K = 1 and K = 8, DVD-GAN-FP {F, dV}, DVD-GAN-FP_faster {dF, crV}, DVD-GAN-FP_stronger
{dF, crV, dV}. Frame choice and crop position are drawn once per call and shared by the batch (DVD-GAN's
practice). Each sub-discriminator ends in the mixed projection head (Eq. 15) and returns ``B x B x T'`` scores.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.nn.discriminators import ResidualDiscriminator
from vidsynth_lite.nn.frames import fold_frames, unfold_frames
from vidsynth_lite.nn.spectral import apply_spectral_norm

from .config import DECOMPOSITIONS, DiscriminatorConfig
from .layers import mixed_projection, orthogonal_init

VIDEO_KINDS = ("clV", "dV", "crV")
FRAME_KINDS = ("F", "F1", "dF")


def sample_frame_indices(total: int, first: int, k: int, generator: torch.Generator | None = None,
                         device=None) -> torch.Tensor:
    """``k`` distinct frame indices in ``[first, total)`` (the predicted frames), sorted; one draw per batch."""
    if not 1 <= k <= total - first:
        raise ValueError(f"cannot sample K = {k} frames among {total - first} predicted frames")
    return (torch.randperm(total - first, generator=generator)[:k].sort().values + first).to(device)


def downsample(video: torch.Tensor, s: int) -> torch.Tensor:
    """Average-pool every frame by ``s``: ``[B, T, 3, H, W]`` -> ``[B, T, 3, H/s, W/s]``."""
    return unfold_frames(F.avg_pool2d(fold_frames(video), s), video.shape[1]) if s > 1 else video


def random_crop(video: torch.Tensor, s: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A ``T x H/s x W/s`` crop at full resolution, one position for the whole batch (Sec. 3.1)."""
    h, w = video.shape[-2:]
    ch, cw = h // s, w // s
    y = int(torch.randint(0, h - ch + 1, (1,), generator=generator))
    x = int(torch.randint(0, w - cw + 1, (1,), generator=generator))
    return video[..., y:y + ch, x:x + cw]


class SubDiscriminator(nn.Module):
    """One BigGAN-style discriminator with the mixed projection head (App. A, App. E.1).

    Frame kinds take ``[B, K, 3, h, w]`` and treat the K frames as the time axis of Eq. 15; video kinds take
    ``[B, T, 3, h, w]``, run 3D blocks first (pooling time too) and the remaining blocks per frame.
    ``scalars(view) -> (r_x, r_xy)``, each ``[B, T']``.
    """

    def __init__(self, kind: str, cfg: DiscriminatorConfig):
        super().__init__()
        self.kind = kind
        video = kind in VIDEO_KINDS
        pool_3d = 2 if cfg.temporal_pool else (1, 2, 2)
        self.net = ResidualDiscriminator(3, [cfg.channels * m for m in cfg.widths], spectral=False,
                                         blocks_3d=cfg.blocks_3d if video else 0, pool_3d=pool_3d)
        self.embed = nn.Embedding(1, cfg.channels * cfg.widths[-1])             # the dummy zero class
        apply_spectral_norm(orthogonal_init(self))                               # App. E.2

    def scalars(self, view: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = view.shape[0]
        if self.kind in VIDEO_KINDS:
            features, frames = self.net.forward_features(view.transpose(1, 2))   # [B, 3, T, h, w] in
        else:
            frames = view.shape[1]
            features, _ = self.net.forward_features(fold_frames(view))          # [B*K, 3, h, w] in
        pooled = self.net.head.pooled(features)                                  # [B*T', C]: ReLU, sum over space
        r_x = self.net.head.linear(pooled).view(b, frames)                       # [B, T'] (sample-major rows)
        r_xy = (pooled * self.embed.weight[0]).sum(-1).view(b, frames)           # [B, T']  <h, embed(y = 0)>
        return r_x, r_xy


class Discriminator(nn.Module):
    """A decomposition of Table 1: ``forward(*groups) -> [ {kind: scores [B_g, B_g, T']} per group ]``.

    All groups (e.g. the real batch and the generated batch of a D step) go through each sub-discriminator in
    one pass, with one frame choice and one crop; the per-sample scalars are split back along the batch axis
    *before* Eq. 15 mixes samples, so a group's scores never depend on another group's samples.
    """

    def __init__(self, cfg: DiscriminatorConfig, *, frames: int, cond_frames: int, size: int):
        super().__init__()
        if cfg.decomposition not in DECOMPOSITIONS:
            raise ValueError(f"unknown decomposition {cfg.decomposition!r}; expected one of {sorted(DECOMPOSITIONS)}")
        self.cfg, self.frames, self.cond_frames, self.size = cfg, frames, cond_frames, size
        self.kinds = DECOMPOSITIONS[cfg.decomposition]
        smallest = min(size // cfg.scale if k in ("dF", "dV", "crV") else size for k in self.kinds)
        if smallest < 2 ** (len(cfg.widths) - 1):
            raise ValueError(f"a {smallest}x{smallest} view cannot go through {len(cfg.widths)} D blocks (each "
                             f"but the last halves it); use fewer widths or a larger size")
        if any(k in FRAME_KINDS for k in self.kinds) and cfg.frames_k > frames - cond_frames:
            raise ValueError(f"K = {cfg.frames_k} frames cannot be sampled from {frames - cond_frames} predicted")
        self.subs = nn.ModuleDict({k: SubDiscriminator(k, cfg) for k in self.kinds})

    def view(self, kind: str, video: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        s = self.cfg.scale
        if kind in FRAME_KINDS:
            k = 1 if kind == "F1" else self.cfg.frames_k
            idx = sample_frame_indices(video.shape[1], self.cond_frames, k, generator, video.device)
            frames = video.index_select(1, idx)                                  # [B, K, 3, H, W]
            return downsample(frames, s) if kind == "dF" else frames
        if kind == "dV":
            return downsample(video, s)
        if kind == "crV":
            return random_crop(video, s, generator)
        return video                                                             # clV

    def forward(self, *groups: torch.Tensor, generator: torch.Generator | None = None) -> list[dict[str, torch.Tensor]]:
        sizes = [len(g) for g in groups]
        video = torch.cat(groups, 0)                                             # [sum B_g, T, 3, H, W]
        out: list[dict[str, torch.Tensor]] = [{} for _ in groups]
        for kind, sub in self.subs.items():
            r_x, r_xy = sub.scalars(self.view(kind, video, generator))
            for g, (rx, rxy) in enumerate(zip(r_x.split(sizes, 0), r_xy.split(sizes, 0))):   # batch axis
                out[g][kind] = mixed_projection(rx, rxy)                         # Eq. 15: [B_g, B_g, T']
        return out
