"""Metrics with their protocols: Frechet/kernel distances, the real I3D, SynVideo, PSNR/SSIM, IS, DIV, ACD.

Public API (chapter 2 teaches each piece):

- :func:`evaluate` -- **the one evaluation every method chapter calls** (baselines, floors, draws, verdicts:
  :class:`Evaluation`, ``Evaluation.compare`` -> :class:`Verdict`); see :mod:`vidsynth_lite.metrics.evaluation`;
- :mod:`syn_video` -- the book's feature network (appearance, motion, time; shipped weights), ``"syn-video"``;
- :mod:`battery` -- graded corruptions and the response test of a feature network;
- :func:`fid` -- FID-syn over per-frame features;
- :func:`frechet_distance` ``(mu1, sigma1, mu2, sigma2) -> float`` (numpy or torch), :class:`GaussianStats`
  (streaming float64 statistics), :func:`frechet_floor` (the d^2/(2N) sample-size floor);
- :func:`fvd` / :func:`kvd` ``(real, fake, network="i3d-k400" | "syn-i3d") -> Score``;
- :func:`psnr`, :func:`ssim`, :func:`ssim_skimage_default` on ``[..., 3, H, W]`` in [-1, 1], one value per image,
  and :func:`per_timestep`, :func:`best_of_k`, :func:`mean_of_k`;
- :func:`inception_score`, :func:`div`, :func:`div_pixel`, :func:`acd_color`, :func:`acd_features`;
- :class:`Score` (value, protocol, std, floor) and :func:`show`.

Heavy pieces (the I3D weights, SynI3D training) load only when asked for.
"""

from vidsynth_lite.metrics import battery, i3d_weights, network_profiles, syn_i3d, syn_video
from vidsynth_lite.metrics.evaluation import (
                                           CEILING,
                                           COPY_LAST,
                                           FLOOR,
                                           STILL_FRAME,
                                           Evaluation,
                                           Verdict,
                                           compare,
                                           evaluate,
)
from vidsynth_lite.metrics.features import I3DFeatures, extract_features, get_network
from vidsynth_lite.metrics.frechet import (
                                           GaussianStats,
                                           effective_dimension,
                                           frechet_distance,
                                           frechet_distance_from_features,
                                           frechet_floor,
                                           gaussian_stats,
                                           trace_sqrt_product,
)
from vidsynth_lite.metrics.fvd import fid, frechet_score, fvd, kernel_score, kvd, metric_name
from vidsynth_lite.metrics.i3d import InceptionI3d
from vidsynth_lite.metrics.image import best_of_k, mean_of_k, per_timestep, psnr, ssim, ssim_skimage_default
from vidsynth_lite.metrics.kernel import kernel_distance, mmd2_unbiased, polynomial_kernel
from vidsynth_lite.metrics.lpips import LPIPSUnavailable, lpips_vgg
from vidsynth_lite.metrics.preprocess import i3d_preprocess, resize_bilinear_tf1, resize_bilinear_torch
from vidsynth_lite.metrics.sample_scores import (
                                           acd_color,
                                           acd_features,
                                           div,
                                           div_pixel,
                                           inception_score,
                                           inception_score_of,
)
from vidsynth_lite.metrics.score import Score, protocol_line, show

__all__ = [
                                           "CEILING",
                                           "COPY_LAST",
                                           "FLOOR",
                                           "STILL_FRAME",
                                           "Evaluation",
                                           "GaussianStats",
                                           "I3DFeatures",
                                           "InceptionI3d",
                                           "LPIPSUnavailable",
                                           "Score",
                                           "Verdict",
                                           "acd_color",
                                           "acd_features",
                                           "battery",
                                           "best_of_k",
                                           "compare",
                                           "div",
                                           "div_pixel",
                                           "effective_dimension",
                                           "evaluate",
                                           "extract_features",
                                           "fid",
                                           "frechet_distance",
                                           "frechet_distance_from_features",
                                           "frechet_floor",
                                           "frechet_score",
                                           "fvd",
                                           "gaussian_stats",
                                           "get_network",
                                           "i3d_preprocess",
                                           "i3d_weights",
                                           "inception_score",
                                           "inception_score_of",
                                           "kernel_distance",
                                           "kernel_score",
                                           "kvd",
                                           "lpips_vgg",
                                           "mean_of_k",
                                           "metric_name",
                                           "mmd2_unbiased",
                                           "network_profiles",
                                           "per_timestep",
                                           "polynomial_kernel",
                                           "protocol_line",
                                           "psnr",
                                           "resize_bilinear_tf1",
                                           "resize_bilinear_torch",
                                           "show",
                                           "ssim",
                                           "ssim_skimage_default",
                                           "syn_i3d",
                                           "syn_video",
                                           "trace_sqrt_product",
]
