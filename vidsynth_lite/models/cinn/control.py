"""The control factor eta as one-hot bins (Dorkenwald et al., Sec. 3.4 and supplement B.2).

"For the controllable video synthesis task, we discretize the conditioning to one-hot vectors. For the 3D end
effector position, the x, y and z axis is discretized into 10 bins. For the clouds, the motion direction is
discretized into 36 bins."

- ``pushbot``: the gripper's state in the *last* frame, ``(x, y, height)`` each in [0, 1] (``x``, ``y`` image
  coordinates; the third coordinate our world records is the gripper's height above the table, 0 = pushing) ->
  3 blocks of 10 bins, concatenated ``[B, 30]``.
- ``sky``: the clouds' motion direction in radians (counter-clockwise from "moving right") -> 36 bins of 10
  degrees ``[B, 36]``.
"""

from __future__ import annotations

import math

import torch

PUSHBOT_BINS = (10, 10, 10)
SKY_BINS = (36,)


def one_hot_bins(values: torch.Tensor, bins: tuple[int, ...]) -> torch.Tensor:
    """``values`` ``[B, A]`` in [0, 1] (one column per axis) -> concatenated one-hots ``[B, sum(bins)]``.

    Axis ``a`` falls in bin ``floor(v * bins[a])`` (1.0 goes to the last bin)."""
    if values.ndim != 2 or values.shape[1] != len(bins):
        raise ValueError(f"expected values [B, {len(bins)}] (one column per binned axis), got {tuple(values.shape)}")
    parts = []
    for a, n in enumerate(bins):
        index = (values[:, a].clamp(0, 1) * n).floor().long().clamp_(max=n - 1)   # [B]
        parts.append(torch.nn.functional.one_hot(index, n).to(torch.float32))
    return torch.cat(parts, 1)


def bin_centres(onehot: torch.Tensor, bins: tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`one_hot_bins` up to quantisation: the centre of each axis's chosen bin ``[B, A]``."""
    out, start = [], 0
    for n in bins:
        out.append((onehot[:, start:start + n].argmax(1).to(torch.float32) + 0.5) / n)
        start += n
    return torch.stack(out, 1)


def pushbot_eta(state_last: torch.Tensor) -> torch.Tensor:
    """Gripper state of the last frame ``[B, 3]`` (x, y, height in [0, 1]) -> ``[B, 30]``."""
    return one_hot_bins(state_last, PUSHBOT_BINS)


def sky_eta(direction: torch.Tensor) -> torch.Tensor:
    """Motion direction in radians ``[B]`` -> ``[B, 36]`` (bin ``k`` covers ``[10k, 10k + 10)`` degrees)."""
    turns = torch.remainder(direction, 2 * math.pi) / (2 * math.pi)
    return one_hot_bins(turns[:, None], SKY_BINS)


def sky_direction_of(onehot: torch.Tensor) -> torch.Tensor:
    """The centre direction (radians) of each row's bin ``[B]``."""
    return bin_centres(onehot, SKY_BINS)[:, 0] * 2 * math.pi
