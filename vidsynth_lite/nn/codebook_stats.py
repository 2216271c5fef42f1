"""How a codebook is used: histogram, fraction of codes used, perplexity ``exp(H(p))`` of the code histogram.

Every function returns a device tensor (no host synchronisation): a training step can log them, and the loop
reads them on logging steps only. Call ``float(...)`` to print one.
"""

from __future__ import annotations

import torch


def code_counts(codes: torch.Tensor, num_codes: int) -> torch.Tensor:
    """How often each code occurs among ``codes`` (any shape, int) -> [K] float64.

    ``index_add_`` into a fixed-size vector: unlike ``bincount`` it never reads the largest code to the host.
    """
    flat = codes.reshape(-1)
    counts = torch.zeros(num_codes, dtype=torch.float64, device=codes.device)
    return counts.index_add_(0, flat, torch.ones_like(flat, dtype=torch.float64))


def code_histogram(codes: torch.Tensor, num_codes: int) -> torch.Tensor:
    """Relative frequency of each code among ``codes`` (any shape, int) -> [K], sums to 1."""
    counts = code_counts(codes, num_codes)
    return counts / counts.sum().clamp_min(1)


def perplexity_of_counts(counts: torch.Tensor) -> torch.Tensor:
    """``exp(-sum_k p_k log p_k)`` with ``p = counts / sum(counts)``: 1 when one code is used, ``K`` when all
    are used equally. 0-dim tensor."""
    p = counts.detach().double() / counts.detach().double().sum().clamp_min(1e-12)
    entropy = -torch.where(p > 0, p * p.clamp_min(1e-300).log(), torch.zeros_like(p)).sum()
    return entropy.exp()


def usage_of_counts(counts: torch.Tensor) -> torch.Tensor:
    """Fraction of the ``K`` codes with a non-zero count. 0-dim tensor."""
    return (counts.detach() > 0).double().mean()


def perplexity(codes: torch.Tensor, num_codes: int) -> torch.Tensor:
    """Perplexity of the histogram of ``codes`` (see :func:`perplexity_of_counts`)."""
    return perplexity_of_counts(code_counts(codes, num_codes))


def usage(codes: torch.Tensor, num_codes: int) -> torch.Tensor:
    """Fraction of the ``K`` codes that appear at least once in ``codes``."""
    return usage_of_counts(code_counts(codes, num_codes))
