"""Frechet distance and kernel distances against closed forms (chapter 2's foundations)."""

import numpy as np
import pytest
import scipy.linalg
import torch

from vidsynth_lite.metrics import (
    GaussianStats,
    frechet_distance,
    frechet_distance_from_features,
    frechet_floor,
    gaussian_stats,
    kernel_distance,
    mmd2_unbiased,
)


def random_spd(rng, d, cond=10.0):
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    w = np.exp(rng.uniform(0, np.log(cond), d))
    return (q * w) @ q.T


def test_identity_is_zero():
    rng = np.random.default_rng(0)
    mu, s = rng.standard_normal(7), random_spd(rng, 7)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-9)


def test_diagonal_closed_form():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    v1, v2 = rng.uniform(0.1, 3, 5), rng.uniform(0.1, 3, 5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("c", [0.3, 1.0, 2.5])
def test_scaled_covariance(c):
    # Sigma2 = c^2 Sigma1 -> trace term tr(S) (1 - c)^2
    rng = np.random.default_rng(2)
    s = random_spd(rng, 6)
    mu = np.zeros(6)
    assert frechet_distance(mu, s, mu, c * c * s) == pytest.approx(np.trace(s) * (1 - c) ** 2, rel=1e-9, abs=1e-12)


def test_one_dimensional():
    # d^2 = (m1 - m2)^2 + (s1 - s2)^2 for standard deviations s1, s2
    val = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-0.5]), np.array([[0.25]]))
    assert val == pytest.approx(1.5 ** 2 + (2.0 - 0.5) ** 2, rel=1e-12)


def test_symmetry_permutation_translation_and_torch_inputs():
    rng = np.random.default_rng(3)
    d = 8
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = random_spd(rng, d), random_spd(rng, d)
    base = frechet_distance(mu1, s1, mu2, s2)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(base, rel=1e-9)
    p = rng.permutation(d)
    assert frechet_distance(mu1[p], s1[np.ix_(p, p)], mu2[p], s2[np.ix_(p, p)]) == pytest.approx(base, rel=1e-9)
    t = rng.standard_normal(d) * 10
    assert frechet_distance(mu1 + t, s1, mu2 + t, s2) == pytest.approx(base, rel=1e-9)
    tt = [torch.tensor(a, dtype=torch.float32) for a in (mu1, s1, mu2, s2)]
    assert frechet_distance(*tt) == pytest.approx(base, rel=1e-4)


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_sqrtm_route(seed):
    rng = np.random.default_rng(10 + seed)
    d = 12
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = random_spd(rng, d, 100.0), random_spd(rng, d, 100.0)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real                # independent route: sqrt of the non-symmetric product
    ref = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-8)


def test_rank_deficient_covariances_do_not_break():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 20))                          # N < D: singular covariance
    y = rng.standard_normal((5, 20)) + 1
    val = frechet_distance_from_features(x, y)
    assert np.isfinite(val) and val > 0


def test_sample_size_floor():
    # two samples of N(0, I_d): E[FD] = d(d+1)/(2N) + 2d/N ~ d^2 / (2N)
    rng = np.random.default_rng(5)
    d, n = 16, 1000
    vals = [frechet_distance_from_features(rng.standard_normal((n, d)), rng.standard_normal((n, d)))
            for _ in range(12)]
    assert np.mean(vals) == pytest.approx(frechet_floor(d, n), rel=0.1)
    assert frechet_floor(400, 2048) == pytest.approx(400 ** 2 / (2 * 2048), rel=0.02)


def test_streaming_equals_batch():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((103, 9)) * 3 + 5
    s = GaussianStats()
    for i in range(0, 103, 17):
        s.update(torch.tensor(x[i:i + 17]))
    _, sig = gaussian_stats(x)
    np.testing.assert_allclose(s.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(s.cov(), np.cov(x, rowvar=False), rtol=1e-10)
    np.testing.assert_allclose(sig, np.cov(x, rowvar=False), rtol=1e-10)
    np.testing.assert_allclose(s.cov("mle"), np.cov(x, rowvar=False, bias=True), rtol=1e-10)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="expected mu"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        GaussianStats().update(np.zeros(5))


def test_mmd_unbiased_matches_brute_force():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((9, 4)), rng.standard_normal((7, 4)) + 0.5

    def k(a, b):
        return (a @ b / 4 + 1) ** 3

    sxx = sum(k(x[i], x[j]) for i in range(9) for j in range(9) if i != j) / (9 * 8)
    syy = sum(k(y[i], y[j]) for i in range(7) for j in range(7) if i != j) / (7 * 6)
    sxy = sum(k(x[i], y[j]) for i in range(9) for j in range(7)) / 63
    assert mmd2_unbiased(x, y) == pytest.approx(sxx + syy - 2 * sxy, rel=1e-10)


def test_mmd_linear_kernel_is_unbiased_mean_difference():
    # degree 1, coef0 0: MMD^2_u is an unbiased estimate of |mu_x - mu_y|^2
    rng = np.random.default_rng(8)
    shift = np.array([0.3, -0.2, 0.0])
    vals = [mmd2_unbiased(rng.standard_normal((50, 3)), rng.standard_normal((50, 3)) + shift, degree=1)
            for _ in range(300)]
    # gamma = 1/d scales the kernel
    assert np.mean(vals) == pytest.approx(np.sum(shift ** 2) / 3, abs=0.01)


def test_kvd_is_near_zero_for_one_distribution_and_grows_with_shift():
    rng = np.random.default_rng(9)
    same = [kernel_distance(rng.standard_normal((100, 8)), rng.standard_normal((100, 8)), None)[0]
            for _ in range(20)]
    shifted = kernel_distance(rng.standard_normal((100, 8)), rng.standard_normal((100, 8)) + 0.5, None)[0]
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(20) + 1e-3
    assert shifted > 10 * max(np.std(same), 1e-6)
