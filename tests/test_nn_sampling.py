"""Samplers over logits: temperature, top-k, top-p and inverse-CDF draws."""

import pytest
import torch

from vidsynth_lite.nn import filter_logits, sample_from_logits, top_k_filter, top_p_filter


def test_inverse_cdf_draw_picks_the_right_bin():
    logits = torch.log(torch.tensor([[0.2, 0.3, 0.5]])).repeat(4, 1)
    u = torch.tensor([0.1, 0.25, 0.55, 0.99])
    assert sample_from_logits(logits, uniform=u).tolist() == [0, 1, 2, 2]


def test_frequencies_follow_temperature():
    logits = torch.log(torch.tensor([0.1, 0.9])).repeat(20000, 1)
    g = torch.Generator().manual_seed(0)
    f1 = sample_from_logits(logits, 1.0, generator=g).float().mean()
    f2 = sample_from_logits(logits, 2.0, generator=g).float().mean()
    p2 = torch.tensor([0.1, 0.9]).sqrt()
    assert abs(f1 - 0.9) < 0.01
    assert abs(f2 - p2[1] / p2.sum()) < 0.01


def test_top_k_and_top_p():
    logits = torch.log(torch.tensor([[0.05, 0.5, 0.15, 0.3]]))
    assert torch.isfinite(top_k_filter(logits, 2)).tolist() == [[False, True, False, True]]
    assert torch.isfinite(top_p_filter(logits, 0.7)).tolist() == [[False, True, False, True]]
    assert torch.isfinite(top_p_filter(logits, 0.5)).tolist() == [[False, True, False, False]]
    g = torch.Generator().manual_seed(1)
    draws = sample_from_logits(logits.repeat(500, 1), top_k=2, generator=g)
    assert set(draws.tolist()) <= {1, 3}
    assert torch.equal(filter_logits(logits), logits)
    with pytest.raises(ValueError):
        sample_from_logits(logits, temperature=0.0)
