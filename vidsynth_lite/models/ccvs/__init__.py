"""CCVS: context-aware controllable video synthesis (Le Moing, Ponce, Schmid, NeurIPS 2021).

Read in order: ``config`` (the paper's sizes), ``flow`` (F, Eqs. 1 and 9), ``autoencoder`` (E, Q, D).
"""

from .autoencoder import Autoencoder, AutoencoderOutput, Decoder, Encoder, ResBlock
from .config import AutoencoderConfig, CCVSConfig, ControlConfig, LossConfig, TransformerConfig
from .flow import FlowLevel, FlowModule, FlowTrace, backwarp, fuse

__all__ = [
    "Autoencoder",
    "AutoencoderConfig",
    "AutoencoderOutput",
    "CCVSConfig",
    "ControlConfig",
    "Decoder",
    "Encoder",
    "FlowLevel",
    "FlowModule",
    "FlowTrace",
    "LossConfig",
    "ResBlock",
    "TransformerConfig",
    "backwarp",
    "fuse",
]
