"""StyleGAN2's generator (Karras et al. 2020, Sec. 2, Fig. 2d): mapping network, modulated and demodulated
convolutions, noise inputs and ToRGB skips.

``z ~ N(0, I)`` -> mapping MLP -> ``w`` (the style space that MoCoGAN-HD moves in). The synthesis network starts
from a learned 4x4 constant; every layer is a 3x3 convolution whose weights are **modulated** by an affine map of
``w`` and then **demodulated** (normalised per output channel), a per-pixel noise input with a learned strength,
a bias and the scaled leaky ReLU. Each resolution adds its RGB image (``ToRGB``, a modulated 1x1 convolution
without demodulation) to the upsampled image of the previous one (the "skip" architecture).

Every public entry point checks the *shapes* of what it is given (latents, images, noise maps) and raises one
:class:`~vidsynth_lite.checks.InputError` naming what it expected (see :mod:`.inputs`); these checks read no
values, so they cost nothing inside a training step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.checks import InputError

from .config import StyleGAN2Config
from .inputs import check_codes, check_noise_maps
from .layers import BiasLeakyReLU, EqualLinear, PixelNorm, Upsample


class MappingNetwork(nn.Module):
    """``z [N, D] -> w [N, D]``: pixel norm, then ``n_mlp`` equalised linear layers at learning rate x ``lr_mlp``."""

    def __init__(self, style_dim: int, n_mlp: int, lr_mlp: float):
        super().__init__()
        self.style_dim = style_dim
        self.net = nn.Sequential(PixelNorm(), *[EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activate=True)
                                                for _ in range(n_mlp)])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_codes(z, name="z", dim=self.style_dim)                      # [N, D]
        return self.net(z)


class ModulatedConv2d(nn.Module):
    """StyleGAN2 Sec. 2.2: a convolution whose weights depend on the style of each sample.

    For sample ``n`` with style scales ``s = A(w_n)`` (one per input channel):

    - modulation (Eq. 1): ``w'_{ijk} = s_i * w_{ijk}``   (i: input channel, j: output channel, k: kernel tap)
    - demodulation (Eq. 3): ``w''_{ijk} = w'_{ijk} / sqrt(sum_{i,k} w'_{ijk}^2 + eps)``

    so that unit-variance inputs give unit-variance outputs per channel. The N different kernels are applied in
    one **grouped convolution** (batch folded into channels, ``groups = N``). With ``upsample`` the input is first
    2x upsampled with the FIR filter (the official code fuses this into a transposed convolution).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, style_dim: int, *, demodulate: bool = True,
                 upsample: bool = False, eps: float = 1e-8):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel, kernel))
        self.scale = 1 / math.sqrt(in_ch * kernel * kernel)               # equalised learning rate
        self.modulation = EqualLinear(style_dim, in_ch, bias_init=1.0)   # A: w -> s, starts at s = 1
        self.demodulate, self.eps = demodulate, eps
        self.up = Upsample() if upsample else None
        self.in_ch, self.out_ch, self.kernel, self.style_dim = in_ch, out_ch, kernel, style_dim

    def modulated_weight(self, style: torch.Tensor) -> torch.Tensor:
        """The per-sample kernels ``[N, out, in, k, k]`` for styles ``[N, style_dim]``."""
        s = self.modulation(style)                                         # [N, in]
        w = self.scale * self.weight * s[:, None, :, None, None]           # Eq. 1: w' = s_i w_ijk
        if self.demodulate:
            d = torch.rsqrt(w.pow(2).sum(dim=(2, 3, 4), keepdim=True) + self.eps)   # [N, out, 1, 1, 1]
            w = w * d                                                      # Eq. 3: w'' = w' / sqrt(sum w'^2 + eps)
        return w

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``x [N, in, H, W]`` and ``style [N, style_dim]`` -> ``[N, out, H', W']`` (shapes checked, values not)."""
        if x.ndim != 4 or x.shape[1] != self.in_ch:
            raise InputError(f"ModulatedConv2d: x must be [N, {self.in_ch}, H, W], got {tuple(x.shape)}")
        check_codes(style, name="style", dim=self.style_dim)
        if style.shape[0] != x.shape[0]:
            raise InputError(f"ModulatedConv2d: one style per sample expected ([{x.shape[0]}, {self.style_dim}]), "
                             f"got {tuple(style.shape)}")
        if self.up is not None:
            x = self.up(x)
        n, c, h, wd = x.shape
        w = self.modulated_weight(style)                                   # [N, out, in, k, k]
        x = x.reshape(1, n * c, h, wd)                                     # [1, N*in, H, W]: samples as groups
        out = F.conv2d(x, w.reshape(n * self.out_ch, c, self.kernel, self.kernel), padding=self.kernel // 2,
                       groups=n)
        return out.reshape(n, self.out_ch, h, wd)                          # [N, out, H, W]


class NoiseInjection(nn.Module):
    """Per-pixel noise ``[N, 1, H, W]`` scaled by a learned per-layer strength (StyleGAN Sec. 3.2), starts at 0."""

    def __init__(self):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x + self.strength * noise


class StyledConv(nn.Module):
    """Modulated convolution -> noise -> bias + scaled leaky ReLU (one layer of Fig. 2d)."""

    def __init__(self, in_ch: int, out_ch: int, style_dim: int, *, upsample: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, style_dim, upsample=upsample)
        self.noise = NoiseInjection()
        self.act = BiasLeakyReLU(out_ch)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.act(self.noise(self.conv(x, style), noise))


class ToRGB(nn.Module):
    """Modulated 1x1 convolution to RGB without demodulation, plus the upsampled skip image (Fig. 7b)."""

    def __init__(self, in_ch: int, style_dim: int, *, upsample: bool = True):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))
        self.up = Upsample() if upsample else None

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        rgb = self.conv(x, style) + self.bias
        if skip is not None:
            rgb = rgb + self.up(skip)
        return rgb


class SynthesisNetwork(nn.Module):
    """``ws [N, num_ws, D]`` (one style per layer) and noise maps -> image ``[N, 3, size, size]``."""

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.cfg = cfg
        ch = cfg.channels
        self.const = nn.Parameter(torch.randn(1, ch(4), 4, 4))             # the learned 4x4 input
        self.conv1 = StyledConv(ch(4), ch(4), cfg.style_dim)
        self.to_rgb1 = ToRGB(ch(4), cfg.style_dim, upsample=False)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        self.resolutions = [4]
        for res in (2 ** i for i in range(3, cfg.log_size + 1)):
            self.convs.append(StyledConv(ch(res // 2), ch(res), cfg.style_dim, upsample=True))
            self.convs.append(StyledConv(ch(res), ch(res), cfg.style_dim))
            self.to_rgbs.append(ToRGB(ch(res), cfg.style_dim))
            self.resolutions += [res, res]

    @property
    def num_ws(self) -> int:
        return self.cfg.num_ws

    def noise_shapes(self) -> list[tuple[int, int, int]]:
        """One ``(1, H, W)`` noise map per styled convolution."""
        return [(1, r, r) for r in self.resolutions]

    def make_noise(self, batch: int, *, device=None, generator: torch.Generator | None = None,
                   zero: bool = False) -> list[torch.Tensor]:
        """Fresh noise maps ``[batch, 1, H, W]`` (``zero=True``: no noise, as MoCoGAN-HD's App. D ablation)."""
        dev = device or self.const.device
        if zero:
            return [torch.zeros(batch, *s, device=dev) for s in self.noise_shapes()]
        return [torch.randn(batch, *s, device=dev, generator=generator) for s in self.noise_shapes()]

    def forward(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """``ws [N, D]`` (one code for every layer) or ``[N, num_ws, D]`` and noise maps ``[N, 1, r, r]`` (one per
        styled convolution, :meth:`noise_shapes`; ``None``: fresh) -> images ``[N, 3, size, size]``."""
        check_codes(ws, name="ws", dim=self.cfg.style_dim, ranks=(2, 3))
        if ws.ndim == 2:
            ws = ws[:, None].expand(-1, self.num_ws, -1)                   # [N, num_ws, D]: one w for every layer
        if ws.shape[1] != self.num_ws:
            raise InputError(f"ws: expected [N, {self.cfg.style_dim}] or [N, {self.num_ws}, {self.cfg.style_dim}] "
                             f"(one code per layer), got {tuple(ws.shape)}")
        n = ws.shape[0]
        if noise is None:
            noise = self.make_noise(n, device=ws.device)
        check_noise_maps(noise, batch=n, shapes=self.noise_shapes())
        x = self.const.expand(n, -1, -1, -1)                               # [N, C, 4, 4]
        x = self.conv1(x, ws[:, 0], noise[0])
        skip = self.to_rgb1(x, ws[:, 1], None)
        i = 1
        for conv_up, conv, to_rgb, n1, n2 in zip(self.convs[::2], self.convs[1::2], self.to_rgbs, noise[1::2],
                                                 noise[2::2]):
            x = conv_up(x, ws[:, i], n1)
            x = conv(x, ws[:, i + 1], n2)
            skip = to_rgb(x, ws[:, i + 2], skip)
            i += 2
        return skip


class Generator(nn.Module):
    """StyleGAN2 generator: ``mapping`` (z -> w) and ``synthesis`` (w per layer -> image), plus the average w."""

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        self.cfg = cfg.validate()
        self.mapping = MappingNetwork(cfg.style_dim, cfg.n_mlp, cfg.lr_mlp)
        self.synthesis = SynthesisNetwork(cfg)
        # training state of the path-length regulariser (StyleGAN2 Sec. 3.2): the running mean ``a``
        self.register_buffer("path_length_mean", torch.zeros(()))

    @property
    def num_ws(self) -> int:
        return self.cfg.num_ws

    @torch.no_grad()
    def mean_w(self, n: int = 4096, generator: torch.Generator | None = None) -> torch.Tensor:
        """The centre of the style space (for truncation): the mean of ``n`` mapped codes ``[D]``."""
        dev = self.synthesis.const.device
        z = torch.randn(n, self.cfg.style_dim, generator=generator).to(dev)
        return self.mapping(z).mean(0)

    def forward(self, z: torch.Tensor, *, noise: list[torch.Tensor] | None = None, truncation: float = 1.0,
                w_avg: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``[N, 3, H, W]`` for latents ``z [N, D]`` (truncation ``w_avg + psi (w - w_avg)`` if psi < 1)."""
        w = self.mapping(z)                                                # [N, D]
        if truncation != 1.0:
            if w_avg is None:
                raise ValueError("truncation < 1 needs w_avg (Generator.mean_w())")
            w = w_avg + truncation * (w - w_avg)
        return self.synthesis(w, noise)


def render_frames(synthesis: SynthesisNetwork, ws: torch.Tensor, noise: list[torch.Tensor] | None = None
                  ) -> torch.Tensor:
    """Frames of videos from style trajectories ``ws [B, T, D]`` -> ``[B, T, 3, H, W]``.

    ``noise``: maps ``[B, 1, H, W]`` drawn once per video and kept over its frames (MoCoGAN-HD's official code
    does the same), or ``None`` for fresh per-video noise.
    """
    check_codes(ws, name="ws", dim=synthesis.cfg.style_dim, ranks=(3,))    # [B, T, D]
    b, t, d = ws.shape
    if noise is None:
        noise = synthesis.make_noise(b, device=ws.device)
    check_noise_maps(noise, batch=b, shapes=synthesis.noise_shapes(), name="noise (one draw per video)")
    per_frame = [m.repeat_interleave(t, dim=0) for m in noise]             # [B*T, 1, H, W], constant over time
    img = synthesis(ws.reshape(b * t, d), per_frame)                       # [B*T, 3, H, W]
    return img.reshape(b, t, *img.shape[1:])                               # [B, T, 3, H, W]
