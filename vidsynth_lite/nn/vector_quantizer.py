"""The vector-quantisation bottleneck of a VQ-VAE (Walker et al. 2021, Sec. 2.1, Eqs. 1-3), in one file.

Read top to bottom:

- :func:`nearest_code` -- Eq. 1, ``k = argmin_j ||z_e(x) - e_j||_2``;
- :func:`straight_through` -- Sec. 2.1, the decoder's gradient at ``z_q`` copied onto ``z_e``;
- :func:`code_counts_and_sums` and :func:`ema_codebook_update` -- Eq. 3, the codebook learnt by exponential
  moving averages (the paper's choice; van den Oord et al. 2017, Razavi et al. 2019);
- :class:`VectorQuantizer` -- the module: Eq. 1 lookup, the commitment loss ``beta ||z_e - sg[e]||^2``
  (Eq. 2, third term, beta = 0.25) and either the EMA update (``ema=True``) or the codebook loss
  ``||sg[z_e] - e||^2`` (Eq. 2, second term, ``ema=False``), plus dead-code restarts (not in the paper).

Vectors are rows: ``z`` has shape ``[N, D]`` and the codebook ``e`` has shape ``[K, D]``.

Two properties matter at paper scale on a GPU:

- **float32 under bf16 autocast.** Nearest-code distances and EMA sums are computed with autocast off, in the
  codebook's precision (float32, or float64 for a double model): in bf16 the distances of near-tied codes
  round to the same value and the EMA sums lose their small increments.
- **No host synchronisation.** Nothing in :meth:`VectorQuantizer.forward` reads a tensor back to the host:
  the first-batch codebook start and the dead-code restarts are ``torch.where`` selections on the device, and
  the logged statistics (perplexity, usage, restarts) stay device tensors that the training loop reads on
  logging steps only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from .codebook_stats import perplexity_of_counts, usage_of_counts


# -- Eq. 1 and the straight-through estimator -------------------------------------------------------------
def nearest_code(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Eq. 1: ``k = argmin_j ||z - e_j||_2`` for every row of ``z`` ([N, D]) -> codes [N] (int64).

    ``||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2``; ties go to the lowest index (``argmin``'s rule). Computed in
    the inputs' own precision: :class:`VectorQuantizer` calls it in float32 with autocast off.
    """
    if z.dim() != 2 or codebook.dim() != 2 or z.shape[1] != codebook.shape[1]:
        raise ValueError(f"nearest_code expects z [N, D] and codebook [K, D] with the same D, "
                         f"got {tuple(z.shape)} and {tuple(codebook.shape)}")
    d = (z.pow(2).sum(1, keepdim=True) - 2 * z @ codebook.t() + codebook.pow(2).sum(1)[None, :])  # [N, K]
    return d.argmin(dim=1)


def straight_through(z_e: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
    """Sec. 2.1: forward value ``z_q``, gradient copied unchanged to ``z_e`` (Bengio et al. 2013)."""
    return z_e + (z_q - z_e).detach()


# -- Eq. 3: the codebook as exponential moving averages -----------------------------------------------------
def code_counts_and_sums(z: torch.Tensor, codes: torch.Tensor, num_codes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_i`` (how many rows of ``z`` [N, D] map to code i) and ``sum_j z_{i,j}`` ([K] and [K, D]).

    A one-hot matrix product rather than ``index_add_``: deterministic on a GPU as well.
    """
    onehot = F.one_hot(codes, num_codes).to(z.dtype)                     # [N, K]
    return onehot.sum(0), onehot.t() @ z                                  # [K], [K, D]


def ema_codebook_update(cluster_size: torch.Tensor, embed_sum: torch.Tensor, counts: torch.Tensor,
                        sums: torch.Tensor, decay: float, eps: float = 1e-5
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of Eq. 3. Returns ``(N, m, e)``: new cluster sizes [K], new sums [K, D], new codebook [K, D].

    ``N_i <- gamma N_i + (1 - gamma) n_i``,  ``m_i <- gamma m_i + (1 - gamma) sum_j z_e(x)_{i,j}``,
    ``e_i = m_i / N_i``. The division uses the Laplace-smoothed count ``(N_i + eps) / (sum_k N_k + K eps)
    * sum_k N_k`` (as the VQ-VAE / VQ-VAE-2 reference implementations do) so that a code no vector has reached
    yet does not divide by zero; with ``eps = 0`` it is exactly Eq. 3.
    """
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"decay (gamma of Eq. 3) must be in [0, 1), got {decay}")
    n_new = cluster_size * decay + counts * (1 - decay)          # N_i^(t)
    m_new = embed_sum * decay + sums * (1 - decay)               # m_i^(t)
    total = n_new.sum()
    k = n_new.numel()
    n_smoothed = (n_new + eps) / (total + k * eps) * total if eps > 0 else n_new
    e_new = m_new / n_smoothed.unsqueeze(1)                      # e_i^(t) = m_i / N_i
    return n_new, m_new, e_new


# -- the module ----------------------------------------------------------------------------------------------
@dataclass
class QuantizerOutput:
    """``z_q``: quantised tensor (same shape and dtype as the input, straight-through gradient); ``codes``:
    [B, *spatial]; ``loss``: beta * commitment (+ codebook term when ``ema=False``); ``perplexity`` /
    ``usage``: of this batch's codes, 0-dim device tensors (read them on logging steps only)."""

    z_q: torch.Tensor
    codes: torch.Tensor
    loss: torch.Tensor
    perplexity: torch.Tensor
    usage: torch.Tensor


def _autocast_off(device: torch.device):
    """Autocast disabled on ``device`` (on a device without autocast, e.g. ``meta``, nothing to disable)."""
    kind = device.type if torch.amp.is_autocast_available(device.type) else "cpu"
    return torch.autocast(device_type=kind, enabled=False)


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class VectorQuantizer(nn.Module):
    """Eq. 1-3 bottleneck with ``num_codes`` (K) codes of dimension ``dim`` (D).

    Args:
        beta: commitment coefficient of Eq. 2 (Table 3: 0.25).
        ema: learn the codebook by Eq. 3 (the paper) instead of the codebook term of Eq. 2.
        decay: gamma of Eq. 3.
        eps: Laplace smoothing of the EMA counts (see :func:`ema_codebook_update`).
        restart_threshold: a code whose EMA count ``N_i`` (vectors per batch, averaged over about
            ``1 / (1 - decay)`` batches) falls below this is restarted at a random encoder output of the batch.
            Fit it to the scale: a batch holds ``N`` vectors for ``K`` codes, ``N / K`` per code on average.
        init_from_data: on the first training batch, start every code at a random encoder output.
    """

    def __init__(self, num_codes: int, dim: int, beta: float = 0.25, ema: bool = True, decay: float = 0.99,
                 eps: float = 1e-5, restart_threshold: float = 1e-2, init_from_data: bool = True):
        super().__init__()
        if num_codes < 2 or dim < 1:
            raise ValueError(f"need num_codes >= 2 and dim >= 1, got {num_codes}, {dim}")
        self.num_codes, self.dim, self.beta = num_codes, dim, beta
        self.ema, self.decay, self.eps = ema, decay, eps
        self.restart_threshold, self.init_from_data = restart_threshold, init_from_data
        init = torch.randn(num_codes, dim) / dim ** 0.5
        if ema:
            self.register_buffer("codebook", init.clone())
            self.register_buffer("cluster_size", torch.ones(num_codes))   # N_i, starts at 1 so e_i = m_i
            self.register_buffer("embed_sum", init.clone())                # m_i
        else:
            self.codebook = nn.Parameter(init)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))   # training batches seen
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))  # dead-code restarts so far

    # -- helpers -------------------------------------------------------------------------------------------
    def _flatten(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() < 2 or z.shape[1] != self.dim:
            raise ValueError(f"VectorQuantizer expects [B, {self.dim}, ...], got {tuple(z.shape)}")
        return z.movedim(1, -1).reshape(-1, self.dim)                   # [B, D, *S] -> [N, D]

    @property
    def compute_dtype(self) -> torch.dtype:
        """float32, or the codebook's dtype when it is wider (a float64 model in the tests)."""
        return torch.promote_types(self.codebook.dtype, torch.float32)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes [B, *spatial] -> code vectors, channels first [B, D, *spatial]."""
        return F.embedding(codes, self.codebook).movedim(-1, 1)

    def _random_rows(self, z_flat: torch.Tensor) -> torch.Tensor:
        """``K`` rows of ``z_flat`` drawn with the global generator of its device (saved in every training
        checkpoint, so resuming is exact); under DDP every process takes rank 0's rows."""
        idx = torch.randint(0, z_flat.shape[0], (self.num_codes,), device=z_flat.device)
        rows = z_flat[idx].detach().clone()                             # [K, D]
        if _distributed():
            dist.broadcast(rows, src=0)
        return rows

    @torch.no_grad()
    def _replace(self, which: torch.Tensor, rows: torch.Tensor) -> None:
        """Set the codes selected by ``which`` ([K] bool, or a 0-dim bool for all) to ``rows`` [K, D]."""
        select = which.reshape(-1, 1) if which.dim() else which
        self.codebook.data.copy_(torch.where(select, rows.to(self.codebook.dtype), self.codebook.data))
        if self.ema:
            self.embed_sum.copy_(torch.where(select, rows.to(self.embed_sum.dtype), self.embed_sum))
            self.cluster_size.copy_(torch.where(which, torch.ones_like(self.cluster_size), self.cluster_size))

    @torch.no_grad()
    def _ema_step(self, z_flat: torch.Tensor, counts: torch.Tensor, sums: torch.Tensor) -> None:
        """Eq. 3 with this batch's counts [K] and sums [K, D] (summed over processes under DDP)."""
        if _distributed():
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        n, m, e = ema_codebook_update(self.cluster_size, self.embed_sum, counts, sums, self.decay, self.eps)
        self.cluster_size.copy_(n)
        self.embed_sum.copy_(m)
        self.codebook.copy_(e)

    # -- forward -------------------------------------------------------------------------------------------
    def forward(self, z_e: torch.Tensor) -> QuantizerOutput:
        """``z_e`` [B, D, *spatial] (any float dtype) -> :class:`QuantizerOutput`."""
        z_flat = self._flatten(z_e)                                       # [N, D]
        with _autocast_off(z_e.device):
            z = z_flat.to(self.compute_dtype)                             # float32 distances and sums
            if self.training and self.init_from_data:                    # first batch: codes = data rows
                self._replace(self.step == 0, self._random_rows(z))
            codes = nearest_code(z.detach(), self.codebook.detach().to(z.dtype))    # Eq. 1, [N]
            e = F.embedding(codes, self.codebook).to(z.dtype)             # [N, D]
            loss = self.beta * F.mse_loss(z, e.detach())                  # beta ||z_e - sg[e]||^2
            if not self.ema:
                loss = loss + F.mse_loss(e, z.detach())                   # ||sg[z_e] - e||^2
            counts, sums = code_counts_and_sums(z.detach(), codes, self.num_codes)   # n_i [K], [K, D]
            stats = perplexity_of_counts(counts), usage_of_counts(counts)
            if self.training:
                if self.ema:
                    self._ema_step(z, counts, sums)                       # Eq. 3
                    if self.restart_threshold > 0:
                        dead = self.cluster_size < self.restart_threshold        # [K] bool, on the device
                        self._replace(dead, self._random_rows(z))
                        self.restarts += dead.sum()
                self.step += 1
            z_q = straight_through(z, e).to(z_e.dtype)                    # [N, D]
        shape = (z_e.shape[0],) + tuple(z_e.shape[2:])
        z_q = z_q.reshape(*shape, self.dim).movedim(-1, 1)               # [B, D, *spatial]
        return QuantizerOutput(z_q=z_q, codes=codes.reshape(shape), loss=loss, perplexity=stats[0],
                               usage=stats[1])
