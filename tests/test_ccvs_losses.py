"""CCVS's losses against closed forms (Eqs. 3, 4, 7) and the augmented views' targets (App. C, App. F)."""

import pytest
import torch

from vidsynth_lite.models.ccvs import LossConfig
from vidsynth_lite.models.ccvs.augment import affine_flow, augmented_view
from vidsynth_lite.models.ccvs.flow import FlowTrace
from vidsynth_lite.models.ccvs.losses import context_loss, quantization_loss, reconstruction_loss
from vidsynth_lite.nn import warp


@pytest.mark.parametrize("beta_on", ["commitment", "codebook"])
def test_eq3_value_and_which_side_beta_scales(beta_on):
    z = torch.tensor([[1.0, 2.0]], requires_grad=True)                    # encoder output
    e = torch.tensor([[0.0, 0.0]], requires_grad=True)                    # its code vector
    loss = quantization_loss(z, None, e, beta=0.25, beta_on=beta_on)
    loss.backward()
    sq = (1.0 + 4.0) / 2                                                   # mean squared difference
    assert float(loss.detach()) == pytest.approx(1.25 * sq)                        # both terms have the same value
    # d/dz of beta * ||z - sg(e)||^2 (mean over 2 elements) = beta * (z - e); codebook side: (e - z)
    z_scale, e_scale = (0.25, 1.0) if beta_on == "commitment" else (1.0, 0.25)
    torch.testing.assert_close(z.grad, z_scale * torch.tensor([[1.0, 2.0]]))
    torch.testing.assert_close(e.grad, e_scale * torch.tensor([[-1.0, -2.0]]))


def test_eq4_rgb_term_is_mean_absolute_error_and_adds_the_weighted_feature_terms():
    x, y = torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.5)

    class Features:                                                        # a stand-in two-layer network
        def features(self, a):
            return [a * 3, a.mean(1, keepdim=True) * 2]

    assert float(reconstruction_loss(x, y)) == pytest.approx(0.5)
    assert float(reconstruction_loss(x, y, Features())) == pytest.approx(0.5 + 1.5 + 1.0)
    assert float(reconstruction_loss(x, y, Features(), rgb=False, weights=(0.5, 2.0))) == pytest.approx(
        0.75 + 2.0)
    with pytest.raises(ValueError, match="weights"):
        reconstruction_loss(x, y, Features(), weights=(1.0,))


def test_eq7_restricted_to_visible_flow_and_occluded_mask():
    flow_true = torch.zeros(1, 2, 4, 4)
    flow_hat = torch.zeros(1, 2, 4, 4)
    flow_hat[:, 0, :, :2] = 1.0                                            # wrong by 1 px on the left half
    occluded = torch.zeros(1, 1, 4, 4)
    occluded[..., 2:] = 1.0                                                # right half occluded
    mask_hat = torch.zeros(1, 1, 4, 4)                                     # sigma = 0.5 everywhere
    trace = FlowTrace([[flow_hat]], [[mask_hat]], [mask_hat])
    # restricted: flow error on the visible left half (1 px^2), mask error on the occluded half ((1 - 0.5)^2)
    assert float(context_loss(trace, flow_true, occluded)) == pytest.approx(1.0 + 0.25)
    # as printed: means over every pixel (flow 1 on half the pixels; mask error 0.25 everywhere)
    assert float(context_loss(trace, flow_true, occluded, restrict=False)) == pytest.approx(0.5 + 0.25)


def test_context_loss_resizes_flow_to_each_level():
    flow = torch.full((1, 2, 8, 8), 2.0)                                   # 2 px at 8x8 = 1 px at 4x4
    trace = FlowTrace([[torch.full((1, 2, 4, 4), 1.0)]], [[torch.full((1, 1, 4, 4), 50.0)]], [])
    assert float(context_loss(trace, flow, torch.ones(1, 1, 8, 8) * 0.0)) == pytest.approx(0.0, abs=1e-6)


def test_affine_flow_of_a_pure_shift_is_that_shift():
    a = affine_flow(1, 8, torch.zeros(1), torch.ones(1), torch.tensor([[2.0, -1.0]]))
    assert torch.allclose(a[0, 0], torch.tensor(2.0)) and torch.allclose(a[0, 1], torch.tensor(-1.0))


def test_augmented_view_targets_undo_the_augmentation_where_visible():
    """W(x_c, f) ~ x where the context is visible and unblurred: the flow target inverts A (Algorithm C1)."""
    g = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.rand(4, 3, 4, 4, generator=g), size=(32, 32), mode="bilinear",
                                             align_corners=False) * 2 - 1
    cfg = LossConfig(blur_sigma=(0.0, 0.0), occluded=0.25, elastic=0.04, rotation=8.0, translation=0.05)
    view = augmented_view(smooth, cfg, torch.Generator().manual_seed(1))
    assert view.context.shape == smooth.shape and view.flow.shape == (4, 2, 32, 32)
    assert set(view.occluded.unique().round().tolist()) <= {0.0, 1.0}
    back = warp(view.context, view.flow)
    visible = (view.occluded < 0.01)[..., 4:-4, 4:-4].expand(-1, 3, -1, -1)
    err = (back - smooth)[..., 4:-4, 4:-4].abs()[visible].mean()
    base = (view.context - smooth)[..., 4:-4, 4:-4].abs()[visible].mean()
    assert err < 0.3 * base and view.augment_flow.abs().mean() > 0.5
    occluded_share = float(view.occluded.mean())
    assert 0.02 < occluded_share < 0.8
