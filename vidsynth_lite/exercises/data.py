"""Chapter 1 exercises: measuring what the worlds claim (motion, drawn shapes, cloud displacement)."""

import torch

from vidsynth_lite.data.measure import capsule_distance, motion_magnitude, phase_correlation
from vidsynth_lite.exercises.core import Exercise, register


def _shifted_pair(g: torch.Generator):
    h, w = 16 + 8 * int(torch.randint(0, 3, (1,), generator=g)), 24
    a = torch.rand(h, w, generator=g)
    dx = int(torch.randint(-w // 2 + 1, w // 2, (1,), generator=g))
    dy = int(torch.randint(-h // 2 + 1, h // 2, (1,), generator=g))
    return a, torch.roll(a, shifts=(dy, dx), dims=(0, 1))


register(Exercise(
    name="data.motion_magnitude",
    reference=motion_magnitude,
    make_inputs=lambda g: (torch.rand(3, 5, 3, 8, 8, generator=g) * 2 - 1,),
    hint="difference consecutive frames along dim 1, take the absolute value, average all but the batch dim",
))

register(Exercise(
    name="data.capsule_distance",
    reference=capsule_distance,
    make_inputs=lambda g: (torch.rand(50, 2, generator=g), torch.rand(2, generator=g), torch.rand(2, generator=g),
                           float(torch.rand(1, generator=g)) * 0.2),
    hint="clamp the projection parameter h to [0, 1] before measuring the distance, then subtract the radius",
))

register(Exercise(
    name="data.phase_correlation",
    reference=phase_correlation,
    make_inputs=_shifted_pair,
    atol=0.0,
    hint="normalise B * conj(A) by its magnitude, inverse-FFT, find the peak, wrap indices past the middle",
))
