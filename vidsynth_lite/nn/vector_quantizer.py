"""The vector-quantisation bottleneck of a VQ-VAE (Walker et al. 2021, Sec. 2.1, Eqs. 1-3).

``VectorQuantizer`` maps every vector of a channels-first tensor ``[B, D, *spatial]`` to its nearest codebook
entry (Eq. 1), passes gradients straight through (Sec. 2.1), returns the commitment loss
``beta ||z_e - sg[e]||^2`` (Eq. 2, third term, beta = 0.25) and learns the codebook either by exponential moving
averages (Eq. 3, the paper's choice, ``ema=True``) or by gradient descent on the codebook term
``||sg[z_e] - e||^2`` (Eq. 2, second term, ``ema=False``). Codes whose moving-average count falls below
``restart_threshold`` are restarted at encoder outputs of the current batch (dead-code restarts).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from .codebook_stats import perplexity as _perplexity
from .codebook_stats import usage as _usage
from .ema import code_counts_and_sums, ema_codebook_update
from .quantize import nearest_code, straight_through


@dataclass
class QuantizerOutput:
    """``z_q``: quantised tensor (same shape as the input, straight-through gradient); ``codes``: [B, *spatial];
    ``loss``: beta * commitment (+ codebook term when ``ema=False``); ``perplexity`` / ``usage`` of this batch."""

    z_q: torch.Tensor
    codes: torch.Tensor
    loss: torch.Tensor
    perplexity: float
    usage: float


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class VectorQuantizer(nn.Module):
    """Eq. 1-3 bottleneck with ``num_codes`` (K) codes of dimension ``dim`` (D)."""

    def __init__(self, num_codes: int, dim: int, beta: float = 0.25, ema: bool = True, decay: float = 0.99,
                 eps: float = 1e-5, restart_threshold: float = 1e-2, init_from_data: bool = True,
                 seed: int = 0):
        super().__init__()
        if num_codes < 2 or dim < 1:
            raise ValueError(f"need num_codes >= 2 and dim >= 1, got {num_codes}, {dim}")
        self.num_codes, self.dim, self.beta = num_codes, dim, beta
        self.ema, self.decay, self.eps = ema, decay, eps
        self.restart_threshold, self.init_from_data, self.seed = restart_threshold, init_from_data, seed
        init = torch.randn(num_codes, dim) / dim ** 0.5
        if ema:
            self.register_buffer("codebook", init.clone())
            self.register_buffer("cluster_size", torch.ones(num_codes))   # N_i, starts at 1 so e_i = m_i
            self.register_buffer("embed_sum", init.clone())                # m_i
        else:
            self.codebook = nn.Parameter(init)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))   # drives restart randomness
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))  # dead-code restarts so far

    # -- helpers -------------------------------------------------------------------------------------------
    def _flatten(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() < 2 or z.shape[1] != self.dim:
            raise ValueError(f"VectorQuantizer expects [B, {self.dim}, ...], got {tuple(z.shape)}")
        return z.movedim(1, -1).reshape(-1, self.dim)                   # [N, D]

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes [B, *spatial] -> code vectors, channels first [B, D, *spatial]."""
        return F.embedding(codes, self.codebook).movedim(-1, 1)

    def _random_rows(self, z_flat: torch.Tensor, n: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + int(self.step))
        idx = torch.randint(0, z_flat.shape[0], (n,), generator=g).to(z_flat.device)
        rows = z_flat[idx].detach().clone()
        if _distributed():
            dist.broadcast(rows, src=0)
        return rows

    @torch.no_grad()
    def _restart(self, z_flat: torch.Tensor, dead: torch.Tensor, count: bool = True) -> None:
        n = int(dead.sum())
        if n == 0:
            return
        rows = self._random_rows(z_flat, n).to(self.codebook.dtype)
        self.codebook.data[dead] = rows
        if self.ema:
            self.embed_sum[dead] = rows
            self.cluster_size[dead] = 1.0
        if count:
            self.restarts += n

    @torch.no_grad()
    def _ema_step(self, z_flat: torch.Tensor, codes: torch.Tensor) -> None:
        counts, sums = code_counts_and_sums(z_flat.detach().to(self.codebook.dtype), codes, self.num_codes)
        if _distributed():
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        n, m, e = ema_codebook_update(self.cluster_size, self.embed_sum, counts, sums, self.decay, self.eps)
        self.cluster_size.copy_(n)
        self.embed_sum.copy_(m)
        self.codebook.copy_(e)

    # -- forward -------------------------------------------------------------------------------------------
    def forward(self, z_e: torch.Tensor) -> QuantizerOutput:
        z_flat = self._flatten(z_e)                                       # [N, D]
        if self.training and self.init_from_data and int(self.step) == 0:
            self._restart(z_flat, torch.ones(self.num_codes, dtype=torch.bool, device=z_flat.device), count=False)
        codes = nearest_code(z_flat.detach().to(self.codebook.dtype), self.codebook.detach())  # Eq. 1, [N]
        e = F.embedding(codes, self.codebook).to(z_flat.dtype)           # [N, D]
        commit = F.mse_loss(z_flat, e.detach())                           # ||z_e - sg[e]||^2
        loss = self.beta * commit
        if not self.ema:
            loss = loss + F.mse_loss(e, z_flat.detach())                  # ||sg[z_e] - e||^2
        if self.training:
            if self.ema:
                self._ema_step(z_flat, codes)                             # Eq. 3
                if self.restart_threshold > 0:
                    self._restart(z_flat, self.cluster_size < self.restart_threshold)
            self.step += 1
        shape = (z_e.shape[0],) + tuple(z_e.shape[2:])
        z_q = straight_through(z_flat, e).reshape(*shape, self.dim).movedim(-1, 1)   # [B, D, *spatial]
        codes = codes.reshape(shape)                                      # [B, *spatial]
        return QuantizerOutput(z_q=z_q, codes=codes, loss=loss,
                               perplexity=_perplexity(codes, self.num_codes), usage=_usage(codes, self.num_codes))
