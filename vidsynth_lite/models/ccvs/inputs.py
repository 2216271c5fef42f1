"""Input checks of CCVS's public entry points: one :class:`~vidsynth_lite.checks.InputError` per mistake, naming
the argument, what was given and what was expected.

Frames and videos go through :func:`vidsynth_lite.checks.check_video`; this module adds what CCVS needs besides:
feature maps and latents of a given layout (:func:`check_shape`, shapes only: free), and token ids
(:func:`check_tokens`: the dtype and layout always, the id range when ``values`` is true -- reading the ids back
is a host synchronisation on a GPU, so the package does it at public entry points only, never inside a
training step or a sampling loop).
"""

from __future__ import annotations

import torch

from vidsynth_lite.checks import InputError, shape_text


def check_shape(x, name: str, expected: tuple, layout: str, *, floating: bool = True) -> torch.Tensor:
    """``x`` must be a tensor of ``len(expected)`` dimensions whose sizes equal ``expected`` where it is not
    None; ``layout`` names the dimensions (``"[N, F, h, w]"``)."""
    kind = "float" if floating else "integer"
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name}: expected a {kind} tensor {layout}, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise InputError(f"{name}: expected a float tensor {layout}, got {shape_text(x)}")
    want = "[" + ", ".join("*" if e is None else str(e) for e in expected) + "]"
    if x.ndim != len(expected) or any(e is not None and s != e for s, e in zip(x.shape, expected)):
        raise InputError(f"{name}: expected {layout} = {want}, got {shape_text(x)}")
    return x


def check_tokens(x, name: str, vocab: int, expected: tuple, layout: str, *, values: bool = True,
                 what: str = "token ids") -> torch.Tensor:
    """``x`` must be an integer tensor of shape ``expected`` (None: any size) holding ``what`` in
    ``[0, vocab)``; the range is read only when ``values`` (a host sync on a GPU)."""
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name}: expected an integer tensor {layout} of {what}, got {type(x).__name__}")
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise InputError(f"{name}: expected integer {what} {layout} (torch.long), got {shape_text(x)}")
    check_shape(x, name, expected, layout, floating=False)
    if values and x.numel():
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi >= vocab:
            raise InputError(f"{name}: {what} must lie in [0, {vocab - 1}], found [{lo}, {hi}]")
    return x


def check_count(value, name: str, low: int, high: int | None = None, why: str = "") -> int:
    """An int argument in ``[low, high]`` (``high`` None: no upper bound)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)
    if not ok:
        span = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise InputError(f"{name}: expected an int {span}{why}, got {value!r}")
    return value
