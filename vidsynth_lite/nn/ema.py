"""Codebook learning by exponential moving averages (Walker et al. 2021, Eq. 3; van den Oord et al. 2017).

``N_i <- gamma N_i + (1 - gamma) n_i``,  ``m_i <- gamma m_i + (1 - gamma) sum_j z_e(x)_{i,j}``,
``e_i = m_i / N_i``, where ``n_i`` counts the batch vectors that map to code ``i``. The division uses the
Laplace-smoothed count ``(N_i + eps) / (sum_k N_k + K eps) * sum_k N_k`` (as in the VQ-VAE / VQ-VAE-2 reference
implementations) so that a code no vector has reached yet does not divide by zero; with ``eps = 0`` it is
exactly Eq. 3.
"""

from __future__ import annotations

import torch


def code_counts_and_sums(z: torch.Tensor, codes: torch.Tensor, num_codes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_i`` (how many rows of ``z`` [N, D] map to code i) and ``sum_j z_{i,j}`` ([K] and [K, D])."""
    onehot = torch.nn.functional.one_hot(codes, num_codes).to(z.dtype)  # [N, K]
    return onehot.sum(0), onehot.t() @ z                                  # [K], [K, D]


def ema_codebook_update(cluster_size: torch.Tensor, embed_sum: torch.Tensor, counts: torch.Tensor,
                        sums: torch.Tensor, decay: float, eps: float = 1e-5
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of Eq. 3. Returns ``(N, m, e)``: new cluster sizes [K], new sums [K, D], new codebook [K, D]."""
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"decay (gamma of Eq. 3) must be in [0, 1), got {decay}")
    n_new = cluster_size * decay + counts * (1 - decay)          # N_i^(t)
    m_new = embed_sum * decay + sums * (1 - decay)               # m_i^(t)
    total = n_new.sum()
    k = n_new.numel()
    n_smoothed = (n_new + eps) / (total + k * eps) * total if eps > 0 else n_new
    e_new = m_new / n_smoothed.unsqueeze(1)                      # e_i^(t) = m_i / N_i
    return n_new, m_new, e_new
