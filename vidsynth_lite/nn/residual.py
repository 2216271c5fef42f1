"""Residual stacks of 3D convolutions (VQ-VAE encoders/decoders, Walker et al. 2021 Table 3: "hidden units",
"residual units", "layers"; conditioning stacks, Tables 5-8)."""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock3d(nn.Module):
    """``x + Conv1x1(ReLU(Conv3x3x3(ReLU(x))))`` with ``residual`` channels inside."""

    def __init__(self, hidden: int, residual: int, kernel: int | tuple[int, int, int] = 3):
        super().__init__()
        k = (kernel,) * 3 if isinstance(kernel, int) else tuple(kernel)
        self.body = nn.Sequential(nn.ReLU(), nn.Conv3d(hidden, residual, k, padding=tuple(i // 2 for i in k)),
                                  nn.ReLU(), nn.Conv3d(residual, hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualStack3d(nn.Sequential):
    """``layers`` residual blocks followed by a ReLU."""

    def __init__(self, hidden: int, residual: int, layers: int, kernel: int | tuple[int, int, int] = 3):
        super().__init__(*[ResidualBlock3d(hidden, residual, kernel) for _ in range(layers)], nn.ReLU())
