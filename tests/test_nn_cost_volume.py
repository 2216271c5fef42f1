"""The local cost volume: each channel is the correlation at one displacement, zeros outside the map."""

import pytest
import torch

from vidsynth_lite.nn import displacements, local_correlation


def test_each_channel_is_the_correlation_at_its_displacement():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 5, 7, 9, generator=g), torch.randn(2, 5, 7, 9, generator=g)
    cost = local_correlation(a, b, 2)
    assert cost.shape == (2, 25, 7, 9)
    for n, (dx, dy) in enumerate(displacements(2).tolist()):
        for y, x in [(0, 0), (3, 4), (6, 8), (1, 7)]:
            yy, xx = y + dy, x + dx
            want = (a[:, :, y, x] * b[:, :, yy, xx]).mean(1) if 0 <= yy < 7 and 0 <= xx < 9 else torch.zeros(2)
            torch.testing.assert_close(cost[:, n, y, x], want)


def test_a_shifted_copy_peaks_at_the_shift():
    """b = a moved right by 2 and down by 1: the best-matching displacement is (dx, dy) = (2, 1) inside."""
    a = torch.randn(1, 128, 12, 12, generator=torch.Generator().manual_seed(1))
    b = torch.roll(a, shifts=(1, 2), dims=(2, 3))
    best = local_correlation(a, b, 3)[0, :, 3:9, 3:9].argmax(0)                # interior pixels
    assert (displacements(3)[best.flatten()] == torch.tensor([2, 1])).all()


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="one shape"):
        local_correlation(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 4, 4), 1)
