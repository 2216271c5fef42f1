"""The invertible blocks of vidsynth_lite.nn.invertible: inversion, log-determinants, ActNorm's start, FrEIA."""

from __future__ import annotations

import math

import pytest
import torch

from vidsynth_lite.nn.invertible import (
    ActNorm,
    AffineCoupling,
    FixedPermutation,
    InvertibleLeakyReLU,
    InvertibleSequence,
    ScaleShiftNet,
    standard_normal_nll,
)

D, C = 6, 3


def _blocks():
    torch.manual_seed(0)

    def net(n_in, n_out):
        m = ScaleShiftNet(n_in, n_out, hidden=16, depth=1)
        for p in m.parameters():                      # non-zero weights: the coupling is not the identity
            torch.nn.init.normal_(p, std=0.3)
        return m

    act = ActNorm(D)
    with torch.no_grad():
        act.log_scale.normal_(std=0.5)
        act.bias.normal_()
    act.initialized.fill_(True)
    return {
        "actnorm": act,
        "leaky_relu": InvertibleLeakyReLU(0.7),
        "coupling": AffineCoupling(D, net(D - D // 2 + C, D // 2), cond_dim=C),
        "coupling_first": AffineCoupling(D, net(D // 2 + C, D - D // 2), cond_dim=C, active_first=True),
        "coupling_clamped": AffineCoupling(D, net(D - D // 2 + C, D // 2), cond_dim=C, clamp=1.5),
        "permutation": FixedPermutation(D, seed=3),
    }


def _chain():
    b = _blocks()
    return InvertibleSequence(b["actnorm"], b["leaky_relu"], b["coupling"], b["coupling_first"], b["permutation"])


@pytest.mark.parametrize("name", [*_blocks(), "chain"])
def test_block_inverts_to_1e5_in_float64(name):
    block = (_chain() if name == "chain" else _blocks()[name]).double()
    g = torch.Generator().manual_seed(1)
    x, c = torch.randn(32, D, generator=g, dtype=torch.float64), torch.randn(32, C, generator=g, dtype=torch.float64)
    y, log_det = block(x, c)
    x_back, log_det_back = block(y, c, reverse=True)
    assert (x_back - x).abs().max() < 1e-5
    assert (log_det + log_det_back).abs().max() < 1e-5
    if name not in ("permutation",):
        assert (y - x).abs().max() > 1e-2          # a non-trivial map


@pytest.mark.parametrize("name", [*_blocks(), "chain"])
@pytest.mark.parametrize("reverse", [False, True])
def test_log_det_matches_autograd_jacobian(name, reverse):
    block = (_chain() if name == "chain" else _blocks()[name]).double()
    g = torch.Generator().manual_seed(2)
    for _ in range(4):
        x, c = torch.randn(1, D, generator=g, dtype=torch.float64), torch.randn(1, C, generator=g, dtype=torch.float64)
        jac = torch.func.jacrev(lambda v, c=c: block(v[None], c, reverse=reverse)[0][0])(x[0])   # [D, D]
        _, log_det = block(x, c, reverse=reverse)
        torch.testing.assert_close(log_det[0], torch.linalg.slogdet(jac).logabsdet, atol=1e-9, rtol=1e-9)


def test_official_zero_log_det_is_wrong_by_the_negative_count():
    x = torch.tensor([[-1.0, 2.0, -3.0, 0.5]], dtype=torch.float64)
    exact = InvertibleLeakyReLU(0.9)(x)[1]
    official = InvertibleLeakyReLU(0.9, official_zero_log_det=True)(x)[1]
    jac = torch.func.jacrev(lambda v: InvertibleLeakyReLU(0.9)(v[None])[0][0])(x[0])
    torch.testing.assert_close(exact[0], torch.linalg.slogdet(jac).logabsdet)
    assert float(official[0]) == 0.0
    assert math.isclose(float(exact[0] - official[0]), 2 * math.log(0.9), rel_tol=1e-12)


def test_actnorm_data_dependent_start_gives_zero_mean_unit_variance():
    g = torch.Generator().manual_seed(0)
    x = 3.0 + 5.0 * torch.randn(256, D, generator=g)
    act = ActNorm(D)
    y, _ = act(x)
    torch.testing.assert_close(y.mean(0), torch.zeros(D), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(0, unbiased=False), torch.ones(D), atol=1e-5, rtol=0)
    assert bool(act.initialized)
    y2, _ = act(x + 10.0)                           # a second batch does not re-initialise
    torch.testing.assert_close(y2, y + 10.0 * act.log_scale.exp(), atol=1e-4, rtol=0)
    loaded = ActNorm(D)
    loaded.load_state_dict(act.state_dict())        # nor does a loaded checkpoint
    torch.testing.assert_close(loaded(x + 10.0)[0], y2)


def test_actnorm_reverse_before_initialisation_does_not_initialise():
    act = ActNorm(D)
    act(torch.randn(4, D), reverse=True)
    assert not bool(act.initialized)


def test_bad_shapes_raise_clear_errors():
    b = _blocks()
    with pytest.raises(ValueError, match=r"expects x of shape \[B, 6\]"):
        b["coupling"](torch.randn(2, 5), torch.randn(2, C))
    with pytest.raises(ValueError, match=r"cond of shape \[2, 3\]"):
        b["coupling"](torch.randn(2, D), None)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        InvertibleLeakyReLU(0.0)


def test_nll_of_model_samples_matches_entropy_estimate():
    """Draw z = f^-1(nu) with nu ~ N(0, I): the mean NLL of the samples, evaluated in the normalising direction,
    equals the entropy estimate H(N(0, I)) - E[log|det df/dz|] computed from the generative direction."""
    flow = _chain().double()
    g = torch.Generator().manual_seed(5)
    nu = torch.randn(4096, D, generator=g, dtype=torch.float64)
    c = torch.randn(4096, C, generator=g, dtype=torch.float64)
    with torch.no_grad():
        z, log_det_gen = flow(nu, c, reverse=True)             # log|det d f^-1 / d nu|
        nll = standard_normal_nll(*flow(z, c))                 # -log p(z), via the normalising direction
    entropy_normal = 0.5 * D * math.log(2 * math.pi * math.e)
    estimate = entropy_normal + log_det_gen.mean()             # H[p_z] = H[q] + E[log|det J_gen|]
    tolerance = 4 * math.sqrt(D / 2) / math.sqrt(len(nu))      # 4 standard errors of mean(0.5 ||nu||^2)
    assert abs(float(nll.mean() - estimate)) < tolerance
    assert abs(float(log_det_gen.mean())) > 10 * tolerance     # a sign error in the log-det would fail
    # the NLL of the model's own samples also estimates the same entropy without the model's help:
    ref = 0.5 * nu.pow(2).sum(1) + 0.5 * D * math.log(2 * math.pi) + log_det_gen
    torch.testing.assert_close(nll, ref, atol=1e-9, rtol=1e-9)


def test_equals_freia_all_in_one_block_on_the_same_weights():
    """FrEIA's AllInOneBlock = affine coupling (clamp * tanh of 0.1 * subnet), a global affine (ActNorm), a hard
    permutation. Ours, composed from the same three pieces and loaded with its weights, gives the same output
    and log-determinant forward and in reverse."""
    fm = pytest.importorskip("FrEIA.modules")
    import numpy as np
    from torch import nn

    np.random.seed(0)
    torch.manual_seed(0)
    clamp = 1.7

    def subnet(n_in, n_out):
        return nn.Sequential(nn.Linear(n_in, 32), nn.ReLU(), nn.Linear(32, n_out))

    ref = fm.AllInOneBlock([(D,)], dims_c=[(C,)], subnet_constructor=subnet, affine_clamping=clamp)
    with torch.no_grad():
        ref.global_scale.normal_(mean=ref.global_scale.mean().item(), std=0.5)
        ref.global_offset.normal_()

    class Scaled(nn.Module):          # FrEIA scales the subnet's output by 0.1 before the clamp
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, h):
            return 0.1 * self.net(h)

    coupling = AffineCoupling(D, Scaled(ref.subnet), cond_dim=C, clamp=clamp)
    act = ActNorm(D)
    with torch.no_grad():
        scale = ref.global_scale_activation(ref.global_scale).reshape(D)
        act.log_scale.copy_(scale.log())
        act.bias.copy_(ref.global_offset.reshape(D))
    act.initialized.fill_(True)
    perm = FixedPermutation(D)
    perm.perm.copy_(ref.w_perm.reshape(D, D).argmax(1))
    perm.inverse.copy_(torch.argsort(perm.perm))
    ours = InvertibleSequence(coupling, act, perm)

    x, c = torch.randn(16, D), torch.randn(16, C)
    (y_ref,), ld_ref = ref([x], [c])
    y, ld = ours(x, c)
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ld, ld_ref, atol=1e-5, rtol=1e-5)
    (x_ref,), ld_ref_rev = ref([y_ref], [c], rev=True)
    x_back, ld_rev = ours(y_ref, c, reverse=True)
    torch.testing.assert_close(x_back, x_ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ld_rev, ld_ref_rev, atol=1e-5, rtol=1e-5)
