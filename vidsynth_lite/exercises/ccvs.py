"""Chapter 4 exercises: the pieces of CCVS (Le Moing et al. 2021): Eq. 1/9 fusion, Eq. 3's gradients,
Algorithm C1, the sliding window."""

import torch
import torch.nn.functional as F

from vidsynth_lite.exercises.core import Exercise, register
from vidsynth_lite.models.ccvs.flow import fuse
from vidsynth_lite.models.ccvs.losses import quantization_loss
from vidsynth_lite.nn import invert_flow


def _fuse_inputs(g: torch.Generator):
    c = int(torch.randint(1, 4, (1,), generator=g))
    shape = (2, 3, 4, 5)
    return (torch.randn(shape, generator=g, dtype=torch.float64),
            [torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(c)],
            [3 * torch.randn(2, 1, 4, 5, generator=g, dtype=torch.float64) for _ in range(c)])


def _eq3_reference(z, e, beta):
    z, e = z.clone().requires_grad_(True), e.clone().requires_grad_(True)
    quantization_loss(z, None, e, beta, "commitment").backward()
    return z.grad, e.grad


def _smooth_flow(g: torch.Generator):
    side = int(torch.randint(6, 12, (1,), generator=g))
    coarse = (torch.rand(1, 2, 3, 3, generator=g, dtype=torch.float64) * 2 - 1) * 2.5
    return (F.interpolate(coarse, size=(side, side), mode="bilinear", align_corners=True),)


register(Exercise(
    name="ccvs.fuse",
    reference=lambda d, warped, masks: fuse(d, warped, masks),
    make_inputs=_fuse_inputs,
    atol=1e-6, rtol=1e-6,
    hint="s_i = (1 - sigmoid(m_i) + 1e-6) / sum_j (...); m_a = sum s_i m_i; e_a = sum s_i e_i; then Eq. 1: "
         "sigmoid(m_a) d + (1 - sigmoid(m_a)) e_a. With one context frame, s = 1.",
))

register(Exercise(
    name="ccvs.eq3_gradients",
    reference=_eq3_reference,
    make_inputs=lambda g: (torch.randn(6, 4, generator=g, dtype=torch.float64),
                           torch.randn(6, 4, generator=g, dtype=torch.float64),
                           float(torch.rand(1, generator=g)) * 0.9 + 0.1),
    hint="sg() blocks a gradient: the first term moves only e, the second (times beta) only z; the mean over "
         "N elements gives d/dz beta mean((z - e)^2) = 2 beta (z - e) / N",
))

register(Exercise(
    name="ccvs.invert_flow",
    reference=lambda g: invert_flow(g)[0],
    make_inputs=_smooth_flow,
    atol=1e-8, rtol=1e-8,
    hint="direct step: target (round(y + dy), round(x + dx)) gets -g, the last cell in raster order wins; then "
         "repeat: undone cells with a done 4-neighbour take conv3x3(f) / conv3x3(done) with a Gaussian kernel "
         "(sigma 0.5, zero padding)",
))

register(Exercise(
    name="ccvs.window_start",
    reference=lambda frame, window: max(0, frame - window + 1),
    make_inputs=lambda g: (int(torch.randint(0, 40, (1,), generator=g)), int(torch.randint(1, 17, (1,),
                                                                                            generator=g))),
    trials=40,
    hint="the window holds `window` frames and ends with the frame being sampled",
))
