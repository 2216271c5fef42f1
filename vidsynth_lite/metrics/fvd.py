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

from vidsynth_lite.metrics.features import extract_features, get_network
from vidsynth_lite.metrics.frechet import frechet_distance_from_features
from vidsynth_lite.metrics.kernel import kernel_distance
from vidsynth_lite.metrics.score import Score


def metric_name(kind: str, network_name: str) -> str:
    """``FVD`` / ``KVD`` on the Kinetics I3D, ``FVD-syn`` / ``KVD-syn`` on SynI3D, ``FVD[name]`` otherwise."""
    if network_name == "i3d-k400":
        return kind
    if network_name == "syn-i3d":
        return f"{kind}-syn"
    return f"{kind}[{network_name}]"


def _chunks(n: int, draws: int) -> list[slice]:
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    size = n // draws
    if size < 2:
        raise ValueError(f"{n} samples cannot be split into {draws} draws of at least 2")
    return [slice(i * size, (i + 1) * size) for i in range(draws)]


def _drawn(fn, real, fake, ref, draws):
    n = min(real.shape[0], fake.shape[0]) if ref is None else min(real.shape[0], fake.shape[0], ref.shape[0])
    parts = _chunks(n, draws)
    vals = [fn(real[s], fake[s]) for s in parts]
    floors = [fn(real[s], ref[s]) for s in parts] if ref is not None else None
    value = float(np.mean(vals))
    std = float(np.std(vals, ddof=1)) if draws > 1 else None
    floor = float(np.mean(floors)) if floors is not None else None
    return value, std, floor, parts[0].stop - parts[0].start


def frechet_score(real_feats, fake_feats, ref_feats=None, *, draws: int = 1, estimator: str = "unbiased",
                  metric: str = "FD", protocol: dict | None = None) -> Score:
    """Frechet distance between precomputed features ``[N, D]`` as a Score (mean +- std over disjoint draws)."""
    real, fake = np.asarray(real_feats, np.float64), np.asarray(fake_feats, np.float64)
    ref = None if ref_feats is None else np.asarray(ref_feats, np.float64)
    value, std, floor, per = _drawn(lambda a, b: frechet_distance_from_features(a, b, estimator),
                                    real, fake, ref, draws)
    proto = {"metric": metric, "feature_dim": int(real.shape[1]), "n_real": per, "n_fake": per, "draws": draws,
             "covariance": f"{estimator} ({'N-1' if estimator == 'unbiased' else 'N'}), float64",
             "floor": "real vs disjoint real, same N" if ref is not None else "not computed"}
    proto.update(protocol or {})
    return Score(value, proto, std=std, floor=floor)


def kernel_score(real_feats, fake_feats, ref_feats=None, *, draws: int = 1, subset_size: int | None = None,
                 n_subsets: int = 100, seed: int = 0, metric: str = "KD", protocol: dict | None = None) -> Score:
    """Unbiased polynomial-kernel MMD^2 (KID/KVD) between precomputed features, as a Score."""
    real, fake = np.asarray(real_feats, np.float64), np.asarray(fake_feats, np.float64)
    ref = None if ref_feats is None else np.asarray(ref_feats, np.float64)
    value, std, floor, per = _drawn(lambda a, b: kernel_distance(a, b, subset_size, n_subsets, seed)[0],
                                    real, fake, ref, draws)
    proto = {"metric": metric, "feature_dim": int(real.shape[1]), "n_real": per, "n_fake": per, "draws": draws,
             "kernel": "(x.y/d + 1)^3, unbiased MMD^2",
             "subsets": f"{n_subsets} x {subset_size}" if subset_size else "all samples",
             "floor": "real vs disjoint real, same N" if ref is not None else "not computed"}
    proto.update(protocol or {})
    return Score(value, proto, std=std, floor=floor)


def _network_protocol(net, shape: dict, protocol: dict | None) -> dict:
    p = {"network": net.name, "network_hash": getattr(net, "hash", "unknown"),
         "preprocessing": getattr(net, "preprocessing", "unknown"), "clip_length": shape["frames"],
         "resolution": shape["resolution"], "stride": 1, "split": "unspecified", "seed": "unspecified"}
    p.update(protocol or {})
    return p


def _features(net, real, fake, real_ref, batch_size):
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
