"""MoCoGAN-HD's sizes and training settings (Tian et al. 2021, App. A-B; the official code where the paper's
numbers were lost or are not given).

The dataclass defaults are the paper's ``full`` values; the chapter's ``lite`` and ``smoke`` values live in
``configs/mocogan_hd/<profile>.yaml`` only. Every field names its source.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class MotionConfig:
    """The motion generator (Sec. 3.1, App. A.1)."""

    style_dim: int = 512          # App. A.1: latent codes after the 8-layer MLP are 512-d
    hidden: int = 384             # App. A.1: LSTM encoder and decoder hidden size (official h_dim = 384)
    n_pca: int = 384              # App. A.1: top principal components kept in U (official n_pca = 384 of 512)
    noise_dim: int = 512          # App. A.1: eps_t has the latent's dimension (official code: z_dim)
    mi_hidden: int = 512          # App. A.1: H of Eq. 3 is a 2-layer MLP (official: 512 units)
    mi_input: str = "h"           # Eq. 3 reads h_t ("h"); the official code feeds [h_t, c_t] ("hc")
    residual_scale: float = 0.2   # lambda of Eq. 2: 0.2 in-domain (App. B), smaller across domains
    residual: bool = True         # Eq. 2; False: the "w/o Eq. 2" ablation of Tab. 5 (z_t predicted directly)

    def validate(self) -> MotionConfig:
        if self.mi_input not in ("h", "hc"):
            raise ValueError(f"MotionConfig.mi_input must be 'h' (paper) or 'hc' (official code), "
                             f"got {self.mi_input!r}")
        if not 1 <= self.n_pca <= self.style_dim:
            raise ValueError(f"MotionConfig.n_pca must be in [1, style_dim = {self.style_dim}], got {self.n_pca}")
        if min(self.hidden, self.noise_dim, self.mi_hidden) < 1 or self.residual_scale < 0:
            raise ValueError(f"MotionConfig has a non-positive size or a negative lambda: {self}")
        return self


@dataclass(frozen=True)
class VideoDiscriminatorConfig:
    """D_V: a multi-scale 3D PatchGAN (Sec. 3.1, App. A.2.1, Tab. 6)."""

    base_channels: int = 64        # Tab. 6: Conv3d 4x4x4 with 64, 128, 256 (stride 2), 512 (stride 1) = base x 1..8
    scales: int = 2                # App. A.2.1: "processed at two scales" (official num_D = 2)
    pair_first: bool = True        # Sec. 3.1 / App. A.2.1: in-domain, each frame is concatenated with frame 1


@dataclass(frozen=True)
class ImageDiscriminatorConfig:
    """D_I: BigGAN's discriminator without self-attention, plus a 2-layer projection head (App. A.2.2)."""

    width: int = 64                # BigGAN-PyTorch's default D_ch (the official code keeps it)
    proj_dim: int = 256            # App. A.2.2: the projection head's two FC layers (official l_len = 256)
    temperature: float = 0.07      # Eq. 6: tau (Sec. 3.2)
    bank_size: int = 4096          # App. A.2.2: memory bank dictionary size (official q_len = 4096)
    momentum: float = 0.999        # MoCo momentum of the key encoder (official moco_m)


@dataclass(frozen=True)
class MoCoGANHDTraining:
    """Eq. 7 and App. B."""

    frames: int = 16               # App. B: 16-frame clips (every other frame of 32 consecutive ones)
    batch: int = 16                # official FaceForensics script: batchSize 16
    lr: float = 1e-4               # App. B: Adam, learning rate 1e-4 for G_M, D_V and D_I
    betas: tuple = (0.5, 0.999)    # official code: Adam betas
    g_steps_per_d: int = 5         # official code: G_step = 5 generator updates per discriminator update
    w_contrastive: float = 2.0     # lambda_contr of Eq. 7 (official: 2 x the contrastive loss in D_I's step)
    w_mutual: float = 1.0          # lambda_m of Eq. 7 (official: 1)
    w_match: float = 1.0           # feature-matching weight (official w_match = 1)
    gp_weight: float = 10.0        # official: gradient penalty on D_V, weight 10
    inversion_steps: int = 1000    # App. B, Eq. 8: iterations of the inversion (the number was lost; ours)
    inversion_perceptual: float = 1.0   # App. B, Eq. 8: weight of the perceptual term (lost; ours)


def to_dict(obj) -> dict:
    return asdict(obj)
