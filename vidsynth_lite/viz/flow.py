"""Flow fields as colour images (the usual optical-flow colour wheel): hue = direction, saturation = speed.

``flow_to_rgb(flow [..., 2, H, W]) -> [..., 3, H, W]`` in [-1, 1], so that a video of flows goes through
:func:`vidsynth_lite.viz.show_video` like any clip. Channels of ``flow`` are ``(dx, dy)`` in pixels (the
convention of :func:`vidsynth_lite.nn.warp.warp`); white is no motion.
"""

from __future__ import annotations

import math

import torch


def flow_to_rgb(flow: torch.Tensor, max_norm: float | None = None) -> torch.Tensor:
    """Colour-code ``flow`` ``[..., 2, H, W]``: hue from the direction of ``(dx, dy)``, saturation from
    ``|flow| / max_norm`` (default: the largest norm in ``flow``), full value. Returns ``[..., 3, H, W]`` in
    [-1, 1]."""
    if flow.ndim < 3 or flow.shape[-3] != 2:
        raise ValueError(f"flow must be [..., 2, H, W] (dx, dy), got {tuple(flow.shape)}")
    dx, dy = flow.unbind(-3)
    norm = torch.sqrt(dx ** 2 + dy ** 2)
    scale = max_norm if max_norm is not None else float(norm.max())
    sat = (norm / scale).clamp(0, 1) if scale > 0 else torch.zeros_like(norm)
    hue = (torch.atan2(dy, dx) / (2 * math.pi)) % 1.0                  # [0, 1)
    # HSV -> RGB with value 1: channel n (R: 5, G: 3, B: 1) is 1 - S max(0, min(k, 4 - k, 1)), k = (n + 6H) mod 6
    channels = []
    for n in (5, 3, 1):
        k = (n + hue * 6) % 6
        channels.append(1 - sat * torch.clamp(torch.minimum(k, 4 - k), 0, 1))
    return torch.stack(channels, dim=-3) * 2 - 1
