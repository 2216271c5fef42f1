"""The TrIVD-GAN-FP generator: DVD-GAN-FP's conditioning encoder E and generator G (App. A) with a recurrent unit
of Table 2 (TSRU_p in the final model, Sec. 4.4) between stages.

Data flow for conditioning frames ``[B, T_c, 3, H, W]`` and a latent ``z`` ``[B, 128]``::

    E: each conditioning frame -> the spatial D's residual blocks; after block j: features at H / 2^j
    y = [z, embed(class 0)]                                   [B, 256]   (App. A: dummy class)
    x = first_linear(y) reshaped                              [B, C_0, H/8, W/8], repeated over T_p frames
    for each stage s (resolutions H/8, H/4, H/2):
        h_0 = relu(conv3x3(E's features at this resolution, time folded into channels))   (App. A, F.3)
        h_t = unit(x_t, h_{t-1}), t = 1..T_p                  the recurrent unit, unrolled over predicted frames
        x   = GBlock_up(GBlock(conv3x3(h_t), y), y)           frame by frame, upsampling by 2
    frames = tanh(conv3x3(relu(BN(x))))                        [B, T_p, 3, H, W]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from vidsynth_lite.checks import check_video
from vidsynth_lite.nn.discriminators import DBlock
from vidsynth_lite.nn.frames import fold_frames, unfold_frames
from vidsynth_lite.nn.recurrent_units import WARPING_UNITS, make_recurrent_unit
from vidsynth_lite.nn.spectral import apply_spectral_norm

from .config import GeneratorConfig
from .layers import FrameBatchNorm, GBlock, orthogonal_init

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}


class FrameEncoder(nn.Module):
    """E (App. A): the spatial discriminator's first residual blocks applied to each conditioning frame; for each
    recurrent unit, the features at its resolution with time folded into channels, compressed by one 3x3
    convolution and a ReLU into the unit's initial state."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        widths = [cfg.encoder_channels * m for m in (1, 2, 4, 8, 16)[:cfg.stages]]
        ins = [3, *widths[:-1]]
        self.blocks = nn.ModuleList(DBlock(i, o, pool=2, preactivation=j > 0, spectral=False)
                                    for j, (i, o) in enumerate(zip(ins, widths)))
        # stage s (0 = coarsest) reads block (stages - 1 - s), i.e. resolution size / 2^(stages - s)
        self.to_state = nn.ModuleList(
            nn.Conv2d(cfg.cond_frames * widths[cfg.stages - 1 - s], cfg.channels * cfg.stage_in[s], 3, padding=1)
            for s in range(cfg.stages))
        self.cond_frames, self.stages = cfg.cond_frames, cfg.stages

    def forward(self, cond: torch.Tensor) -> list[torch.Tensor]:
        b, tc = cond.shape[:2]
        x = fold_frames(cond)                                      # [B*T_c, 3, H, W]
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)                                     # [B*T_c, C_j, H/2^(j+1), W/2^(j+1)]
        states = []
        for s, conv in enumerate(self.to_state):
            f = features[self.stages - 1 - s]
            f = f.reshape(b, tc * f.shape[1], *f.shape[2:])         # [B, T_c*C_j, h, w]: time into channels
            states.append(torch.relu(conv(f)))                     # [B, C_hidden(s), h, w]
        return states


@dataclass
class GeneratorOutput:
    video: torch.Tensor                     # [B, T_p, 3, H, W] predicted frames in [-1, 1]
    kernels: list[torch.Tensor] | None      # per stage (coarse to fine): [B, T_p, k*k, h, w] warping weights


class Generator(nn.Module):
    """E + G of DVD-GAN-FP with a recurrent unit of Table 2 (module docstring for the data flow)."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        if cfg.size % 2 ** cfg.stages or cfg.first_size < 1:
            raise ValueError(f"size {cfg.size} must be divisible by 2^stages = {2 ** cfg.stages}")
        self.cfg = cfg
        ch, tp, cond_dim = cfg.channels, cfg.pred_frames, cfg.z_dim + cfg.class_dim
        self.encoder = FrameEncoder(cfg)
        self.class_embed = nn.Embedding(1, cfg.class_dim)                    # the dummy zero class
        c0 = ch * cfg.stage_in[0]
        self.first_linear = nn.Linear(cond_dim, c0 * cfg.first_size ** 2)   # no spectral norm (App. A)
        self.units = nn.ModuleList()
        self.stage_convs = nn.ModuleList()
        self.blocks = nn.ModuleList()
        for s in range(cfg.stages):
            c_in, c_out = ch * cfg.stage_in[s], ch * cfg.stage_out[s]
            self.units.append(make_recurrent_unit(
                cfg.recurrent, c_in, c_in, kernel_size=cfg.recurrent_kernel,
                activation=ACTIVATIONS[cfg.activation], warp_kernel=cfg.warp_kernel, num_basis=cfg.num_basis))
            self.stage_convs.append(nn.Conv2d(c_in, c_in, 3, padding=1))
            self.blocks.append(nn.ModuleList([GBlock(c_in, c_in, tp, cond_dim, upsample=False),
                                              GBlock(c_in, c_out, tp, cond_dim, upsample=True)]))
        c_last = ch * cfg.stage_out[-1]
        self.out_norm = FrameBatchNorm(c_last, tp)                           # not conditional (App. E.2)
        self.out_conv = nn.Conv2d(c_last, 3, 3, padding=1)
        apply_spectral_norm(orthogonal_init(self), exclude=(self.first_linear,))   # App. A, App. E.2

    @property
    def warps(self) -> bool:
        return self.cfg.recurrent in WARPING_UNITS

    def conditioning(self, z: torch.Tensor) -> torch.Tensor:
        """``y = [z, embed(0)]`` ``[B, z_dim + class_dim]``, the vector every conditional batch norm reads."""
        return torch.cat([z, self.class_embed.weight.expand(len(z), -1)], 1)

    def run(self, cond: torch.Tensor, z: torch.Tensor, keep_kernels: bool = False) -> GeneratorOutput:
        """The forward pass; ``keep_kernels`` also returns the warping weights of every step (Fig. 3)."""
        with parametrize.cached():        # spectral norm once per pass, not once per unrolled time step
            return self._run(cond, z, keep_kernels)

    def _run(self, cond: torch.Tensor, z: torch.Tensor, keep_kernels: bool) -> GeneratorOutput:
        cfg = self.cfg
        check_video(cond, name="conditioning frames", frames=cfg.cond_frames, size=cfg.size, values=False)
        if z.shape != (len(cond), cfg.z_dim):
            raise ValueError(f"z must be [B, {cfg.z_dim}] with B = {len(cond)}, got {tuple(z.shape)}")
        b, tp, s0 = len(cond), cfg.pred_frames, cfg.first_size
        y = self.conditioning(z)                                              # [B, 256]
        states = self.encoder(cond)                                           # per stage [B, C_s, h_s, w_s]
        x = self.first_linear(y).view(b, -1, s0, s0)                          # [B, C_0, s0, s0]
        x = x.unsqueeze(1).expand(b, tp, *x.shape[1:])                        # [B, T_p, C_0, s0, s0] same per step
        kernels = [] if keep_kernels else None
        for s in range(cfg.stages):
            unit, h, outs, stage_kernels = self.units[s], states[s], [], []
            for t in range(tp):                                               # unrolled over predicted frames
                if keep_kernels and self.warps:
                    w = unit.transform(x[:, t], h)                            # [B, k*k, h, w]
                    h = unit.update(x[:, t], h, w)
                    stage_kernels.append(w)
                else:
                    h = unit(x[:, t], h)
                outs.append(h)
            if keep_kernels and self.warps:
                kernels.append(torch.stack(stage_kernels, 1))                 # [B, T_p, k*k, h, w]
            f = self.stage_convs[s](fold_frames(torch.stack(outs, 1)))        # [B*T_p, C_s, h, w]
            for block in self.blocks[s]:
                f = block(f, y)
            x = unfold_frames(f, tp)                                          # [B, T_p, C_s', 2h, 2w]
        frames = self.out_conv(torch.relu(self.out_norm(fold_frames(x))))    # [B*T_p, 3, H, W]
        return GeneratorOutput(unfold_frames(torch.tanh(frames), tp), kernels)

    def forward(self, cond: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``cond`` ``[B, T_c, 3, H, W]`` in [-1, 1], ``z`` ``[B, z_dim]`` -> predicted frames ``[B, T_p, 3, H, W]``."""
        return self.run(cond, z).video


def sample_z(batch: int, dim: int, *, truncation: float | None = None, generator: torch.Generator | None = None,
             device=None) -> torch.Tensor:
    """Latents ``[B, dim]`` from N(0, I); with ``truncation`` (App. D.1: 0.8) every entry with ``|z| > truncation``
    is redrawn until none is left (BigGAN's truncation trick); ``truncation = 0`` gives z = 0."""
    z = torch.randn(batch, dim, generator=generator, device=device)
    if truncation is None:
        return z
    if truncation <= 0:
        return torch.zeros_like(z)
    while True:
        bad = z.abs() > truncation
        if not bad.any():
            return z
        z = torch.where(bad, torch.randn(batch, dim, generator=generator, device=device), z)
