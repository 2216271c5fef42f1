"""Sampling videos from a trained MoCoGAN-HD (Tian et al. 2021, Secs. 3-4): in-domain and cross-domain clips,
long sequences (Sec. 4.4), and content / motion swaps (Figs. 5-6, App. C Figs. 13-14).

A video is a function of three random inputs: the content code ``z_1`` (a style code of the image generator), the
motion noise ``eps_2..eps_T`` of the LSTM decoder, and the generator's spatial noise (one draw per video, kept
over its frames). Holding one fixed while changing another is how the paper shows that content and motion are
disentangled: the same ``eps`` on other ``z_1`` (the same motion on other faces) and other ``eps`` from one ``z_1``
(one face, several motions).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidsynth_lite.models.stylegan2.generator import Generator, render_frames
from vidsynth_lite.models.stylegan2.inputs import check_codes

from .motion import MotionGenerator, interpolate_codes


@dataclass
class VideoInputs:
    """The random inputs of ``n`` videos: ``content [n, D]`` (z_1 in the style space), ``motion [n, T-1, d]``
    (eps), ``noise`` (one list of ``[n, 1, h, w]`` maps)."""

    content: torch.Tensor
    motion: torch.Tensor
    noise: list[torch.Tensor]


def draw_inputs(G: Generator, M: MotionGenerator, n: int, frames: int, *, seed: int, noise: bool = True
                ) -> VideoInputs:
    """Seeded inputs for ``n`` videos of ``frames`` frames (``noise=False``: the generator's noise off)."""
    g = torch.Generator().manual_seed(seed)
    dev = G.synthesis.const.device
    z = torch.randn(n, G.cfg.style_dim, generator=g)
    eps = torch.randn(n, frames - 1, M.cfg.noise_dim, generator=g)
    maps = [torch.randn(n, *s, generator=g) * (1.0 if noise else 0.0) for s in G.synthesis.noise_shapes()]
    with torch.no_grad():
        content = G.mapping(z.to(dev))
    return VideoInputs(content, eps.to(dev), [m.to(dev) for m in maps])


@torch.no_grad()
def trajectories(M: MotionGenerator, inputs: VideoInputs, *, interpolate: int = 1) -> torch.Tensor:
    """Codes ``[n, T, D]`` (or ``[n, (T-1) k + 1, D]`` with ``interpolate = k``, Sec. 4.4)."""
    codes = M(inputs.content, inputs.motion.shape[1] + 1, noise=inputs.motion).codes
    return interpolate_codes(codes, interpolate) if interpolate > 1 else codes


@torch.no_grad()
def render(G: Generator, codes: torch.Tensor, noise: list[torch.Tensor], batch: int = 8) -> torch.Tensor:
    """Frames ``[n, T, 3, H, W]`` of trajectories ``codes [n, T, D]`` (in chunks of ``batch`` videos)."""
    check_codes(codes, name="codes (trajectories)", dim=G.cfg.style_dim, ranks=(3,))
    out = [render_frames(G.synthesis, codes[i:i + batch], [m[i:i + batch] for m in noise])
           for i in range(0, codes.shape[0], batch)]
    return torch.cat(out).clamp(-1, 1)


def videos(G: Generator, M: MotionGenerator, n: int, frames: int, *, seed: int, noise: bool = True,
           interpolate: int = 1) -> torch.Tensor:
    """``n`` seeded videos ``[n, T, 3, H, W]`` (``frames`` codes; with ``interpolate = k``, (T-1) k + 1 frames)."""
    inputs = draw_inputs(G, M, n, frames, seed=seed, noise=noise)
    return render(G, trajectories(M, inputs, interpolate=interpolate), inputs.noise)


def swap(inputs: VideoInputs, *, content_from: torch.Tensor, motion_from: torch.Tensor) -> VideoInputs:
    """Inputs whose i-th video has the content (z_1 and spatial noise) of video ``content_from[i]`` and the
    motion noise of video ``motion_from[i]``."""
    return VideoInputs(inputs.content[content_from], inputs.motion[motion_from],
                       [m[content_from] for m in inputs.noise])
