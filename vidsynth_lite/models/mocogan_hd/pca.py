"""PCA of the image generator's style space: the basis U of Eq. 2 (Tian et al. 2021, Sec. 3.1, App. A.1, E.1).

Sample ``z ~ N(0, I)``, map it through StyleGAN2's MLP to ``w``, and take the principal components of the ``w``
codes: ``U`` holds the top ``n`` directions (rows, unit norm) and ``std`` their standard deviations. The official
code keeps 384 of 512 components and scales each motion coefficient by its component's standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidsynth_lite.models.stylegan2.inputs import check_codes


@dataclass
class LatentPCA:
    """``mean [D]``, ``components [K, D]`` (orthonormal rows, by decreasing variance), ``std [K]``,
    ``explained [K]`` (fraction of the total variance of each component)."""

    mean: torch.Tensor
    components: torch.Tensor
    std: torch.Tensor
    explained: torch.Tensor

    def project(self, w: torch.Tensor) -> torch.Tensor:
        """Coordinates ``[N, K]`` of codes ``w [N, D]`` along the components."""
        check_codes(w, name="w", dim=self.mean.shape[-1])
        return (w - self.mean) @ self.components.T

    def reconstruct(self, coords: torch.Tensor) -> torch.Tensor:
        """Codes ``[N, D]`` from coordinates ``[N, K]`` (exact when K = D)."""
        return self.mean + coords @ self.components

    def top(self, k: int) -> LatentPCA:
        return LatentPCA(self.mean, self.components[:k], self.std[:k], self.explained[:k])


def fit_pca(codes: torch.Tensor) -> LatentPCA:
    """Principal components of ``codes [N, D]`` from the SVD of the centred data (float64 inside)."""
    if codes.ndim != 2 or codes.shape[0] < 2:
        raise ValueError(f"codes must be [N >= 2, D], got {tuple(codes.shape)}")
    x = codes.double()
    mean = x.mean(0)
    _, s, vh = torch.linalg.svd(x - mean, full_matrices=False)            # x - mean = U S V^T
    var = s ** 2 / (x.shape[0] - 1)                                        # variance along each row of V^T
    k = min(x.shape)
    return LatentPCA(mean.float(), vh[:k].float(), var[:k].sqrt().float(), (var[:k] / var.sum()).float())


@torch.no_grad()
def style_space_pca(mapping: torch.nn.Module, style_dim: int, samples: int = 100_000, batch: int = 4096,
                    seed: int = 0, device=None) -> LatentPCA:
    """PCA of ``samples`` codes ``w = mapping(z)``, ``z ~ N(0, I)`` drawn from a seeded generator."""
    g = torch.Generator().manual_seed(seed)
    codes = []
    for start in range(0, samples, batch):
        z = torch.randn(min(batch, samples - start), style_dim, generator=g)
        codes.append(mapping(z.to(device) if device is not None else z).float().cpu())
    return fit_pca(torch.cat(codes))
