"""Building blocks shared by several methods (quantisers, masked convolutions, gated layers, attention,
samplers). Each file has one job; docstrings name the paper's equation or section."""

from .attention import CausalSelfAttention3d, attention_memory_bytes
from .codebook_stats import (
    code_counts,
    code_histogram,
    perplexity,
    perplexity_of_counts,
    usage,
    usage_of_counts,
)
from .logit_sampling import apply_temperature, filter_logits, sample_from_logits, top_k_filter, top_p_filter
from .masked_conv import MaskedConv3d, allowed, causal_mask
from .pixelcnn import CausalPixelCNN, GatedResidualLayer, PixelCNNConfig, gate
from .pixelcnn_sampling import sample_cached, sample_naive
from .residual import ResidualBlock3d, ResidualStack3d
from .vector_quantizer import (
    QuantizerOutput,
    VectorQuantizer,
    code_counts_and_sums,
    ema_codebook_update,
    nearest_code,
    straight_through,
)

__all__ = [
    "CausalPixelCNN",
    "CausalSelfAttention3d",
    "GatedResidualLayer",
    "MaskedConv3d",
    "PixelCNNConfig",
    "QuantizerOutput",
    "ResidualBlock3d",
    "ResidualStack3d",
    "VectorQuantizer",
    "allowed",
    "apply_temperature",
    "attention_memory_bytes",
    "causal_mask",
    "code_counts",
    "code_counts_and_sums",
    "code_histogram",
    "ema_codebook_update",
    "filter_logits",
    "gate",
    "nearest_code",
    "perplexity",
    "perplexity_of_counts",
    "sample_cached",
    "sample_from_logits",
    "sample_naive",
    "straight_through",
    "top_k_filter",
    "top_p_filter",
    "usage",
    "usage_of_counts",
]
