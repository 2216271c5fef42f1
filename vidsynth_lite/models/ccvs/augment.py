"""Self-supervision of F: augmented views of a frame as its own context (CCVS Sec. 3.2, App. C, App. F).

For a frame ``x`` the context is ``x_c = (1 - o) * B(A(x))``:

- ``A(x) = W(x, a)``: a random spatial transformation given by a flow ``a`` -- an affine part (rotation, zoom,
  translation) plus a smooth elastic field;
- ``B``: a Gaussian blur of random strength;
- ``o``: a random occlusion mask of smooth blobs (1 = occluded, 0 = visible), blanking part of the context.

The targets of the contextual loss (Eq. 7) are the flow ``f`` from ``x`` to its context, i.e. the inverse of
``a`` (Algorithm C1, :func:`vidsynth_lite.nn.invert_flow`: ``W(A(x), f) ~ x``), and the occlusion seen from
``x``: ``o' = W(o, f)``, where positions that read outside the context count as occluded. (The paper writes
``x_c = o_c * B(A(x))`` with ``o_c`` the visible part and asks ``sigma(m)`` to match the warped mask; we name
the occluded part ``o`` so that ``sigma(m) -> 1`` -- "decode from z_s alone" -- where the context holds nothing.)

We invert the whole flow ``a`` with Algorithm C1, the affine part included (the paper inverts affine parts
analytically; C1 is exact on them up to its rounding to whole pixels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vidsynth_lite.checks import InputError, check_video
from vidsynth_lite.nn import invert_flow, warp

from .config import LossConfig


@dataclass
class AugmentedView:
    context: torch.Tensor     # x_c = (1 - o) * B(A(x))       [N, 3, H, W]
    flow: torch.Tensor        # f: inverse of a (target of F's flow, pixels)   [N, 2, H, W]
    occluded: torch.Tensor    # o' = W(o, f), 1 = no context there (target of sigma(m))   [N, 1, H, W]
    augment_flow: torch.Tensor  # a, the flow of A   [N, 2, H, W]
    direct: torch.Tensor      # cells Algorithm C1 inverted directly   [N, H, W]


def _gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of ``x`` [N, C, H, W] with one sigma (pixels) per sample ``[N]`` (0: no blur)."""
    n, c, h, w = x.shape
    radius = max(1, math.ceil(3 * float(sigma.max())))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-t[None] ** 2 / (2 * sigma.clamp(min=1e-3)[:, None] ** 2))    # [N, K]
    k = k / k.sum(1, keepdim=True)
    k = torch.where(sigma[:, None] > 1e-3, k, (t == 0).to(x.dtype)[None])      # sigma 0: identity
    xs = F.pad(x.reshape(1, n * c, h, w), (radius, radius, radius, radius), mode="replicate")
    kx = k.repeat_interleave(c, 0).view(n * c, 1, 1, -1)
    ky = k.repeat_interleave(c, 0).view(n * c, 1, -1, 1)
    return F.conv2d(F.conv2d(xs, kx, groups=n * c), ky, groups=n * c).view(n, c, h, w)


def _smooth_noise(n: int, channels: int, size: int, smooth: float, generator: torch.Generator,
                  device) -> torch.Tensor:
    """Uniform noise in [-1, 1] blurred by a Gaussian of ``smooth * size`` pixels, scaled to unit std."""
    noise = torch.rand(n, channels, size, size, generator=generator).to(device) * 2 - 1
    sigma = torch.full((n,), smooth * size, device=device)
    field = _gaussian_blur(noise, sigma)
    return field / field.flatten(1).std(1).clamp(min=1e-6).view(n, 1, 1, 1)


def affine_flow(n: int, size: int, rotation_deg: torch.Tensor, zoom: torch.Tensor, shift: torch.Tensor,
                device=None) -> torch.Tensor:
    """The flow ``a(p) = M p + t - p`` (pixels, about the image centre) of a rotation by ``rotation_deg`` [N],
    a zoom [N] (> 1 enlarges the content) and a shift [N, 2] (pixels)."""
    c = (size - 1) / 2
    ys, xs = torch.meshgrid(torch.arange(size, device=device, dtype=torch.float32) - c,
                            torch.arange(size, device=device, dtype=torch.float32) - c, indexing="ij")
    th = rotation_deg * math.pi / 180
    cos, sin = (torch.cos(th) / zoom).view(n, 1, 1), (torch.sin(th) / zoom).view(n, 1, 1)
    sx = cos * xs - sin * ys + shift[:, 0].view(n, 1, 1)                       # where output pixel p reads
    sy = sin * xs + cos * ys + shift[:, 1].view(n, 1, 1)
    return torch.stack([sx - xs, sy - ys], 1)                                  # [N, 2, H, W]


def augmented_view(x: torch.Tensor, cfg: LossConfig, generator: torch.Generator) -> AugmentedView:
    """Draw ``x_c = (1 - o) * B(A(x))`` for frames ``x`` [N, 3, H, W] with its targets (``f``, ``o'``).

    All randomness comes from ``generator`` (CPU), so a training step is a function of its seed. Shapes are
    checked (it runs inside training steps: no value read).
    """
    check_video(x, name="x", rank=4, channels=None, values=False)
    n, _, h, w = x.shape
    if h != w:
        raise InputError(f"x: augmented_view expects square frames [N, C, S, S], got {tuple(x.shape)}")
    dev = x.device

    def uniform(lo, hi, *shape):
        return (lo + (hi - lo) * torch.rand(*shape, generator=generator)).to(dev)

    a = affine_flow(n, h, uniform(-cfg.rotation, cfg.rotation, n), uniform(*cfg.zoom, n),
                    uniform(-cfg.translation * h, cfg.translation * h, n, 2), dev)
    a = a + cfg.elastic * h * _smooth_noise(n, 2, h, cfg.elastic_smooth, generator, dev)   # A = affine + elastic
    f, direct = invert_flow(a)                                                 # Algorithm C1
    view = warp(x, a)                                                      # A(x) = W(x, a)
    view = _gaussian_blur(view, uniform(*cfg.blur_sigma, n) * h / 256)         # B
    share = uniform(0.0, min(0.95, 2 * cfg.occluded), n)                       # occluded share per sample
    field = _smooth_noise(n, 1, h, cfg.elastic_smooth, generator, dev)          # blobs
    level = torch.quantile(field.flatten(1), (1 - share).clamp(0, 1), dim=1).diagonal()   # [N]
    o = (field > level.view(n, 1, 1, 1)).to(x.dtype)                           # 1 = occluded
    context = (1 - o) * view
    visible_from_x = warp(1 - o, f)                                        # zeros outside: occluded
    return AugmentedView(context=context, flow=f, occluded=1 - visible_from_x, augment_flow=a, direct=direct)
