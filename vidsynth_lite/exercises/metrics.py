"""Chapter 2 exercises: the Frechet distance the chapter then runs on, the unbiased kernel distance, a Frechet
distance from features that gives wrong numbers, a quiz.

The references here are written independently of ``vidsynth_lite.metrics`` (torch, float64), and the package's
``frechet`` and ``kernel`` modules are hidden while a student's function runs, so ``return
vl.metrics.frechet_distance(...)`` or ``vl.metrics.mmd2_unbiased(...)`` fails the exercise.
"""

from __future__ import annotations

import math

import torch

from vidsynth_lite.exercises.core import Choice, Exercise, Outcome, register
from vidsynth_lite.exercises.families import Problem

FRECHET = ("vidsynth_lite.metrics.frechet",)        # frechet_distance, ..._from_features, GaussianStats, ...
KERNEL = ("vidsynth_lite.metrics.kernel",)          # mmd2_unbiased, kernel_distance, polynomial_kernel


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2.1 (build): the Frechet distance between two Gaussians, which the chapter's floor experiment runs on
def _psd_sqrt64(s: torch.Tensor) -> torch.Tensor:
    lam, v = torch.linalg.eigh(0.5 * (s + s.T))
    return v @ torch.diag(lam.clamp(min=0).sqrt()) @ v.T


def _frechet_reference(mu1, sigma1, mu2, sigma2):
    """Unterthiner et al. 2018, Eq. 2, in float64; a 0-dim tensor in ``mu1``'s dtype."""
    m1, s1, m2, s2 = (t.to(torch.float64) for t in (mu1, sigma1, mu2, sigma2))
    root1 = _psd_sqrt64(s1)                                          # Sigma_1^{1/2}
    middle = root1 @ s2 @ root1
    trace_sqrt = torch.linalg.eigvalsh(0.5 * (middle + middle.T)).clamp(min=0).sqrt().sum()
    value = ((m1 - m2) ** 2).sum() + s1.trace() + s2.trace() - 2 * trace_sqrt
    return value.clamp(min=0).to(mu1.dtype)


def _gaussian_pair(g: torch.Generator, d: int | None = None, rank: int | None = None):
    d = int(torch.randint(2, 9, (1,), generator=g)) if d is None else d
    out = []
    for _ in range(2):
        a = torch.randn(d, rank or d, generator=g, dtype=torch.float64)
        jitter = 0.0 if rank else 0.1
        out += [torch.randn(d, generator=g, dtype=torch.float64),
                a @ a.T / (rank or d) + jitter * torch.eye(d, dtype=torch.float64)]
    return tuple(out)                                                 # mu1, sigma1, mu2, sigma2


def _identical(g: torch.Generator):
    mu, sigma, _, _ = _gaussian_pair(g, d=5)
    return mu, sigma, mu.clone(), sigma.clone()


register(Exercise(
    name="metrics.frechet_distance",
    points=2,
    kind="build",
    skill="the Frechet distance of two Gaussians: a matrix square root by symmetric eigendecomposition, "
          "clamped round-off, float64",
    reference=_frechet_reference,
    make_inputs=_gaussian_pair,
    atol=1e-6, rtol=1e-6,
    edge_cases={"one dimension (D = 1)": lambda: _gaussian_pair(torch.Generator().manual_seed(1), d=1),
                "identical Gaussians (distance 0)": lambda: _identical(torch.Generator().manual_seed(2)),
                "singular covariances (rank 2 in 6 dimensions)":
                    lambda: _gaussian_pair(torch.Generator().manual_seed(3), d=6, rank=2)},
    dtypes=(torch.float32, torch.float64),
    check_dtype=True,
    forbid=FRECHET,
    hint="|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2): take S1^1/2 from "
         "torch.linalg.eigh, the trace term from torch.linalg.eigvalsh; clamp tiny negative eigenvalues to 0 "
         "before each square root; compute in float64 and return a 0-dim tensor in mu1's dtype",
))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2.2 (understand): the unbiased estimator of MMD^2, from the biased one the chapter shows
def _mmd2_reference(x, y):
    """Unbiased MMD^2 with k(x, y) = (x.y / D + 1)^3 (Gretton et al. 2012, Lemma 6), in float64; x's dtype."""
    x64, y64 = x.to(torch.float64), y.to(torch.float64)
    d, m, n = x.shape[1], x.shape[0], y.shape[0]

    def kernel(p, q):
        return (p @ q.T / d + 1) ** 3

    kxx, kyy, kxy = kernel(x64, x64), kernel(y64, y64), kernel(x64, y64)
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return (within_x + within_y - 2 * kxy.mean()).to(x.dtype)


def _feature_pair(g: torch.Generator, m: int | None = None, n: int | None = None, d: int | None = None):
    m = int(torch.randint(2, 30, (1,), generator=g)) if m is None else m
    n = int(torch.randint(2, 30, (1,), generator=g)) if n is None else n
    d = int(torch.randint(1, 12, (1,), generator=g)) if d is None else d
    return (torch.randn(m, d, generator=g, dtype=torch.float64),
            torch.randn(n, d, generator=g, dtype=torch.float64) * 1.2 + 0.3)


def _same_set(g: torch.Generator):
    x, _ = _feature_pair(g, m=9, d=4)
    return x, x.clone()


register(Exercise(
    name="metrics.mmd2_unbiased",
    points=2,
    kind="understand",
    skill="why the plain (V-statistic) MMD^2 is biased upwards and which terms an unbiased estimator drops",
    reference=_mmd2_reference,
    make_inputs=_feature_pair,
    atol=1e-8, rtol=1e-6,
    edge_cases={"two samples per side": lambda: _feature_pair(torch.Generator().manual_seed(1), m=2, n=2),
                "sets of different sizes": lambda: _feature_pair(torch.Generator().manual_seed(2), m=25, n=3),
                "one feature (D = 1)": lambda: _feature_pair(torch.Generator().manual_seed(3), d=1),
                "the same set twice": lambda: _same_set(torch.Generator().manual_seed(4))},
    dtypes=(torch.float32, torch.float64),
    check_dtype=True,
    forbid=KERNEL,
    hint="k(x_i, x_i) is not a sample of k(x, x') for independent x, x': leave the diagonal out of the "
         "within-set sums and divide them by m(m - 1) and n(n - 1); the cross term keeps every pair (mn). "
         "Compute in float64, return a 0-dim tensor in x's dtype",
))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 2.3 (debug): a Frechet distance from features that runs without an error and gives wrong numbers,
# graded on what the repaired function measures on problems whose answer is known.
# Sets with an *exact* sample mean and covariance (whitened draws) have a closed-form distance; independent
# standard-Gaussian sets have the floor 2D/N + D(D+1)/(2N) of the chapter (to first order in 1/N).
# Measured with this checker (D = 8, N = 128, 20 draws, seed 0): the repaired function's exact-case errors are
# below 1e-12 and its floor / predicted is 1.02; the stub (covariance over the wrong axis, the mean term squared
# after summing) raises on the first case (sets of 64 and 40 give [64, 64] and [40, 40] "covariances"); on sets
# of equal size it runs, with floor / predicted 507; with only the covariance fixed, the shifted-mean case
# (whose differences cancel in the sum) comes out as 0 instead of 2 (relative error 1); dividing the covariance
# by N instead of N - 1 misses the exact cases by 1-2 %.
FLOOR_DIM, FLOOR_N, FLOOR_DRAWS = 8, 128, 20
FLOOR_BAND = (0.75, 1.33)          # floor / predicted: the repaired function gives 1.02 (one draw's std: 0.3)
EXACT_TOLERANCE = 1e-6             # relative error on the closed-form cases


def _whitened(n: int, d: int, g: torch.Generator) -> torch.Tensor:
    """``[n, d]`` float64 samples whose sample mean is exactly 0 and unbiased sample covariance exactly I."""
    z = torch.randn(n, d, generator=g, dtype=torch.float64)
    z = z - z.mean(0)
    chol = torch.linalg.cholesky(z.T @ z / (n - 1))                  # [d, d], cov(z) = L L^T
    return torch.linalg.solve_triangular(chol, z.T, upper=False).T   # [n, d], cov = I


def _exact_cases(g: torch.Generator):
    """(label, x, y, the exact squared Frechet distance of their fitted Gaussians)."""
    d = FLOOR_DIM
    shift = torch.tensor([0.5, -0.5] * (d // 2), dtype=torch.float64)
    yield "shifted mean (N 64 vs 40)", _whitened(64, d, g), _whitened(40, d, g) + shift, float(shift @ shift)
    yield "scaled covariance (c = 2)", _whitened(50, d, g), 2.0 * _whitened(50, d, g), d * (1 - 2.0) ** 2
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    singular_values = torch.linalg.svdvals(a)                         # cov(w a) = a^T a
    yield ("a general covariance", _whitened(70, d, g), _whitened(70, d, g) @ a,
           float(((singular_values - 1) ** 2).sum()))


def _scalar(value, label: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.reshape(())
    try:
        number = float(value)
    except (TypeError, ValueError, RuntimeError):
        raise Problem(f"{label}: expected one number, got {type(value).__name__} "
                      f"{tuple(value.shape) if isinstance(value, torch.Tensor) else ''}") from None
    if math.isnan(number):
        raise Problem(f"{label}: the distance is NaN")
    return number


def _measure_frechet(student) -> dict[str, float]:
    g = torch.Generator().manual_seed(0)
    measured = {}
    for label, x, y, exact in _exact_cases(g):
        got = _scalar(student(x.clone(), y.clone()), label)
        measured[f"{label}: relative error"] = abs(got - exact) / exact
    d, n = FLOOR_DIM, FLOOR_N
    predicted = 2 * d / n + d * (d + 1) / (2 * n)
    same = [_scalar(student(torch.randn(n, d, generator=g, dtype=torch.float64),
                            torch.randn(n, d, generator=g, dtype=torch.float64)), "floor")
            for _ in range(FLOOR_DRAWS)]
    measured["floor / predicted"] = sum(same) / len(same) / predicted
    return measured


def _frechet_goal(m: dict[str, float]) -> bool:
    exact = all(v < EXACT_TOLERANCE for k, v in m.items() if "relative error" in k)
    return exact and FLOOR_BAND[0] <= m["floor / predicted"] <= FLOOR_BAND[1]


register(Outcome(
    name="metrics.frechet_from_features",
    points=2,
    kind="debug",
    skill="reading a metric's code for silent shape and formula bugs, judged by problems with known answers",
    measure=_measure_frechet,
    goal=_frechet_goal,
    goal_text=f"relative error below {EXACT_TOLERANCE:g} on three sets whose distance is known exactly, and "
              f"a same-distribution floor within {FLOOR_BAND[0]}-{FLOOR_BAND[1]} x 2D/N + D(D+1)/2N "
              f"(D = {FLOOR_DIM}, N = {FLOOR_N}, mean of {FLOOR_DRAWS} draws)",
    forbid=FRECHET,
    hint="which axis does torch.cov treat as the variables (print the shapes of sigma1 and sigma2)? And is "
         "(mu1 - mu2).sum() ** 2 the squared length of mu1 - mu2?",
))


# ---------------------------------------------------------------------------------------------------------------
# Quiz (closing block)
register(Choice(
    name="metrics.quiz_floor",
    skill="why FVDs computed at different sample sizes cannot be compared",
    options=("a", "b", "c", "d"),
    answer_sha256="afa82bc839c1232a8da19e40fe92e89cea49910e316306ad8de81aaf64cf9b32",
    hint="re-read section 2: what happens to the floor when N grows eight times?",
))
