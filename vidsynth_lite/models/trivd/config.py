"""TrIVD-GAN-FP (Luc et al. 2020) and the DVD-GAN-FP base (Clark et al. 2019) it builds on: the paper's sizes
and settings, each with the section or table it comes from, and the paper's Tables 1-4 for comparison.

The dataclass defaults are the paper's final Kinetics-600 model (Sec. 4.4); the ``lite`` and ``smoke`` sizes
live in ``configs/trivd/`` and :mod:`vidsynth_lite.chapters.trivd`. Where the paper is silent, the field says
"not stated" and what we chose.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class GeneratorConfig:
    """The generator G and the conditioning encoder E (App. A, Sec. 3.2, Sec. 4.4)."""

    size: int = 64                    # Sec. 4.1: videos resized to 64x64
    cond_frames: int = 5              # Sec. 4.1: 5 conditioning frames (BAIR, App. C.1: 1)
    pred_frames: int = 11             # Sec. 4.1: 11 predicted frames (BAIR: 15)
    channels: int = 120               # Sec. 4.4: channel multiplier 120 (48 for Tables 1-2)
    encoder_channels: int = 120       # E is "identical to the spatial discriminator" (App. A): D's multiplier
    z_dim: int = 128                  # App. A: latent z, dimension 128
    class_dim: int = 128              # App. A: features of the (dummy, zero) class label, dimension 128
    stages: int = 3                   # App. A: three stages, 8x8 -> 64x64 (so the first is size / 2^3)
    stage_in: tuple = (8, 8, 4)       # stage input widths / channels; not stated in TrIVD, BigGAN-style halving
    stage_out: tuple = (8, 4, 2)      # stage output widths / channels (each stage upsamples by 2)
    recurrent: str = "tsru_p"         # Sec. 4.4: TrIVD-GAN-FP uses TSRU_p
    recurrent_kernel: int = 3         # the k of the units' convolutions (DVD-GAN's ConvGRU: 3x3)
    warp_kernel: int = 3              # Sec. 3.2.2: k = 3
    num_basis: int = 9                # Sec. 3.2.2: N = k^2 basis kernels
    activation: str = "relu"          # App. F.1: ReLU in every unit (DVD-GAN's ConvGRU; better for ConvLSTM too)

    @property
    def frames(self) -> int:
        return self.cond_frames + self.pred_frames

    @property
    def first_size(self) -> int:
        return self.size // 2 ** self.stages


@dataclass
class DiscriminatorConfig:
    """The discriminators (Sec. 3.1, Table 1, App. A, App. E.1)."""

    channels: int = 120               # BigGAN D multiplier; BAIR (App. C.1): 92. Kinetics: as G (not stated)
    widths: tuple = (1, 2, 4, 8, 16)  # BigGAN's 64x64 D: five blocks, ch x (1, 2, 4, 8, 16)
    blocks_3d: int = 2                # App. A: 3D convolutions in the first two blocks of spatio-temporal Ds
    temporal_pool: bool = True        # 3D blocks also halve time (not stated; DVD-GAN-style; False keeps T)
    frames_k: int = 8                 # Sec. 4.2: K = 8 sampled frames for the frame discriminators
    scale: int = 2                    # Sec. 3.1: downsampling / cropping factor s = 2
    decomposition: str = "stronger"   # Sec. 4.4: TrIVD-GAN-FP uses DVD-GAN-FP_stronger


@dataclass
class TrainConfig:
    """Optimisation (App. E.1, E.2; App. D.1 for truncation)."""

    batch: int = 512                  # App. E.2
    lr_g: float = 1e-4                # App. E.2 (BAIR, App. C.1: 2e-5)
    lr_d: float = 5e-4                # App. E.2 (BAIR: 3e-5)
    betas: tuple = (0.0, 0.999)       # App. E.2: Adam, beta1 = 0, beta2 = 0.999
    d_steps: int = 2                  # App. E.1: two D updates per G update
    ortho: float = 1e-4               # App. E.2: orthogonality penalty weight on G
    ema_decay: float = 0.9999         # App. E.2: EMA of G's weights, gamma = 0.9999 ...
    ema_start: int = 20_000           # ... initialised after 20 000 steps
    standing_batches: int = 100       # App. E.2: standing statistics from 100 batches ...
    standing_batch: int = 256         # ... of 256 samples
    truncation: float = 0.8           # App. D.1: moderate truncation of z at 0.8 for samples shown
    steps: int = 700_000              # Sec. 4.4: the final model trains 700k steps (Table 2: 500k)


@dataclass
class TrIVDConfig:
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return asdict(self)


# The nine decompositions of Table 1: which sub-discriminators each holds (Sec. 3.1, Sec. 4.2). Kinds:
# "F" frames (K sampled, full resolution), "dF" downsampled frames, "clV" the whole clip, "dV" the downsampled
# clip, "crV" a cropped clip (T x H/s x W/s at full resolution). "F1": the frame D with K = 1.
DECOMPOSITIONS: dict[str, tuple[str, ...]] = {
    "clip": ("clV",),
    "downsampled": ("dV",),
    "cropped": ("crV",),
    "cropped_downsampled": ("crV", "dV"),
    "mocogan_k1": ("F1", "clV"),
    "mocogan_k8": ("F", "clV"),
    "dvd_gan_fp": ("F", "dV"),
    "faster": ("dF", "crV"),
    "stronger": ("dF", "crV", "dV"),
}

# Table 1 (Kinetics-600 validation, channel multiplier 48, fixed wall-clock budget; TPU step time for batch 512
# measured over 30 s, peak memory for batch 8): IS, FVD, steps (thousands), ms per step, GB.
PAPER_TABLE1: dict[str, dict[str, float]] = {
    "clip": {"IS": 10.9, "FVD": 59.6, "kilo_steps": 758, "ms": 488, "GB": 3.49},
    "downsampled": {"IS": 8.9, "FVD": 122.1, "kilo_steps": 1000, "ms": 370, "GB": 3.01},
    "cropped": {"IS": 9.4, "FVD": 159.9, "kilo_steps": 997, "ms": 371, "GB": 3.10},
    "cropped_downsampled": {"IS": 11.5, "FVD": 44.1, "kilo_steps": 792, "ms": 467, "GB": 3.30},
    "mocogan_k1": {"IS": 11.3, "FVD": 47.4, "kilo_steps": 651, "ms": 568, "GB": 3.95},
    "mocogan_k8": {"IS": 11.4, "FVD": 46.2, "kilo_steps": 561, "ms": 660, "GB": 3.95},
    "dvd_gan_fp": {"IS": 10.9, "FVD": 55.0, "kilo_steps": 689, "ms": 537, "GB": 3.53},
    "faster": {"IS": 11.7, "FVD": 46.1, "kilo_steps": 817, "ms": 453, "GB": 3.54},
    "stronger": {"IS": 11.8, "FVD": 39.3, "kilo_steps": 675, "ms": 548, "GB": 3.65},
}

# Table 2 (Kinetics-600 validation, DVD-GAN-FP_faster, 500k steps): IS, FVD.
PAPER_TABLE2: dict[str, dict[str, float]] = {
    "convlstm": {"IS": 11.4, "FVD": 51.3},
    "convgru": {"IS": 11.4, "FVD": 49.4},
    "ktrajgru": {"IS": 11.6, "FVD": 45.9},
    "tsru_c": {"IS": 11.6, "FVD": 44.2},
    "tsru_p": {"IS": 11.5, "FVD": 43.7},
    "tsru_s": {"IS": 11.6, "FVD": 45.8},
    "ptsru_s": {"IS": 11.5, "FVD": 47.1},
}

# Table 3 (Kinetics-600 test, 5 + 11 frames) and Table 4 (BAIR, 1 + 15 frames; O: original split, 256 samples).
PAPER_TABLE3_FVD = {"Video Transformer": 170.0, "DVD-GAN-FP": 69.15, "TrIVD-GAN-FP": 25.74}
PAPER_TABLE4_FVD = {"SAVP (O)": 116.4, "DVD-GAN-FP (O)": 109.8, "TrIVD-GAN-FP (O)": 103.3,
                    "Video Transformer (O)": 94.0, "TrIVD-GAN-FP (balanced split)": 31.8}
