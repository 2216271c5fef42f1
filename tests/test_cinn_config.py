"""The chapter's profiles: full = the paper's sizes (built on the meta device), smoke / lite fit together."""

from __future__ import annotations

import pytest
import torch

from vidsynth_lite import config
from vidsynth_lite.chapters import cinn as ch
from vidsynth_lite.models import cinn as cm


@pytest.fixture(autouse=True)
def _no_env_profile(monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)


def test_full_profile_is_the_papers_sizes_on_the_meta_device():
    cfg = config.resolve(ch.CINNChapterConfig, {"profile": "full"})
    cfg.validate()
    m = ch.model_configs(cfg, "pushbot", control=True)
    paper = cm.CINNModels()
    assert m.encoder == paper.encoder                        # B.1: 3D ResNet-18, d_z = 64, BAIR 64x64x16
    assert m.decoder == paper.decoder                        # six video residual blocks, ch_f = 64
    assert m.discriminator == paper.discriminator
    assert (m.cinn.n_flows, m.cinn.hidden, m.cinn.depth, m.cinn.lr) == (20, 512, 2, 1e-5)
    assert m.cinn.control_bins == (10, 10, 10) and m.cinn.cond_dim == 64 + 30
    assert (m.loss.l1, m.loss.feature_matching, m.loss.gradient_penalty, m.loss.kl, m.loss.lr) == (
        10.0, 10.0, 10.0, 1e-5, 2e-4)
    with torch.device("meta"):
        cvae = cm.VideoCVAE(m.encoder, m.decoder)
        flow = cm.CINN(m.cinn)
        x0, video = torch.empty(2, 3, 64, 64), torch.empty(2, 16, 3, 64, 64)
        recon, mu, _, _ = cvae(x0, video)
        nu, log_det = flow(mu, torch.empty(2, m.cinn.cond_dim), reverse=True)   # (no data-dependent start)
    assert recon.shape == (2, 16, 3, 64, 64) and nu.shape == (2, 64) and log_det.shape == (2,)
    n_params = sum(p.numel() for p in cvae.decoder.parameters())
    assert n_params > 100e6                                  # the official decoder is ~150M parameters


@pytest.mark.parametrize("profile", ["smoke", "lite"])
def test_small_profiles_validate_and_build(profile):
    cfg = config.resolve(ch.CINNChapterConfig, {"profile": profile})
    cfg.validate()
    for world in cfg.worlds:
        m = ch.model_configs(cfg, world, control=True)
        cm.VideoCVAE(m.encoder, m.decoder)
        assert m.cinn.control_bins == ch.control_bins(world)


def test_sizes_that_cannot_fit_raise_one_clear_error():
    with pytest.raises(config.ConfigError, match="model sizes do not fit"):
        config.resolve(ch.CINNChapterConfig, {"profile": "smoke", "enc_channels": [8, 8]}).validate()
    with pytest.raises(config.ConfigError, match="worlds must be"):
        config.resolve(ch.CINNChapterConfig, {"profile": "smoke", "worlds": ["faces"]}).validate()
