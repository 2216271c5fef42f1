"""Folding a video's frames into the batch and back, and repeating per-sample conditions per frame.

Frame-wise layers (2D convolutions, image discriminators, per-frame batch norm, perceptual networks) see a video
``[B, T, C, H, W]`` as ``B * T`` images. The package's one layout for that is *sample-major*: row ``b * T + t``
holds frame ``t`` of sample ``b`` (what ``reshape`` of a contiguous ``[B, T, ...]`` gives). A per-sample
condition ``[B, D]`` (a latent code, a class embedding, an action) must then be repeated **per frame** with
``repeat_interleave``: ``cond.repeat(T, 1)`` is the classic bug -- it stacks the batch T times (row
``t * B + b``), silently pairing frame ``t`` of sample ``b`` with the condition of sample ``(b * T + t) % B``.
It has the right shape and trains, just on shuffled conditions; with ``B = 1`` or ``T = 1`` it is even correct,
so small tests miss it. :func:`repeat_per_frame` is the one place that gets the order right.
"""

from __future__ import annotations

import torch

__all__ = ["fold_frames", "repeat_per_frame", "unfold_frames"]


def fold_frames(video: torch.Tensor) -> torch.Tensor:
    """``[B, T, *rest]`` -> ``[B * T, *rest]``, row ``b * T + t`` = frame ``t`` of sample ``b``."""
    if video.dim() < 3:
        raise ValueError(f"fold_frames: expected [B, T, ...], got {tuple(video.shape)}")
    return video.reshape(video.shape[0] * video.shape[1], *video.shape[2:])


def unfold_frames(frames: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Inverse of :func:`fold_frames`: ``[B * T, *rest]`` -> ``[B, T, *rest]``."""
    if frames.dim() < 1 or num_frames < 1 or frames.shape[0] % num_frames:
        raise ValueError(f"unfold_frames: the first axis of {tuple(frames.shape)} is not a multiple of "
                         f"num_frames={num_frames}")
    return frames.reshape(frames.shape[0] // num_frames, num_frames, *frames.shape[1:])


def repeat_per_frame(cond: torch.Tensor, num_frames: int) -> torch.Tensor:
    """Per-sample condition ``[B, *rest]`` -> ``[B * T, *rest]`` aligned with :func:`fold_frames`.

    Row ``b * T + t`` is ``cond[b]`` (``repeat_interleave`` along the batch axis, never ``repeat``).
    """
    if cond.dim() < 1 or num_frames < 1:
        raise ValueError(f"repeat_per_frame: expected a [B, ...] condition and num_frames >= 1, got "
                         f"{tuple(cond.shape)} and {num_frames}")
    return cond.repeat_interleave(num_frames, dim=0)
