"""Settings of chapter 4 (``notebooks/04_ccvs.py``, CCVS); profile values in ``configs/ccvs/<profile>.yaml``.

The model sizes of each profile are in :func:`profile_configs` (``full`` = the paper's, from
:mod:`vidsynth_lite.models.ccvs.config`); everything a reader may change is a flat field of
:class:`CCVSChapterConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vidsynth_lite.config import ChapterConfig, ConfigError, param
from vidsynth_lite.models.ccvs.config import AutoencoderConfig, CCVSConfig, ControlConfig, LossConfig, TransformerConfig


@dataclass
class CCVSChapterConfig(ChapterConfig):
    """Chapter 4, "CCVS: context-aware controllable video synthesis" (Le Moing, Ponce, Schmid 2021)."""

    chapter = "ccvs"
    size: int = param(32, "frame height and width (paper: 256)", choices=(32, 64, 128, 256))
    frames: int = param(16, "frames per evaluated clip (paper: 16)", min=4, max=64)
    cond_frames: int = param(1, "given frames for prediction (paper, BAIR: 1)", min=1, max=8)
    tokens_side: int = param(4, "token grid side per frame: tokens = side^2 (paper: 8, i.e. 64 tokens)",
                             choices=(2, 4, 8, 16))
    codes: int = param(256, "codebook size q (paper: 1024)", min=2, max=65536)
    train_videos: int = param(512, "pushbot training clips of 30 frames", min=8, max=10_000_000)
    test_videos: int = param(48, "test inputs (a multiple of eval_draws)", min=2, max=100_000)
    samples: int = param(4, "samples per test input (K)", min=1, max=100)
    eval_draws: int = param(3, "disjoint draws of the test inputs (mean +- std, paired verdicts)", min=1, max=20)
    context: int = param(4, "context frames of F when sampling (official scripts: 15)", min=0, max=32)
    ae_steps: int = param(120, "autoencoder steps trained live in the chapter", min=1)
    ae_batch: int = param(4, "clips per autoencoder step (4 frames each)", min=1)
    ae_lr: float = param(5e-4, "autoencoder Adam learning rate (paper: 0.02, official: 0.002, both with "
                         "equalised-learning-rate layers)", min=1e-7, max=1.0)
    t_steps: int = param(150, "transformer steps trained live in the chapter", min=1)
    t_batch: int = param(16, "windows per transformer step", min=1)
    t_lr: float = param(1e-3, "transformer AdamW learning rate (paper: 1e-5 at 24 layers x 1024)", min=1e-8,
                        max=1.0)
    top_k: int = param(100, "top-k of frame tokens at sampling (Table 2: 1, 10, 100)", min=0)
    temperature: float = param(1.0, "sampling temperature (official: 1.0)", min=0.01, max=10.0)
    pretrained: bool = param(True, "load the shipped checkpoints (pretrained/ccvs/) trained longer by "
                             "`python -m vidsynth_lite pretrain ccvs`")
    i3d_clips: int = param(8, "clips for the real-I3D FVD (0: skip it)", min=0, max=100_000)
    ckpt_every: int = param(50, "checkpoint period in steps", min=1)
    bf16: bool = param(False, "bf16 autocast on a GPU")

    def validate(self) -> CCVSChapterConfig:
        if self.test_videos % self.eval_draws:
            raise ConfigError(f"test_videos ({self.test_videos}) must be a multiple of eval_draws "
                              f"({self.eval_draws})")
        if self.size // self.tokens_side < 2 or (self.size // self.tokens_side) & (self.size // self.tokens_side - 1):
            raise ConfigError(f"size / tokens_side = {self.size} / {self.tokens_side} must be a power of two >= 2 "
                              "(one resolution level per halving)")
        if self.cond_frames >= self.frames:
            raise ConfigError(f"cond_frames ({self.cond_frames}) must be < frames ({self.frames})")
        return self


def profile_configs(profile: str, cfg: CCVSChapterConfig | None = None) -> CCVSConfig:
    """The networks' sizes. ``full``: the paper (Sec. 3-4, App. A; official bairhd scripts). ``lite``: 32x32
    frames, 4x4 tokens, narrow networks (minutes on a 2-core CPU). ``smoke``: tiny widths (seconds)."""
    full = CCVSConfig()
    if profile not in ("smoke", "lite", "full"):
        raise ValueError(f"profile must be 'smoke', 'lite' or 'full', got {profile!r}")
    if profile == "full":
        out = full
    else:
        lite = profile == "lite"
        out = CCVSConfig(
            autoencoder=replace(full.autoencoder, size=32, levels=4, widths=(64, 64, 32, 16) if lite else (8, 8, 8, 8),
                                num_codes=256, code_dim=64 if lite else 8,
                                flow_hidden=(16, 16, 8) if lite else (4, 4, 4), proj_min=16 if lite else 4),
            loss=replace(full.loss, lr=5e-4, batch_frames=16, batch_clips=4, elastic=0.03),
            transformer=replace(full.transformer, n_layer=4 if lite else 1, n_head=4 if lite else 2,
                                n_embd=128 if lite else 16, lr=1e-3, batch=16, top_k=100),
            control=replace(full.control, state_bins=32 if lite else 8, audio_codes=64, audio_code_dim=32,
                            audio_tokens=(4, 2), sample_context=4))
    if cfg is None:
        return out
    levels = (cfg.size // cfg.tokens_side).bit_length()                       # halvings + 1
    widths = _widths(out.autoencoder, levels)
    ae = replace(out.autoencoder, size=cfg.size, levels=levels, widths=widths, num_codes=cfg.codes)
    return replace(out, autoencoder=ae, frames=cfg.frames,
                   loss=replace(out.loss, lr=cfg.ae_lr, batch_clips=cfg.ae_batch),
                   transformer=replace(out.transformer, lr=cfg.t_lr, batch=cfg.t_batch, top_k=cfg.top_k),
                   control=replace(out.control, sample_context=cfg.context))


def _widths(ae: AutoencoderConfig, levels: int) -> tuple:
    """The profile's widths for another number of levels: keep the coarse end, repeat or drop fine levels."""
    w = list(ae.widths)
    while len(w) < levels:
        w.append(w[-1])
    return tuple(w[:levels])


__all__ = ["CCVSChapterConfig", "ControlConfig", "LossConfig", "TransformerConfig", "profile_configs"]
