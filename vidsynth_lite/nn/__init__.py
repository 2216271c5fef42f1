"""Building blocks shared by several methods (quantisers, masked convolutions, gated layers, attention,
samplers; the adversarial toolkit: GAN losses, penalties, spectral norm, adaptive normalisation,
discriminators, flow warping, perceptual losses). Each file has one job; docstrings name the paper's equation
or section. The adversarial toolkit's worked example (a D step then a G step) is in ``gan_losses``."""

from .attention import CausalSelfAttention3d, attention_memory_bytes
from .codebook_stats import (
    code_counts,
    code_histogram,
    perplexity,
    perplexity_of_counts,
    usage,
    usage_of_counts,
)
from .conv_recurrent import ConvGRU, ConvLSTM
from .kernel_warp import (
    combine_flows,
    expected_flow,
    factorised_warp,
    factorised_weights,
    identity_weights,
    kernel_offsets,
    pixelwise_warp,
)
from .logit_sampling import apply_temperature, filter_logits, sample_from_logits, top_k_filter, top_p_filter
from .masked_conv import MaskedConv3d, allowed, causal_mask
from .pixelcnn import CausalPixelCNN, GatedResidualLayer, PixelCNNConfig, gate
from .pixelcnn_sampling import sample_cached, sample_naive
from .recurrent_units import RECURRENT_UNITS, WARPING_UNITS, make_recurrent_unit
from .residual import ResidualBlock3d, ResidualStack3d
from .transform_recurrent import (
    FactorisedKernelNet,
    KTrajGRU,
    PixelwiseKernelNet,
    PTSRUs,
    TSRUc,
    TSRUp,
    TSRUs,
)
from .vector_quantizer import (
    QuantizerOutput,
    VectorQuantizer,
    code_counts_and_sums,
    ema_codebook_update,
    nearest_code,
    straight_through,
)

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
    "PixelCNNConfig",
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
    "attention_memory_bytes",
    "causal_mask",
    "code_counts",
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
    "perplexity_of_counts",
    "pixelwise_warp",
    "sample_cached",
    "sample_from_logits",
    "sample_naive",
    "straight_through",
    "top_k_filter",
    "top_p_filter",
    "usage",
    "usage_of_counts",
]

# isort: split
# -- the adversarial toolkit (issue 8, section 2) -------------------------------------------------------------
from .discriminators import (
    DBlock,
    PatchDiscriminator,
    ResidualDiscriminator,
    ScoreHead,
    assert_no_norm_before_score,
    score_real_and_fake,
)
from .frames import fold_frames, repeat_per_frame, unfold_frames
from .freeze import changed_since, freeze, is_frozen, snapshot
from .gan_losses import (
    feature_matching_loss,
    geometric_hinge_d_loss,
    geometric_hinge_g_loss,
    hinge_d_loss,
    hinge_g_loss,
    nonsaturating_d_loss,
    nonsaturating_g_loss,
    ralsgan_d_loss,
    ralsgan_g_loss,
)
from .normalization import SPADE, AdaIN, ConditionalBatchNorm, standing_statistics
from .perceptual import PerceptualNetwork, PerceptualWeightsNotFound, load_perceptual
from .regularizers import orthogonal_regularization, r1_penalty, wgan_gp_penalty
from .spectral import (
    apply_spectral_norm,
    has_spectral_norm,
    largest_singular_value,
    refresh_spectral_norm,
    spectral_norm,
)
from .warp import flow_grid, upsample_flow, warp

__all__ += [
    "SPADE",
    "AdaIN",
    "ConditionalBatchNorm",
    "DBlock",
    "PatchDiscriminator",
    "PerceptualNetwork",
    "PerceptualWeightsNotFound",
    "ResidualDiscriminator",
    "ScoreHead",
    "apply_spectral_norm",
    "assert_no_norm_before_score",
    "changed_since",
    "feature_matching_loss",
    "flow_grid",
    "fold_frames",
    "freeze",
    "geometric_hinge_d_loss",
    "geometric_hinge_g_loss",
    "has_spectral_norm",
    "hinge_d_loss",
    "hinge_g_loss",
    "is_frozen",
    "largest_singular_value",
    "load_perceptual",
    "nonsaturating_d_loss",
    "nonsaturating_g_loss",
    "orthogonal_regularization",
    "r1_penalty",
    "ralsgan_d_loss",
    "ralsgan_g_loss",
    "refresh_spectral_norm",
    "repeat_per_frame",
    "score_real_and_fake",
    "snapshot",
    "spectral_norm",
    "standing_statistics",
    "unfold_frames",
    "upsample_flow",
    "warp",
    "wgan_gp_penalty",
]
# -- end of the adversarial toolkit ---------------------------------------------------------------------------

# isort: split
# -- sequence models and flow-matching pieces (CCVS chapter) -------------------------------------------------
from .chunked_sampling import sample_chunks
from .cost_volume import displacements, local_correlation
from .flow_inversion import invert_flow
from .gpt import GPT, GPTConfig, KVCache

__all__ += [
    "GPT",
    "GPTConfig",
    "KVCache",
    "displacements",
    "invert_flow",
    "local_correlation",
    "sample_chunks",
]
# -- end of the CCVS chapter's pieces -------------------------------------------------------------------------
