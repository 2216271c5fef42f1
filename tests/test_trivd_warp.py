"""Kernel-based warping (TrIVD-GAN-FP App. B, Eqs. 11-12) and the motion read-out of Fig. 3."""

import pytest
import torch
import torch.nn.functional as F

from vidsynth_lite import nn as vnn
from vidsynth_lite.nn.warp import warp


def _unfold_reference(h, weights):
    """Eq. 11 through torch's unfold (an independent way to gather the k x k neighbourhoods)."""
    b, c, height, width = h.shape
    k = round(weights.shape[1] ** 0.5)
    patches = F.unfold(h, k, padding=(k - 1) // 2).view(b, c, k * k, height, width)   # [B, C, k*k, H, W]
    return (patches * weights[:, None]).sum(2)


def test_identity_kernels_leave_the_input_unchanged():
    h = torch.randn(2, 5, 7, 6)
    for k in (1, 3, 5):
        out = vnn.pixelwise_warp(h, vnn.identity_weights(2, k, 7, 6))
        assert torch.equal(out, h)


def test_pixelwise_warp_matches_unfold_reference():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(3, 4, 8, 9, generator=g)
    for k in (3, 5):
        w = torch.randn(3, k * k, 8, 9, generator=g)
        torch.testing.assert_close(vnn.pixelwise_warp(h, w), _unfold_reference(h, w))


def test_kernel_on_left_neighbour_moves_content_right_and_its_flow_reads_from_the_left():
    h = torch.zeros(1, 1, 5, 5)
    h[0, 0, 2, 1] = 1.0                                   # a dot at (y=2, x=1)
    w = torch.zeros(1, 9, 5, 5)
    w[:, 3] = 1.0                                         # offset q = 3: (dy, dx) = (0, -1), the left neighbour
    out = vnn.pixelwise_warp(h, w)
    assert out[0, 0, 2, 2] == 1.0 and out.sum() == 1.0    # the dot moved one pixel to the right
    flow = vnn.expected_flow(w)                           # [B, 2, H, W], channels (dx, dy): read from p + flow
    assert torch.equal(flow[0, 0], -torch.ones(5, 5)) and torch.equal(flow[0, 1], torch.zeros(5, 5))


def test_one_hot_kernels_equal_the_package_warp_by_their_expected_flow():
    g = torch.Generator().manual_seed(4)
    h = torch.randn(2, 3, 8, 8, generator=g)
    choice = torch.randint(0, 9, (2, 8, 8), generator=g)
    w = torch.nn.functional.one_hot(choice, 9).permute(0, 3, 1, 2).float()     # [B, 9, H, W] one offset each
    torch.testing.assert_close(vnn.pixelwise_warp(h, w), warp(h, vnn.expected_flow(w)))


def test_factorised_warp_with_one_hot_selection_equals_that_single_kernel():
    g = torch.Generator().manual_seed(1)
    h = torch.randn(2, 3, 6, 6, generator=g)
    basis = torch.randn(2, 9, 9, generator=g).softmax(1)          # [B, k*k, N]
    chosen = 4
    selection = torch.zeros(2, 9, 6, 6)
    selection[:, chosen] = 1.0                                    # every position picks kernel 4
    single = basis[:, :, chosen, None, None].expand(2, 9, 6, 6)   # [B, k*k, H, W]
    torch.testing.assert_close(vnn.factorised_warp(h, basis, selection), vnn.pixelwise_warp(h, single))
    # and a mixed selection is the same mixture of the single-kernel warps (Eq. 12 is linear in S)
    sel = torch.rand(2, 9, 6, 6, generator=g).softmax(1)
    mix = sum(sel[:, l:l + 1] * vnn.pixelwise_warp(h, basis[:, :, l, None, None].expand(2, 9, 6, 6))
              for l in range(9))
    torch.testing.assert_close(vnn.factorised_warp(h, basis, sel), mix)


def test_combine_flows_upsamples_scales_and_adds():
    coarse = torch.ones(1, 2, 4, 4)                       # 1 px at 4x4 = 2 px at 8x8
    fine = torch.full((1, 2, 8, 8), 0.5)
    torch.testing.assert_close(vnn.combine_flows([coarse, fine]), torch.full((1, 2, 8, 8), 2.5))
    with pytest.raises(ValueError, match="twice the size"):
        vnn.combine_flows([coarse, torch.zeros(1, 2, 6, 6)])


def test_bad_shapes_are_clear_errors():
    with pytest.raises(ValueError, match=r"k\*k"):
        vnn.pixelwise_warp(torch.zeros(1, 2, 4, 4), torch.zeros(1, 8, 4, 4))
    with pytest.raises(ValueError, match="matching"):
        vnn.pixelwise_warp(torch.zeros(1, 2, 4, 4), torch.zeros(1, 9, 5, 4))
    with pytest.raises(ValueError, match="basis"):
        vnn.factorised_weights(torch.zeros(1, 9, 4), torch.zeros(1, 5, 3, 3))
