"""Chapter 2 exercises: the Frechet distance, PSNR and the unbiased kernel distance."""

import torch

from vidsynth_lite.exercises.core import Exercise, register
from vidsynth_lite.metrics import frechet_distance, mmd2_unbiased, psnr


def _gaussian_pair(g: torch.Generator):
    d = int(torch.randint(2, 9, (1,), generator=g))
    out = []
    for _ in range(2):
        a = torch.randn(d, d, generator=g, dtype=torch.float64)
        out += [torch.randn(d, generator=g, dtype=torch.float64), a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64)]
    return tuple(out)                                     # mu1, sigma1, mu2, sigma2


def _image_pair(g: torch.Generator):
    a = torch.rand(3, 3, 16, 16, generator=g) * 2 - 1
    return a, (a + 0.2 * torch.randn(a.shape, generator=g)).clamp(-1, 1)


def _feature_pair(g: torch.Generator):
    return (torch.randn(20, 6, generator=g, dtype=torch.float64),
            torch.randn(15, 6, generator=g, dtype=torch.float64) + 0.3)


register(Exercise(
    name="metrics.frechet_distance",
    reference=lambda m1, s1, m2, s2: torch.tensor(frechet_distance(m1, s1, m2, s2)),
    make_inputs=_gaussian_pair,
    atol=1e-6, rtol=1e-6,
    hint="|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2); take square roots of symmetric "
         "matrices with torch.linalg.eigh (clamp tiny negative eigenvalues to 0)",
))

register(Exercise(
    name="metrics.psnr",
    reference=psnr,
    make_inputs=_image_pair,
    atol=1e-4, rtol=1e-5,
    hint="one value per image: MSE over channels and pixels, data range 2 for images in [-1, 1]",
))

register(Exercise(
    name="metrics.mmd2_unbiased",
    reference=lambda x, y: torch.tensor(mmd2_unbiased(x, y)),
    make_inputs=_feature_pair,
    atol=1e-8, rtol=1e-6,
    hint="kernel (x.y / d + 1)^3; leave the diagonal out of the within-set sums and divide by m(m-1)",
))
