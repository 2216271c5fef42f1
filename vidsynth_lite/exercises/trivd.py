"""Chapter 6 exercises: the pieces of TrIVD-GAN-FP (Luc et al. 2020).

References are written here from the equations (not calls of the package's functions), so a solution cannot
pass by calling the package, and the package's own versions are tested against the same equations elsewhere.
"""

import torch

from vidsynth_lite.exercises.core import Exercise, register


def _factorised_weights(w, S):
    """Eq. 12 by loops: W[b, q, i, j] = sum_l S[b, l, i, j] w[b, q, l]."""
    out = torch.zeros(w.shape[0], w.shape[1], *S.shape[2:], dtype=w.dtype)
    for l in range(w.shape[2]):
        out += w[:, :, l, None, None] * S[:, l, None]
    return out


def _factorised_inputs(g: torch.Generator):
    b, n, h = int(torch.randint(1, 3, (1,), generator=g)), int(torch.randint(2, 10, (1,), generator=g)), 5
    return torch.rand(b, 9, n, generator=g).softmax(1), torch.rand(b, n, h, h, generator=g).softmax(1)


def _moving_kernel(dx, dy):
    """The 3x3 kernel (raster order) that moves content by (dx, dy): each output pixel copies the input pixel
    at (y - dy, x - dx), i.e. offset (m - 1, n - 1) = (-dy, -dx)."""
    k = torch.zeros(9)
    k[(1 - dy) * 3 + (1 - dx)] = 1.0
    return k


def _moving_inputs(g: torch.Generator):
    dx, dy = (int(v) - 1 for v in torch.randint(0, 3, (2,), generator=g))
    return dx, dy


def _per_frame(cond, frames):
    """[B, D] -> [B * T, D] with row b * T + t = cond[b] (written without repeat_interleave)."""
    return torch.stack([cond[b] for b in range(cond.shape[0]) for _ in range(frames)])


def _per_frame_inputs(g: torch.Generator):
    return torch.randn(int(torch.randint(2, 5, (1,), generator=g)), 3, generator=g), \
        int(torch.randint(2, 6, (1,), generator=g))


def _learned_flow(h, target):
    """Where a well-trained kernel reads from: the exact shift between ``h`` and ``target`` (one pixel)."""
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = torch.roll(h, shifts=(-dy, -dx), dims=(-2, -1))
            if torch.allclose(shifted[..., 1:-1, 1:-1], target[..., 1:-1, 1:-1]):
                return torch.tensor([float(dx), float(dy)])
    raise ValueError("target is not a one-pixel shift of h")


def _learned_flow_inputs(g: torch.Generator):
    h = torch.randn(1, 2, 12, 12, generator=g)
    dx, dy = (int(v) - 1 for v in torch.randint(0, 3, (2,), generator=g))
    return h, torch.roll(h, shifts=(-dy, -dx), dims=(-2, -1))        # target[p] = h[p + (dy, dx)]


register(Exercise(
    name="trivd.factorised_weights",
    reference=_factorised_weights,
    make_inputs=_factorised_inputs,
    hint="Eq. 12: W[b, q, i, j] = sum over l of S[b, l, i, j] * w[b, q, l] -- an einsum or a broadcast + sum",
    skill="factorised kernel-based warping (TrIVD App. B, Eq. 12): basis kernels mixed by a selection map",
    kind="build",
    forbid=("vidsynth_lite.nn.kernel_warp",),
    edge_cases={
        "one basis kernel": lambda: (torch.rand(1, 9, 1).softmax(1), torch.ones(1, 1, 3, 3)),
        "one pixel": lambda: (torch.rand(2, 9, 4).softmax(1), torch.rand(2, 4, 1, 1).softmax(1)),
    },
    dtypes=(torch.float32, torch.float64),
    check_dtype=True,
))

register(Exercise(
    name="trivd.moving_kernel",
    reference=_moving_kernel,
    make_inputs=_moving_inputs,
    atol=0, rtol=0,
    skill="the direction of Eq. 11: a kernel on the left neighbour moves content to the right",
    kind="understand",
    forbid=("vidsynth_lite.nn.kernel_warp",),
    hint="Eq. 11 reads h at p + offset with offset (m - 1, n - 1) for index m * 3 + n; to move content by "
         "(dx, dy) the output at p must read p - (dx, dy)",
))

register(Exercise(
    name="trivd.per_frame_condition",
    reference=_per_frame,
    make_inputs=_per_frame_inputs,
    atol=0, rtol=0,
    skill="DVD-GAN reimplementation bug 1: a per-sample condition spread over frames in the wrong order",
    kind="debug",
    forbid=("vidsynth_lite.nn.frames",),
    hint="frames are folded sample-major (row b * T + t); Tensor.repeat stacks the whole batch T times",
))

register(Exercise(
    name="trivd.learned_flow",
    reference=_learned_flow,
    make_inputs=_learned_flow_inputs,
    atol=0.25, rtol=0, trials=2,
    skill="fit a warping kernel by gradient descent and read its motion as an expected flow (Fig. 3)",
    kind="train",
    hint="train only the kernel logits (softmax over the 9 offsets) to make pixelwise_warp(h, W) match the "
         "target on the interior, then return expected_flow(W) averaged over the interior",
))
