"""Sizes and settings of CCVS (Le Moing, Ponce, Schmid 2021), as the paper and its official scripts give them.

The dataclass defaults are the paper's ``full`` configuration for BAIR at 256x256 (the chapter's ``lite`` and
``smoke`` sizes live in :mod:`vidsynth_lite.chapters.ccvs`). Each field names where it comes from: the paper's
sections and tables, or, where the paper is silent, the official script ``scripts/bairhd/*.sh`` of
github.com/16lemoing/ccvs (read, not copied).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class AutoencoderConfig:
    """E, Q, D and F (Sec. 3.2, App. A); the token grid is ``size / 2^(levels - 1)`` on a side."""

    size: int = 256                    # BAIR 256x256 (Table 1)
    channels: int = 3
    levels: int = 6                    # K resolution levels, 256 .. 8 (official: necf_mult 1 1 2 2 4 4)
    widths: tuple = (512, 512, 256, 256, 128, 128)   # channels per level, coarse (k=1) to fine (k=K) (necf 128)
    num_codes: int = 1024              # q: codebook entries (Table 5, first row; q_z_num)
    code_dim: int = 512                # F: code dimension (q_z_size)
    beta: float = 0.25                 # Eq. 3
    beta_on: str = "commitment"        # Eq. 3 as printed; "codebook": the official code's VQ (beta on the other term)
    flow: bool = True                  # the flow module F (Table 1 column "F")
    warp_fraction: float = 1.0         # share of each level's channels that F matches and fuses (official: 0.75)
    radius: int = 3                    # cost-volume neighbourhood: (2r+1)^2 = 49 neighbours (official correlation)
    flow_hidden: tuple = (128, 64, 32)  # widths of F's convolutions ("match" and "refine"; official Matching)
    proj_min: int = 16                 # F matches on a 1x1 projection to max(proj_min, C // 4) channels (official)
    restart_below: float = 0.03        # restart a code whose moving-average use falls below this share of the
                                       # mean use per code (not in the paper; 0 = never): keeps Eq. 3's
                                       # codebook from collapsing

    @property
    def tokens_side(self) -> int:
        return self.size // 2 ** (self.levels - 1)

    @property
    def level_sizes(self) -> tuple:
        """Spatial side of each level, coarse (k=1) to fine (k=K)."""
        return tuple(self.tokens_side * 2 ** k for k in range(self.levels))


@dataclass
class LossConfig:
    """Eq. 2 weights and the autoencoder's training choices (Sec. 3.2 and Sec. 4 "Training details")."""

    lambda_q: float = 1.0              # Eq. 2 (lambda_q, lambda_r, lambda_a, lambda_c) = (1, 10, 1, 1)
    lambda_r: float = 10.0
    lambda_a: float = 1.0
    lambda_c: float = 1.0
    rgb: bool = True                   # Table 1 "RGB": L1 in pixel space (Eq. 4, first term)
    perceptual: bool = True            # Table 1 "VGG": L1 between feature maps (Eq. 4, second term)
    perceptual_frames: int = 0         # frames per step that get the VGG term (0: all; a CPU budget knob)
    perceptual_weights: tuple = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)   # per VGG layer, shallow to deep (official
                                       # VGGLoss, after pix2pixHD; the paper does not say)
    image_gan: bool = True             # Table 1 "Delta_i" (Eqs. 5-6)
    video_gan: bool = True             # Table 1 "Delta_t" (3D discriminator on autoregressively decoded clips)
    self_supervision: bool = True      # Table 1 "Sup.": L_c on augmented views (Eq. 7, App. C, App. F)
    context_train: int = 4             # context frames when decoding clips in training (official q_skip_memory 4)
    r1_gamma: float = 10.0             # R1 penalty on real images (official q_lambda_r1; the paper is silent)
    r1_every: int = 16                 # lazy R1 (official q_d_reg_every)
    lr: float = 0.02                   # Sec. 4 (the official script uses 0.002)
    betas: tuple = (0.0, 0.99)         # Adam (official q_beta1, q_beta2)
    ema_decay: float | None = 0.999    # "exponential moving average to obtain its final parameters" (official);
                                       # None: no average (lite: a few hundred steps, the average lags behind)
    batch_frames: int = 96             # frames per image-level batch (official batch_size_img on 4 GPUs)
    batch_clips: int = 16              # clips per video-level batch (official batch_size_vid)
    # augmentations of the self-supervision (Sec. 3.2, App. F): A = affine + elastic, then blur B and occlusion o
    rotation: float = 5.0              # degrees, +-; the paper lists rotation (the official script: zoom only)
    zoom: tuple = (0.9, 1.1)           # official elastic_min_zoom, elastic_max_zoom
    translation: float = 0.04          # share of the image side, +-; the paper lists translation
    elastic: float = 0.02              # std of the elastic displacement, share of the image side (official
                                       # bairhd: alpha 3, sigma 0.1 at 256x256 give ~1.9 %)
    elastic_smooth: float = 0.1        # Gaussian smoothing of the elastic field, share of the side (official)
    blur_sigma: tuple = (0.0, 2.0)     # B: Gaussian blur sigma range, pixels at 256x256 (scaled with the size)
    occluded: float = 0.5              # mean share of the context occluded (official elastic_mean_corruption)


@dataclass
class TransformerConfig:
    """T (Sec. 3.3, App. A, Table 2; official ``train_transformer*.sh``)."""

    n_layer: int = 24                  # Table 2, best rows
    n_head: int = 16
    n_embd: int = 1024                 # official x_n_embd
    dropout: float = 0.0               # official GPT default
    window: int = 16                   # frames the transformer sees (N; official x_num_blocks 16)
    decomposed: bool = True            # spatio-temporal decomposition of the positions (Table 2 "Dec.")
    lr: float = 1e-5                   # Sec. 4
    betas: tuple = (0.9, 0.95)         # AdamW (official x_beta1, x_beta2)
    weight_decay: float = 0.01         # official (minGPT's split: no decay on embeddings, norms, biases)
    batch: int = 16                    # official batch_size_vid (per GPU, 4 GPUs)
    top_k: int = 100                   # Table 2: top-k on frame tokens
    top_k_state: int = 10              # Table 2: top-k on state tokens (when they are sampled)


@dataclass
class ControlConfig:
    """The ancillary information turned into tokens (Sec. 3.3, Fig. 2, App. A, App. D)."""

    state_bins: int = 128              # each coordinate of the 2D arm position quantised to 128 bins (s_state_num)
    state_dims: int = 2                # (x, y) of the gripper: two frame-level tokens per frame
    audio_codes: int = 1024            # sound autoencoder codebook (a_stft_num)
    audio_code_dim: int = 512          # a_stft_size
    audio_tokens: tuple = (8, 2)       # STFT latent grid per frame: 16 frame-level tokens (a_stft_shape)
    p2p_length: int = 16               # point-to-point training: end frame drawn up to 16 frames ahead (p2p_len)
    sample_context: int = 15           # context frames of F at sampling (official q_skip_memory 15)


@dataclass
class CCVSConfig:
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    frames: int = 16                   # clip length of training and evaluation (Tables 1-3)

    def to_dict(self) -> dict:
        return asdict(self)
