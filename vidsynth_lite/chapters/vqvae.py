"""Settings of chapter 3 (``notebooks/03_vqvae.py``); profile values in ``configs/vqvae/<profile>.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, replace

from vidsynth_lite.config import ChapterConfig, param
from vidsynth_lite.models.vqvae.config import VQVAEModels


@dataclass
class VQVAEChapterConfig(ChapterConfig):
    """Chapter 3, "Predicting video with a hierarchical VQ-VAE" (Walker et al. 2021)."""

    chapter = "vqvae"
    world: str = param("pushbot", "synthetic world to train and evaluate on", choices=("pushbot", "actions"))
    size: int = param(32, "frame height and width (paper: 256)", choices=(32, 64, 128, 256))
    frames: int = param(16, "frames per clip: cond_frames given + the rest predicted (paper: 16)", min=8, max=64)
    cond_frames: int = param(4, "conditioning frames (paper: 4 in, 12 predicted)", choices=(4, 8))
    train_videos: int = param(256, "training clips", min=8, max=10_000_000)
    test_videos: int = param(16, "test inputs for prediction metrics", min=2, max=100_000)
    samples: int = param(4, "samples per test input (K of best-of-K / mean-of-K, DIV)", min=2, max=100)
    sample_batch: int = param(16, "test inputs sampled at once (x samples = the sampler's batch)", min=1)
    temperatures: list = param([1.0, 1.2], "sampling temperatures (the paper's project page: 1.0 and 1.2)")  # noqa: RUF009
    vq_steps: int = param(400, "VQ-VAE optimiser steps (paper: 1 000 000)", min=1)
    vq_batch: int = param(8, "VQ-VAE batch size (paper: 16)", min=1)
    vq_lr: float = param(1e-3, "VQ-VAE Adam learning rate", min=1e-7, max=1.0)
    top_steps: int = param(300, "top prior steps (paper: 1 016 000)", min=1)
    top_batch: int = param(16, "top prior batch size (paper: 512)", min=1)
    bottom_steps: int = param(300, "bottom prior steps (paper: 950 000)", min=1)
    bottom_batch: int = param(8, "bottom prior batch size (paper: 32)", min=1)
    prior_lr: float = param(1e-3, "Adam learning rate of both priors", min=1e-7, max=1.0)
    fvd_videos: int = param(8, "videos per set for the real-I3D FVD (small N: a high-variance estimate; 0: skip)",
                            min=0, max=100_000)
    naive_videos: int = param(1, "videos sampled with the naive sampler to time it and check it equals the "
                              "fast one (0: skip)", min=0, max=64)
    ckpt_every: int = param(100, "checkpoint period in steps", min=1)
    bf16: bool = param(False, "bf16 autocast on a GPU")


def profile_configs(profile: str) -> VQVAEModels:
    """``full``: the paper. ``lite``: 32x32x16 clips and small widths (minutes on a 2-core CPU). ``smoke``: the
    same resolution with tiny widths (seconds)."""
    full = VQVAEModels()
    if profile == "full":
        return full
    if profile not in ("lite", "smoke"):
        raise ValueError(f"profile must be 'smoke', 'lite' or 'full', got {profile!r}")
    lite = profile == "lite"
    k = 128 if lite else 32
    return VQVAEModels(
        vqvae=replace(full.vqvae, size=32, hidden=48 if lite else 16, residual=24 if lite else 8, layers=1, num_codes=k, code_dim=32 if lite else 8),
        top=replace(full.top, num_codes=k, hidden=48 if lite else 16, residual=48 if lite else 16,
                    layers=6 if lite else 2, attn_every=3 if lite else 2, heads=4 if lite else 2, dropout=0.1,
                    cond_embed=32 if lite else 8, cond_hidden=48 if lite else 16, cond_residual=24 if lite else 8,
                    cond_layers=2 if lite else 1),
        bottom=replace(full.bottom, num_codes=k, hidden=48 if lite else 16, residual=48 if lite else 16,
                       layers=5 if lite else 2, attn_every=5 if lite else 2, heads=4 if lite else 2,
                       kernel=3, cond_embed=32 if lite else 8, cond_hidden=48 if lite else 16,
                       cond_residual=24 if lite else 8, cond_layers=2 if lite else 1),
    )


def model_configs(cfg: VQVAEChapterConfig) -> VQVAEModels:
    """The three networks' sizes for the chapter's profile, at the chapter's resolution and clip length."""
    m = profile_configs(cfg.profile)
    return VQVAEModels(vqvae=replace(m.vqvae, size=cfg.size, frames=cfg.frames),
                       top=replace(m.top, cond_frames=cfg.cond_frames, frames=cfg.frames),
                       bottom=replace(m.bottom, cond_frames=cfg.cond_frames, frames=cfg.frames))
