"""Plots for chapter 1: frames of a clip with its annotations drawn over them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch


def to_image(frame: torch.Tensor) -> np.ndarray:
    """``[3, H, W]`` in [-1, 1] -> ``[H, W, 3]`` float in [0, 1] for ``imshow``."""
    return ((frame.detach().float().cpu().permute(1, 2, 0) + 1) / 2).clamp(0, 1).numpy()


def frame_row(video: torch.Tensor, times: Sequence[int], overlay: Callable | None = None, title: str = "",
              panel: float = 1.9):
    """One row of frames ``video[t]`` for ``t`` in ``times``; ``overlay(ax, t, size)`` draws annotations on each.

    Returns the matplotlib figure (shown by the notebook).
    """
    import matplotlib.pyplot as plt

    size = video.shape[-1]
    fig, axes = plt.subplots(1, len(times), figsize=(panel * len(times), panel + 0.3), squeeze=False)
    for ax, t in zip(axes[0], times):
        ax.imshow(to_image(video[t]), extent=(0, size, size, 0), interpolation="nearest")
        if overlay is not None:
            overlay(ax, t, size)
        ax.set_xlim(0, size)
        ax.set_ylim(size, 0)
        ax.set_title(f"t = {t}", fontsize=8)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def evenly(n_frames: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over ``[0, n_frames)``, first and last included."""
    return sorted({round(float(x)) for x in np.linspace(0, n_frames - 1, min(count, n_frames))})
