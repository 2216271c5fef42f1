"""CCVS: context-aware controllable video synthesis (Le Moing, Ponce, Schmid, NeurIPS 2021).

Read in order: ``config`` (the paper's sizes), ``flow`` (F, Eqs. 1 and 9), ``autoencoder`` (E, Q, D),
``augment`` (the self-supervision's views, App. C / F), ``losses`` (Eqs. 3-7), ``synthesis`` (shift-and-add
decoding, the doubly autoregressive loop), ``training`` (one step of the autoencoder and its discriminators),
``transformer`` (T and the controls' token streams, Sec. 3.3), ``windows`` (T's training windows), ``controls``
(position estimator, sound autoencoder, App. A), ``checkpoint``.
"""

from .augment import AugmentedView, affine_flow, augmented_view
from .autoencoder import Autoencoder, AutoencoderOutput, Decoder, Encoder, ResBlock
from .checkpoint import build, load_model, save_model
from .config import AutoencoderConfig, CCVSConfig, ControlConfig, LossConfig, TransformerConfig
from .controls import PositionEstimator, SoundAutoencoder, frame_spectrogram
from .flow import FlowLevel, FlowModule, FlowTrace, fuse
from .losses import context_loss, quantization_loss, reconstruction_loss
from .synthesis import decode_video, reconstruct_video, synthesize
from .transformer import CCVSTransformer, TokenLayout, dequantize_state, quantize_state
from .windows import TokenWindows

__all__ = [
    "AugmentedView",
    "Autoencoder",
    "AutoencoderConfig",
    "AutoencoderOutput",
    "CCVSConfig",
    "CCVSTransformer",
    "ControlConfig",
    "Decoder",
    "Encoder",
    "FlowLevel",
    "FlowModule",
    "FlowTrace",
    "LossConfig",
    "PositionEstimator",
    "ResBlock",
    "SoundAutoencoder",
    "TokenLayout",
    "TokenWindows",
    "TransformerConfig",
    "affine_flow",
    "augmented_view",
    "build",
    "context_loss",
    "decode_video",
    "dequantize_state",
    "frame_spectrogram",
    "fuse",
    "load_model",
    "quantization_loss",
    "quantize_state",
    "reconstruct_video",
    "reconstruction_loss",
    "save_model",
    "synthesize",
]
