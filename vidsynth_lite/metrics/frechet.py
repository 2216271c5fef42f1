"""Frechet distance between Gaussians fitted to features (FID: Heusel et al. 2017; FVD: Unterthiner et al. 2018).

    d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr( (S1^{1/2} S2 S1^{1/2})^{1/2} )

The trace term is computed through symmetric eigendecompositions (``eigh``): ``A = S1^{1/2}`` from the
eigenvectors of S1 (negative round-off eigenvalues clamped to 0), then the eigenvalues of the symmetric PSD
matrix ``A S2 A``, whose square roots sum to ``tr((S1 S2)^{1/2})``. This is exact for PSD inputs and avoids the
non-symmetric ``scipy.linalg.sqrtm`` (and its ``disp`` argument, gone in SciPy 1.18).

Covariance estimator: the unbiased sample covariance (divide by N - 1), as ``numpy.cov`` and the reference FVD
code (which calls it through TF-GAN) use; ``estimator="mle"`` divides by N. Statistics are accumulated in
float64 by :class:`GaussianStats`, streaming batch by batch with Chan et al.'s pairwise update, so that any
number of clips can be summarised without holding all features in memory.
"""

from __future__ import annotations

import numpy as np
import torch

from vidsynth_lite.checks import InputError

ESTIMATORS = ("unbiased", "mle")


def _to_numpy64(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().to(torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


class GaussianStats:
    """Streaming float64 mean and covariance of feature vectors ``[N, D]``.

    ``update(batch)`` merges a batch (Chan, Golub & LeVeque 1979 pairwise formula); ``mean`` and
    ``cov(estimator)`` give the statistics; the result equals the batch computation on all rows at once.
    """

    def __init__(self, dim: int | None = None):
        self.n = 0
        self.dim = dim
        self._mean = None if dim is None else np.zeros(dim)
        self._m2 = None if dim is None else np.zeros((dim, dim))

    def update(self, feats) -> GaussianStats:
        x = _to_numpy64(feats)
        if x.ndim != 2:
            raise ValueError(f"features must be [N, D], got shape {tuple(x.shape)}")
        if not np.isfinite(x).all():
            raise InputError("features contain NaN or inf values")
        if x.shape[0] == 0:
            return self
        if self.dim is None:
            self.dim = x.shape[1]
            self._mean = np.zeros(self.dim)
            self._m2 = np.zeros((self.dim, self.dim))
        if x.shape[1] != self.dim:
            raise ValueError(f"feature dimension {x.shape[1]} differs from the earlier {self.dim}")
        nb = x.shape[0]
        mb = x.mean(axis=0)
        xc = x - mb
        m2b = xc.T @ xc                                      # sum of centred outer products of the batch
        n = self.n + nb
        delta = mb - self._mean
        self._mean = self._mean + delta * (nb / n)
        self._m2 = self._m2 + m2b + np.outer(delta, delta) * (self.n * nb / n)
        self.n = n
        return self

    @property
    def mean(self) -> np.ndarray:
        if self.n == 0:
            raise ValueError("no features accumulated yet")
        return self._mean.copy()

    def cov(self, estimator: str = "unbiased") -> np.ndarray:
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
        denom = self.n - 1 if estimator == "unbiased" else self.n
        if denom <= 0:
            raise ValueError(f"need at least 2 samples for a covariance, have {self.n}")
        m2 = 0.5 * (self._m2 + self._m2.T)
        return m2 / denom

    @classmethod
    def from_features(cls, feats) -> GaussianStats:
        return cls().update(feats)


def gaussian_stats(feats, estimator: str = "unbiased") -> tuple[np.ndarray, np.ndarray]:
    """``(mu, sigma)`` of features ``[N, D]`` in float64 (sigma with the stated estimator)."""
    s = GaussianStats.from_features(feats)
    return s.mean, s.cov(estimator)


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    w = np.clip(w, 0.0, None)
    return (v * np.sqrt(w)) @ v.T


def trace_sqrt_product(sigma1, sigma2) -> float:
    """``tr((S1 S2)^{1/2})`` for symmetric PSD S1, S2, as ``sum sqrt(eig(S1^{1/2} S2 S1^{1/2}))``."""
    s1 = _to_numpy64(sigma1)
    s2 = _to_numpy64(sigma2)
    a = _psd_sqrt(0.5 * (s1 + s1.T))
    m = a @ (0.5 * (s2 + s2.T)) @ a
    w = np.linalg.eigvalsh(0.5 * (m + m.T))
    return float(np.sqrt(np.clip(w, 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Squared Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2).

    FVD paper (Unterthiner et al. 2018) Eq. 2. Accepts numpy arrays or torch tensors; computes in float64.
    """
    mu1, mu2 = _to_numpy64(mu1).reshape(-1), _to_numpy64(mu2).reshape(-1)
    s1, s2 = _to_numpy64(sigma1), _to_numpy64(sigma2)
    d = mu1.shape[0]
    if mu2.shape[0] != d or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"expected mu [D] and sigma [D, D] with one D; got mu1 {mu1.shape}, mu2 {mu2.shape}, "
                         f"sigma1 {s1.shape}, sigma2 {s2.shape}")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2)
    return float(max(value, 0.0))


def frechet_distance_from_features(feats1, feats2, estimator: str = "unbiased") -> float:
    """Frechet distance between Gaussians fitted to two feature sets ``[N1, D]`` and ``[N2, D]``."""
    m1, s1 = gaussian_stats(feats1, estimator)
    m2, s2 = gaussian_stats(feats2, estimator)
    return frechet_distance(m1, s1, m2, s2)


def frechet_floor(dim: int, n1: int, n2: int | None = None) -> float:
    """Expected Frechet distance between two independent samples of one Gaussian N(mu, I_d).

    To second order in 1/N: mean term ``d (1/N1 + 1/N2)`` plus covariance term ``d (d+1)/4 (1/N1 + 1/N2)``
    (the Bures distance near I is a quarter of the squared Frobenius norm of the covariance difference);
    for N1 = N2 = N and large d this is about ``d^2 / (2N)``. For whitened features; real features with a
    non-identity covariance have a floor of the same order, which chapter 2 measures instead of assuming.
    """
    n2 = n1 if n2 is None else n2
    inv = 1.0 / n1 + 1.0 / n2
    return dim * inv + dim * (dim + 1) / 4.0 * inv


def effective_dimension(features) -> dict:
    """How many directions a feature set spreads over: the participation ratio ``(sum l)^2 / sum l^2`` of its
    covariance eigenvalues ``l`` (1 when one direction holds everything, D when all are equal), and how many
    directions hold 90 % of the variance. A Frechet distance sees differences only where features spread."""
    x = _to_numpy64(features)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must be [N >= 2, D], got shape {tuple(x.shape)}")
    lam = np.clip(np.linalg.eigvalsh(np.cov(x, rowvar=False)), 0, None)[::-1]
    share = np.cumsum(lam) / lam.sum()
    return {"participation_ratio": float(lam.sum() ** 2 / (lam ** 2).sum()),
            "dims_for_90pct": int((share < 0.9).sum()) + 1, "dim": int(x.shape[1]), "n": int(x.shape[0])}
