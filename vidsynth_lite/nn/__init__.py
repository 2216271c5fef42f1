"""Building blocks shared by several methods (quantisers, masked convolutions, gated layers, attention,
samplers). Each file has one job; docstrings name the paper's equation or section."""

from .ar_sampling import sample_cached, sample_naive
from .attention import CausalSelfAttention3d
from .chunked_sampling import sample_chunks
from .cost_volume import displacements, local_correlation
from .codebook_stats import code_histogram, perplexity, usage
from .ema import code_counts_and_sums, ema_codebook_update
from .flow_inversion import invert_flow
from .gated import GatedResidualLayer, gate
from .gpt import GPT, GPTConfig, KVCache
from .masked_conv import MaskedConv3d, allowed, causal_mask
from .pixelcnn import CausalPixelCNN
from .quantize import nearest_code, straight_through
from .residual import ResidualBlock3d, ResidualStack3d
from .sampling import apply_temperature, filter_logits, sample_from_logits, top_k_filter, top_p_filter
from .vector_quantizer import QuantizerOutput, VectorQuantizer

__all__ = [
    "CausalPixelCNN",
    "CausalSelfAttention3d",
    "GPT",
    "GPTConfig",
    "GatedResidualLayer",
    "KVCache",
    "MaskedConv3d",
    "QuantizerOutput",
    "ResidualBlock3d",
    "ResidualStack3d",
    "VectorQuantizer",
    "allowed",
    "apply_temperature",
    "causal_mask",
    "code_counts_and_sums",
    "code_histogram",
    "displacements",
    "ema_codebook_update",
    "filter_logits",
    "gate",
    "invert_flow",
    "local_correlation",
    "nearest_code",
    "perplexity",
    "sample_cached",
    "sample_chunks",
    "sample_from_logits",
    "sample_naive",
    "straight_through",
    "top_k_filter",
    "top_p_filter",
    "usage",
]
