"""MoCoGAN-HD: motion as a trajectory in a frozen image generator's latent space (Tian et al., ICLR 2021).

Read in order: ``config`` (App. A-B), ``pca`` (the basis U of Eq. 2), ``motion`` (the motion generator, Eqs.
1-3), ``video_discriminator`` (D_V, Eq. 4, Tab. 6), ``image_discriminator`` (D_I, Eqs. 5-6), ``contrastive``
(InfoNCE, memory bank, momentum encoder), ``augmentations`` (App. A.2.2), ``training`` (the objective of Eq. 7,
one step of each network), ``sampling`` (videos, long sequences, swaps), ``inversion`` (Eq. 8, video prediction).
The image generator is :mod:`vidsynth_lite.models.stylegan2`.
"""

from . import sampling, training
from .augmentations import augment
from .config import ImageDiscriminatorConfig, MoCoGANHDTraining, MotionConfig, VideoDiscriminatorConfig
from .contrastive import MemoryBank, info_nce, momentum_update
from .image_discriminator import ImageDiscriminator
from .inversion import invert
from .motion import MotionGenerator, MotionOutput, interpolate_codes, mutual_information_loss
from .pca import LatentPCA, fit_pca, style_space_pca
from .video_discriminator import VideoDiscriminator, pair_with_first

__all__ = [
           "ImageDiscriminator",
           "ImageDiscriminatorConfig",
           "LatentPCA",
           "MemoryBank",
           "MoCoGANHDTraining",
           "MotionConfig",
           "MotionGenerator",
           "MotionOutput",
           "VideoDiscriminator",
           "VideoDiscriminatorConfig",
           "augment",
           "fit_pca",
           "info_nce",
           "interpolate_codes",
           "invert",
           "momentum_update",
           "mutual_information_loss",
           "pair_with_first",
           "sampling",
           "style_space_pca",
           "training",
]
