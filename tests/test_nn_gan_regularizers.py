"""R1, WGAN-GP and orthogonal regularisation against closed forms on tiny networks (and autograd)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vidsynth_lite import nn as vnn


def _linear_d(weight: torch.Tensor) -> nn.Module:
    """D(x) = <w, x> + b on flattened x: its input gradient is w everywhere."""
    layer = nn.Linear(weight.numel(), 1)
    with torch.no_grad():
        layer.weight.copy_(weight.view(1, -1))
    return nn.Sequential(nn.Flatten(), layer)


def test_r1_of_a_linear_discriminator_is_its_squared_weight_norm():
    w = torch.tensor([3.0, -4.0, 0.0, 12.0])                  # ||w||^2 = 169
    d = _linear_d(w)
    real = torch.randn(5, 2, 2).requires_grad_(True)
    assert vnn.r1_penalty(real, d(real)).item() == pytest.approx(169.0)


def test_r1_of_a_quadratic_discriminator_is_the_mean_squared_input_norm():
    real = torch.randn(6, 3, 4, 4, dtype=torch.float64).requires_grad_(True)
    scores = 0.5 * real.pow(2).flatten(1).sum(1)              # D(x) = ||x||^2 / 2 -> grad = x
    expected = real.detach().pow(2).flatten(1).sum(1).mean()
    assert torch.allclose(vnn.r1_penalty(real, scores), expected)


def test_r1_gradient_reaches_the_discriminator_weights_like_double_backward():
    torch.manual_seed(0)
    d = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    real = torch.randn(4, 3, dtype=torch.float32).requires_grad_(True)
    penalty = vnn.r1_penalty(real, d(real))
    grads = torch.autograd.grad(penalty, list(d.parameters()), allow_unused=True, materialize_grads=True)
    # reference: the same penalty, each sample's input gradient taken separately
    manual = 0
    for i in range(4):
        x = real[i : i + 1].detach().requires_grad_(True)
        (g,) = torch.autograd.grad(d(x).sum(), x, create_graph=True)
        manual = manual + g.pow(2).sum() / 4
    ref = torch.autograd.grad(manual, list(d.parameters()), allow_unused=True, materialize_grads=True)
    for a, b in zip(grads, ref):
        assert torch.allclose(a, b, atol=1e-6)
    assert any(g.abs().sum() > 0 for g in grads)


def test_r1_refuses_inputs_without_gradient():
    d = _linear_d(torch.ones(4))
    x = torch.randn(2, 4)
    with pytest.raises(ValueError, match="requires_grad"):
        vnn.r1_penalty(x, d(x))


def test_wgan_gp_of_a_linear_discriminator_is_norm_minus_one_squared():
    w = torch.tensor([0.6, 0.8, 2.0])                         # ||w|| = sqrt(5)
    d = _linear_d(w)
    real, fake = torch.randn(7, 3), torch.randn(7, 3)
    penalty = vnn.wgan_gp_penalty(d, real, fake, generator=torch.Generator().manual_seed(0))
    assert penalty.item() == pytest.approx((5 ** 0.5 - 1) ** 2, rel=1e-5)
    unit = _linear_d(torch.tensor([0.6, 0.8, 0.0]))           # ||w|| = 1 -> no penalty
    assert vnn.wgan_gp_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_wgan_gp_interpolates_between_real_and_fake():
    """For D(x) = ||x||^2 / 2 the gradient is x_hat itself: the penalty reveals where x_hat was taken."""
    real, fake = torch.full((3, 2), 2.0, dtype=torch.float64), torch.zeros(3, 2, dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    alpha = torch.rand((3, 1), generator=g).to(torch.float64)
    penalty = vnn.wgan_gp_penalty(lambda x: 0.5 * x.pow(2).sum(1), real, fake,
                                  generator=torch.Generator().manual_seed(3))
    norms = (alpha * real).norm(dim=1)                        # ||x_hat|| with x_hat = a * real + (1 - a) * 0
    assert penalty.item() == pytest.approx(((norms - 1) ** 2).mean().item(), rel=1e-6)


def test_wgan_gp_channel_norm_option_reproduces_mocogan_hd_per_voxel_norm_and_multiscale_average():
    """MoCoGAN-HD's code: ||grad||_2 over the channel axis of a [B, C, T, H, W] input, averaged over scales."""
    c = torch.tensor([3.0, 4.0])                              # per-voxel gradient (3, 4) -> norm 5
    def d(x):                                                 # [B, 2, T, H, W] -> two "scales"
        s = (x * c.view(1, 2, 1, 1, 1)).sum(1)
        return [s, 2 * s]                                     # gradients c and 2c: norms 5 and 10
    real, fake = torch.randn(2, 2, 3, 4, 4), torch.randn(2, 2, 3, 4, 4)
    per_voxel = vnn.wgan_gp_penalty(d, real, fake, norm_dims=(1,))
    assert per_voxel.item() == pytest.approx(((5 - 1) ** 2 + (10 - 1) ** 2) / 2)
    whole = vnn.wgan_gp_penalty(d, real, fake)                # the paper's per-sample norm: 5 * sqrt(48)
    assert whole.item() == pytest.approx(((5 * 48 ** 0.5 - 1) ** 2 + (10 * 48 ** 0.5 - 1) ** 2) / 2, rel=1e-5)


def test_orthogonal_regularization_is_zero_for_orthogonal_weights_and_matches_a_closed_form():
    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    assert vnn.orthogonal_regularization([q]).item() == pytest.approx(0.0, abs=1e-20)
    assert vnn.orthogonal_regularization([q], exclude_diagonal=False).item() == pytest.approx(0.0, abs=1e-20)
    scaled = torch.diag(torch.tensor([2.0, 3.0], dtype=torch.float64)) @ q[:2]   # orthogonal rows, norms 2, 3
    assert vnn.orthogonal_regularization([scaled]).item() == pytest.approx(0.0, abs=1e-20)   # BigGAN: off-diag
    assert vnn.orthogonal_regularization([scaled], exclude_diagonal=False).item() == pytest.approx(
        (4 - 1) ** 2 + (9 - 1) ** 2)
    w = torch.tensor([[1.0, 1.0], [1.0, 0.0]])                # W W^T = [[2, 1], [1, 1]]
    assert vnn.orthogonal_regularization([w]).item() == pytest.approx(2.0)   # 1^2 + 1^2 off the diagonal
    assert vnn.orthogonal_regularization([w], exclude_diagonal=False).item() == pytest.approx(1 + 1 + 1 + 0)


def test_orthogonal_regularization_of_a_module_covers_conv_and_spectral_norm_weights_but_not_biases():
    torch.manual_seed(0)
    net = nn.Sequential(vnn.spectral_norm(nn.Conv2d(3, 4, 3)), nn.ReLU(), nn.Linear(4, 2))
    conv_w = net[0].parametrizations.weight.original
    expected = sum(vnn.orthogonal_regularization([p]) for p in (conv_w, net[2].weight))
    assert torch.allclose(vnn.orthogonal_regularization(net), expected)
    loss = vnn.orthogonal_regularization(net)
    loss.backward()
    assert conv_w.grad is not None and net[2].bias.grad is None
    with pytest.raises(ValueError, match="no trainable weight"):
        vnn.orthogonal_regularization(nn.BatchNorm1d(3))


def _gain(layer: nn.Module) -> float:
    """Largest singular value of the weight the layer applies in evaluation mode, read as PyTorch reads it."""
    dim = 1 if isinstance(layer, nn.ConvTranspose2d) else 0          # PyTorch's spectral_norm reads it so
    return float(vnn.largest_singular_value(layer.weight.movedim(dim, 0)))


@pytest.mark.parametrize("make", [lambda: nn.Conv2d(4, 6, 3), lambda: nn.ConvTranspose2d(4, 6, 3),
                                  lambda: nn.Linear(5, 7)])
def test_an_ema_of_a_spectrally_normalised_layer_keeps_unit_gain(make):
    """Averaging u, v with the weights (as an EMA of the state dict does) leaves vectors that are not the
    singular vectors of the averaged weight: sigma = u^T W v then underestimates, and the layer's gain exceeds
    1 in evaluation mode (TrIVD-GAN-FP's EMA generator: up to 12). EMA.averaged re-estimates them."""
    from vidsynth_lite.train.ema import EMA

    torch.manual_seed(0)
    layer = vnn.spectral_norm(make())
    ema = EMA(layer, 0.5)
    for _ in range(5):                                # weights that jump between unrelated directions
        with torch.no_grad():
            layer.parametrizations.weight.original.normal_()
        layer.train()
        _ = layer.weight                              # one power iteration, as a training forward does
        ema.update(layer)
    stale = vnn.spectral_norm(make())
    stale.load_state_dict(ema.shadow)
    assert _gain(stale.eval()) > 1.5                  # the bug this guards against
    assert _gain(ema.averaged(layer)) == pytest.approx(1.0, abs=1e-3)
    assert _gain(vnn.refresh_spectral_norm(stale)) == pytest.approx(1.0, abs=1e-3)


def test_refresh_spectral_norm_refuses_zero_iterations():
    with pytest.raises(ValueError, match="iterations"):
        vnn.refresh_spectral_norm(nn.Linear(2, 2), iterations=0)
