"""The smallest complete example of the book's machinery (chapter 0 and the loop's tests use it).

A *moving pattern*: a shaded disc gliding across a colour gradient, bouncing off the borders. A *tiny
predictor*: three convolutions that map frame t to frame t + 1. Together they exercise everything a real
chapter does -- config, seeding, training with checkpoints, resume, rollout, video display -- in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vidsynth_lite.checks import check_video
from vidsynth_lite.config import ChapterConfig, param


@dataclass
class RunningConfig(ChapterConfig):
    """Chapter 0, "Running the book"."""

    chapter = "running"
    size: int = param(32, "frame height and width in pixels", choices=(16, 32, 64))
    frames: int = param(12, "frames per clip", min=2, max=64)
    clips: int = param(64, "training clips of the moving pattern", min=2, max=100_000)
    batch_size: int = param(8, "clips per optimiser step", min=1, max=1024)
    steps: int = param(60, "optimiser steps in total", min=2, max=1_000_000)
    interrupt_at: int = param(30, "step at which the demo run is interrupted, then resumed", min=1)
    width: int = param(32, "channels of the tiny predictor", min=4, max=512)
    lr: float = param(3e-3, "Adam learning rate", min=1e-6, max=1.0)
    ckpt_every: int = param(10, "checkpoint period in steps", min=1)

    def validate(self) -> None:
        """What the ranges cannot say: the predictor needs 2 context frames and a target; the demo must crash
        after a checkpoint (or nothing could be resumed) and before the end."""
        if self.frames < 3:
            self.refuse("frames", ">= 3 (the predictor sees 2 frames and predicts the third)")
        if self.interrupt_at >= self.steps:
            self.refuse("interrupt_at", f"< steps = {self.steps} (the demo interrupts the run before its end)")
        if self.interrupt_at < self.ckpt_every:
            self.refuse("interrupt_at", f">= ckpt_every = {self.ckpt_every} (the demo interrupts the run after "
                        "its first checkpoint, or there is nothing to resume from)")


def moving_pattern(n: int, frames: int, size: int, seed: int = 0) -> torch.Tensor:
    """``n`` clips ``[n, T, 3, H, W]`` in [-1, 1] of a shaded disc moving at constant velocity.

    Random per clip: start position, velocity (bouncing off the borders), disc colour, background gradient.
    """
    g = torch.Generator().manual_seed(seed)
    pos = torch.rand(n, 2, generator=g) * 0.6 + 0.2                      # [n, 2] in (0.2, 0.8)
    vel = (torch.rand(n, 2, generator=g) - 0.5) * 0.16                    # [n, 2] per frame
    colour = torch.rand(n, 3, generator=g) * 1.6 - 0.8                    # [n, 3]
    bg = torch.rand(n, 2, 3, generator=g) * 1.0 - 0.8                     # [n, corners, 3]
    radius = 0.16
    coords = (torch.arange(size) + 0.5) / size
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")                # [H, W]
    ramp = xx.expand(n, 1, size, size)                                    # [n, 1, H, W]
    background = bg[:, 0, :, None, None] * (1 - ramp) + bg[:, 1, :, None, None] * ramp  # [n, 3, H, W]
    clips = []
    for _ in range(frames):
        d2 = (xx - pos[:, 0, None, None]) ** 2 + (yy - pos[:, 1, None, None]) ** 2        # [n, H, W]
        inside = torch.sigmoid((radius**2 - d2) * size * 8).unsqueeze(1)                  # soft edge [n, 1, H, W]
        shade = 1 - 0.6 * (d2 / radius**2).clamp(max=1).unsqueeze(1)                      # lit centre
        clips.append(background * (1 - inside) + (colour[:, :, None, None] * shade) * inside)
        pos = pos + vel
        bounce = (pos < radius) | (pos > 1 - radius)
        vel = torch.where(bounce, -vel, vel)
        pos = pos.clamp(radius, 1 - radius)
    return torch.stack(clips, dim=1).clamp(-1, 1)                         # [n, T, 3, H, W]


class TinyPredictor(nn.Module):
    """Predict frame t + 1 from frames t - 1 and t (a residual on the last frame)."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(6, width, 3, padding=1), nn.GELU(),
            nn.Conv2d(width, width, 3, padding=1), nn.GELU(),
            nn.Conv2d(width, 3, 3, padding=1),
        )

    def forward(self, previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        """Frames ``[B, 3, H, W]`` in [-1, 1] at t - 1 and t -> the prediction of frame t + 1 (shapes are checked;
        values are not, so that a training step never waits for the device)."""
        check_video(previous, name="previous", rank=4, values=False)
        check_video(current, name="current", rank=4, size=tuple(previous.shape[-2:]), values=False)
        return (current + self.net(torch.cat([previous, current], dim=1))).clamp(-1, 1)

    @torch.no_grad()
    def rollout(self, context: torch.Tensor, horizon: int) -> torch.Tensor:
        """Given two frames ``[B, 2, 3, H, W]``, predict ``horizon`` more; returns ``[B, 2 + horizon, 3, H, W]``."""
        check_video(context, name="context", frames=2)
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise ValueError(f"horizon must be an int >= 1, got {horizon!r}")
        frames = [context[:, 0], context[:, 1]]
        for _ in range(horizon):
            frames.append(self(frames[-2], frames[-1]))
        return torch.stack(frames, dim=1)


def next_frame_loss(model: nn.Module, video: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Mean squared error of one-step predictions over a batch of clips ``[B, T, 3, H, W]``, and the trivial
    baseline's ("copy the last frame") as a logged term (a tensor: the loop reads it on logging steps only)."""
    check_video(video, name="video", values=False)
    if video.shape[1] < 3:
        raise ValueError(f"video: next-frame loss needs T >= 3 frames (2 seen, 1 predicted), got {tuple(video.shape)}")
    _, _, c, h, w = video.shape                      # [B, T, C, H, W]
    previous = video[:, :-2].reshape(-1, c, h, w)   # [B * (T - 2), 3, H, W]
    current = video[:, 1:-1].reshape(-1, c, h, w)
    target = video[:, 2:].reshape(-1, c, h, w)
    prediction = model(previous, current)
    loss = (prediction - target).pow(2).mean()
    copy_baseline = (current - target).pow(2).mean()
    return loss, {"copy_last_mse": copy_baseline}
