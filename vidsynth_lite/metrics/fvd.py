"""FVD and KVD with their protocol (Unterthiner et al. 2018, "Towards Accurate Generative Models of Video").

``fvd(real, fake, network=...)`` extracts features of both sets, fits Gaussians (float64, stated covariance
estimator) and returns the Frechet distance as a :class:`~vidsynth_lite.metrics.score.Score` whose protocol
names everything that changes the number. Optional:

- ``real_ref``: a second real set, disjoint from ``real``, of the same size: the *same-distribution floor*
  (real vs real at the same N), the smallest value any generator could expect at this N;
- ``draws``: split both sets into that many disjoint parts and report mean +- std over the parts.

Scores on the in-domain network are named ``FVD-syn`` / ``KVD-syn``; only the Kinetics-400 I3D gives ``FVD``.
"""

from __future__ import annotations

import numpy as np
import torch

from vidsynth_lite.checks import InputError, check_features, check_same_clips, check_same_count
from vidsynth_lite.metrics.features import extract_features, get_network
from vidsynth_lite.metrics.frechet import frechet_distance_from_features
from vidsynth_lite.metrics.kernel import kernel_distance
from vidsynth_lite.metrics.score import Score


def metric_name(kind: str, network_name: str) -> str:
    """``FVD`` / ``KVD`` / ``FID`` on the Kinetics I3D; ``FVD-syn`` ... on the book's networks (``syn-*``);
    ``FVD[name]`` on any other network. The protocol's ``network`` and ``network_hash`` say which one."""
    if network_name == "i3d-k400":
        return kind
    if network_name.startswith("syn-"):
        return f"{kind}-syn"
    return f"{kind}[{network_name}]"


def _chunks(n: int, draws: int) -> list[slice]:
    if not isinstance(draws, int) or draws < 1:
        raise InputError(f"draws must be an int >= 1, got {draws!r}")
    if n % draws:
        raise InputError(f"{n} samples cannot be split into {draws} equal disjoint draws; pass a number of "
                         f"samples divisible by {draws} (nothing is dropped silently)")
    size = n // draws
    if size < 2:
        raise InputError(f"{n} samples cannot be split into {draws} draws of at least 2")
    return [slice(i * size, (i + 1) * size) for i in range(draws)]


def _drawn(fn, real, fake, ref, draws):
    check_same_count(real, fake, names=("real features", "generated features"))
    if ref is not None:
        check_same_count(real, ref, names=("real features", "reference features"))
    parts = _chunks(real.shape[0], draws)
    vals = [fn(real[s], fake[s]) for s in parts]
    floors = [fn(real[s], ref[s]) for s in parts] if ref is not None else None
    return vals, floors, parts[0].stop - parts[0].start


def _score(vals, floors, proto) -> Score:
    return Score(float(np.mean(vals)), proto, std=float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
                 floor=float(np.mean(floors)) if floors is not None else None, draws=[float(v) for v in vals],
                 floor_draws=None if floors is None else [float(v) for v in floors])


def _feature_sets(real_feats, fake_feats, ref_feats):
    real = check_features(real_feats, name="real features").numpy()
    fake = check_features(fake_feats, name="generated features", dim=real.shape[1]).numpy()
    ref = None if ref_feats is None else check_features(ref_feats, name="reference features",
                                                        dim=real.shape[1]).numpy()
    return real, fake, ref


def frechet_score(real_feats, fake_feats, ref_feats=None, *, draws: int = 1, estimator: str = "unbiased",
                  metric: str = "FD", protocol: dict | None = None) -> Score:
    """Frechet distance between precomputed features ``[N, D]`` as a Score (mean +- std over disjoint draws).

    ``real``, ``fake`` (and ``ref``) must hold the same number of rows, divisible by ``draws``: draw ``d`` scores
    rows ``d n .. (d + 1) n`` of each against each other (``n = N / draws``).
    """
    real, fake, ref = _feature_sets(real_feats, fake_feats, ref_feats)
    vals, floors, per = _drawn(lambda a, b: frechet_distance_from_features(a, b, estimator), real, fake, ref, draws)
    proto = {"metric": metric, "feature_dim": int(real.shape[1]), "n_real": per, "n_fake": per, "draws": draws,
             "covariance": f"{estimator} ({'N-1' if estimator == 'unbiased' else 'N'}), float64",
             "floor": "real vs disjoint real, same N" if ref is not None else "not computed"}
    proto.update(protocol or {})
    return _score(vals, floors, proto)


def kernel_score(real_feats, fake_feats, ref_feats=None, *, draws: int = 1, subset_size: int | None = None,
                 n_subsets: int = 100, seed: int = 0, metric: str = "KD", protocol: dict | None = None) -> Score:
    """Unbiased polynomial-kernel MMD^2 (KID/KVD) between precomputed features, as a Score."""
    real, fake, ref = _feature_sets(real_feats, fake_feats, ref_feats)
    vals, floors, per = _drawn(lambda a, b: kernel_distance(a, b, subset_size, n_subsets, seed)[0],
                               real, fake, ref, draws)
    proto = {"metric": metric, "feature_dim": int(real.shape[1]), "n_real": per, "n_fake": per, "draws": draws,
             "kernel": "(x.y/d + 1)^3, unbiased MMD^2",
             "subsets": f"{n_subsets} x {subset_size}" if subset_size else "all samples",
             "floor": "real vs disjoint real, same N" if ref is not None else "not computed"}
    proto.update(protocol or {})
    return _score(vals, floors, proto)


def _network_protocol(net, shape: dict, protocol: dict | None) -> dict:
    p = {"network": net.name, "network_hash": getattr(net, "hash", "unknown"),
         "preprocessing": getattr(net, "preprocessing", "unknown"), "clip_length": shape["frames"],
         "resolution": shape["resolution"], "stride": 1, "split": "unspecified", "seed": "unspecified"}
    p.update(protocol or {})
    return p


def _features(net, real, fake, real_ref, batch_size):
    if isinstance(real, torch.Tensor) and isinstance(fake, torch.Tensor):
        check_same_clips(real, fake, names=("real", "fake"))
        check_same_count(real, fake, names=("real", "fake"))
    fr, shape = extract_features(net, real, batch_size)
    ff, _ = extract_features(net, fake, batch_size)
    fref = extract_features(net, real_ref, batch_size)[0] if real_ref is not None else None
    return fr, ff, fref, shape


def fvd(real, fake, network="i3d-k400", *, real_ref=None, draws: int = 1, estimator: str = "unbiased",
        batch_size: int = 8, device: torch.device | str = "cpu", protocol: dict | None = None,
        network_kwargs: dict | None = None) -> Score:
    """Frechet Video Distance between ``real`` and ``fake`` videos ``[N, T, 3, H, W]`` in [-1, 1].

    ``real`` / ``fake`` may also be iterables of such batches (or of dicts with ``video``). ``network`` is
    ``"i3d-k400"`` (the reference FVD network; needs ``make weights``), ``"syn-i3d"`` (named ``FVD-syn``) or a
    feature-network object. ``protocol`` adds/overrides entries (``split``, ``seed``, ``stride`` ...).
    """
    net = get_network(network, device=device, **(network_kwargs or {}))
    fr, ff, fref, shape = _features(net, real, fake, real_ref, batch_size)
    return frechet_score(fr, ff, fref, draws=draws, estimator=estimator, metric=metric_name("FVD", net.name),
                         protocol=_network_protocol(net, shape, protocol))


def kvd(real, fake, network="i3d-k400", *, real_ref=None, draws: int = 1, subset_size: int | None = None,
        n_subsets: int = 100, seed: int = 0, batch_size: int = 8, device: torch.device | str = "cpu",
        protocol: dict | None = None, network_kwargs: dict | None = None) -> Score:
    """Kernel Video Distance (unbiased cubic-kernel MMD^2 on the same features as :func:`fvd`)."""
    net = get_network(network, device=device, **(network_kwargs or {}))
    fr, ff, fref, shape = _features(net, real, fake, real_ref, batch_size)
    return kernel_score(fr, ff, fref, draws=draws, subset_size=subset_size, n_subsets=n_subsets, seed=seed,
                        metric=metric_name("KVD", net.name), protocol=_network_protocol(net, shape, protocol))


def fid(real, fake, network="syn-video", *, real_ref=None, draws: int = 1, frames: slice = slice(None),
        estimator: str = "unbiased", device: torch.device | str = "cpu", protocol: dict | None = None,
        network_kwargs: dict | None = None) -> Score:
    """Frechet distance over **per-frame** features (FID-syn on SynVideo's appearance stream).

    ``real`` / ``fake`` (and ``real_ref``): videos ``[N, T, 3, H, W]`` in [-1, 1] of one shape and count; every
    frame in ``frames`` (default: all) of every clip is one sample, so a draw of ``n`` clips compares
    ``n x len(frames)`` frames per side. The network must offer ``frames(videos) -> [N, T, D]``.
    """
    net = get_network(network, device=device, **(network_kwargs or {}))
    if not hasattr(net, "frames"):
        raise TypeError(f"network {net.name!r} has no per-frame features (frames(videos) -> [N, T, D])")
    sets = {"real": real, "fake": fake} | ({"reference": real_ref} if real_ref is not None else {})
    for name, v in sets.items():
        check_same_clips(real, v, names=("real", name))
        check_same_count(real, v, names=("real", name))
    n, t = real.shape[:2]
    feats = {k: net.frames(v)[:, frames] for k, v in sets.items()}          # [N, T', D] each
    kept = feats["real"].shape[1]
    flat = {k: f.reshape(n * kept, -1) for k, f in feats.items()}         # [N * T', D], clip-major
    proto = {"network": net.name, "network_hash": getattr(net, "hash", "unknown"),
             "preprocessing": getattr(net, "preprocessing", "unknown"), "clip_length": t,
             "frames_per_clip": kept, "resolution": f"{real.shape[3]}x{real.shape[4]}",
             "samples": "every frame of every clip (frames of one clip stay in one draw)", **(protocol or {})}
    score = frechet_score(flat["real"], flat["fake"], flat.get("reference"), draws=draws, estimator=estimator,
                          metric=metric_name("FID", net.name), protocol=proto)
    score.protocol.update(n_real=score.protocol["n_real"] // kept, n_fake=score.protocol["n_fake"] // kept,
                          n_frames=score.protocol["n_real"])
    return score
