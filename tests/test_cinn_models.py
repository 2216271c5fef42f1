"""The cINN chapter's networks: the whole cINN inverts and its log-det is autograd's, the KL is the closed form,
the control layout, the stage-2 checkpoint's guard, the decoder's ablations, the paper's sizes."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from vidsynth_lite.models import cinn as cm

SMALL_FLOW = cm.CINNConfig(z_dim=6, embed_dim=4, n_flows=3, hidden=16, depth=1, control_bins=(3, 2))


def _randomised(flow: cm.CINN) -> cm.CINN:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in flow.parameters():
            p.copy_(0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    for m in flow.modules():
        if isinstance(m, cm.cinn.ActNorm):
            m.initialized.fill_(True)
    return flow


def _cond(flow, b, g, dtype=torch.float64):
    emb = torch.randn(b, 4, generator=g, dtype=dtype)
    eta = cm.one_hot_bins(torch.rand(b, 2, generator=g, dtype=dtype), (3, 2)).to(dtype)
    return flow.condition(emb, eta)


def test_whole_cinn_inverts_to_1e5_in_float64():
    flow = _randomised(cm.CINN(SMALL_FLOW)).double()
    g = torch.Generator().manual_seed(1)
    z, c = torch.randn(64, 6, generator=g, dtype=torch.float64), None
    c = _cond(flow, 64, g)
    nu, log_det = flow(z, c)
    z_back, log_det_back = flow(nu, c, reverse=True)
    assert (z_back - z).abs().max() < 1e-5 and (log_det + log_det_back).abs().max() < 1e-5
    assert (nu - z).abs().max() > 0.1


@pytest.mark.parametrize("official", [False, True])
def test_cinn_log_det_against_autograd_and_the_official_error(official):
    flow = _randomised(cm.CINN(replace(SMALL_FLOW, official_zero_log_det=official))).double()
    g = torch.Generator().manual_seed(2)
    gaps = []
    for _ in range(5):
        z = torch.randn(1, 6, generator=g, dtype=torch.float64)
        c = _cond(flow, 1, g)
        jac = torch.func.jacrev(lambda v, c=c: flow(v[None], c)[0][0])(z[0])
        gaps.append(float(torch.linalg.slogdet(jac).logabsdet - flow(z, c)[1][0]))
    if official:                        # the official log-det misses n_neg * log(alpha) < 0: it is too large
        assert max(gaps) < -1e-3
    else:
        assert max(abs(x) for x in gaps) < 1e-9


def test_kl_matches_closed_form_and_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    ours = cm.kl_divergence(mu, logvar)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(ours, torch.distributions.kl_divergence(q, p).sum(1))
    assert float(cm.kl_divergence(torch.zeros(1, 3), torch.zeros(1, 3))[0]) == 0.0


def test_control_one_hot_layout():
    state = torch.tensor([[0.0, 0.55, 1.0], [0.999, 0.1, 0.25]])
    eta = cm.pushbot_eta(state)
    assert eta.shape == (2, 30) and eta.sum(1).tolist() == [3.0, 3.0]
    assert eta[0].nonzero().flatten().tolist() == [0, 10 + 5, 20 + 9]      # x bin 0, y bin 5, height bin 9 (1.0)
    assert eta[1].nonzero().flatten().tolist() == [9, 10 + 1, 20 + 2]
    torch.testing.assert_close(cm.bin_centres(eta, cm.PUSHBOT_BINS), torch.tensor([[0.05, 0.55, 0.95],
                                                                                   [0.95, 0.15, 0.25]]))
    d = torch.tensor([0.0, math.radians(95.0), -math.radians(5.0), 2 * math.pi])
    sky = cm.sky_eta(d)
    assert sky.shape == (4, 36) and sky.argmax(1).tolist() == [0, 9, 35, 0]
    torch.testing.assert_close(cm.sky_direction_of(sky), torch.tensor([5.0, 95.0, 355.0, 5.0]) * math.pi / 180)
    with pytest.raises(ValueError, match=r"values \[B, 3\]"):
        cm.one_hot_bins(torch.rand(2, 2), cm.PUSHBOT_BINS)


def test_condition_refuses_missing_or_unexpected_control():
    flow = cm.CINN(SMALL_FLOW)
    with pytest.raises(ValueError, match="one-hot control eta"):
        flow.condition(torch.randn(2, 4))
    plain = cm.CINN(replace(SMALL_FLOW, control_bins=()))
    with pytest.raises(ValueError, match="no control input"):
        plain.condition(torch.randn(2, 4), torch.zeros(2, 5))


def _tiny_stage1(**changes):
    enc = cm.VideoEncoderConfig(frames=4, size=32, z_dim=8, channels=(8, 8, 8, 8), blocks=1)
    dec = cm.VideoDecoderConfig(frames=4, size=32, z_dim=8, channel_factor=4, widths=(2, 2, 1, 1), spade_hidden=8,
                                **changes)
    return cm.VideoCVAE(enc, dec)


def test_decoder_shapes_and_ablations():
    torch.manual_seed(0)
    x0, video = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 4, 3, 32, 32) * 2 - 1
    full = _tiny_stage1().eval()
    recon, mu, _logvar, _z = full(x0, video)
    assert recon.shape == (2, 4, 3, 32, 32) and mu.shape == (2, 8) and recon.abs().max() <= 1
    # the start frame changes the output of the full decoder, not of the w/o-x_0 decoder
    other = torch.rand(2, 3, 32, 32) * 2 - 1
    assert (full.decoder(x0, mu) - full.decoder(other, mu)).abs().max() > 1e-4
    no_x0 = _tiny_stage1(use_x0=False).eval()
    torch.testing.assert_close(no_x0.decoder(x0, mu), no_x0.decoder(other, mu))
    assert no_x0.decoder(None, mu).shape == (2, 4, 3, 32, 32)
    no_adain = _tiny_stage1(use_adain=False)
    assert not any(isinstance(m, cm.stage1.AdaIN) for m in no_adain.decoder.modules())
    assert sum(isinstance(m, cm.stage1.AdaIN) for m in full.decoder.modules()) == 4
    with pytest.raises(ValueError, match="x0 of shape"):
        full.decoder(None, mu)
    with pytest.raises(ValueError, match="cannot grow"):
        cm.VideoDecoder(cm.VideoDecoderConfig(frames=64, size=32, widths=(1, 1)))


def test_stage2_checkpoint_refuses_a_stage1_of_another_configuration(tmp_path):
    from vidsynth_lite.chapters import cinn as ch
    from vidsynth_lite.io import CheckpointError

    s1 = _tiny_stage1()
    flow = cm.CINN(replace(SMALL_FLOW, z_dim=8, control_bins=()))
    ae = cm.ImageAE(cm.ImageAEConfig(size=32, z_dim=4, widths=(8, 8, 8)))
    path = ch.save_stage2(tmp_path / "s2.safetensors", flow, ae, s1)
    loaded, _ = ch.load_stage2(path, s1)
    for a, b in zip(loaded.state_dict().values(), flow.state_dict().values()):   # stored as fp16
        torch.testing.assert_close(a, b.half().float() if b.is_floating_point() else b)
    with pytest.raises(CheckpointError, match="another configuration"):
        ch.load_stage2(path, _tiny_stage1(use_adain=False))
    s1_path = ch.save_stage1(tmp_path / "s1.safetensors", s1)
    with pytest.raises(CheckpointError, match="no stage-2"):
        ch.load_stage2(s1_path, s1)
    ch.load_stage2(path, ch.load_stage1(s1_path))                 # the same stage 1 after its fp16 round trip


def test_stage2_checkpoint_refuses_a_stage1_of_the_same_configuration_with_other_weights(tmp_path):
    """A snapshot of the same run, or another seed, has the same config but another posterior."""
    from vidsynth_lite.chapters import cinn as ch
    from vidsynth_lite.io import CheckpointError

    torch.manual_seed(0)
    s1 = _tiny_stage1()
    torch.manual_seed(1)
    other = _tiny_stage1()
    flow = cm.CINN(replace(SMALL_FLOW, z_dim=8, control_bins=()))
    ae = cm.ImageAE(cm.ImageAEConfig(size=32, z_dim=4, widths=(8, 8, 8)))
    path = ch.save_stage2(tmp_path / "s2.safetensors", flow, ae, s1)
    with pytest.raises(CheckpointError, match="other weights"):
        ch.load_stage2(path, other)


def test_paper_sizes_build_on_the_meta_device():
    """``full`` = supplement B.1 (BAIR): d_z 64, ch_f 64, 6 video residual blocks, 20 flow blocks."""
    m = cm.CINNModels()
    with torch.device("meta"):
        cvae = cm.VideoCVAE(m.encoder, m.decoder)
        flow = cm.CINN(m.cinn)
    assert m.decoder.upsampling == [(2, 2)] * 4 + [(1, 1)]     # 1x4x4 -> 16x64x64
    assert len(cvae.decoder.blocks) == 6 and cvae.decoder.blocks[0].conv0.out_channels == 16 * 64
    assert len(flow.flow.blocks) == 20
    assert cvae.encoder.to_mu.out_channels == 64
