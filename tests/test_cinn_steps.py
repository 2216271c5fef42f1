"""The training steps: the discriminators rest before ``adversarial_from``; every part trains after it; the cINN
step draws a fresh posterior sample each call (samples, not the mean, Sec. 3.2)."""

from __future__ import annotations

import torch

from vidsynth_lite.models import cinn as cm
from vidsynth_lite.models.cinn import steps as cs
from vidsynth_lite.models.cinn.discriminators import TemporalDiscriminator, spatial_discriminator
from vidsynth_lite.train import Part, TrainState


def _state():
    torch.manual_seed(0)
    enc = cm.VideoEncoderConfig(frames=4, size=32, z_dim=8, channels=(8, 8, 8, 8), blocks=1)
    dec = cm.VideoDecoderConfig(frames=4, size=32, z_dim=8, channel_factor=2, widths=(4, 2, 2, 1), spade_hidden=8)
    disc = cm.DiscriminatorConfig(patch_width=4, patch_layers=1, temporal_channels=(4, 8))
    modules = {"cvae": cm.VideoCVAE(enc, dec), "D_T": TemporalDiscriminator(disc), "D_S": spatial_discriminator(disc)}
    parts = {k: Part(m, torch.optim.Adam(m.parameters(), lr=1e-3)) for k, m in modules.items()}
    return TrainState(parts, torch.device("cpu")), modules


def _snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_discriminators_rest_before_adversarial_from_and_train_after():
    state, modules = _state()
    video = torch.rand(2, 5, 3, 32, 32) * 2 - 1
    weights = cm.Stage1Loss(spatial_frames=4)
    for step, expect_d in ((0, False), (5, True)):
        before = {k: _snapshot(m) for k, m in modules.items()}
        state._begin(step)
        logs = cs.stage1_step(state, {"video": video}, weights=weights, adversarial_from=5)
        state._end()
        assert _changed(before["cvae"], modules["cvae"])
        assert _changed(before["D_T"], modules["D_T"]) == expect_d
        assert _changed(before["D_S"], modules["D_S"]) == expect_d
        assert ("g_t" in logs) == expect_d and ("gp" in logs) == expect_d


def test_cinn_step_uses_a_fresh_posterior_sample():
    flow = cm.CINN(cm.CINNConfig(z_dim=4, embed_dim=2, n_flows=1, hidden=8, depth=0))
    batch = {"mu": torch.randn(16, 4), "logvar": torch.zeros(16, 4), "cond": torch.randn(16, 2)}
    flow(batch["mu"], batch["cond"])                                    # ActNorm's start
    a, _ = cs.cinn_step(flow, batch)
    b, _ = cs.cinn_step(flow, batch)
    assert not torch.equal(a, b)                                        # sampled z differs between calls
    sharp = {**batch, "logvar": torch.full((16, 4), -60.0)}             # sigma -> 0: the sample is the mean
    c, _ = cs.cinn_step(flow, sharp)
    d, _ = cs.cinn_step(flow, sharp)
    torch.testing.assert_close(c, d)


def test_one_temporal_discriminator_pass_per_clip_and_role():
    """An adversarial step runs D_T on: real and fake for Eq. 11, then the fake once for both -D_T and l_F and
    the real once for l_F (4 passes). A second pass over the same fake clip only costs CPU time."""
    state, modules = _state()
    calls = []
    original = modules["D_T"].forward_features
    modules["D_T"].forward_features = lambda clip: calls.append(clip.requires_grad) or original(clip)
    state._begin(5)
    cs.stage1_step(state, {"video": torch.rand(2, 5, 3, 32, 32) * 2 - 1}, weights=cm.Stage1Loss(spatial_frames=4),
                   adversarial_from=0)
    state._end()
    assert len(calls) == 4, calls
