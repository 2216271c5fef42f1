"""Sizes and training settings of Dorkenwald et al. (CVPR 2021), supplement B.1 / B.2.

The dataclass defaults are the paper's ``full`` sizes for BAIR (64x64, 16 predicted frames, ``ch_f = 64``). Where
the paper is silent, the value of the official configuration (``stage1_VAE/configs/bair_config.yaml``,
``stage2_cINN/configs/bair_config.yaml``) is used and marked "official". Profile values (``lite``, ``smoke``) live
in ``configs/cinn/<profile>.yaml``; :mod:`vidsynth_lite.chapters.cinn` builds these configs from them.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field


@dataclass
class VideoEncoderConfig:
    """q_phi(z | X) (B.1 "Encoder"): a 3D ResNet-18 with GroupNorm; two 4x4 convolutions give mu, log sigma^2."""

    frames: int = 16                      # predicted frames x_1..x_T it encodes (Sec. 4: 16)
    size: int = 64                        # frame height = width (BAIR: 64)
    z_dim: int = 64                       # d_z = 64 (B.2)
    channels: tuple = (64, 128, 256, 512, 512)   # official: stem, then one ResNet stage per entry
    blocks: int = 2                       # basic blocks per stage (ResNet-18: 2)
    groups: int = 16                      # GroupNorm groups (official)
    head_kernel: int = 4                  # "two convolutions with a kernel size of 4x4" -> 1x1

    @property
    def final_shape(self) -> tuple[int, int]:
        """(frames, size) after the stem (stride 2, 2, 2) and the stages (stride 2 in time and space each,
        except the first stage): what the two 4x4 head convolutions see."""
        n = len(self.channels) - 1
        return max(self.frames // 2 ** n, 1), self.size // 2 ** n


@dataclass
class VideoDecoderConfig:
    """p_psi(X | x_0, z) (Sec. 3.3, B.1 "Decoder", Fig. 9): video residual blocks with SPADE(x_0) and AdaIN(z),
    nearest up-sampling in space and time after each block but the last, spectral norm, a 3D conv + tanh."""

    frames: int = 16
    size: int = 64
    z_dim: int = 64
    channel_factor: int = 64              # ch_f: 64 for BAIR and iPER, 32 otherwise
    widths: tuple = (16, 16, 8, 4, 2, 1)  # n = 6 blocks, channels = width * ch_f (official Generator)
    start_size: int = 4                   # z enters through a linear layer to a 1 x 4 x 4 map (official)
    start_frames: int = 1
    spade_hidden: int = 128               # SPADE's shared convolution width (official)
    groups: int = 16                      # GroupNorm in SPADE (B.1)
    spectral_norm: bool = True            # "spectral norm is used in the decoder"
    use_x0: bool = True                   # Table 4 "w/o x_0": False removes the SPADE input
    use_adain: bool = True                # Table 4 "w/o ADAIN": False, z only enters through the first map
    x0_skip: bool = False                 # ours, not the paper's: the output is x_0 moved in tanh's pre-image,
                                          # tanh(atanh(x_0) + conv); a CPU-budget aid (lite), off at full

    @property
    def upsampling(self) -> list[tuple[int, int]]:
        """(time, space) factors after each block but the last: space doubles until ``size``, time doubles
        until ``frames`` (the official decoder's schedule, generalised)."""
        n = len(self.widths) - 1
        s_steps = round(math.log2(self.size / self.start_size))
        t_steps = round(math.log2(self.frames / self.start_frames))
        if not (0 <= s_steps <= n and 0 <= t_steps <= n):
            raise ValueError(f"{len(self.widths)} blocks cannot grow {self.start_frames}x{self.start_size}^2 to "
                             f"{self.frames}x{self.size}^2 by doubling after each block but the last")
        return [(2 if i < t_steps else 1, 2 if i < s_steps else 1) for i in range(n)]


@dataclass
class DiscriminatorConfig:
    """D_S (patch discriminator on single frames) and D_T (3D ResNet on clips), B.1 "Discriminators"."""

    patch_width: int = 64                 # ndf (official)
    patch_layers: int = 3                 # n_layers (official)
    temporal_channels: tuple = (64, 64, 128, 256, 512)   # official Discriminator_Temporal
    groups: int = 16


@dataclass
class Stage1Loss:
    """Eq. 10-12 weights and the optimiser of B.2."""

    l1: float = 10.0                      # lambda (B.2: 10)
    perceptual: float = 30.0              # paper: 1 (Eq. 10 has no weight); official: w_percep = 30
    feature_matching: float = 10.0        # lambda_F (B.2: 10)
    gradient_penalty: float = 10.0        # lambda_GP (B.2: 10), on D_T's real inputs (Eq. 11)
    adversarial_s: float = 1.0            # Eq. 10 weight of -D_S
    adversarial_t: float = 1.0            # Eq. 10 weight of -D_T
    kl: float = 1e-5                      # beta (B.2)
    lr: float = 2e-4                      # Adam (B.2)
    betas: tuple = (0.5, 0.9)
    weight_decay: float = 1e-5
    lr_decay: float = 0.98                # exponential decay per epoch (official lr_gamma)
    spatial_frames: int = 20              # frames per batch shown to D_S (official: 20 random frames)


@dataclass
class ImageAEConfig:
    """The x_0 embedding (B.1 "Bijection Transformation": "a pretrained Autoencoder optimized for reconstructing
    images"); the cINN sees the mode (mean) of its Gaussian code."""

    size: int = 64
    z_dim: int = 64                       # official Conditioning_Model z_dim (BAIR 64, clouds 128)
    widths: tuple = (64, 128, 256, 256)   # conv encoder stages (stride 2 each); ours, the official BigAE is larger
    kl: float = 1e-6                      # small KL so that the mode is a well-scaled code (ours)
    lr: float = 1e-4


@dataclass
class CINNConfig:
    """T_theta (Secs. 3.1-3.2, B.1): ``n_flows`` blocks of ActNorm, invertible leaky ReLU, two affine couplings
    (each half transformed once) and a fixed shuffle, conditioned on the x_0 embedding (and eta) in every
    coupling."""

    z_dim: int = 64                       # d_z of stage 1
    embed_dim: int = 64                   # x_0 embedding (image AE z_dim)
    n_flows: int = 20                     # n_f = 20 (B.1)
    hidden: int = 512                     # official: flow_mid_channels = 8 * z_dim
    depth: int = 2                        # official flow_hidden_depth: hidden layers of each s / t network
    leaky_alpha: float = 0.9              # official InvLeakyRelu
    official_zero_log_det: bool = False   # True: the official code's log-det of 0 for the leaky ReLU
    clamp: float | None = None            # soft clamp of the coupling scale (official: none)
    control_bins: tuple = ()              # eta one-hot layout: (10, 10, 10) BAIR end position, (36,) clouds
    lr: float = 1e-5                      # B.2; official: Adam (0.9, 0.99), amsgrad, step decay 0.5 / 7 epochs
    betas: tuple = (0.9, 0.99)

    @property
    def cond_dim(self) -> int:
        return self.embed_dim + sum(self.control_bins)


@dataclass
class CINNModels:
    """Every network of the method, one config each."""

    encoder: VideoEncoderConfig = field(default_factory=VideoEncoderConfig)
    decoder: VideoDecoderConfig = field(default_factory=VideoDecoderConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: Stage1Loss = field(default_factory=Stage1Loss)
    image_ae: ImageAEConfig = field(default_factory=ImageAEConfig)
    cinn: CINNConfig = field(default_factory=CINNConfig)

    def to_dict(self) -> dict:
        return asdict(self)


def fingerprint(config) -> str:
    """A short hash of a config dataclass (what a stage-2 checkpoint records of its stage 1)."""
    text = json.dumps(asdict(config), sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
