"""Input checks shared by every public entry point (models, metrics, writers): one clear message per mistake.

A model given ``[T, C, H, W]`` instead of ``[B, T, C, H, W]``, uint8-range values, or a size its strides cannot
take should fail at once with a message that names the argument, what was given and what is expected -- never
minutes later with an unpacking error or a silently huge loss. :func:`check_video` is that message.

Checking the *values* (range, finiteness) reads the tensor back to the host; on a GPU that is a
synchronisation. Do it at public entry points (encode, predict, evaluate, write), not inside a training step;
shape checks cost nothing.
"""

from __future__ import annotations

import torch


class InputError(ValueError):
    """A tensor that a function cannot take; the message says which argument and what is expected."""


def shape_text(x: torch.Tensor) -> str:
    """``(2, 3) (torch.float32)``: how every check message shows the tensor it was given."""
    return f"{tuple(x.shape)} ({x.dtype})"


def check_video(x, *, name: str = "video", rank: int = 5, channels: int | None = 3,
                frames_multiple: int | None = None, size_multiple: int | None = None,
                frames: int | None = None, size: int | tuple[int, int] | None = None,
                value_range: tuple[float, float] | None = (-1.0, 1.0), values: bool = True,
                tolerance: float = 1e-3) -> torch.Tensor:
    """Raise one :class:`InputError` unless ``x`` is a float video tensor of the expected layout; return ``x``.

    Args:
        rank: 5 for ``[B, T, C, H, W]`` (the book's convention), 4 for ``[B, C, H, W]`` images.
        channels: required size of the channel dimension (``None``: any).
        frames_multiple / size_multiple: ``T`` / ``H`` and ``W`` must be multiples of these (a model's strides).
        frames / size: exact ``T`` / ``(H, W)`` a model was built for.
        value_range: values must lie within it (``tolerance`` allows round-off); ``None`` skips the check.
        values: also check range and finiteness (reads the tensor: a host sync on a GPU).
    """
    layout = "[B, T, C, H, W]" if rank == 5 else "[B, C, H, W]"
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name}: expected a float tensor {layout}, got {type(x).__name__}")
    if not x.is_floating_point():
        hint = " (convert uint8 frames with x / 127.5 - 1)" if x.dtype == torch.uint8 else ""
        raise InputError(f"{name}: expected a float tensor {layout}, got dtype {x.dtype}{hint}")
    if x.ndim != rank:
        raise InputError(f"{name}: expected {rank} dimensions {layout}, got {shape_text(x)}")
    if channels is not None and x.shape[-3] != channels:
        raise InputError(f"{name}: expected {channels} channels at dim {x.ndim - 3} of {layout}, "
                         f"got {shape_text(x)}")
    if rank == 5:
        t = x.shape[1]
        if frames is not None and t != frames:
            raise InputError(f"{name}: expected T = {frames} frames, got {shape_text(x)}")
        if frames_multiple and t % frames_multiple:
            raise InputError(f"{name}: the number of frames T = {t} must be a multiple of {frames_multiple}, "
                             f"got {shape_text(x)}")
    h, w = x.shape[-2:]
    if size is not None:
        want = (size, size) if isinstance(size, int) else tuple(size)
        if (h, w) != want:
            raise InputError(f"{name}: expected frames of {want[0]}x{want[1]}, got {shape_text(x)}")
    if size_multiple and (h % size_multiple or w % size_multiple):
        raise InputError(f"{name}: height and width must be multiples of {size_multiple}, got {h}x{w}")
    if values and x.numel():
        if not bool(torch.isfinite(x).all()):
            raise InputError(f"{name}: contains NaN or inf values")
        if value_range is not None:
            lo, hi = float(x.min()), float(x.max())
            if lo < value_range[0] - tolerance or hi > value_range[1] + tolerance:
                hint = " (uint8-range values? use x / 127.5 - 1)" if hi > 2 else ""
                raise InputError(f"{name}: values must lie in [{value_range[0]:g}, {value_range[1]:g}], "
                                 f"found [{lo:.4g}, {hi:.4g}]{hint}")
    return x


def check_same_clips(a: torch.Tensor, b: torch.Tensor, *, names: tuple[str, str] = ("real", "fake")) -> None:
    """Two video sets compared by a metric must agree in clip length, channels and frame size."""
    if a.shape[1:] != b.shape[1:]:
        raise InputError(f"{names[0]} and {names[1]} must have the same [T, C, H, W]; got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")


def check_samples(x, *, name: str = "samples", value_range: tuple[float, float] | None = (-1.0, 1.0),
                  channels: int | None = 3) -> torch.Tensor:
    """Raise one :class:`InputError` unless ``x`` is a float tensor of K samples per input ``[M, K, T, C, H, W]``."""
    layout = "[M, K, T, C, H, W] (M inputs, K samples each)"
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name}: expected a float tensor {layout}, got {type(x).__name__}")
    if x.ndim != 6:
        raise InputError(f"{name}: expected 6 dimensions {layout}, got {shape_text(x)}"
                         + (" (one sample per input? add a K axis: x[:, None])" if x.ndim == 5 else ""))
    check_video(x.flatten(0, 1), name=name, channels=channels, value_range=value_range)
    return x


def check_features(x, *, name: str = "features", dim: int | None = None) -> torch.Tensor:
    """Raise one :class:`InputError` unless ``x`` is a finite float matrix ``[N, D]`` (numpy or torch); return it
    as a float64 tensor."""
    import numpy as np

    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name}: expected features [N, D] as a tensor or array, got {type(x).__name__}")
    if not (x.is_floating_point() or x.dtype in (torch.int32, torch.int64)):
        raise InputError(f"{name}: expected real-valued features [N, D], got dtype {x.dtype}")
    if x.ndim != 2:
        raise InputError(f"{name}: expected features [N, D], got {shape_text(x)}")
    if dim is not None and x.shape[1] != dim:
        raise InputError(f"{name}: expected {dim}-dimensional features, got {shape_text(x)}")
    x = x.detach().to("cpu", torch.float64)
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise InputError(f"{name}: contains NaN or inf values")
    return x


def check_same_count(a, b, *, names: tuple[str, str] = ("real", "fake")) -> None:
    """Two sets a metric compares must hold the same number of items: a mismatch is an error, never a silent cut."""
    if len(a) != len(b):
        raise InputError(f"{names[0]} has {len(a)} items and {names[1]} has {len(b)}: compared sets must be the "
                         f"same size (choose N explicitly, e.g. {names[1]}[:{min(len(a), len(b))}], and state it)")
