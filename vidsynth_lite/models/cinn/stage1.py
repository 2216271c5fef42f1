"""Stage 1: the video cVAE of Dorkenwald et al. (CVPR 2021), Sec. 3.3 and supplement B.1.

``VideoEncoder`` is q_phi(z | X): a 3D ResNet with GroupNorm over the predicted frames ``X = [x_1 .. x_T]``, then
two 4x4 convolutions to ``mu`` and ``log sigma^2`` of a ``d_z``-dimensional Gaussian. ``VideoDecoder`` is
p_psi(X | x_0, z): a linear layer maps ``z`` to a 1 x 4 x 4 feature map, then ``n`` *video residual blocks*
(Fig. 2, bottom right; Fig. 9), each followed by nearest up-sampling in time and space (except the last). In
every block the start frame ``x_0`` enters through SPADE (Park et al. 2019; GroupNorm, modulation maps computed
from ``x_0`` resized to the block's resolution and shared by all time steps) and ``z`` through AdaIN (instance
norm, per-channel scale and shift from ``z``). A 3D convolution and ``tanh`` give the frames.

Eq. 8: ``L = E_q[log p_psi(X | x_0, z)] - beta KL(q_phi(z | X) || N(0, I))``; :func:`kl_divergence` is the
closed form of the KL term.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.checks import check_video
from vidsynth_lite.nn.normalization import SPADE, AdaIN
from vidsynth_lite.nn.spectral import spectral_norm

from .config import VideoDecoderConfig, VideoEncoderConfig


def group_norm(channels: int, groups: int, affine: bool = True) -> nn.GroupNorm:
    """GroupNorm with the largest group count <= ``groups`` that divides ``channels`` (16 in the paper)."""
    return nn.GroupNorm(math.gcd(channels, groups), channels, affine=affine)


# --- q_phi(z | X) ------------------------------------------------------------------------------------------------

class BasicBlock3d(nn.Module):
    """ResNet basic block in 3D with GroupNorm: ``relu(x' + GN(conv(relu(GN(conv(x))))))``, ``x'`` a strided
    conv + GN when the shape changes (the official encoder's 3x3x3 down-sampling shortcut)."""

    def __init__(self, c_in: int, c_out: int, stride: tuple[int, int, int], groups: int):
        super().__init__()
        self.conv1 = nn.Conv3d(c_in, c_out, 3, stride, 1, bias=False)
        self.norm1 = group_norm(c_out, groups)
        self.conv2 = nn.Conv3d(c_out, c_out, 3, 1, 1, bias=False)
        self.norm2 = group_norm(c_out, groups)
        self.shortcut = nn.Identity()
        if c_in != c_out or stride != (1, 1, 1):
            self.shortcut = nn.Sequential(nn.Conv3d(c_in, c_out, 3, stride, 1, bias=False), group_norm(c_out, groups))

    def forward(self, x):
        h = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.shortcut(x) + self.norm2(self.conv2(h)))


class VideoEncoder(nn.Module):
    """q_phi(z | X) (B.1): stem conv (3, 7, 7) stride 2, ResNet stages (the first keeps the resolution, the
    others halve time and space), mean over the remaining time steps, two 4x4 convs -> ``mu, logvar`` ``[B, d_z]``.
    """

    def __init__(self, cfg: VideoEncoderConfig):
        super().__init__()
        self.cfg = cfg
        _t_final, s_final = cfg.final_shape
        if cfg.size % 2 ** (len(cfg.channels) - 1) or s_final != cfg.head_kernel:
            raise ValueError(f"encoder: {len(cfg.channels) - 1} halvings take size {cfg.size} to {s_final}, but "
                             f"the head convolutions are {cfg.head_kernel}x{cfg.head_kernel}; change channels")
        c = cfg.channels
        self.stem = nn.Sequential(nn.Conv3d(3, c[0], (3, 7, 7), (2 if cfg.frames > 1 else 1, 2, 2), (1, 3, 3),
                                            bias=False), group_norm(c[0], cfg.groups), nn.ReLU())
        stages, t = [], max(cfg.frames // 2, 1)
        for i, (c_in, c_out) in enumerate(itertools.pairwise(c)):
            st = 1 if i == 0 or t == 1 else 2
            ss = 1 if i == 0 else 2
            t = t // st
            blocks = [BasicBlock3d(c_in, c_out, (st, ss, ss), cfg.groups)]
            blocks += [BasicBlock3d(c_out, c_out, (1, 1, 1), cfg.groups) for _ in range(cfg.blocks - 1)]
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.to_mu = nn.Conv2d(c[-1], cfg.z_dim, cfg.head_kernel)
        self.to_logvar = nn.Conv2d(c[-1], cfg.z_dim, cfg.head_kernel)

    def forward(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``video`` ``[B, T, 3, H, W]`` (the predicted frames) -> ``mu, logvar`` ``[B, d_z]`` each."""
        check_video(video, name="VideoEncoder input", frames=self.cfg.frames, size=self.cfg.size,
                    values=False)                                          # shapes only: no host sync
        h = self.stages(self.stem(video.transpose(1, 2)))          # [B, C, T', 4, 4]
        h = h.mean(2)                                               # [B, C, 4, 4]
        return self.to_mu(h).flatten(1), self.to_logvar(h).flatten(1)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None):
    """``z = mu + sigma * eps``, ``eps ~ N(0, I)`` (Kingma & Welling 2014): a sample of q_phi(z | X)."""
    eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, sigma^2) || N(0, I))`` per sample, summed over dimensions (Eq. 8's regulariser):
    ``0.5 * sum(mu^2 + sigma^2 - log sigma^2 - 1)`` -> ``[B]``."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)


# --- p_psi(X | x_0, z) -------------------------------------------------------------------------------------------

class VideoResBlock(nn.Module):
    """The video residual block (Fig. 2, bottom right; official ``GeneratorBlock``)::

        out = shortcut(h) + conv1(lrelu(AdaIN(conv0(lrelu(SPADE(h, x_0))), z)))

    with 3x3x3 convolutions (spectral norm), ``min(c_in, c_out)`` channels in the middle and a 1x1x1
    convolution after a GroupNorm as the shortcut when the channel count changes."""

    def __init__(self, c_in: int, c_out: int, cfg: VideoDecoderConfig):
        super().__init__()
        sn = spectral_norm if cfg.spectral_norm else (lambda m: m)
        mid = min(c_in, c_out)
        self.use_x0, self.use_z = cfg.use_x0, cfg.use_adain
        # SPADE(x_0) with GroupNorm (B.1) and LeakyReLU(0.2) as in the official layer; "w/o x_0": GroupNorm
        self.spade = (SPADE(c_in, 3, hidden=cfg.spade_hidden, norm="group", groups=cfg.groups,
                            resize="bilinear", negative_slope=0.2)
                      if cfg.use_x0 else group_norm(c_in, cfg.groups))
        self.conv0 = sn(nn.Conv3d(c_in, mid, 3, 1, 1))
        # AdaIN(z) with instance norm (B.1); "w/o ADAIN": an instance norm with a learned affine
        self.adain = AdaIN(mid, cfg.z_dim) if cfg.use_adain else nn.InstanceNorm3d(mid, affine=True)
        self.conv1 = sn(nn.Conv3d(mid, c_out, 3, 1, 1))
        self.shortcut = None
        if c_in != c_out:
            self.shortcut = nn.Sequential(group_norm(c_in, cfg.groups), sn(nn.Conv3d(c_in, c_out, 1, bias=False)))

    def forward(self, h, x0, z):
        skip = h if self.shortcut is None else self.shortcut(h)
        if self.use_x0:
            # x_0 resized as the official SPADE does (bilinear, align_corners=True); the shared layer's own
            # resize to the same size is then the identity
            x0 = F.interpolate(x0, size=h.shape[-2:], mode="bilinear", align_corners=True)
            normed = self.spade(h, x0)                       # GN(h) * (1 + gamma(x_0)) + beta(x_0)
        else:
            normed = self.spade(h)
        dh = self.conv0(F.leaky_relu(normed, 0.2))
        normed = self.adain(dh, z) if self.use_z else self.adain(dh)   # gamma(z) * IN(dh) + beta(z)
        dh = self.conv1(F.leaky_relu(normed, 0.2))
        return skip + dh


class VideoDecoder(nn.Module):
    """p_psi(X | x_0, z) (Sec. 3.3, Fig. 9): ``z -> Linear -> [C_0, 1, 4, 4]``, then the video residual blocks
    with nearest up-sampling (``cfg.upsampling``), then ``tanh(Conv3d(lrelu(h)))``."""

    def __init__(self, cfg: VideoDecoderConfig):
        super().__init__()
        self.cfg = cfg
        widths = [w * cfg.channel_factor for w in cfg.widths]
        self.schedule = cfg.upsampling
        self.fc = nn.Linear(cfg.z_dim, widths[0] * cfg.start_frames * cfg.start_size ** 2)
        self.blocks = nn.ModuleList(VideoResBlock(a, b, cfg) for a, b in zip([widths[0]] + widths[:-1], widths))
        self.to_rgb = nn.Conv3d(widths[-1], 3, 3, 1, 1)

    def forward(self, x0: torch.Tensor | None, z: torch.Tensor) -> torch.Tensor:
        """``x0`` ``[B, 3, H, W]`` (ignored without SPADE), ``z`` ``[B, d_z]`` -> frames ``[B, T, 3, H, W]``."""
        cfg = self.cfg
        if z.ndim != 2 or z.shape[1] != cfg.z_dim:
            raise ValueError(f"VideoDecoder expects z of shape [B, {cfg.z_dim}], got {tuple(z.shape)}")
        if cfg.use_x0 and (x0 is None or x0.shape[1:] != (3, cfg.size, cfg.size) or x0.shape[0] != z.shape[0]):
            got = None if x0 is None else tuple(x0.shape)
            raise ValueError(f"VideoDecoder expects x0 of shape [{z.shape[0]}, 3, {cfg.size}, {cfg.size}], got {got}")
        h = self.fc(z).view(z.shape[0], -1, cfg.start_frames, cfg.start_size, cfg.start_size)   # [B, C0, 1, 4, 4]
        for i, block in enumerate(self.blocks):
            h = block(h, x0, z)
            if i < len(self.schedule):
                ft, fs = self.schedule[i]
                h = F.interpolate(h, scale_factor=(ft, fs, fs), mode="nearest")   # [B, C, T*ft, H*fs, W*fs]
        out = self.to_rgb(F.leaky_relu(h, 0.2))                                      # [B, 3, T, H, W]
        if cfg.x0_skip and cfg.use_x0:                     # not in the paper: start from x_0 (see config)
            out = out + torch.atanh(x0.clamp(-0.999, 0.999))[:, :, None]
        return torch.tanh(out).transpose(1, 2)                                       # [B, T, 3, H, W]


class VideoCVAE(nn.Module):
    """q_phi and p_psi together: ``forward(x0, video) -> (reconstruction, mu, logvar, z)`` with ``z`` a sample of
    the posterior (reparameterised, Eq. 8's expectation)."""

    def __init__(self, encoder: VideoEncoderConfig, decoder: VideoDecoderConfig):
        super().__init__()
        if (encoder.frames, encoder.size, encoder.z_dim) != (decoder.frames, decoder.size, decoder.z_dim):
            raise ValueError("encoder and decoder disagree on frames / size / z_dim: "
                             f"{(encoder.frames, encoder.size, encoder.z_dim)} vs "
                             f"{(decoder.frames, decoder.size, decoder.z_dim)}")
        self.encoder, self.decoder = VideoEncoder(encoder), VideoDecoder(decoder)

    def forward(self, x0: torch.Tensor, video: torch.Tensor, generator: torch.Generator | None = None):
        mu, logvar = self.encoder(video)
        z = reparameterize(mu, logvar, generator)
        return self.decoder(x0, z), mu, logvar, z
