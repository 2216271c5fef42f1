"""LPIPS (Zhang et al. 2018) only with real backbone weights supplied by the user.

LPIPS needs an ImageNet-trained backbone (AlexNet or VGG-16). The ``lpips`` package ships only its linear
heads and downloads the backbones, which these machines cannot do; a randomly initialised backbone would give
numbers that look like LPIPS and mean nothing. So this module refuses to run unless the user gives both files.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch


class LPIPSUnavailable(RuntimeError):
    """LPIPS cannot be computed honestly without the user's backbone and linear-head weights."""


MESSAGE = ("LPIPS needs real weights: an ImageNet-trained VGG-16 backbone (torchvision's vgg16 state dict, "
           "e.g. vgg16-397923af.pth) and the LPIPS linear heads (lpips package: weights/v0.1/vgg.pth). "
           "Pass lpips_vgg(backbone=..., heads=...) or set VIDSYNTH_LPIPS_BACKBONE and VIDSYNTH_LPIPS_HEADS. "
           "The book never substitutes random or synthetic weights for LPIPS.")


def lpips_vgg(backbone: str | os.PathLike | None = None, heads: str | os.PathLike | None = None):
    """The LPIPS(VGG) distance ``f(a, b) -> [N]`` for images ``[N, 3, H, W]`` in [-1, 1], from user weights."""
    backbone = backbone or os.environ.get("VIDSYNTH_LPIPS_BACKBONE")
    heads = heads or os.environ.get("VIDSYNTH_LPIPS_HEADS")
    if not backbone or not heads or not Path(backbone).is_file() or not Path(heads).is_file():
        raise LPIPSUnavailable(MESSAGE)
    from torchvision.models import vgg16
    net = vgg16()
    net.load_state_dict(torch.load(backbone, map_location="cpu", weights_only=True))
    lin = torch.load(heads, map_location="cpu", weights_only=True)
    feats = net.features.eval().requires_grad_(False)
    taps = (3, 8, 15, 22, 29)                                  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
    weights = [lin[f"lin{i}.model.1.weight"].flatten() for i in range(5)]
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)   # LPIPS ScalingLayer
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)

    def run(x):
        x = (x - shift) / scale
        out = []
        for i, layer in enumerate(feats):
            x = layer(x)
            if i in taps:
                out.append(x)
        return out

    @torch.no_grad()
    def distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        total = 0.0
        for fa, fb, w in zip(run(a), run(b), weights):
            fa = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)     # unit-normalise channels
            fb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + ((fa - fb) ** 2 * w.view(1, -1, 1, 1)).sum(1).mean(dim=(1, 2))
        return total

    return distance
