"""MoCoGAN-HD's pieces against closed forms (Tian et al. 2021, Eqs. 1-6)."""

import math

import pytest
import torch
import torch.nn.functional as F

from vidsynth_lite.models import mocogan_hd as mh

D = 12


def _pca(seed=0, n=400, d=D):
    g = torch.Generator().manual_seed(seed)
    codes = torch.randn(n, d, generator=g) @ torch.randn(d, d, generator=g) + 3.0   # correlated, off-centre
    return mh.fit_pca(codes), codes


def _motion(**kw):
    pca, _ = _pca()
    cfg = mh.MotionConfig(style_dim=D, hidden=10, n_pca=8, noise_dim=6, mi_hidden=9, **kw)
    torch.manual_seed(0)
    return mh.MotionGenerator(cfg, pca)


def test_pca_reconstructs_codes_and_orders_components_by_variance():
    pca, codes = _pca()
    torch.testing.assert_close(pca.reconstruct(pca.project(codes)), codes, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(pca.components @ pca.components.T, torch.eye(D), rtol=1e-5, atol=1e-5)
    assert (pca.std[:-1] >= pca.std[1:]).all()
    # std is the standard deviation of the codes along each component
    torch.testing.assert_close(pca.project(codes).std(0), pca.std, rtol=1e-4, atol=1e-4)
    assert math.isclose(float(pca.explained.sum()), 1.0, rel_tol=1e-5)
    # keeping the top k components loses exactly the variance of the others
    top = pca.top(4)
    err = (top.reconstruct(top.project(codes)) - codes).pow(2).sum(1).mean()
    assert math.isclose(float(err), float(pca.std[4:].pow(2).sum() * (len(codes) - 1) / len(codes)), rel_tol=1e-3)
    # and sklearn agrees on the spectrum
    sk = pytest.importorskip("sklearn.decomposition")
    ref = sk.PCA().fit(codes.double().numpy())
    torch.testing.assert_close(pca.std.double() ** 2, torch.from_numpy(ref.explained_variance_), rtol=1e-4, atol=1e-6)


def test_eq2_with_a_zero_hidden_state_keeps_z_constant():
    g = _motion()
    zero = torch.zeros(3, 10)
    torch.testing.assert_close(g.step_direction(zero), torch.zeros(3, D))   # tanh(W 0 + 0) = 0
    # force the decoder's hidden state to zero: the trajectory must stand still
    g.decoder.forward = lambda eps, state: (torch.zeros(eps.shape[0], 10), state[1])
    z1 = torch.randn(3, D)
    out = g(z1, frames=6)
    torch.testing.assert_close(out.codes, z1[:, None].expand(3, 6, D))
    # and with a real hidden state it moves, within lambda * sum(std) per step
    g2 = _motion()
    with torch.no_grad():
        g2.to_coeffs.weight.mul_(100)
    moving = g2(z1, frames=6).codes
    step = (moving[:, 1:] - moving[:, :-1]).norm(dim=-1)
    assert step.min() > 0
    assert step.max() <= 0.2 * g2.basis_std.norm() + 1e-5          # |U^T (std * tanh)| <= |std|


def test_eq2_steps_stay_in_the_span_of_the_top_components():
    g = _motion()
    with torch.no_grad():
        g.to_coeffs.weight.normal_()
    codes = g(torch.randn(4, D), frames=5).codes
    steps = (codes[:, 1:] - codes[:, :-1]).reshape(-1, D)
    outside = steps - (steps @ g.basis.T) @ g.basis                 # the part orthogonal to U's rows
    assert outside.abs().max() < 1e-5 and steps.abs().max() > 1e-3


def test_without_eq2_the_codes_are_placed_directly():
    g = _motion(residual=False)
    with torch.no_grad():
        g.to_coeffs.weight.normal_()
    z1 = torch.randn(2, D)
    out = g(z1, frames=4)
    direct = g.mean_code + g.step_direction(out.hidden[:, 2])
    torch.testing.assert_close(out.codes[:, 3], direct)
    torch.testing.assert_close(out.codes[:, 0], z1)


def test_motion_generator_reads_its_noise_and_checks_shapes():
    g = _motion()
    z1 = torch.randn(2, D)
    eps = torch.randn(2, 4, 6)
    a, b = g(z1, 5, noise=eps), g(z1, 5, noise=eps)
    torch.testing.assert_close(a.codes, b.codes)
    assert a.hidden.shape == (2, 4, 10) and a.noise_pred.shape == (2, 4, 6)
    c = g(z1, 5, noise=torch.randn(2, 4, 6))
    assert not torch.allclose(a.codes[:, 2:], c.codes[:, 2:])
    with pytest.raises(ValueError, match=r"noise: expected eps \[2, 4, 6\]"):
        g(z1, 5, noise=torch.randn(2, 3, 6))
    with pytest.raises(ValueError, match=rf"z1 .*expected latent codes \[N, {D}\]"):
        g(torch.randn(2, D + 1), 5)
    with pytest.raises(ValueError, match="mi_input"):
        mh.MotionConfig(mi_input="c").validate()


def test_mutual_information_loss_against_a_hand_computation():
    pred = torch.tensor([[[1.0, 0.0], [1.0, 1.0]], [[0.0, 2.0], [3.0, 4.0]]])   # [B=2, T-1=2, d=2]
    eps = torch.tensor([[[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [4.0, 3.0]]])
    cos = [1.0, 1 / math.sqrt(2), 0.0, 24 / 25]                    # by hand
    assert math.isclose(float(mh.mutual_information_loss(pred, eps)), -sum(cos) / 4, rel_tol=1e-6)


def test_mi_head_reads_h_or_h_and_c():
    g = _motion(mi_input="hc")
    out = g(torch.randn(2, D), 4)
    ref = g.mi_head(torch.cat([out.hidden, out.cell], -1))
    torch.testing.assert_close(out.noise_pred, ref)


def test_interpolation_inserts_linear_midpoints():
    codes = torch.tensor([[[0.0, 0.0], [2.0, 4.0], [2.0, 0.0]]])    # [1, 3, 2]
    mid = mh.interpolate_codes(codes, 2)
    torch.testing.assert_close(mid, torch.tensor([[[0.0, 0.0], [1.0, 2.0], [2.0, 4.0], [2.0, 2.0], [2.0, 0.0]]]))
    assert mh.interpolate_codes(codes, 4).shape == (1, 9, 2)
    torch.testing.assert_close(mh.interpolate_codes(codes, 1), codes)


def test_info_nce_against_its_closed_form():
    a = torch.tensor([[1.0, 0.0]])
    b = torch.tensor([[0.6, 0.8]])
    q = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    tau = 0.5
    # view a: positive b (cos 0.6), negatives q1 (cos 0), q2 (cos -1); view b: positive a, q1 (0.8), q2 (-0.6)
    la = -math.log(math.exp(0.6 / tau) / (math.exp(0.6 / tau) + math.exp(0.0) + math.exp(-1 / tau)))
    lb = -math.log(math.exp(0.6 / tau) / (math.exp(0.6 / tau) + math.exp(0.8 / tau) + math.exp(-0.6 / tau)))
    assert math.isclose(float(mh.info_nce(a, b, q, tau)), (la + lb) / 2, rel_tol=1e-6)
    # in-batch negatives without a queue, scale invariance of the cosine
    torch.manual_seed(0)
    va, vb = torch.randn(5, 8), torch.randn(5, 8)
    v = F.normalize(torch.cat([va, vb]), dim=1)
    s = torch.exp(v @ v.T / 0.07)
    s.fill_diagonal_(0)
    ref = -(torch.log(s[torch.arange(10), (torch.arange(10) + 5) % 10] / s.sum(1))).mean()
    torch.testing.assert_close(mh.info_nce(3 * va, vb, None, 0.07), ref, rtol=1e-5, atol=1e-5)
    # identical views and far-away negatives give a loss near zero
    assert float(mh.info_nce(torch.eye(4), torch.eye(4), None, 0.07)) < 1e-5


def test_momentum_update_against_its_closed_form():
    enc, key = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = [p.detach().clone() for p in key.parameters()]
    mh.momentum_update(key, enc, 0.9)
    for b, k, q in zip(before, key.parameters(), enc.parameters()):
        torch.testing.assert_close(k, 0.9 * b + 0.1 * q)


def test_memory_bank_is_a_fifo_queue():
    bank = mh.MemoryBank(5, 2)
    keys = torch.arange(14, dtype=torch.float32).reshape(7, 2)    # keys 0..6, each [2k, 2k+1]
    bank.push(keys[:3])
    bank.push(keys[3:5])
    assert int(bank.pointer) == 0 and int(bank.count) == 5
    torch.testing.assert_close(bank.ordered(), keys[:5])           # oldest first
    bank.push(keys[5:7])                                          # overwrites the two oldest (0 and 1)
    torch.testing.assert_close(bank.ordered(), keys[2:7])
    torch.testing.assert_close(bank.keys[:2], keys[5:7])
    bank.push(torch.arange(40, dtype=torch.float32).reshape(20, 2))   # more than the bank holds: keep the newest
    torch.testing.assert_close(bank.ordered(), torch.arange(30, 40, dtype=torch.float32).reshape(5, 2))


def test_pair_with_first_and_video_discriminator_shapes():
    v = torch.randn(2, 6, 3, 16, 16)
    p = mh.pair_with_first(v)
    assert p.shape == (2, 5, 6, 16, 16)
    torch.testing.assert_close(p[:, :, :3], v[:, :1].expand(2, 5, 3, 16, 16))
    torch.testing.assert_close(p[:, :, 3:], v[:, 1:])
    d = mh.VideoDiscriminator(mh.VideoDiscriminatorConfig(base_channels=4))
    out = d(v)
    assert len(out) == 2 and out[0].shape[:2] == (2, 1) and out[1].shape[-1] < out[0].shape[-1]
    flat = mh.VideoDiscriminator(mh.VideoDiscriminatorConfig(base_channels=4, pair_first=False))
    assert flat.prepare(v).shape == (2, 3, 6, 16, 16)
    with pytest.raises(ValueError, match="D_V input: expected clips of T >= 2"):
        d(torch.randn(2, 1, 3, 16, 16))


def test_image_discriminator_returns_logit_and_projection():
    d = mh.ImageDiscriminator(mh.ImageDiscriminatorConfig(width=4, proj_dim=7), size=16).eval()
    logit, proj = d(torch.randn(3, 3, 16, 16))
    assert logit.shape == (3,) and proj.shape == (3, 7)
    x = torch.randn(3, 3, 16, 16)
    torch.testing.assert_close(d.project(x), d(x)[1])


def test_augmentations_are_seeded_and_change_images():
    x = torch.rand(6, 3, 16, 16) * 2 - 1
    a = mh.augment(x, torch.Generator().manual_seed(0))
    b = mh.augment(x, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    assert (a - x).abs().flatten(1).amax(1).min() > 0              # every image changed
    from vidsynth_lite.models.mocogan_hd import augmentations as aug
    cut = aug.cutout(torch.ones(4, 3, 16, 16), torch.Generator().manual_seed(1))
    zeros = (cut == 0).all(1).flatten(1).sum(1)
    assert ((zeros >= 4) & (zeros <= 16)).all()                    # squares of side 2..4 at S = 16
    torch.testing.assert_close(aug.affine(x, torch.Generator().manual_seed(0), angle=0, shift=0, scale=0), x,
                               rtol=1e-5, atol=1e-5)
