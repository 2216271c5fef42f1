"""Differentiable backward warping by a dense optical flow, with ``grid_sample`` (Jaderberg et al. 2015).

Convention (one for the whole package)
--------------------------------------
``flow`` is in **pixels**, channels ``(dx, dy)`` = (along W, along H), defined on the *output* grid::

    warp(x, flow)[b, :, y, x] = x[b, :, y + flow[b, 1, y, x], x + flow[b, 0, y, x]]     (bilinear)

i.e. each output pixel says where in the source it comes from ("backward" warping; no holes, no collisions).
CCVS (Sec. 3.2, Eq. 1 and App. A) warps context features ``e'_c = W(e_c, f_c)`` this way, with ``f_c`` the
displacement from the context to the frame being decoded; its self-supervised augmentations ``A(x) = W(x, a_c)``
are the same operation. Samples that fall outside the source read ``padding`` (zeros by default, so an
occlusion mask can tell them apart; ``"border"`` repeats the edge).

Exactness: pixel ``j`` is sampled at normalised coordinate ``(2 j + 1) / W - 1`` (``align_corners=False``).
For power-of-two sizes (the book's 32, 64, 128, 256) this is exact in float32: a zero flow returns the input
bit for bit and an integer flow moves pixels exactly. For other sizes the rounding of that coordinate gives
errors of order 1e-5 of the pixel range.

Gradients reach both the source (features) and the flow (through the bilinear weights), so a flow network is
trained end to end (CCVS: "gradients ... backpropagate from D to E through F").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["flow_grid", "upsample_flow", "warp"]


def flow_grid(flow: torch.Tensor) -> torch.Tensor:
    """Pixel flow ``[N, 2, H, W]`` -> normalised sampling grid ``[N, H, W, 2]`` for ``grid_sample``."""
    if flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f"flow_grid: expected a flow [N, 2, H, W] (dx, dy in pixels), got {tuple(flow.shape)}")
    _, _, height, width = flow.shape
    ys = torch.arange(height, device=flow.device, dtype=flow.dtype).view(1, height, 1)
    xs = torch.arange(width, device=flow.device, dtype=flow.dtype).view(1, 1, width)
    # pixel centre j -> (2 j + 1) / W - 1  (align_corners=False)
    grid_x = (2.0 * (xs + flow[:, 0]) + 1.0) / width - 1.0        # [N, H, W]
    grid_y = (2.0 * (ys + flow[:, 1]) + 1.0) / height - 1.0       # [N, H, W]
    return torch.stack((grid_x, grid_y), dim=-1)                  # [N, H, W, 2], (x, y) as grid_sample wants


def warp(source: torch.Tensor, flow: torch.Tensor, *, padding: str = "zeros", mode: str = "bilinear") -> torch.Tensor:
    """Backward-warp ``source`` by ``flow`` (see the module docstring for the convention).

    ``source``: ``[N, C, H, W]`` with ``flow`` ``[N, 2, H, W]``, or a video ``[B, T, C, H, W]`` with
    ``flow`` ``[B, T, 2, H, W]`` (each frame by its own flow). ``padding``: ``"zeros"``, ``"border"`` or
    ``"reflection"``.
    """
    if source.dim() == 5 and flow.dim() == 5 and source.shape[:2] == flow.shape[:2]:
        batch, frames = source.shape[:2]
        out = warp(source.flatten(0, 1), flow.flatten(0, 1), padding=padding, mode=mode)   # [B * T, C, H, W]
        return out.view(batch, frames, *out.shape[1:])
    if source.dim() != 4 or flow.dim() != 4 or flow.shape[1] != 2 or source.shape[0] != flow.shape[0] \
            or source.shape[-2:] != flow.shape[-2:]:
        raise ValueError(f"warp: expected source [N, C, H, W] with flow [N, 2, H, W] (or [B, T, C, H, W] with "
                         f"[B, T, 2, H, W]), got {tuple(source.shape)} and {tuple(flow.shape)}")
    grid = flow_grid(flow.to(source.dtype))
    return F.grid_sample(source, grid, mode=mode, padding_mode=padding, align_corners=False)


def upsample_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a pixel flow ``[N, 2, h, w]`` to ``size = (H, W)``, scaling the displacements with the grid.

    A flow of 1 pixel at 8x8 becomes 2 pixels at 16x16 (CCVS refines flows coarse to fine across its
    resolution levels ``r_k``, App. A).
    """
    if flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f"upsample_flow: expected a flow [N, 2, h, w], got {tuple(flow.shape)}")
    height, width = size
    scale = flow.new_tensor([width / flow.shape[-1], height / flow.shape[-2]]).view(1, 2, 1, 1)
    return F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False) * scale
