"""Building blocks shared by several methods (quantisers, masked convolutions, gated layers, attention,
samplers). Each file has one job; docstrings name the paper's equation or section."""

from .ar_sampling import sample_cached, sample_naive
from .attention import CausalSelfAttention3d
from .codebook_stats import code_histogram, perplexity, usage
from .ema import code_counts_and_sums, ema_codebook_update
from .gated import GatedResidualLayer, gate
from .masked_conv import MaskedConv3d, allowed, causal_mask
from .pixelcnn import CausalPixelCNN
from .quantize import nearest_code, straight_through
from .residual import ResidualBlock3d, ResidualStack3d
from .sampling import (apply_temperature, filter_logits, sample_from_logits, top_k_filter, top_p_filter)
from .vector_quantizer import QuantizerOutput, VectorQuantizer

__all__ = [
    "sample_cached", "sample_naive", "CausalSelfAttention3d", "code_histogram", "perplexity", "usage",
    "code_counts_and_sums", "ema_codebook_update", "GatedResidualLayer", "gate", "MaskedConv3d", "allowed",
    "causal_mask", "CausalPixelCNN", "nearest_code", "straight_through", "ResidualBlock3d", "ResidualStack3d",
    "apply_temperature", "filter_logits", "sample_from_logits", "top_k_filter", "top_p_filter",
    "QuantizerOutput", "VectorQuantizer",
]
