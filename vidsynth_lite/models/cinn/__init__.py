"""Stochastic image-to-video synthesis with a conditional invertible network (Dorkenwald et al., CVPR 2021).

Read in order: ``config`` (supplement B.1-B.2), ``stage1`` (the video cVAE, Sec. 3.3), ``image_ae`` (the x_0
embedding), ``cinn`` (T_theta, Secs. 3.1-3.2), ``control`` (eta, Sec. 3.4), ``tasks`` (sampling, motion transfer,
video-to-video, longer videos).
"""

from .cinn import CINN, cinn_loss, flow_block
from .config import (
    CINNConfig,
    CINNModels,
    DiscriminatorConfig,
    ImageAEConfig,
    Stage1Loss,
    VideoDecoderConfig,
    VideoEncoderConfig,
    fingerprint,
)
from .control import PUSHBOT_BINS, SKY_BINS, bin_centres, one_hot_bins, pushbot_eta, sky_direction_of, sky_eta
from .image_ae import ImageAE, image_ae_loss
from .stage1 import VideoCVAE, VideoDecoder, VideoEncoder, kl_divergence, reparameterize

__all__ = [
    "CINN",
    "PUSHBOT_BINS",
    "SKY_BINS",
    "CINNConfig",
    "CINNModels",
    "DiscriminatorConfig",
    "ImageAE",
    "ImageAEConfig",
    "Stage1Loss",
    "VideoCVAE",
    "VideoDecoder",
    "VideoDecoderConfig",
    "VideoEncoder",
    "VideoEncoderConfig",
    "bin_centres",
    "cinn_loss",
    "fingerprint",
    "flow_block",
    "image_ae_loss",
    "kl_divergence",
    "one_hot_bins",
    "pushbot_eta",
    "reparameterize",
    "sky_direction_of",
    "sky_eta",
]
