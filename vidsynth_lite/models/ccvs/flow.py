"""The flow module F of CCVS (Sec. 3.2, App. A, Fig. A1; App. D for several context frames).

At every resolution level ``k`` of the decoder, F estimates, for each context frame ``c``, the optical flow
``f_c^k`` from the context's encoder features ``e_c^k`` to the features ``d_s^k`` being decoded, and a fusion mask
``m_c^k``; it then fuses the warped context features ``e'_c^k = W(e_c^k, f_c^k)`` into ``d_s^k``:

    d_s^k = sigma(m^k) * d_s^k + (1 - sigma(m^k)) * e'^k                                    (Eq. 1)

With ``c`` context frames (App. D), each gets a confidence ``s_i = (1 - sigma(m_i)) / sum_j (1 - sigma(m_j))``
and Eq. 1 uses the aggregated ``m_a = sum_i s_i m_i`` and ``e'_a = sum_i s_i e'_i`` (Eq. 9): no parameter more.

Each level (Fig. A1-(2), after LiteFlowNet): **match** -- the flow and mask of the coarser level, upsampled,
warp the context; a cost volume between ``d_s^k`` and the 7x7 neighbourhood of the warped context
(:func:`vidsynth_lite.nn.local_correlation`) goes through three convolutions to a residual flow and mask;
**refine** -- convolutions on ``[d_s^k, W(e_c^k, f), f, m]`` give a second residual update; **fuse** -- Eq. 1/9.
Flows are in pixels of their level, ``(dx, dy)``; warping is the package's :func:`vidsynth_lite.nn.warp`,
``out(p) = in(p + f(p))`` (bilinear, zeros outside). Only the first ``warp_fraction`` of each level's channels take part (1.0 here by default, as the paper
describes it; the official code uses 0.75 and leaves the rest of ``d_s^k`` to ``z_s`` alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.checks import InputError
from vidsynth_lite.nn import local_correlation, upsample_flow, warp

from .inputs import check_shape


def fuse(d: torch.Tensor, warped: list[torch.Tensor], masks: list[torch.Tensor],
         eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 9 then Eq. 1: decoded features ``d`` [N, C, H, W], warped context features (one [N, C, H, W] per
    context frame) and their mask logits ([N, 1, H, W] each) -> (fused features, aggregated mask logits m_a).
    Shapes are checked (free); values are not (this runs at every decoder level)."""
    n, c, h, w = check_shape(d, "d", (None, None, None, None), "[N, C, H, W]").shape
    if not isinstance(warped, (list, tuple)) or not isinstance(masks, (list, tuple)) or not warped \
            or len(warped) != len(masks):
        raise InputError("fuse: expected two non-empty lists of equal length, one entry per context frame (warped "
                         f"features [N, C, H, W], mask logits [N, 1, H, W]), got {type(warped).__name__} of "
                         f"{len(warped) if isinstance(warped, (list, tuple)) else '?'} and {type(masks).__name__} "
                         f"of {len(masks) if isinstance(masks, (list, tuple)) else '?'}")
    for i, (e, m) in enumerate(zip(warped, masks)):
        check_shape(e, f"warped[{i}]", (n, c, h, w), "[N, C, H, W] like d")
        check_shape(m, f"masks[{i}]", (n, 1, h, w), "[N, 1, H, W]")
    if len(warped) == 1:
        m_a, e_a = masks[0], warped[0]                                          # Eq. 9 with c = 1: s = 1
    else:
        conf = torch.stack([1 - torch.sigmoid(m) for m in masks]) + eps         # [c, N, 1, H, W]
        s = conf / conf.sum(0, keepdim=True)                                    # s_i (Eq. 9)
        m_a = (s * torch.stack(masks)).sum(0)                                   # m_a = sum_i s_i m_i
        e_a = (s * torch.stack(warped)).sum(0)                                  # e'_a = sum_i s_i e'_i
    keep = torch.sigmoid(m_a)
    return keep * d + (1 - keep) * e_a, m_a                                     # Eq. 1


def _conv(cin: int, cout: int, k: int = 3, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, padding=k // 2)]
    if act:
        layers.append(nn.LeakyReLU(0.1))
    return nn.Sequential(*layers)


class FlowLevel(nn.Module):
    """F at one level (Fig. A1-(2)): match (cost volume -> residual flow, mask), then refine (residual again)."""

    def __init__(self, channels: int, radius: int, hidden: tuple, proj_min: int, head_kernel: int):
        super().__init__()
        self.radius, self.channels = radius, channels
        proj = max(proj_min, channels // 4)
        self.proj = _conv(channels, proj, 1) if channels > proj else nn.Identity()
        n = (2 * radius + 1) ** 2
        h1, h2, h3 = hidden
        self.match = nn.Sequential(_conv(n, h1), _conv(h1, h2), _conv(h2, h3))
        self.match_flow = _conv(h3, 2, head_kernel, act=False)
        self.match_mask = _conv(h3, 1, head_kernel, act=False)
        self.refine = nn.Sequential(_conv(2 * channels + 3, h1), _conv(h1, h2), _conv(h2, h3))
        self.refine_flow = _conv(h3, 2, head_kernel, act=False)
        self.refine_mask = _conv(h3, 1, head_kernel, act=False)

    def forward(self, d: torch.Tensor, e: torch.Tensor, flow: torch.Tensor | None,
                mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``d``, ``e`` [N, C, H, W]; the coarser level's ``flow`` [N, 2, H/2, W/2] and ``mask`` [N, 1, H/2, W/2]
        (None at the coarsest level) -> this level's flow [N, 2, H, W] and mask logits [N, 1, H, W]. Shapes
        checked (free)."""
        n, c, h, w = check_shape(d, "d", (None, self.channels, None, None), "[N, C, H, W]").shape
        check_shape(e, "e", (n, c, h, w), "[N, C, H, W] like d")
        if (flow is None) != (mask is None):
            raise InputError("flow and mask: give both (the coarser level's) or neither (the coarsest level)")
        if flow is not None:
            check_shape(flow, "flow", (n, 2, h // 2, w // 2), "[N, 2, H/2, W/2] (the coarser level's)")
            check_shape(mask, "mask", (n, 1, h // 2, w // 2), "[N, 1, H/2, W/2] (the coarser level's)")
        if flow is None:
            flow = d.new_zeros(d.shape[0], 2, *d.shape[2:])
            mask = d.new_zeros(d.shape[0], 1, *d.shape[2:])
            e_warped = e
        else:
            flow = upsample_flow(flow, tuple(d.shape[-2:]))                   # coarse to fine, pixels x 2
            mask = F.interpolate(mask, size=tuple(d.shape[-2:]), mode="bilinear", align_corners=False)
            e_warped = warp(e, flow)
        # match: correlation of d with the 7x7 neighbourhood of the (pre-warped) context
        cost = F.leaky_relu(local_correlation(self.proj(d), self.proj(e_warped), self.radius), 0.1)
        h = self.match(cost)                                                     # [N, h3, H, W]
        flow = flow + self.match_flow(h)
        mask = mask + self.match_mask(h)
        # refine: features, warped context, flow and mask together
        h = self.refine(torch.cat([d, warp(e, flow), flow, mask], 1))
        return flow + self.refine_flow(h), mask + self.refine_mask(h)


@dataclass
class FlowTrace:
    """What F did at each level (coarse to fine), for pictures and for L_c: per level a list over context frames
    of flows [N, 2, H, W] and mask logits [N, 1, H, W], and the aggregated mask logits [N, 1, H, W]."""

    flows: list[list[torch.Tensor]]
    masks: list[list[torch.Tensor]]
    fused_masks: list[torch.Tensor]


class FlowModule(nn.Module):
    """F: one :class:`FlowLevel` per decoder level. ``step(k, d, contexts, state)`` updates ``d`` at level k."""

    def __init__(self, widths: tuple, radius: int, hidden: tuple, proj_min: int, warp_fraction: float):
        super().__init__()
        self.widths = tuple(widths)
        self.parts = [max(1, round(warp_fraction * c)) for c in widths]         # channels F sees, per level
        self.levels = nn.ModuleList([
            FlowLevel(p, radius, hidden, proj_min, head_kernel=2 ** (k // 2 + 1) + 1)   # official kernels 3,3,5,5,9,9
            for k, p in enumerate(self.parts)])

    def step(self, k: int, d: torch.Tensor, contexts: list[torch.Tensor], prev: list | None,
             trace: FlowTrace) -> tuple[torch.Tensor, list]:
        """Level ``k``: decoded ``d`` [N, C, H, W], one encoder feature map per context frame; ``prev``: the
        coarser level's (flow, mask) per context (None at k = 0). Returns the fused ``d`` and this level's list.
        Shapes checked (free)."""
        if not isinstance(k, int) or not 0 <= k < len(self.levels):
            raise InputError(f"k: expected a level index in [0, {len(self.levels) - 1}], got {k!r}")
        n, _, h, w = check_shape(d, "d", (None, self.widths[k], None, None), f"[N, C_{k}, H, W]").shape
        if not isinstance(contexts, (list, tuple)) or not contexts:
            raise InputError("contexts: expected a non-empty list of encoder feature maps, one per context frame")
        for i, e in enumerate(contexts):
            check_shape(e, f"contexts[{i}]", (n, self.widths[k], h, w), f"[N, C_{k}, H, W] like d")
        if prev is not None and len(prev) != len(contexts):
            raise InputError(f"prev: expected the coarser level's (flow, mask) for each of the {len(contexts)} "
                             f"context frames, got {len(prev)}")
        p = self.parts[k]
        head = d[:, :p]
        now, warped = [], []
        for i, e in enumerate(contexts):
            flow, mask = self.levels[k](head, e[:, :p], *(prev[i] if prev is not None else (None, None)))
            now.append((flow, mask))
            warped.append(warp(e[:, :p], flow))
        fused, m_a = fuse(head, warped, [m for _, m in now])
        trace.flows.append([f for f, _ in now])
        trace.masks.append([m for _, m in now])
        trace.fused_masks.append(m_a)
        return torch.cat([fused, d[:, p:]], 1), now
