"""Feature networks for distribution metrics, and batched feature extraction from tensors or iterables.

A feature network is any object with ``name``, ``hash`` (identifies the weights), ``preprocessing`` (a short
description), ``dim`` and ``__call__(videos [N, T, 3, H, W] in [-1, 1]) -> features [N, D]``; optional
``probs(videos) -> [N, K]`` for the Inception Score. Two are provided:

- :class:`I3DFeatures` (``"i3d-k400"``): the Kinetics-400 I3D with the reference preprocessing; its features are
  the 400 logits averaged over time, as in the reference FVD code.
- :class:`vidsynth_lite.metrics.syn_video.SynVideoFeatures` (``"syn-video"``): the book's in-domain network,
  trained on all five synthetic worlds (appearance, motion, time); it also gives per-frame features (FID-syn);
- :class:`vidsynth_lite.metrics.syn_i3d.SynI3DFeatures` (``"syn-i3d"``): the older in-domain network (``sky``
  and ``actions`` only), kept for comparison in chapter 2. Scores on either are named ``FVD-syn`` and friends;
  their protocol names the network and its hash.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from vidsynth_lite.metrics.preprocess import check_video_batch, i3d_preprocess


class I3DFeatures:
    """Kinetics-400 I3D logits ``[N, 400]`` of videos ``[N, T, 3, H, W]`` in [-1, 1] (reference FVD features)."""

    name = "i3d-k400"
    dim = 400

    def __init__(self, device: torch.device | str = "cpu", resize: str = "tf1", batch_size: int = 4,
                 weights=None):
        from vidsynth_lite.metrics.i3d_weights import I3D_K400_SHA256, load_i3d_k400
        self.device = torch.device(device)
        self.model = load_i3d_k400(weights, device=self.device)
        self.resize = resize
        self.batch_size = batch_size
        self.hash = "sha256:" + I3D_K400_SHA256[:16]
        self.preprocessing = (f"RGB, bilinear resize to 224x224 ({'TF1 resize_bilinear, align_corners=False' if resize == 'tf1' else 'torch half-pixel'}), "
                              "values in [-1, 1], 400 logits averaged over time")

    @torch.no_grad()
    def logits(self, videos: torch.Tensor) -> torch.Tensor:
        check_video_batch(videos)
        out = []
        for i in range(0, videos.shape[0], self.batch_size):
            x = i3d_preprocess(videos[i:i + self.batch_size].to(self.device), self.resize)  # [B, 3, T, 224, 224]
            out.append(self.model(x).float().cpu())
        return torch.cat(out) if out else torch.zeros(0, self.dim)

    def __call__(self, videos: torch.Tensor) -> torch.Tensor:
        return self.logits(videos)

    def probs(self, videos: torch.Tensor) -> torch.Tensor:
        return self.logits(videos).softmax(-1)


NETWORKS = ("syn-video", "syn-i3d", "i3d-k400")


def get_network(network, device: torch.device | str = "cpu", **kwargs):
    """A feature network by name; an object is returned as is.

    ``"syn-video"`` -> :class:`~vidsynth_lite.metrics.syn_video.SynVideoFeatures` (the shipped network at
    ``profile="lite"``, the default); ``"syn-i3d"`` -> the older SynI3D (cached or trained);
    ``"i3d-k400"`` -> :class:`I3DFeatures` (needs ``make weights``). ``kwargs`` go to the loader.
    """
    if not isinstance(network, str):
        return network
    if network == "syn-video":
        from vidsynth_lite.metrics.syn_video import features
        return features(device=device, **kwargs)
    if network == "i3d-k400":
        return I3DFeatures(device=device, **kwargs)
    if network == "syn-i3d":
        from vidsynth_lite.metrics.syn_i3d import SynI3DFeatures, load_or_train
        return SynI3DFeatures(load_or_train(**kwargs), device=device)
    raise ValueError(f"network must be one of {NETWORKS} or a feature-network object, got {network!r}")


def iter_batches(videos, batch_size: int = 16) -> Iterable[torch.Tensor]:
    """Yield ``[B, T, 3, H, W]`` batches from a tensor ``[N, T, 3, H, W]`` or pass an iterable's batches through.

    Items of an iterable may be tensors ``[B, T, 3, H, W]`` or dicts with a ``video`` entry.
    """
    if isinstance(videos, torch.Tensor):
        check_video_batch(videos)
        for i in range(0, videos.shape[0], batch_size):
            yield videos[i:i + batch_size]
        return
    for batch in videos:
        if isinstance(batch, dict):
            batch = batch["video"]
        if isinstance(batch, torch.Tensor) and batch.ndim == 4:
            batch = batch[None]                                 # one clip [T, 3, H, W] -> [1, T, 3, H, W]
        check_video_batch(batch)
        yield batch


def extract_features(net, videos, batch_size: int = 16) -> tuple[np.ndarray, dict]:
    """Features ``[N, D]`` (float64 numpy) of every clip, plus the clip shape seen (``frames``, ``resolution``)."""
    feats, shape = [], None
    for batch in iter_batches(videos, batch_size):
        shape = shape or {"frames": int(batch.shape[1]), "resolution": f"{batch.shape[3]}x{batch.shape[4]}"}
        feats.append(torch.as_tensor(net(batch)).detach().double().cpu().numpy())
    if not feats:
        raise ValueError("no videos given")
    return np.concatenate(feats), shape
