"""Scores of generated samples that need no real set: Inception Score, diversity (DIV), content distance (ACD).

- IS (Salimans et al. 2016): ``exp(E_x KL(p(y|x) || p(y)))`` over a classifier's softmax, computed on
  ``splits`` disjoint parts and reported as mean +- std (the original protocol uses 10 splits).
  ``IS-syn`` uses SynI3D's class head (world ``actions``); the video IS of TGAN/MoCoGAN uses a C3D trained on
  UCF-101, which we do not have.
- DIV (cINN paper, Sec. 4.3 "Diversity"): for K samples generated from the same input, the average pairwise
  Euclidean distance of their features (the cINN paper uses VGG-16 frame features or I3D features, Euclidean
  rather than cosine); averaged over inputs. CCVS instead uses the mean pixel-wise distance: :func:`div_pixel`.
- ACD (MoCoGAN, Tulyakov et al. 2018, Sec. 4; used by MoCoGAN-HD Tab. 2): the content consistency of one video,
  the average L2 distance between frame representations over all pairs of frames, averaged over videos. The
  colour-based form represents a frame by its mean RGB colour; the feature-based form by a frame embedding
  (MoCoGAN uses OpenFace for faces; here any per-frame feature function).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from vidsynth_lite.checks import check_features, check_samples, check_video
from vidsynth_lite.metrics.score import Score


def inception_score(probs, splits: int = 10, eps: float = 1e-12) -> tuple[float, float]:
    """Mean and std of ``exp(mean_x KL(p(y|x) || p(y)))`` over ``splits`` disjoint parts of ``probs [N, K]``."""
    p = check_features(probs, name="probs")                              # [N, K] float64, finite
    if splits < 1 or p.shape[0] // splits < 1:
        raise ValueError(f"cannot split {p.shape[0]} samples into {splits} parts")
    if (p < -1e-6).any() or not torch.allclose(p.sum(1), torch.ones(p.shape[0], dtype=p.dtype), atol=1e-4):
        raise ValueError("probs must be rows of a softmax (non-negative, summing to 1)")
    size = p.shape[0] // splits
    vals = []
    for i in range(splits):
        part = p[i * size:(i + 1) * size]
        py = part.mean(0, keepdim=True)                                   # marginal p(y)
        kl = (part * (torch.log(part + eps) - torch.log(py + eps))).sum(1)  # KL(p(y|x) || p(y))
        vals.append(math.exp(kl.mean().item()))
    return float(np.mean(vals)), float(np.std(vals))


def inception_score_of(probs, splits: int = 10, metric: str = "IS", protocol: dict | None = None) -> Score:
    mean, std = inception_score(probs, splits)
    proto = {"metric": metric, "splits": splits, "n_samples": int(np.shape(probs)[0])}
    proto.update(protocol or {})
    return Score(mean, proto, std=std)


def _mean_pairwise(x: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean distance over pairs i < j of ``x [..., K, D]`` -> ``[...]`` (K >= 2)."""
    k = x.shape[-2]
    if k < 2:
        raise ValueError(f"need at least 2 items to compare, got {k}")
    d = torch.cdist(x, x)                                                  # [..., K, K]
    iu = torch.triu_indices(k, k, offset=1)
    return d[..., iu[0], iu[1]].mean(-1)


def div(features) -> float:
    """DIV: mean pairwise Euclidean feature distance among K samples of one input, averaged over inputs.

    ``features``: ``[B, K, D]`` (B inputs, K samples each). Higher means more diverse.
    """
    f = torch.as_tensor(features, dtype=torch.float64)
    if f.ndim != 3:
        raise ValueError(f"features must be [B, K, D], got {tuple(f.shape)}")
    check_features(f.flatten(0, 1), name="features")
    return float(_mean_pairwise(f).mean())


def div_pixel(samples: torch.Tensor) -> float:
    """CCVS's DIV: mean absolute pixel difference between pairs of K samples ``[B, K, T, 3, H, W]``."""
    check_samples(samples, name="samples", channels=None)
    k = samples.shape[1]
    if k < 2:
        raise ValueError("need K >= 2 samples per input")
    x = samples.double().flatten(2)                                        # [B, K, T*C*H*W]
    iu = torch.triu_indices(k, k, offset=1)
    return float((x[:, iu[0]] - x[:, iu[1]]).abs().mean())


def acd_color(videos: torch.Tensor) -> float:
    """Colour ACD: frames as their mean RGB colour (in [-1, 1] units); mean pairwise L2 over frames and videos."""
    check_video(videos, name="videos")
    colours = videos.double().mean(dim=(-2, -1))                           # [N, T, 3]
    return float(_mean_pairwise(colours).mean())


def acd_features(videos: torch.Tensor, frame_features) -> float:
    """Feature ACD: ``frame_features([M, 3, H, W]) -> [M, D]`` per frame; mean pairwise L2 over frames, videos."""
    check_video(videos, name="videos")
    n, t = videos.shape[:2]
    with torch.no_grad():
        f = torch.as_tensor(frame_features(videos.flatten(0, 1))).double()  # [N*T, D]
    return float(_mean_pairwise(f.reshape(n, t, -1)).mean())
