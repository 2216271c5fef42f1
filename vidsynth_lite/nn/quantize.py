"""Nearest-neighbour lookup and the straight-through estimator (Walker et al. 2021, Sec. 2.1, Eq. 1).

Vectors are rows: ``z`` has shape ``[N, D]`` and the codebook ``e`` has shape ``[K, D]``.
"""

from __future__ import annotations

import torch


def nearest_code(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Eq. 1: ``k = argmin_j ||z - e_j||_2`` for every row of ``z`` ([N, D]) -> codes [N] (int64).

    ``||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2``; ties go to the lowest index (``argmin``'s rule).
    """
    if z.dim() != 2 or codebook.dim() != 2 or z.shape[1] != codebook.shape[1]:
        raise ValueError(f"nearest_code expects z [N, D] and codebook [K, D] with the same D, "
                         f"got {tuple(z.shape)} and {tuple(codebook.shape)}")
    d = (z.pow(2).sum(1, keepdim=True) - 2 * z @ codebook.t() + codebook.pow(2).sum(1)[None, :])  # [N, K]
    return d.argmin(dim=1)


def straight_through(z_e: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
    """Sec. 2.1: forward value ``z_q``, gradient copied unchanged to ``z_e`` (Bengio et al. 2013)."""
    return z_e + (z_q - z_e).detach()
