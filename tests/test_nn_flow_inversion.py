"""Algorithm C1 (CCVS App. C): the approximate inverse flow undoes a warp."""

import pytest
import torch
import torch.nn.functional as F

from vidsynth_lite.nn import invert_flow, warp


def _smooth_field(h, w, amplitude, seed):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 2, 4, 4, generator=g) * 2 - 1
    return amplitude * F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)


def test_integer_translation_is_inverted_exactly():
    g = torch.zeros(1, 2, 10, 12)
    g[:, 0], g[:, 1] = 2.0, -1.0                                       # read 2 px right, 1 px up
    f, direct = invert_flow(g)
    reached = direct[:, None].expand_as(f)
    assert torch.equal(f[reached], -g[reached])                         # reached cells exactly
    # the rest are filled by normalised Gaussian averages of equal values: exact up to rounding, whose size
    # depends on the convolution backend's summation order (torch 2.14.1 on CPU: 1 ulp off at one cell)
    torch.testing.assert_close(f, -g, rtol=0, atol=1e-6)
    assert direct.sum() == (10 - 1) * (12 - 2) and not direct[0, 9].any()   # the rows/columns nothing maps to


def test_inverse_of_a_smooth_deformation_composes_to_identity():
    """f(p) + g(p + f(p)) ~ 0 (pixels), far below the deformation's own size, and W(W(x, g), f) ~ x."""
    g = _smooth_field(32, 32, 3.0, seed=0)
    f, direct = invert_flow(g)
    assert direct.float().mean() > 0.6                                  # the paper: ~80 % inverted directly
    residual = f + warp(g, f)                                        # [1, 2, H, W]
    inner = residual[..., 4:-4, 4:-4].norm(dim=1)
    assert inner.mean() < 0.35 and g.norm(dim=1).mean() > 1.0
    x = F.interpolate(torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1)), size=(32, 32),
                      mode="bilinear", align_corners=False)
    back = warp(warp(x, g), f)
    assert (back - x)[..., 4:-4, 4:-4].abs().mean() < 0.2 * (warp(x, g) - x)[..., 4:-4, 4:-4].abs().mean()


def test_last_writer_wins_and_batches_are_independent():
    g = torch.zeros(2, 2, 1, 3)
    g[0, 0, 0, 0] = 1.0          # cells 0 and 1 both land on cell 1: cell 1 (g = 0) writes last, f = 0
    g[1, 0, 0, 2] = -2.0                                                 # second sample: cell 2 lands on cell 0
    f, direct = invert_flow(g)
    assert f[0, 0, 0].tolist() == [0.0, 0.0, 0.0] and direct[0, 0].tolist() == [False, True, True]
    assert f[1, 0, 0, 0] == 2.0 and direct[1, 0].tolist() == [True, True, False]


def test_a_flow_that_leaves_the_grid_is_refused():
    with pytest.raises(ValueError, match="leaves the grid"):
        invert_flow(torch.full((1, 2, 4, 4), 10.0))
