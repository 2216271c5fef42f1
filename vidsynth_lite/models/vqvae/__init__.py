"""Predicting video with a hierarchical VQ-VAE and PixelCNN priors (Walker, Razavi, van den Oord 2021).

Read in order: ``config`` (Tables 3-8), ``vqvae`` (Sec. 3.1), ``top_prior`` and ``bottom_prior`` (Sec. 3.2),
``predict`` (Fig. 3, right).
"""

from .bottom_prior import BottomPrior, bottom_prior_loss
from .checkpoint import load_model, save_model
from .config import PAPER_TRAINING, BottomPriorConfig, TopPriorConfig, VQVAEConfig, VQVAEModels, compression
from .predict import CodesDataset, VideoPredictor, latent_volumes
from .top_prior import TopPrior, top_prior_loss
from .vqvae import VideoVQVAE, VQVAEOutput, vqvae_loss

__all__ = [
           "PAPER_TRAINING",
           "BottomPrior",
           "BottomPriorConfig",
           "CodesDataset",
           "TopPrior",
           "TopPriorConfig",
           "VQVAEConfig",
           "VQVAEModels",
           "VQVAEOutput",
           "VideoPredictor",
           "VideoVQVAE",
           "bottom_prior_loss",
           "compression",
           "latent_volumes",
           "load_model",
           "save_model",
           "top_prior_loss",
           "vqvae_loss",
]
