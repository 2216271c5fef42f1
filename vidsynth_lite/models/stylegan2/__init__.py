"""A StyleGAN2-style image generator and its discriminator (Karras et al. 2020), trained and then frozen as
MoCoGAN-HD's image generator (and reusable by any method that needs an unconditional image GAN).

Read in order: ``config`` (sizes and the training recipe), ``layers`` (equalised learning rate, FIR resampling),
``generator`` (mapping network, modulated/demodulated convolutions, noise, ToRGB skips), ``discriminator``
(residual, minibatch standard deviation), ``training`` (non-saturating loss, lazy R1 and path-length
regularisation, style mixing, the generator's EMA).
"""

from .config import StyleGAN2Config, StyleGAN2Training
from .discriminator import Discriminator
from .generator import Generator, MappingNetwork, ModulatedConv2d, SynthesisNetwork, render_frames

__all__ = [
           "Discriminator",
           "Generator",
           "MappingNetwork",
           "ModulatedConv2d",
           "StyleGAN2Config",
           "StyleGAN2Training",
           "SynthesisNetwork",
           "render_frames",
]
