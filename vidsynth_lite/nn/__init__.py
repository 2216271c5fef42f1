"""Building blocks shared by several methods (quantisers, masked convolutions, gated layers, attention,
samplers). Each file has one job; docstrings name the paper's equation or section."""

from .ar_sampling import sample_cached, sample_naive
from .attention import CausalSelfAttention3d
from .codebook_stats import code_histogram, perplexity, usage
from .conv_recurrent import ConvGRU, ConvLSTM
from .ema import code_counts_and_sums, ema_codebook_update
from .gated import GatedResidualLayer, gate
from .kernel_warp import (
    combine_flows,
    expected_flow,
    factorised_warp,
    factorised_weights,
    identity_weights,
    kernel_offsets,
    pixelwise_warp,
)
from .masked_conv import MaskedConv3d, allowed, causal_mask
from .pixelcnn import CausalPixelCNN
from .quantize import nearest_code, straight_through
from .recurrent_units import RECURRENT_UNITS, WARPING_UNITS, make_recurrent_unit
from .residual import ResidualBlock3d, ResidualStack3d
from .sampling import apply_temperature, filter_logits, sample_from_logits, top_k_filter, top_p_filter
from .transform_recurrent import (
    FactorisedKernelNet,
    KTrajGRU,
    PixelwiseKernelNet,
    PTSRUs,
    TSRUc,
    TSRUp,
    TSRUs,
)
from .vector_quantizer import QuantizerOutput, VectorQuantizer

__all__ = [
    "RECURRENT_UNITS",
    "WARPING_UNITS",
    "CausalPixelCNN",
    "CausalSelfAttention3d",
    "ConvGRU",
    "ConvLSTM",
    "FactorisedKernelNet",
    "GatedResidualLayer",
    "KTrajGRU",
    "MaskedConv3d",
    "PTSRUs",
    "PixelwiseKernelNet",
    "QuantizerOutput",
    "ResidualBlock3d",
    "ResidualStack3d",
    "TSRUc",
    "TSRUp",
    "TSRUs",
    "VectorQuantizer",
    "allowed",
    "apply_temperature",
    "causal_mask",
    "code_counts_and_sums",
    "code_histogram",
    "combine_flows",
    "ema_codebook_update",
    "expected_flow",
    "factorised_warp",
    "factorised_weights",
    "filter_logits",
    "gate",
    "identity_weights",
    "kernel_offsets",
    "make_recurrent_unit",
    "nearest_code",
    "perplexity",
    "pixelwise_warp",
    "sample_cached",
    "sample_from_logits",
    "sample_naive",
    "straight_through",
    "top_k_filter",
    "top_p_filter",
    "usage",
]
