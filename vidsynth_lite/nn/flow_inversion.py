"""Approximate inversion of a dense flow field (CCVS, App. C, Algorithm C1).

Conventions: a flow ``g`` [B, 2, H, W] holds per-pixel displacements ``(dx, dy)`` in pixels, and warping by ``g``
reads ``out(p) = in(p + g(p))`` (backward warping, ``grid_sample``). If ``A(x) = W(x, g)`` (an augmentation),
the inverse flow ``f`` satisfies ``W(A(x), f) ~ x``, i.e. ``f(p) + g(p + f(p)) = 0``.

Algorithm C1: every cell ``q`` whose displaced position ``q' = round(q + g(q))`` lies in the grid writes
``f(q') = -g(q)`` and marks ``q'`` done (when several cells land on one ``q'``, the last in raster order wins, as
in the paper's loop). Cells never reached are then filled ring by ring: at every step the undone cells with a
done 4-neighbour (dilation ``D`` in the cardinal directions) take the Gaussian-weighted mean of their done 3x3
neighbours (``B(f) / B(c)``, a 3x3 Gaussian blur with zero padding), until every cell is done.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _gaussian3(dtype, device) -> torch.Tensor:
    """The 3x3 Gaussian kernel (sigma = 0.5, as ``k / 6`` for k = 3), ``[1, 1, 3, 3]``, summing to 1."""
    x = torch.tensor([-1.0, 0.0, 1.0], dtype=dtype, device=device)
    g = torch.exp(-x ** 2 / (2 * 0.5 ** 2))
    k = g[:, None] * g[None, :]
    return (k / k.sum()).view(1, 1, 3, 3)


def invert_flow(g: torch.Tensor, max_steps: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Algorithm C1: flow ``g`` [B, 2, H, W] -> ``(f, direct)``: the approximate inverse flow [B, 2, H, W] and the
    mask [B, H, W] of cells inverted directly (the rest were interpolated)."""
    if g.dim() != 4 or g.shape[1] != 2:
        raise ValueError(f"invert_flow expects a flow [B, 2, H, W] of (dx, dy), got {tuple(g.shape)}")
    b, _, h, w = g.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=g.device), torch.arange(w, device=g.device), indexing="ij")
    tx = torch.round(xs + g[:, 0]).long()                                        # [B, H, W] target columns
    ty = torch.round(ys + g[:, 1]).long()                                        # [B, H, W] target rows
    inside = (tx >= 0) & (tx < w) & (ty >= 0) & (ty < h)
    target = torch.where(inside, ty * w + tx, torch.full_like(tx, h * w))       # h*w: a bin for "outside"
    source = torch.arange(h * w, device=g.device).expand(b, -1)                 # raster order of the loop
    winner = torch.full((b, h * w + 1), -1, dtype=torch.long, device=g.device)
    winner = winner.scatter_reduce(1, target.view(b, -1), source, reduce="amax")[:, :h * w]   # last writer
    done = winner >= 0                                                            # [B, H*W]
    src = winner.clamp(min=0)
    f = -torch.gather(g.view(b, 2, -1), 2, src[:, None, :].expand(-1, 2, -1))  # [B, 2, H*W]
    f = (f * done[:, None]).view(b, 2, h, w)
    done = done.view(b, 1, h, w).to(g.dtype)
    direct = done[:, 0].bool()
    if not direct.flatten(1).any(1).all():
        raise ValueError("invert_flow: for some flow every cell leaves the grid; nothing to invert")
    kernel = _gaussian3(g.dtype, g.device)
    cross = torch.tensor([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=g.dtype, device=g.device).view(1, 1, 3, 3)
    steps = 0
    while not bool(done.all()):                                                  # at most H + W rings
        new = (F.conv2d(done, cross, padding=1) > 0).to(g.dtype) * (1 - done)   # D(c) AND NOT c
        interp = F.conv2d(f.reshape(b * 2, 1, h, w), kernel, padding=1).view(b, 2, h, w)   # B(f)
        weight = F.conv2d(done, kernel, padding=1)                               # B(c)
        f = torch.where(new.bool(), interp / weight.clamp(min=1e-12), f)
        done = done + new
        steps += 1
        if max_steps is not None and steps >= max_steps:
            break
    return f, direct
