"""Content matching (Tian et al. 2021, Sec. 3.2, Eq. 6, App. A.2.2): InfoNCE with a MoCo memory bank.

Two augmented views ``(a_i, b_i)`` of the same image are a positive pair; every other view in the batch and every
key in the memory bank is a negative. With ``sim`` the cosine similarity and ``tau`` the temperature (0.07), for
the ``2N`` views ``v_1 .. v_2N`` (``v_{i+N}`` the partner of ``v_i``)::

    l(i, j) = -log  exp(sim(v_i, v_j) / tau) / ( sum_{k != i} exp(sim(v_i, v_k) / tau) + sum_q exp(sim(v_i, q) / tau) )

and ``L_contr`` is the mean of ``l(i, i+N)`` and ``l(i+N, i)`` over ``i`` (Eq. 6; SimCLR's NT-Xent plus MoCo's
queue). The queue holds projections of earlier batches made by a **momentum copy** of the encoder,
``theta_k <- m theta_k + (1 - m) theta_q`` (MoCo, m = 0.999); the oldest keys are replaced first.

The official code keeps the ``k = i`` term in the denominator (its mask sets the self-similarity logit to 0
instead of removing it); we follow the paper's indicator ``1[k != i]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.checks import InputError


def info_nce(view_a: torch.Tensor, view_b: torch.Tensor, queue: torch.Tensor | None = None,
             temperature: float = 0.07) -> torch.Tensor:
    """Eq. 6: the InfoNCE loss of ``N`` positive pairs ``view_a [N, d]``, ``view_b [N, d]`` and ``queue [K, d]``."""
    if view_a.shape != view_b.shape or view_a.ndim != 2:
        raise InputError(f"views must both be [N, d], got {tuple(view_a.shape)} and {tuple(view_b.shape)}")
    if queue is not None and (queue.ndim != 2 or queue.shape[1] != view_a.shape[1]):
        raise InputError(f"queue: expected keys [K, {view_a.shape[1]}] (the views' width), got {tuple(queue.shape)}")
    n = view_a.shape[0]
    v = F.normalize(torch.cat([view_a, view_b]), dim=1)                   # [2N, d] unit vectors
    keys = v if queue is None else torch.cat([v, F.normalize(queue, dim=1)])   # [2N + K, d]
    logits = v @ keys.T / temperature                                      # [2N, 2N + K] sim / tau
    self_mask = torch.eye(2 * n, keys.shape[0], dtype=torch.bool, device=v.device)
    logits = logits.masked_fill(self_mask, float("-inf"))                  # the indicator 1[k != i]
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(v.device)   # partner of each view
    return F.cross_entropy(logits, target)


@torch.no_grad()
def momentum_update(key_encoder: nn.Module, encoder: nn.Module, momentum: float) -> None:
    """MoCo: ``theta_k <- m theta_k + (1 - m) theta_q`` for every parameter (buffers are copied)."""
    for pk, pq in zip(key_encoder.parameters(), encoder.parameters()):
        pk.mul_(momentum).add_(pq.detach(), alpha=1.0 - momentum)
    for bk, bq in zip(key_encoder.buffers(), encoder.buffers()):
        bk.copy_(bq)


class MemoryBank(nn.Module):
    """A FIFO queue of ``size`` keys ``[size, dim]``: :meth:`push` overwrites the oldest entries first."""

    def __init__(self, size: int, dim: int, seed: int = 0):
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f"MemoryBank needs size, dim >= 1, got {size}, {dim}")
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("keys", F.normalize(torch.randn(size, dim, generator=g), dim=1))   # random start
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))  # the next slot to overwrite
        self.register_buffer("count", torch.zeros((), dtype=torch.long))    # keys pushed so far

    @torch.no_grad()
    def push(self, keys: torch.Tensor) -> None:
        """Enqueue ``keys [n, dim]`` (the oldest ``n`` are dropped); keeps the last ``size`` if n > size."""
        size = self.keys.shape[0]
        if keys.ndim != 2 or keys.shape[1] != self.keys.shape[1]:
            raise InputError(f"MemoryBank.push: expected keys [n, {self.keys.shape[1]}], got {tuple(keys.shape)}")
        keys = keys.detach()[-size:]
        n = keys.shape[0]
        idx = (self.pointer + torch.arange(n, device=keys.device)) % size  # ring positions, no host sync
        self.keys[idx] = keys.to(self.keys.dtype)
        self.pointer.copy_((self.pointer + n) % size)
        self.count.add_(n)

    def ordered(self) -> torch.Tensor:
        """The keys from oldest to newest ``[size, dim]`` (the random initial keys count as the oldest)."""
        return torch.roll(self.keys, shifts=-int(self.pointer), dims=0)

    def forward(self) -> torch.Tensor:
        return self.keys
