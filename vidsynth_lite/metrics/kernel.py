"""Kernel distances: KID (Binkowski et al. 2018) and its video form KVD (Unterthiner et al. 2018).

The squared maximum mean discrepancy with the polynomial kernel ``k(x, y) = (x.y / d + 1)^3`` and its unbiased
estimator (Binkowski et al. Eq. 3 / Gretton et al. 2012 Lemma 6)::

    MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j) - 2/(mn) sum_{i,j} k(x_i, y_j)

Unlike the Frechet distance it has no bias that depends on N (its expectation is 0 for one distribution), so it
behaves better at the small sample counts a CPU can afford; it can be negative.
"""

from __future__ import annotations

import numpy as np

from vidsynth_lite.metrics.frechet import _to_numpy64


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None,
                      coef0: float = 1.0) -> np.ndarray:
    """``(gamma x.y + coef0)^degree`` for rows of ``x [M, D]`` and ``y [N, D]``; gamma defaults to 1/D."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (gamma * (x @ y.T) + coef0) ** degree


def mmd2_unbiased(x, y, degree: int = 3, gamma: float | None = None, coef0: float = 1.0) -> float:
    """Unbiased MMD^2 between feature sets ``x [M, D]`` and ``y [N, D]`` (M, N >= 2)."""
    x, y = _to_numpy64(x), _to_numpy64(y)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected features [M, D] and [N, D]; got {x.shape} and {y.shape}")
    m, n = x.shape[0], y.shape[0]
    if m < 2 or n < 2:
        raise ValueError(f"need at least 2 samples on each side, got {m} and {n}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("features contain NaN or inf values")
    kxx = polynomial_kernel(x, x, degree, gamma, coef0)
    kyy = polynomial_kernel(y, y, degree, gamma, coef0)
    kxy = polynomial_kernel(x, y, degree, gamma, coef0)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def kernel_distance(x, y, subset_size: int | None = 1000, n_subsets: int = 100, seed: int = 0,
                    degree: int = 3) -> tuple[float, float]:
    """KID/KVD as in Binkowski et al.: mean and std of MMD^2_u over random subsets.

    ``subset_size=None`` (or >= both sample counts) uses all samples once and returns std 0.
    """
    x, y = _to_numpy64(x), _to_numpy64(y)
    m = min(x.shape[0], y.shape[0])
    if subset_size is None or subset_size >= m:
        return mmd2_unbiased(x, y, degree), 0.0
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_subsets):
        ix = rng.choice(x.shape[0], subset_size, replace=False)
        iy = rng.choice(y.shape[0], subset_size, replace=False)
        vals.append(mmd2_unbiased(x[ix], y[iy], degree))
    return float(np.mean(vals)), float(np.std(vals))
