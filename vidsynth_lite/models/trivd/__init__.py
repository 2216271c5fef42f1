"""TrIVD-GAN-FP (Luc et al. 2020): transformation-based adversarial video prediction on the DVD-GAN-FP base.

- :mod:`.config`: the paper's sizes and settings (Sec. 4, App. A, C.1, E) and its Tables 1-4;
- :mod:`.generator`: the conditioning encoder E and the generator G with a recurrent unit of Table 2;
- :mod:`.discriminators`: the sub-discriminators and the decompositions of Table 1, mixed projection head;
- :mod:`.training`: the training step (two D updates, one G update; geometric hinge loss, orthogonality
  penalty), sampling with EMA weights, standing statistics and truncation, Table 1's step-time measurement.
"""

from .config import (
    DECOMPOSITIONS,
    PAPER_TABLE1,
    PAPER_TABLE2,
    PAPER_TABLE3_FVD,
    PAPER_TABLE4_FVD,
    DiscriminatorConfig,
    GeneratorConfig,
    TrainConfig,
    TrIVDConfig,
)
from .discriminators import Discriminator, SubDiscriminator, downsample, random_crop, sample_frame_indices
from .generator import FrameEncoder, Generator, GeneratorOutput, sample_z
from .layers import FrameBatchNorm, GBlock, mixed_projection, orthogonal_init

__all__ = [
    "DECOMPOSITIONS",
    "PAPER_TABLE1",
    "PAPER_TABLE2",
    "PAPER_TABLE3_FVD",
    "PAPER_TABLE4_FVD",
    "Discriminator",
    "DiscriminatorConfig",
    "FrameBatchNorm",
    "FrameEncoder",
    "GBlock",
    "Generator",
    "GeneratorConfig",
    "GeneratorOutput",
    "SubDiscriminator",
    "TrIVDConfig",
    "TrainConfig",
    "downsample",
    "mixed_projection",
    "orthogonal_init",
    "random_crop",
    "sample_frame_indices",
    "sample_z",
]
