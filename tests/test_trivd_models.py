"""TrIVD-GAN-FP's generator, discriminators and losses: the three known DVD-GAN reimplementation bugs, the mixed
projection head (Eq. 15), the geometric hinge loss (Eqs. 13-14), spectral norm, orthogonality, standing
statistics, truncation."""

from dataclasses import replace

import pytest
import torch

from vidsynth_lite.models import trivd as T
from vidsynth_lite.models.trivd import training as tr
from vidsynth_lite.nn.discriminators import assert_no_norm_before_score
from vidsynth_lite.nn.regularizers import orthogonal_regularization
from vidsynth_lite.nn.spectral import has_spectral_norm, largest_singular_value

TINY_G = T.GeneratorConfig(size=16, cond_frames=2, pred_frames=4, channels=2, encoder_channels=2, stages=2,
                           stage_in=(4, 2), stage_out=(2, 1), z_dim=8, class_dim=4, recurrent="tsru_p")
TINY_D = T.DiscriminatorConfig(channels=2, widths=(1, 2, 4), frames_k=2, decomposition="stronger")


def _video(b, t=6, size=16, seed=0):
    return torch.rand(b, t, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _generator(unit="tsru_p", seed=0):
    torch.manual_seed(seed)
    return T.Generator(replace(TINY_G, recurrent=unit))


def _discriminator(decomposition="stronger", seed=0):
    torch.manual_seed(seed)
    return T.Discriminator(replace(TINY_D, decomposition=decomposition), frames=6, cond_frames=2, size=16)


# -- bug 1: a per-sample condition repeated over frames with `repeat` instead of `repeat_interleave` ----------
def test_each_sample_keeps_its_own_latent_across_its_frames():
    G = _generator()
    G.train()
    G(_video(4)[:, :2], torch.randn(4, 8))              # some running statistics
    G.eval()                                             # per-sample computation only (no batch statistics)
    cond, z = _video(4)[:, :2], torch.randn(4, 8)
    base = G(cond, z)
    z2 = z.clone()
    z2[1] += 1.0                                         # change the latent of sample 1 only
    moved = (G(cond, z2) - base).abs().flatten(2).amax(-1) > 1e-6    # [B, T_p]
    assert moved[1].all(), "every frame of sample 1 must follow its latent"
    assert not moved[[0, 2, 3]].any(), "frames of other samples moved: a condition was repeated across samples"


def test_each_sample_keeps_its_own_conditioning_frames():
    G = _generator("convgru")
    G.eval()
    cond, z = _video(3)[:, :2], torch.randn(3, 8)
    cond2 = cond.clone()
    cond2[2] = -cond2[2]
    moved = (G(cond2, z) - G(cond, z)).abs().flatten(1).amax(-1) > 1e-6
    assert moved.tolist() == [False, False, True]


# -- bug 2: a normalisation right before D's final linear makes its output constant ---------------------------
@pytest.mark.parametrize("decomposition", sorted(T.DECOMPOSITIONS))
def test_discriminators_have_no_norm_before_their_score_and_their_scores_vary(decomposition):
    D = _discriminator(decomposition)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in D.modules())
    for kind, sub in D.subs.items():
        example = D.view(kind, _video(2), torch.Generator().manual_seed(0))
        example = example.transpose(1, 2) if kind in ("clV", "dV", "crV") else example.flatten(0, 1)
        assert_no_norm_before_score(sub.net, example)
    (scores,) = D(_video(4), generator=torch.Generator().manual_seed(0))
    for kind, s in scores.items():
        assert s.shape[:2] == (4, 4)
        per_sample = s.mean((1, 2))                       # r_x part differs between samples
        assert per_sample.std() > 1e-6, f"{kind}: scores do not depend on the input"


# -- bug 3: per-sub-discriminator scores split along the wrong axis --------------------------------------------
def test_real_scores_do_not_depend_on_the_generated_group():
    D = _discriminator("stronger")
    real, fake = _video(3, seed=1), _video(3, seed=2)
    a_real, _ = D(real, fake, generator=torch.Generator().manual_seed(5))
    b_real, b_fake = D(real, -fake, generator=torch.Generator().manual_seed(5))
    for kind in a_real:
        torch.testing.assert_close(a_real[kind], b_real[kind])
        assert b_fake[kind].shape == (3, 3, a_real[kind].shape[2])


@pytest.mark.parametrize("kind", ["F", "dF", "clV", "crV"])
def test_per_sample_scalars_follow_their_own_sample(kind):
    decomposition = {"F": "dvd_gan_fp", "dF": "faster", "clV": "clip", "crV": "cropped"}[kind]
    D = _discriminator(decomposition)
    video = _video(4, seed=3)
    view = D.view(kind, video, torch.Generator().manual_seed(0))
    r_x, r_xy = D.subs[kind].scalars(view)
    changed = view.clone()
    changed[2] = changed[2].flip(-1)                      # change sample 2's input only
    r_x2, r_xy2 = D.subs[kind].scalars(changed)
    rows = (r_x2 - r_x).abs().amax(1) > 1e-6
    assert rows.tolist() == [False, False, True, False]
    assert ((r_xy2 - r_xy).abs().amax(1) > 1e-6).tolist() == [False, False, True, False]


def test_mixed_projection_matches_eq_15_written_as_loops():
    r_x, r_xy = torch.randn(3, 4), torch.randn(3, 4)
    o = T.mixed_projection(r_x, r_xy)
    for b in range(3):
        for b2 in range(3):
            for t in range(4):
                assert o[b, b2, t].item() == pytest.approx((r_x[b, t] + r_xy[b2].sum()).item(), abs=1e-5)


def test_geometric_hinge_loss_against_its_closed_form():
    """Eq. 13 with real scores 0.5 and 2.0 (half each) and fake scores -0.2: 0.5 * 0.5 + 0.5 * 0 + 0.8."""
    D = _discriminator("clip")
    real = torch.tensor([0.5, 2.0]).repeat(8).view(2, 2, 4)
    fake = torch.full((2, 2, 4), -0.2)
    from vidsynth_lite.nn.gan_losses import geometric_hinge_d_loss, geometric_hinge_g_loss
    assert geometric_hinge_d_loss(real, fake).item() == pytest.approx(0.25 + 0.8)
    assert geometric_hinge_g_loss(fake).item() == pytest.approx(0.2)           # Eq. 14: -mean D(G(z))
    assert D is not None


# -- spectral norm, orthogonality, standing statistics, truncation --------------------------------------------
def test_spectral_norm_everywhere_but_the_first_linear_and_it_bounds_the_singular_values():
    G, D = _generator(), _discriminator()
    assert not has_spectral_norm(G.first_linear)
    layers = [m for m in list(G.modules()) + list(D.modules())
              if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear, torch.nn.Embedding))
              and m is not G.first_linear]
    assert layers and all(has_spectral_norm(m) for m in layers)
    G.train()
    for _ in range(30):                                   # power iterations converge over training passes
        G(_video(2)[:, :2], torch.randn(2, 8))
    G.eval()
    sigmas = [largest_singular_value(m.weight) for m in G.modules() if has_spectral_norm(m)]
    assert max(sigmas) < 1.05, f"largest singular value after spectral norm: {max(sigmas):.3f}"
    assert largest_singular_value(G.first_linear.weight) > 0.99      # orthogonal init, not normalised


def test_orthogonality_penalty_is_zero_for_orthogonal_weights_and_positive_otherwise():
    q, _ = torch.linalg.qr(torch.randn(6, 6))
    assert orthogonal_regularization([q.requires_grad_()]).item() == pytest.approx(0.0, abs=1e-9)
    layer = torch.nn.Linear(8, 4)                         # out <= in: orthogonal_ gives orthonormal rows
    T.orthogonal_init(layer)
    assert orthogonal_regularization([layer.weight]).item() == pytest.approx(0.0, abs=1e-9)
    assert orthogonal_regularization([torch.ones(3, 3, requires_grad=True)]).item() > 1.0


def test_frame_batch_norm_has_statistics_per_time_step():
    norm = T.FrameBatchNorm(3, frames=4)
    x = torch.randn(5, 4, 3, 6, 6) * torch.arange(1, 5).view(1, 4, 1, 1, 1) + torch.arange(4).view(1, 4, 1, 1, 1)
    y = norm(x.flatten(0, 1)).view(5, 4, 3, 6, 6)         # [B, T, C, H, W]
    torch.testing.assert_close(y.mean((0, 3, 4)), torch.zeros(4, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var((0, 3, 4), unbiased=False), torch.ones(4, 3), atol=1e-3, rtol=0)


def test_standing_statistics_are_the_average_of_the_batch_statistics():
    G = _generator("convgru")
    seen = []
    hook = G.out_norm.norm.register_forward_hook(lambda m, inp, out: seen.append(inp[0].mean((0, 2, 3))))
    tr.standing_stats(G, _video(8), batches=3, batch=4, seed=0)
    hook.remove()
    torch.testing.assert_close(G.out_norm.norm.running_mean, torch.stack(seen).mean(0))
    assert not G.training


def test_truncated_latents_stay_within_the_threshold():
    z = T.sample_z(64, 16, truncation=0.8, generator=torch.Generator().manual_seed(0))
    assert z.abs().max() <= 0.8 and z.std() > 0.3
    assert torch.equal(T.sample_z(2, 4, truncation=0.0), torch.zeros(2, 4))


def test_d_update_leaves_g_alone_and_g_update_reaches_g():
    G, D = _generator(), _discriminator("dvd_gan_fp")
    real = _video(2)
    tr.d_loss(G, D, real).backward()
    assert all(p.grad is None for p in G.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in D.parameters())
    D.zero_grad(set_to_none=True)
    loss, _ = tr.g_loss(G, D, real, ortho=1e-4)
    loss.backward(inputs=list(G.parameters()))
    assert all(p.grad is None for p in D.parameters())
    assert sum(p.grad.abs().sum() for p in G.parameters() if p.grad is not None) > 0


def test_views_of_the_clip():
    D = _discriminator("stronger")
    video = _video(2)
    g = torch.Generator().manual_seed(0)
    frames = D.view("dF", video, g)
    assert frames.shape == (2, 2, 3, 8, 8)
    assert D.view("crV", video, g).shape == (2, 6, 3, 8, 8)
    assert D.view("dV", video, g).shape == (2, 6, 3, 8, 8)
    for _ in range(20):                                   # frames come from the predicted ones only
        idx = T.sample_frame_indices(6, 2, 2, g)
        assert idx.min() >= 2 and idx.max() < 6 and len(set(idx.tolist())) == 2
    with pytest.raises(ValueError, match="cannot sample"):
        T.sample_frame_indices(6, 2, 5)


def test_generator_predicts_frames_and_probability_kernels():
    G = _generator("tsru_s")
    out = G.run(_video(2)[:, :2], torch.randn(2, 8), keep_kernels=True)
    assert out.video.shape == (2, 4, 3, 16, 16) and out.video.abs().max() <= 1
    assert [k.shape for k in out.kernels] == [(2, 4, 9, 4, 4), (2, 4, 9, 8, 8)]
    torch.testing.assert_close(out.kernels[1].sum(2), torch.ones(2, 4, 8, 8))
    with pytest.raises(ValueError, match="frames"):
        G(_video(2)[:, :3], torch.randn(2, 8))


def test_time_steps_measures_whole_training_steps():
    G, D = _generator(), _discriminator("faster")
    og = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.999))
    od = torch.optim.Adam(D.parameters(), 5e-4, betas=(0.0, 0.999))
    before = [p.detach().clone() for p in G.parameters()]
    times = tr.time_steps(G, D, og, od, _video(4), seconds=0.0, min_steps=2)
    assert len(times["wall"]) == len(times["cpu"]) == 2 and all(t > 0 for t in times["wall"])
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters()))
