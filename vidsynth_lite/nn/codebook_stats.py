"""How a codebook is used: histogram, fraction of codes used, perplexity ``exp(H(p))`` of the code histogram."""

from __future__ import annotations

import torch


def code_histogram(codes: torch.Tensor, num_codes: int) -> torch.Tensor:
    """Relative frequency of each code among ``codes`` (any shape, int) -> [K], sums to 1."""
    counts = torch.bincount(codes.reshape(-1), minlength=num_codes).to(torch.float64)
    return counts / counts.sum().clamp_min(1)


def perplexity(codes: torch.Tensor, num_codes: int) -> float:
    """``exp(-sum_k p_k log p_k)``: 1 when one code is used, ``K`` when all are used equally."""
    p = code_histogram(codes, num_codes)
    nz = p[p > 0]
    return float(torch.exp(-(nz * nz.log()).sum()))


def usage(codes: torch.Tensor, num_codes: int) -> float:
    """Fraction of the ``K`` codes that appear at least once in ``codes``."""
    return float((code_histogram(codes, num_codes) > 0).to(torch.float64).mean())
