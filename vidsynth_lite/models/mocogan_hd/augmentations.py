"""The image augmentations of the contrastive loss (Tian et al. 2021, App. A.2.2).

Images in [-1, 1]; every random choice comes from the ``generator`` passed in (a seeded ``torch.Generator``), so
training is repeatable. The paper lists five augmentations; their ranges were lost in the text's conversion, so
the values below are the official code's:

- **affine**: rotation in [-angle, angle] (official: 180 degrees), translation in [-0.1, 0.1] of the half-width,
  scale in [0.95, 1.05], reflection padding;
- **brightness**: one random value in [-0.5, 0.5] added to all channels;
- **colour**: one random value in [-0.5, 0.5] added to one random channel;
- **cutout** (DeVries & Taylor 2017): a square of side ``ratio * S`` (ratio in [1/8, 1/4]) zeroed;
- **flip**: horizontal, with probability 1/2.

As in the official code, every image is cut out, then gets one of {flip, brightness or colour, affine}.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vidsynth_lite.checks import check_video


def _uniform(n: int, lo: float, hi: float, g: torch.Generator | None) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def affine(x: torch.Tensor, g: torch.Generator | None = None, angle: float = 180.0, shift: float = 0.1,
           scale: float = 0.05) -> torch.Tensor:
    """Random rotation, translation and scaling of ``x [N, C, H, W]`` (bilinear, reflection padding)."""
    n = x.shape[0]
    a = _uniform(n, -math.radians(angle), math.radians(angle), g)
    tx, ty = _uniform(n, -shift, shift, g), _uniform(n, -shift, shift, g)
    s = _uniform(n, 1 - scale, 1 + scale, g)
    theta = torch.stack([torch.stack([s * a.cos(), -s * a.sin(), tx], 1),
                         torch.stack([s * a.sin(), s * a.cos(), ty], 1)], 1).to(x)    # [N, 2, 3]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="reflection", align_corners=False)


def brightness(x: torch.Tensor, g: torch.Generator | None = None, amount: float = 0.5) -> torch.Tensor:
    return x + _uniform(x.shape[0], -amount, amount, g).to(x)[:, None, None, None]


def colour(x: torch.Tensor, g: torch.Generator | None = None, amount: float = 0.5) -> torch.Tensor:
    n, c = x.shape[:2]
    channel = torch.randint(c, (n,), generator=g)
    shift = torch.zeros(n, c)
    shift[torch.arange(n), channel] = _uniform(n, -amount, amount, g)
    return x + shift.to(x)[:, :, None, None]


def cutout(x: torch.Tensor, g: torch.Generator | None = None, max_ratio: float = 0.25) -> torch.Tensor:
    """Zero one random square of side ``ratio * S``, ``ratio ~ U(max_ratio / 2, max_ratio)``, per image."""
    n, _, h, w = x.shape
    side = (_uniform(n, max_ratio / 2, max_ratio, g) * h).round().clamp(min=1)         # [N]
    top = (torch.rand(n, generator=g) * (h - side + 1)).floor()
    left = (torch.rand(n, generator=g) * (w - side + 1)).floor()
    ys, xs = torch.arange(h)[None, :, None], torch.arange(w)[None, None, :]
    inside = ((ys >= top[:, None, None]) & (ys < (top + side)[:, None, None])
              & (xs >= left[:, None, None]) & (xs < (left + side)[:, None, None]))       # [N, H, W]
    return x * (~inside).to(x)[:, None]


def flip(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    keep = (torch.rand(x.shape[0], generator=g) < 0.5).to(x.device)[:, None, None, None]
    return torch.where(keep, x, x.flip(-1))


def augment(x: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """Cutout, then one of {flip, brightness or colour, affine} per image (the official ``warp``).

    ``x [N, C, H, W]``: the shape is checked, the values are not (this runs inside every training step)."""
    check_video(x, name="images to augment", rank=4, channels=None, values=False)
    x = cutout(x, g)
    choice = torch.randint(3, (x.shape[0],), generator=g).to(x.device)[:, None, None, None]
    shifted = torch.where(torch.rand(x.shape[0], generator=g).to(x.device)[:, None, None, None] < 0.25,
                          brightness(x, g), colour(x, g))
    return torch.where(choice == 0, flip(x, g), torch.where(choice == 1, shifted, affine(x, g)))
