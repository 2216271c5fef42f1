"""StyleGAN2's sizes and training settings (Karras et al. 2020, Sec. 2-3, App. B-C, "config F"), as MoCoGAN-HD
uses them (Tian et al. 2021, App. A.1 and B).

The dataclass defaults are the papers' ``full`` values; the chapter's ``lite`` and ``smoke`` values live in
``configs/mocogan_hd/<profile>.yaml`` only. Every field names its source.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class StyleGAN2Config:
    """The generator's and discriminator's sizes."""

    size: int = 256               # MoCoGAN-HD App. B: StyleGAN2 trained at 256x256 on FaceForensics / Sky / UCF
    style_dim: int = 512          # MoCoGAN-HD App. A.1: "each latent code is a 512-dimension vector"
    n_mlp: int = 8                # MoCoGAN-HD App. A.1: "the 8-layer MLPs" (StyleGAN Sec. 2)
    lr_mlp: float = 0.01          # StyleGAN App. C: the mapping network's learning rate is 100x lower
    channel_base: int = 32768     # StyleGAN2 config F: channels(res) = min(channel_max, channel_base / res)
    channel_max: int = 512        # StyleGAN2 config F: 512 channels up to 64x64
    mbstd_group: int = 4          # StyleGAN2 (from ProGAN Sec. 3): minibatch standard deviation group size

    def channels(self, resolution: int) -> int:
        return int(min(self.channel_max, self.channel_base // resolution))

    @property
    def log_size(self) -> int:
        return int(self.size).bit_length() - 1

    @property
    def num_ws(self) -> int:
        """Style inputs of the synthesis network: one per modulated convolution and ToRGB that reads a new one."""
        return 2 * self.log_size - 2

    def validate(self) -> StyleGAN2Config:
        if self.size < 8 or self.size & (self.size - 1):
            raise ValueError(f"StyleGAN2Config.size must be a power of two >= 8, got {self.size}")
        if self.style_dim < 1 or self.n_mlp < 1 or self.channel_max < 1 or self.channels(self.size) < 1:
            raise ValueError(f"StyleGAN2Config has a non-positive width: {self}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StyleGAN2Training:
    """StyleGAN2's training recipe (Karras et al. 2020, App. B; config F)."""

    batch: int = 32               # minibatch size
    lr: float = 0.002             # Adam learning rate, both networks
    betas: tuple = (0.0, 0.99)    # Adam beta1, beta2
    r1_gamma: float = 10.0        # R1 weight gamma (FFHQ); the penalty is gamma / 2 * ||grad D(x)||^2
    r1_every: int = 16            # lazy regularisation: R1 every 16 discriminator steps (Sec. 3.1)
    pl_weight: float = 2.0        # path-length regularisation weight (Sec. 3.2)
    pl_every: int = 4             # lazy path-length regularisation every 4 generator steps
    pl_decay: float = 0.01        # the running mean ``a`` of Sec. 3.2 is an EMA with this rate
    pl_batch_shrink: int = 2      # path-length batch = batch / 2 (official code)
    mixing: float = 0.9           # style-mixing probability (StyleGAN Sec. 3.1)
    ema_kimg: float = 10.0        # generator EMA half-life in thousands of images (official code)
