"""Recurrent units of TrIVD-GAN-FP Table 2: hand-computed single steps, the TSRU <-> ConvGRU reduction under an
identity warp, hyper-networks that output probability kernels, and the drop-in contract."""

import math

import pytest
import torch

from vidsynth_lite import nn as vnn


def _sig(v):
    return 1.0 / (1.0 + math.exp(-v))


def _set_1x1(conv, weights, bias):
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(weights, dtype=torch.float32).view_as(conv.weight))
        conv.bias.copy_(torch.tensor(bias, dtype=torch.float32))


def test_convgru_single_step_equals_hand_computation():
    gru = vnn.ConvGRU(1, 1, kernel_size=1)
    # gates conv: inputs [h; x] -> outputs [r, u]; candidate conv: [r h; x] -> c
    _set_1x1(gru.gates, [[0.5, -1.0], [2.0, 0.25]], [0.1, -0.3])
    _set_1x1(gru.candidate, [[1.5, 0.5]], [0.2])
    h, x = 0.8, -0.6
    r = _sig(0.5 * h - 1.0 * x + 0.1)                     # Eq. 1
    u = _sig(2.0 * h + 0.25 * x - 0.3)                    # Eq. 4
    c = max(0.0, 1.5 * (r * h) + 0.5 * x + 0.2)           # Eqs. 2-3, rho = ReLU
    expected = u * h + (1 - u) * c                        # Eq. 5
    out = gru(torch.full((1, 1, 1, 1), x), torch.full((1, 1, 1, 1), h))
    assert out.item() == pytest.approx(expected, abs=1e-6)


def test_convlstm_single_step_equals_hand_computation():
    lstm = vnn.ConvLSTM(1, 2, kernel_size=1)              # state = [h, m], one channel each
    # gates conv: inputs [h; x] -> [i, f, o, g]
    _set_1x1(lstm.gates, [[0.3, 0.7], [-0.2, 1.1], [0.9, -0.4], [1.2, 0.6]], [0.0, 0.5, -0.1, 0.05])
    h, m, x = 0.4, -0.3, 0.9
    i = _sig(0.3 * h + 0.7 * x)
    f = _sig(-0.2 * h + 1.1 * x + 0.5)
    o = _sig(0.9 * h - 0.4 * x - 0.1)
    g = max(0.0, 1.2 * h + 0.6 * x + 0.05)
    m_next = f * m + i * g
    h_next = o * max(0.0, m_next)
    out = lstm(torch.full((1, 1, 1, 1), x), torch.tensor([h, m]).view(1, 2, 1, 1))
    torch.testing.assert_close(out.flatten(), torch.tensor([h_next, m_next]), rtol=0, atol=1e-6)


def test_convlstm_needs_an_even_state():
    with pytest.raises(ValueError, match="even"):
        vnn.ConvLSTM(3, 5)


def _convgru_without_reset(tsru_candidate, tsru_gate, channels_in, channels_h):
    """A ConvGRU sharing W_c and W_u with a TSRU and whose reset gate is 1 (W_r = 0, b_r = +inf in effect)."""
    gru = vnn.ConvGRU(channels_in, channels_h)
    with torch.no_grad():
        gru.candidate.load_state_dict(tsru_candidate.state_dict())
        gru.gates.weight.zero_()
        gru.gates.bias.zero_()
        gru.gates.bias[:channels_h] = 1e4                 # r = sigmoid(1e4) = 1
        gru.gates.weight[channels_h:] = tsru_gate.weight  # u's half
        gru.gates.bias[channels_h:] = tsru_gate.bias
    return gru


def test_tsru_c_with_identity_warp_is_convgru_without_reset():
    torch.manual_seed(0)
    x, h = torch.randn(2, 3, 6, 6), torch.randn(2, 4, 6, 6)
    tsru = vnn.TSRUc(3, 4)
    gru = _convgru_without_reset(tsru.candidate, tsru.mix_gate, 3, 4)
    same = tsru.update(x, h, vnn.identity_weights(2, 3, 6, 6))
    torch.testing.assert_close(same, gru(x, h))
    assert not torch.allclose(tsru(x, h), same)           # the predicted (non-identity) warp does change it


def test_ktrajgru_with_identity_warp_is_exactly_convgru():
    torch.manual_seed(1)
    x, h = torch.randn(2, 3, 5, 5), torch.randn(2, 4, 5, 5)
    traj = vnn.KTrajGRU(3, 4)
    gru = vnn.ConvGRU(3, 4)
    gru.gates.load_state_dict(traj.gates.state_dict())
    gru.candidate.load_state_dict(traj.candidate.state_dict())
    torch.testing.assert_close(traj.update(x, h, vnn.identity_weights(2, 3, 5, 5)), gru(x, h))


def test_tsru_variants_differ_only_in_information_flow_under_identity_warp():
    torch.manual_seed(2)
    x, h = torch.randn(1, 2, 4, 4), torch.randn(1, 3, 4, 4)
    ident = vnn.identity_weights(1, 3, 4, 4)
    c, p = vnn.TSRUc(2, 3), vnn.TSRUp(2, 3)
    with torch.no_grad():                                 # TSRU_p's fused conv = [W_c; W_u] of TSRU_c
        p.candidate_and_gate.weight.copy_(torch.cat([c.candidate.weight, c.mix_gate.weight]))
        p.candidate_and_gate.bias.copy_(torch.cat([c.candidate.bias, c.mix_gate.bias]))
    torch.testing.assert_close(c.update(x, h, ident), p.update(x, h, ident))   # h~ = h: c and p coincide


def test_warp_with_open_gate_transports_the_state():
    """u = 1 keeps only the warped state: a left-neighbour kernel moves a dot one pixel right."""
    unit = vnn.TSRUs(1, 1)
    with torch.no_grad():
        unit.mix_gate.weight.zero_()
        unit.mix_gate.bias.fill_(1e4)
    h = torch.zeros(1, 1, 5, 5)
    h[0, 0, 1, 1] = 1.0
    w = torch.zeros(1, 9, 5, 5)
    w[:, 3] = 1.0
    out = unit.update(torch.zeros(1, 1, 5, 5), h, w)
    assert out[0, 0, 1, 2].item() == pytest.approx(1.0) and out.abs().sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize("name", vnn.WARPING_UNITS)
def test_hyper_networks_predict_probability_kernels_and_learn(name):
    torch.manual_seed(3)
    unit = vnn.make_recurrent_unit(name, 4, 6)
    x, h = torch.randn(2, 4, 8, 8), torch.randn(2, 6, 8, 8)
    w = unit.transform(x, h)
    assert w.shape == (2, 9, 8, 8)
    assert (w >= 0).all()
    torch.testing.assert_close(w.sum(1), torch.ones(2, 8, 8))
    assert not torch.allclose(w[:, :, 0, 0], w[:, :, 4, 4])     # position dependent (pixelwise or via S)
    unit(x, h).square().mean().backward()
    grads = [p.grad for p in unit.kernel_net.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


@pytest.mark.parametrize("name", sorted(vnn.RECURRENT_UNITS))
def test_every_unit_is_a_drop_in_replacement(name):
    unit = vnn.make_recurrent_unit(name, 3, 8, warp_kernel=3)
    out = unit(torch.randn(2, 3, 4, 4), torch.randn(2, 8, 4, 4))
    assert out.shape == (2, 8, 4, 4) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="expected x"):
        unit(torch.randn(2, 5, 4, 4), torch.randn(2, 8, 4, 4))


def test_unknown_unit_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown recurrent unit"):
        vnn.make_recurrent_unit("lstm", 1, 2)
