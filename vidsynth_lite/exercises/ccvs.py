"""Chapter 4 exercises: the pieces of CCVS (Le Moing et al. 2021) -- Eq. 1 / Eq. 9 fusion (the chapter then
decodes with yours), which side of Eq. 3 each gradient reaches, Algorithm C1, and a sampler's sliding window."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidsynth_lite.exercises.core import Exercise, register
from vidsynth_lite.models.ccvs.flow import fuse
from vidsynth_lite.models.ccvs.losses import quantization_loss
from vidsynth_lite.nn import invert_flow

# ---------------------------------------------------------------------------------------------------------------
# Exercise 4.1 (build): Eq. 9 then Eq. 1, which the chapter's decoder then runs on


def _fuse_inputs(g: torch.Generator, contexts: int | None = None):
    c = int(torch.randint(1, 4, (1,), generator=g)) if contexts is None else contexts
    shape = (2, 3, 4, 5)
    return (torch.randn(shape, generator=g, dtype=torch.float64),
            [torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(c)],
            [3 * torch.randn(2, 1, 4, 5, generator=g, dtype=torch.float64) for _ in range(c)])


register(Exercise(
    name="ccvs.fuse",
    points=2,
    kind="build",
    skill="fusing warped context features into decoded ones: confidences from masks (Eq. 9), then Eq. 1",
    reference=fuse,
    make_inputs=_fuse_inputs,
    atol=1e-6, rtol=1e-6,
    edge_cases={"one context frame": lambda: _fuse_inputs(torch.Generator().manual_seed(1), contexts=1),
                "masks saturated at +-30": lambda: (torch.ones(1, 2, 3, 3), [torch.zeros(1, 2, 3, 3)] * 2,
                                                    [torch.full((1, 1, 3, 3), 30.0),
                                                     torch.full((1, 1, 3, 3), -30.0)])},
    dtypes=(torch.float32, torch.float64),
    check_dtype=True,
    forbid=("vidsynth_lite.models.ccvs.flow.fuse", "vidsynth_lite.models.ccvs.fuse"),
    hint="s_i = (1 - sigmoid(m_i) + 1e-6) / sum_j (...); m_a = sum s_i m_i; e_a = sum s_i e_i; then Eq. 1: "
         "sigmoid(m_a) d + (1 - sigmoid(m_a)) e_a. Return (fused, m_a).",
))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 4.2 (understand): Eq. 3's gradients -- which term reaches the encoder, which the codebook


def _eq3_reference(z, e, beta):
    """Closed form of d/dz and d/de of mean(||sg(z) - e||^2) + beta mean(||sg(e) - z||^2) (N elements)."""
    n = z.numel()
    return 2 * beta * (z - e) / n, 2 * (e - z) / n


def _eq3_inputs(g: torch.Generator):
    return (torch.randn(6, 4, generator=g, dtype=torch.float64), torch.randn(6, 4, generator=g, dtype=torch.float64),
            float(torch.rand(1, generator=g)) * 0.9 + 0.1)


register(Exercise(
    name="ccvs.eq3_gradients",
    kind="understand",
    skill="stop-gradients: each term of Eq. 3 moves one side only; beta scales the encoder's (commitment) side",
    reference=_eq3_reference,
    make_inputs=_eq3_inputs,
    edge_cases={"z equals its code": lambda: (torch.ones(2, 3), torch.ones(2, 3), 0.25)},
    forbid=(quantization_loss, "vidsynth_lite.models.ccvs.losses.quantization_loss"),
    hint="sg() blocks a gradient: the first term moves only e, the second (times beta) only z; the mean over "
         "N elements gives d/dz beta mean((z - e)^2) = 2 beta (z - e) / N",
))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 4.3 (build): Algorithm C1, the flow inversion behind F's self-supervision


def _smooth_flow(g: torch.Generator):
    side = int(torch.randint(6, 12, (1,), generator=g))
    coarse = (torch.rand(1, 2, 3, 3, generator=g, dtype=torch.float64) * 2 - 1) * 2.5
    return (F.interpolate(coarse, size=(side, side), mode="bilinear", align_corners=True),)


register(Exercise(
    name="ccvs.invert_flow",
    points=2,
    kind="build",
    skill="inverting a dense flow: scatter to rounded targets (last writer wins), then fill rings by "
          "normalised Gaussian interpolation",
    reference=lambda g: invert_flow(g)[0],
    make_inputs=_smooth_flow,
    atol=1e-8, rtol=1e-8,
    edge_cases={"an integer shift (exact)": lambda: (torch.cat([torch.full((1, 1, 7, 7), 2.0),
                                                                torch.full((1, 1, 7, 7), -1.0)], 1),),
                "zero flow": lambda: (torch.zeros(2, 2, 5, 5),)},
    forbid=(invert_flow, "vidsynth_lite.nn.flow_inversion.invert_flow", "vidsynth_lite.nn.invert_flow"),
    hint="direct step: target (round(y + dy), round(x + dx)) gets -g, the last cell in raster order wins; then "
         "repeat: undone cells with a done 4-neighbour take conv3x3(f) / conv3x3(done) with a Gaussian kernel "
         "(sigma 0.5, zero padding)",
))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 4.4 (debug): the window a cached sampler must rebuild when it slides


register(Exercise(
    name="ccvs.window_start",
    kind="debug",
    skill="sliding-window sampling: which frames the window holds when it samples frame t",
    reference=lambda frame, window: max(0, frame - window + 1),
    make_inputs=lambda g: (int(torch.randint(0, 40, (1,), generator=g)),
                           int(torch.randint(1, 17, (1,), generator=g))),
    trials=40,
    edge_cases={"the first slide": lambda: (16, 16), "inside the first window": lambda: (15, 16),
                "a window of one frame": lambda: (5, 1)},
    hint="the window holds `window` frames and ends with the frame being sampled",
))
