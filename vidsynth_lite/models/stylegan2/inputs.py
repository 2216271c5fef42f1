"""Input checks of the image generator's (and MoCoGAN-HD's) public entry points: one clear message per mistake.

Images and clips go through :func:`vidsynth_lite.checks.check_video`; latent codes and noise maps, which that
helper does not cover, through :func:`check_codes` and :func:`check_noise_maps` here. Every message names the
argument, what was given and what was expected, and raises :class:`vidsynth_lite.checks.InputError` (a
``ValueError``).

Cost: shape checks read only metadata and run at every call, inside training steps too. Value checks (range,
finiteness) read the tensor back to the host -- a synchronisation on a GPU -- so they run only where outside
data enters: the target frames of an inversion (Eq. 8) and the training sets handed to the chapter's training
functions; never per step (generated frames are not clamped to [-1, 1] while training and need no range check).
"""

from __future__ import annotations

import torch

from vidsynth_lite.checks import InputError, shape_text


def check_codes(x, *, name: str, dim: int, ranks: tuple[int, ...] = (2,)) -> torch.Tensor:
    """Raise one :class:`InputError` unless ``x`` is a float tensor of latent codes whose last dimension is
    ``dim``, with one of ``ranks`` dimensions (1: ``[D]``, 2: ``[N, D]``, 3: ``[B, T, D]``); return ``x``."""
    layouts = {1: f"[{dim}]", 2: f"[N, {dim}]", 3: f"[B, T, {dim}]"}
    layout = " or ".join(layouts[r] for r in ranks)
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name}: expected latent codes {layout} as a float tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise InputError(f"{name}: expected latent codes {layout} as a float tensor, got dtype {x.dtype}")
    if x.ndim not in ranks:
        raise InputError(f"{name}: expected latent codes {layout}, got {x.ndim} dimensions {shape_text(x)}")
    if x.shape[-1] != dim:
        raise InputError(f"{name}: expected latent codes {layout} (the last dimension is the latent size "
                         f"{dim}), got {shape_text(x)}")
    return x


def check_noise_maps(noise, *, batch: int, shapes: list[tuple[int, int, int]], name: str = "noise") -> list:
    """Raise one :class:`InputError` unless ``noise`` is a list of ``len(shapes)`` maps ``[batch, *shape]``."""
    want = [f"[{batch}, {', '.join(map(str, s))}]" for s in shapes]
    if not isinstance(noise, (list, tuple)):
        raise InputError(f"{name}: expected a list of {len(shapes)} noise maps {want}, got {type(noise).__name__}")
    if len(noise) != len(shapes):
        raise InputError(f"{name}: expected {len(shapes)} noise maps (one per styled convolution), got "
                         f"{len(noise)}")
    for i, (m, s) in enumerate(zip(noise, shapes)):
        if not isinstance(m, torch.Tensor) or tuple(m.shape) != (batch, *s):
            got = shape_text(m) if isinstance(m, torch.Tensor) else type(m).__name__
            raise InputError(f"{name}[{i}]: expected a noise map {want[i]}, got {got}")
    return noise
