"""Spectral norm, adaptive normalisation, standing statistics, discriminator blocks, and the guards against
known GAN reimplementation bugs (condition order, norm before the score layer, wrong-axis split, frozen parts)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite import nn as vnn


# -- spectral norm ------------------------------------------------------------------------------------------
def test_spectral_norm_bounds_the_largest_singular_value_after_power_iterations():
    torch.manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(6, 6))
    v, _ = torch.linalg.qr(torch.randn(4, 4))
    sigma = torch.tensor([5.0, 2.0, 0.5, 0.1])
    weight = u[:, :4] @ torch.diag(sigma) @ v.t()              # singular values known: 5, 2, 0.5, 0.1
    layer = nn.Linear(4, 6)
    with torch.no_grad():
        layer.weight.copy_(weight)
    assert vnn.largest_singular_value(layer.weight).item() == pytest.approx(5.0, rel=1e-5)
    vnn.spectral_norm(layer)
    assert vnn.has_spectral_norm(layer)
    layer.train()
    for _ in range(30):                                         # one power iteration per training forward
        layer(torch.randn(2, 4))
    assert vnn.largest_singular_value(layer.weight).item() == pytest.approx(1.0, abs=1e-3)
    ratios = torch.linalg.svdvals(layer.weight.detach()) / sigma * 5.0   # the spectrum is only rescaled
    assert torch.allclose(ratios, torch.ones(4), atol=1e-3)
    # evaluation mode freezes the estimate: the normalised weight no longer changes
    layer.eval()
    before = layer.weight.detach().clone()
    layer(torch.randn(2, 4))
    assert torch.equal(layer.weight.detach(), before)


def test_apply_spectral_norm_covers_convs_and_linears_except_the_excluded():
    net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Unflatten(1, (2, 2, 2)), nn.Conv2d(2, 4, 1),
                        nn.BatchNorm2d(4))
    vnn.apply_spectral_norm(net, exclude=[net[0]])
    assert not vnn.has_spectral_norm(net[0]) and vnn.has_spectral_norm(net[3])
    assert not hasattr(net[4], "parametrizations")
    vnn.apply_spectral_norm(net)                                # idempotent on the normalised layers
    assert len(net[3].parametrizations.weight) == 1 and vnn.has_spectral_norm(net[0])


# -- adaptive normalisation ---------------------------------------------------------------------------------
def test_adain_is_gamma_times_instance_norm_plus_beta_for_images_and_videos():
    torch.manual_seed(0)
    layer = vnn.AdaIN(4, 3)
    for shape in [(2, 4, 5, 5), (2, 4, 3, 5, 5)]:
        x = torch.randn(shape) * 3 + 1
        z = torch.randn(2, 3)
        gamma, beta = layer.affine(z).chunk(2, 1)
        dims = tuple(range(2, x.dim()))
        mean, var = x.mean(dims, keepdim=True), x.var(dims, unbiased=False, keepdim=True)
        view = (2, 4) + (1,) * len(dims)
        expected = gamma.view(view) * (x - mean) / torch.sqrt(var + 1e-5) + beta.view(view)
        assert torch.allclose(layer(x, z), expected, atol=1e-5)
    with pytest.raises(ValueError, match="cond of shape"):
        layer(torch.randn(2, 4, 5, 5), torch.randn(3, 3))


def test_adain_and_spade_start_as_plain_normalisation():
    x = torch.randn(2, 8, 6, 6)
    assert torch.allclose(vnn.AdaIN(8, 5)(x, torch.zeros(2, 5)), F.instance_norm(x), atol=1e-6)
    spade = vnn.SPADE(8, 3, hidden=16)
    nn.init.zeros_(spade.to_beta.weight)
    nn.init.zeros_(spade.to_beta.bias)
    assert torch.allclose(spade(x, torch.randn(2, 3, 12, 12)), F.group_norm(x, 8), atol=1e-6)


def test_spade_modulates_each_pixel_from_the_resized_map_and_shares_an_image_map_over_frames():
    torch.manual_seed(0)
    spade = vnn.SPADE(4, 2, hidden=8, norm="instance", resize="nearest")
    nn.init.normal_(spade.to_gamma.weight)
    x = torch.randn(2, 4, 8, 8)
    seg = torch.zeros(2, 2, 4, 4)
    seg[:, 0, :, :2] = 1.0                                      # left half class 0, right half class 1
    seg[:, 1, :, 2:] = 1.0
    gamma, beta = spade._modulation(seg, (8, 8))
    assert torch.allclose(spade(x, seg), gamma * F.instance_norm(x) + beta, atol=1e-6)
    # a video with an image map: every frame gets the same modulation
    video = torch.randn(2, 4, 3, 8, 8)
    out = spade(video, seg)
    for t in range(3):
        frame_norm = F.instance_norm(video)[:, :, t]
        assert torch.allclose(out[:, :, t], gamma * frame_norm + beta, atol=1e-5)
    # a video with a map per frame: frame t follows its own map
    maps = torch.stack([seg, seg.flip(-1), seg], dim=2)          # [B, 2, T, 4, 4]
    out = spade(video, maps)
    g1, b1 = spade._modulation(seg.flip(-1), (8, 8))
    assert torch.allclose(out[:, :, 1], g1 * F.instance_norm(video)[:, :, 1] + b1, atol=1e-5)
    assert not torch.allclose(out[:, :, 1], gamma * F.instance_norm(video)[:, :, 1] + beta, atol=1e-3)
    with pytest.raises(ValueError, match="cond must be"):
        spade(video, torch.randn(2, 2, 4, 4, 4))                 # wrong number of frames


def test_conditional_batch_norm_uses_batch_statistics_and_a_per_sample_affine():
    torch.manual_seed(0)
    layer = vnn.ConditionalBatchNorm(3, 2)
    nn.init.normal_(layer.affine.weight)
    x, c = torch.randn(4, 3, 5, 5), torch.randn(4, 2)
    gain, bias = layer.affine(c).chunk(2, 1)
    mean, var = x.mean((0, 2, 3), keepdim=True), x.var((0, 2, 3), unbiased=False, keepdim=True)
    expected = gain.view(4, 3, 1, 1) * (x - mean) / torch.sqrt(var + 1e-5) + bias.view(4, 3, 1, 1)
    assert torch.allclose(layer(x, c), expected, atol=1e-5)
    video = torch.randn(4, 3, 2, 5, 5)                          # 5D: statistics over B, T, H, W
    mean = video.mean((0, 2, 3, 4), keepdim=True)
    var = video.var((0, 2, 3, 4), unbiased=False, keepdim=True)
    expected = gain.view(4, 3, 1, 1, 1) * (video - mean) / torch.sqrt(var + 1e-5) + bias.view(4, 3, 1, 1, 1)
    assert torch.allclose(layer(video, c), expected, atol=1e-5)


def test_standing_statistics_evaluate_with_the_average_over_generator_samples():
    """TrIVD-GAN-FP App. E.2: after standing statistics, eval-mode BN uses means/variances of G's samples."""
    torch.manual_seed(0)
    gen = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Dropout(0.5), nn.Linear(3, 3))
    # training left stale running statistics behind
    gen.train()
    for _ in range(5):
        gen(torch.randn(8, 2) * 10 + 5)
    g = torch.Generator().manual_seed(1)
    latents = [torch.randn(16, 2, generator=g) for _ in range(4)]
    params_before = vnn.snapshot(gen)
    vnn.standing_statistics(gen, lambda i: gen(latents[i]), batches=4)
    pre = [gen[0](z).detach() for z in latents]                 # the BN layer's inputs, batch by batch
    expected_mean = torch.stack([h.mean(0) for h in pre]).mean(0)
    expected_var = torch.stack([h.var(0, unbiased=True) for h in pre]).mean(0)
    bn = gen[1]
    assert torch.allclose(bn.running_mean, expected_mean, atol=1e-6)
    assert torch.allclose(bn.running_var, expected_var, atol=1e-6)
    assert bn.momentum == 0.1 and not gen.training and not bn.training
    changed = vnn.changed_since(gen, params_before)
    assert set(changed) == {"1.running_mean", "1.running_var", "1.num_batches_tracked"}
    # evaluation now normalises with exactly those statistics
    z = torch.randn(3, 2)
    h = gen[0](z)
    manual = gen[3]((h - expected_mean) / torch.sqrt(expected_var + bn.eps) * bn.weight + bn.bias)
    assert torch.allclose(gen(z), manual, atol=1e-5)
    with pytest.raises(ValueError, match="no batch-norm"):
        vnn.standing_statistics(nn.Linear(2, 2), lambda i: None)


# -- discriminators -----------------------------------------------------------------------------------------
def test_dblock_shapes_2d_3d_and_residual_identity_when_the_main_path_is_zero():
    block = vnn.DBlock(3, 8, dims=2, spectral=False)
    assert block(torch.randn(2, 3, 16, 16)).shape == (2, 8, 8, 8)
    block3 = vnn.DBlock(3, 8, dims=3, pool=(1, 2, 2), spectral=True)
    assert block3(torch.randn(2, 3, 4, 16, 16)).shape == (2, 8, 4, 8, 8)
    same = vnn.DBlock(4, 4, pool=None, spectral=False)
    assert same.shortcut is None
    nn.init.zeros_(same.conv2.weight)
    nn.init.zeros_(same.conv2.bias)
    x = torch.randn(2, 4, 6, 6)
    assert torch.allclose(same(x), x)                           # main path 0 -> identity shortcut
    first = vnn.DBlock(3, 4, preactivation=False, spectral=False)
    nn.init.zeros_(first.conv2.weight)
    nn.init.zeros_(first.conv2.bias)
    x = torch.randn(1, 3, 4, 4)
    assert torch.allclose(first(x), first.shortcut(F.avg_pool2d(x, 2)), atol=1e-6)   # pool then conv
    with pytest.raises(ValueError, match="dims=2"):
        block(torch.randn(2, 3, 4, 16, 16))


def test_residual_discriminator_scores_images_and_frames_of_videos():
    torch.manual_seed(0)
    d2 = vnn.ResidualDiscriminator(3, channels=(8, 16, 16))
    assert d2(torch.randn(5, 3, 16, 16)).shape == (5,)
    d3 = vnn.ResidualDiscriminator(3, channels=(8, 16, 16), blocks_3d=2).eval()
    video = torch.randn(2, 3, 8, 16, 16)                        # [B, C, T, H, W]
    scores = d3(video)
    assert scores.shape == (2, 2)                               # T = 8 pooled twice -> 2 frames per sample
    # (power iteration runs on every training-mode call, so scores are compared in eval mode)
    # sample b's scores depend on sample b only (the batch axis is never mixed)
    other = video.clone()
    other[1] = torch.randn(3, 8, 16, 16)
    rescored = d3(other)
    assert torch.allclose(rescored[0], scores[0], atol=1e-6) and not torch.allclose(rescored[1], scores[1])
    vnn.assert_no_norm_before_score(d2, torch.randn(2, 3, 16, 16))
    vnn.assert_no_norm_before_score(d3, video)


def test_patch_discriminator_matches_mocogan_hd_table6_shapes_and_returns_features():
    d = vnn.PatchDiscriminator(6, dims=3, base_channels=8, n_layers=3, norm="instance", padding=2)   # pix2pixHD
    feats = d.forward_features(torch.randn(2, 6, 16, 32, 32))
    assert [f.shape[1] for f in feats] == [8, 16, 32, 64, 1]
    assert feats[-1].shape[0] == 2 and feats[-1].dim() == 5
    d2 = vnn.PatchDiscriminator(3, dims=2, base_channels=8, norm="none", spectral=True)
    assert d2(torch.randn(2, 3, 64, 64)).shape == (2, 1, 6, 6)   # pix2pix 70x70 receptive field on 64x64
    vnn.assert_no_norm_before_score(d, torch.randn(1, 6, 16, 32, 32))


def test_norm_right_before_the_final_linear_makes_scores_constant_and_is_refused():
    """The bug: BN / IN directly before the score layer. Batch norm fixes the batch mean of the scores, so a
    D fed real and fake in separate batches cannot score reals higher on average; the guard refuses it."""
    torch.manual_seed(0)
    bad = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(8), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(8, 1))
    real, fake = torch.randn(16, 3, 8, 8) + 1.0, torch.randn(16, 3, 8, 8) - 1.0
    bad.train()
    bias = bad[-1].bias.detach()
    assert torch.allclose(bad(real).mean(), bias, atol=1e-5) and torch.allclose(bad(fake).mean(), bias, atol=1e-5)
    with pytest.raises(ValueError, match="BatchNorm2d '2' feeds the score layer '5'"):
        vnn.assert_no_norm_before_score(bad, real)
    inst = nn.Sequential(nn.Conv2d(3, 8, 3), nn.InstanceNorm2d(8), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 1))
    assert torch.allclose(inst(real), inst(fake), atol=1e-5)        # every sample gets the bias
    with pytest.raises(ValueError, match="InstanceNorm2d"):
        vnn.assert_no_norm_before_score(inst, real)
    good = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.LeakyReLU(0.2), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 1))
    vnn.assert_no_norm_before_score(good, real)                    # a nonlinearity in between is fine


def test_score_real_and_fake_splits_along_the_batch_axis():
    torch.manual_seed(0)
    d = vnn.ResidualDiscriminator(3, channels=(8, 8), blocks_3d=1, pool_3d=(1, 2, 2)).eval()
    real, fake = torch.randn(3, 3, 4, 8, 8), torch.randn(2, 3, 4, 8, 8)
    real_scores, fake_scores = vnn.score_real_and_fake(d, real, fake)
    assert torch.allclose(real_scores, d(real), atol=1e-5) and torch.allclose(fake_scores, d(fake), atol=1e-5)
    both = d(torch.cat((real[:2], fake)))                          # [4, T]
    wrong_real, _ = both.chunk(2, dim=-1)                          # split along time: [4, T / 2]
    assert torch.allclose(wrong_real[2:], d(fake)[:, :2], atol=1e-5)   # the "real" scores hold fake samples
    with pytest.raises(ValueError, match="first axis"):
        vnn.score_real_and_fake(lambda x: x.sum(0), real, fake)


# -- per-frame conditions -----------------------------------------------------------------------------------
def test_repeat_per_frame_pairs_each_frame_with_its_own_sample_and_repeat_does_not():
    batch, frames = 3, 4
    video = torch.arange(batch).view(batch, 1, 1).expand(batch, frames, 1).float()   # frame value = sample id
    cond = torch.arange(batch).view(batch, 1).float()                                  # condition = sample id
    folded = vnn.fold_frames(video)                                                    # [B * T, 1]
    assert torch.equal(vnn.repeat_per_frame(cond, frames), folded)
    assert not torch.equal(cond.repeat(frames, 1), folded)                             # the classic bug
    assert torch.equal(vnn.unfold_frames(folded, frames), video)
    # with B = 1 the bug is invisible: a test needs B > 1 and T > 1 to catch it
    assert torch.equal(cond[:1].repeat(frames, 1), vnn.repeat_per_frame(cond[:1], frames))
    with pytest.raises(ValueError, match="multiple"):
        vnn.unfold_frames(folded, 5)


# -- frozen parts -------------------------------------------------------------------------------------------
def _generator() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4))


def _train_step(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    model.train()                                                   # what the training loop does every step
    loss = model(torch.randn(6, 4)).pow(2).mean()
    optimizer.zero_grad(set_to_none=False)                          # zero (not None) grads: decay still acts
    loss.backward()
    optimizer.step()


def test_a_misspelled_freeze_still_trains_and_freeze_does_not():
    torch.manual_seed(0)
    # MoCoGAN-HD's toggle_grad sets `required_grad` (sic): a new attribute, requires_grad stays True
    typo_g = _generator()
    for p in typo_g.parameters():
        p.required_grad = False
    head = nn.Linear(4, 1)
    model = nn.Sequential(typo_g, head)
    before = vnn.snapshot(typo_g)
    _train_step(model, torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1))
    assert "0.weight" in vnn.changed_since(typo_g, before)          # the "frozen" generator trained

    frozen_g = vnn.freeze(_generator())
    model = nn.Sequential(frozen_g, nn.Linear(4, 1))
    before = vnn.snapshot(frozen_g)
    for _ in range(3):
        _train_step(model, torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1))
    assert vnn.changed_since(frozen_g, before) == []                # weights and BN statistics unchanged
    assert vnn.is_frozen(frozen_g) and model[1].training
    # gradients still flow through the frozen part to its inputs
    x = torch.randn(3, 4, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_train_mode_alone_moves_batch_norm_statistics_of_an_unfrozen_part():
    g = _generator().requires_grad_(False)                          # no grads, but train() re-enables BN stats
    before = vnn.snapshot(g)
    g.train()
    g(torch.randn(6, 4))
    assert set(vnn.changed_since(g, before)) == {"1.running_mean", "1.running_var", "1.num_batches_tracked"}
    assert not vnn.is_frozen(g)


def test_a_deep_copy_of_a_frozen_part_stays_frozen():
    g = vnn.freeze(_generator())
    clone = copy.deepcopy(g)                                        # e.g. an EMA copy
    clone.train()
    assert vnn.is_frozen(clone) and not clone[1].training
