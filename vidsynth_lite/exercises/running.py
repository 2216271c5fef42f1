"""Chapter 0 exercises: the pieces of the training loop."""

import torch

from vidsynth_lite.exercises.core import Exercise, register


def _ema_reference(average: torch.Tensor, value: torch.Tensor, decay: float) -> torch.Tensor:
    return decay * average + (1 - decay) * value


def _copy_last_reference(video: torch.Tensor) -> torch.Tensor:
    """Mean squared error of predicting every frame t + 1 by frame t, for clips [B, T, C, H, W]."""
    return (video[:, 1:] - video[:, :-1]).pow(2).mean()


register(Exercise(
    name="running.ema_update",
    reference=_ema_reference,
    make_inputs=lambda g: (torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g),
                           float(torch.rand(1, generator=g)) * 0.98),
    hint="the average keeps `decay` of itself and takes `1 - decay` of the new value",
))

register(Exercise(
    name="running.copy_last_mse",
    reference=_copy_last_reference,
    make_inputs=lambda g: (torch.rand(2, 5, 3, 8, 8, generator=g) * 2 - 1,),
    hint="compare frames 1..T-1 with frames 0..T-2 of each clip",
))
