"""Flow warping: identity for zero flow, exact integer shifts, bilinear values, gradients to the flow."""

from __future__ import annotations

import pytest
import torch

from vidsynth_lite import nn as vnn


@pytest.mark.parametrize("size", [32, 64, 128, 256])
def test_zero_flow_is_the_identity(size):
    x = torch.rand(2, 3, size, size) * 2 - 1
    out = vnn.warp(x, torch.zeros(2, 2, size, size))
    assert (out - x).abs().max().item() <= 1e-6


def test_zero_flow_is_close_to_identity_at_other_sizes():
    x = torch.rand(1, 2, 48, 60) * 2 - 1
    assert (vnn.warp(x, torch.zeros(1, 2, 48, 60)) - x).abs().max().item() < 1e-4


def test_integer_flow_moves_pixels_exactly_and_reads_zeros_outside():
    x = torch.rand(2, 3, 32, 32)
    flow = torch.zeros(2, 2, 32, 32)
    flow[:, 0] = 2.0                                               # dx = +2: output(x) = source(x + 2)
    flow[:, 1] = -1.0                                              # dy = -1: output(y) = source(y - 1)
    out = vnn.warp(x, flow)
    assert torch.equal(out[:, :, 1:, :-2], x[:, :, :-1, 2:])
    assert out[:, :, 0].abs().max() == 0 and out[:, :, :, -2:].abs().max() == 0
    border = vnn.warp(x, flow, padding="border")
    assert torch.equal(border[:, :, 1:, -1], x[:, :, :-1, -1])      # the edge column is repeated


def test_half_pixel_flow_is_the_bilinear_average_and_videos_warp_frame_by_frame():
    x = torch.rand(1, 1, 8, 8)
    flow = torch.zeros(1, 2, 8, 8)
    flow[:, 0] = 0.5
    out = vnn.warp(x, flow)
    assert torch.allclose(out[..., :-1], (x[..., :-1] + x[..., 1:]) / 2, atol=1e-6)
    video = torch.rand(2, 3, 1, 8, 8)                              # [B, T, C, H, W]
    flows = torch.zeros(2, 3, 2, 8, 8)
    flows[:, 1, 0] = 1.0                                           # only frame 1 moves
    warped = vnn.warp(video, flows)
    assert torch.equal(warped[:, 0], video[:, 0]) and torch.equal(warped[:, 1, ..., :-1], video[:, 1, ..., 1:])


def test_gradients_reach_the_flow_and_match_finite_differences():
    torch.manual_seed(0)
    x = torch.rand(1, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    flow = (torch.rand(1, 2, 6, 6, dtype=torch.float64) * 0.8 + 0.1).requires_grad_(True)   # off the pixel grid
    assert torch.autograd.gradcheck(lambda s, f: vnn.warp(s, f, padding="border"), (x, flow))
    loss = vnn.warp(x, flow).pow(2).sum()
    loss.backward()
    assert flow.grad.abs().sum() > 0 and x.grad.abs().sum() > 0


def test_upsample_flow_scales_displacements_with_the_resolution():
    flow = torch.zeros(1, 2, 8, 4)
    flow[:, 0], flow[:, 1] = 1.0, -0.5
    up = vnn.upsample_flow(flow, (16, 16))
    assert up.shape == (1, 2, 16, 16)
    assert torch.allclose(up[:, 0], torch.full((1, 16, 16), 4.0)) and torch.allclose(up[:, 1], torch.full((1, 16, 16), -1.0))
    # warping an upsampled image by the upsampled flow = upsampling the warped image (integer case)
    x = torch.rand(1, 1, 8, 8)
    f = torch.zeros(1, 2, 8, 8)
    f[:, 0] = 1.0
    small = vnn.warp(x, f)
    big = vnn.warp(x.repeat_interleave(2, -1).repeat_interleave(2, -2), vnn.upsample_flow(f, (16, 16)))
    assert torch.equal(big[..., ::2, ::2][..., :-1], small[..., :-1])


def test_bad_shapes_get_one_clear_error():
    with pytest.raises(ValueError, match="expected source"):
        vnn.warp(torch.rand(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="expected source"):
        vnn.warp(torch.rand(1, 3, 8, 8), torch.zeros(1, 2, 4, 4))
