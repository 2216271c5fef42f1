"""Sizes of the three networks of Walker et al. 2021 (Appendix A, Tables 3-8).

These dataclasses hold the paper's tables and nothing else: their defaults are the paper's sizes, and every
field says which table row it comes from (or that the paper does not state it). The chapter's profiles
(``configs/vqvae/<profile>.yaml``, resolved by :mod:`vidsynth_lite.chapters.vqvae`) choose other values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class VQVAEConfig:
    """Table 3."""

    frames: int = 16                  # Input size 256x256x16x3
    size: int = 256
    channels: int = 3
    hidden: int = 128                 # Hidden units
    residual: int = 32                # Residual units
    layers: int = 2                   # Layers (residual blocks per stack)
    num_codes: int = 512              # Codebook size (each layer its own codebook)
    code_dim: int = 64                # Codebook dimension
    beta: float = 0.25                # commitment loss coefficient (Eq. 2)
    ema: bool = True                  # codebook by EMA (Eq. 3); False: codebook loss of Eq. 2
    decay: float = 0.99               # gamma of Eq. 3 (not stated in the paper; VQ-VAE-2's value)
    restart_threshold: float = 1.0    # restart a code whose EMA count falls below 1 per batch (not in the paper)
    bottom_mask_prob: float = 0.25    # Sec. 3.1 random masking of the bottom layer (rate not stated)
    # first-stage encoder kernel / stride (t, h, w) = (4, 8, 8) / (2, 4, 4); second stage (4, 4, 4) / (2, 2, 2)

    @property
    def bottom_shape(self) -> tuple[int, int, int]:
        return self.frames // 2, self.size // 4, self.size // 4

    @property
    def top_shape(self) -> tuple[int, int, int]:
        return self.frames // 4, self.size // 8, self.size // 8


@dataclass
class TopPriorConfig:
    """Tables 4 (top prior column), 5 and 6."""

    num_codes: int = 512
    cond_frames: int = 4              # 4 frames in, 12 predicted (Sec. 3.2)
    frames: int = 16
    hidden: int = 512                 # Hidden units
    residual: int = 1024              # Residual units
    layers: int = 40                  # Layers
    attn_every: int = 5               # 8 attention layers in 40 ("every five layers", Sec. 3.2)
    heads: int = 8                    # Attention heads
    kernel: int = 3                   # Conv filter size
    dropout: float = 0.5              # Dropout
    cond_embed: int = 256             # Table 6: concatenated, downsampled to 32x32x256
    cond_hidden: int = 512            # Table 5: hidden units
    cond_residual: int = 128          # Table 5: residual units
    cond_layers: int = 4              # Table 5: layers


@dataclass
class BottomPriorConfig:
    """Tables 4 (bottom prior column), 7 and 8."""

    num_codes: int = 512
    cond_frames: int = 4
    frames: int = 16
    hidden: int = 512                 # Hidden units
    residual: int = 1024              # Residual units
    layers: int = 20                  # Layers
    attn_every: int = 5               # 4 attention layers in 20
    heads: int = 8
    kernel: int = 5                   # Conv filter size
    dropout: float = 0.0
    past_window: int = 4              # past bottom slices n-4 .. n-1 (Tables 7-8; the Sec. 3.2 text says 2)
    past_layers: int = 4              # Table 8: 4 convolutions (4,3,3), stride (2,1,1): the window -> 1 slice
    up_channels: int = 1024           # Table 8: top latents upsampled to 64x64x8x1024
    cond_embed: int = 64              # embedding width of the conditioning codes and the past-slice convs
                                      # (not stated)
    cond_hidden: int = 1024           # Table 7: hidden units
    cond_residual: int = 256          # residual units of the conditioning stack (not stated)
    cond_layers: int = 20             # Table 7: residual blocks


@dataclass(frozen=True)
class TrainingRows:
    """The tables' "Batch size" and "Training steps" rows of one network."""

    batch: int
    steps: int


PAPER_TRAINING = {"vqvae": TrainingRows(batch=16, steps=1_000_000),          # Table 3
                  "top": TrainingRows(batch=512, steps=1_016_000),           # Table 4, top prior
                  "bottom": TrainingRows(batch=32, steps=950_000)}           # Table 4, bottom prior


@dataclass
class VQVAEModels:
    vqvae: VQVAEConfig = field(default_factory=VQVAEConfig)
    top: TopPriorConfig = field(default_factory=TopPriorConfig)
    bottom: BottomPriorConfig = field(default_factory=BottomPriorConfig)

    def to_dict(self) -> dict:
        return asdict(self)


def compression(cfg: VQVAEConfig) -> dict[str, float]:
    """Sec. 3.1: bits of the video (``T H W 3 log2 256``) vs bits of both latent layers (``N log2 K``)."""
    import math

    video = cfg.frames * cfg.size * cfg.size * cfg.channels * 8
    latents = (math.prod(cfg.bottom_shape) + math.prod(cfg.top_shape)) * math.log2(cfg.num_codes)
    return {"video_bits": float(video), "latent_bits": float(latents), "ratio": latents / video}
