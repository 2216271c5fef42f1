"""Chapter 3 profiles: every YAML file resolves; full is the paper's configuration; lite/smoke are smaller."""

import pytest

import vidsynth_lite as vl
from vidsynth_lite.chapters.vqvae import VQVAEChapterConfig, model_configs
from vidsynth_lite.models.vqvae import VQVAEModels


@pytest.mark.parametrize("profile", ["smoke", "lite", "full"])
def test_profiles_resolve(profile, monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)
    cfg = vl.config.resolve(VQVAEChapterConfig, {"profile": profile})
    sizes = model_configs(cfg)
    assert sizes.vqvae.size == cfg.size and sizes.top.frames == cfg.frames == 16
    if profile == "full":
        assert cfg.size == 256 and cfg.cond_frames == 4
        assert sizes == VQVAEModels()                       # Tables 3-8 unchanged
        assert (cfg.vq_batch, cfg.top_batch, cfg.bottom_batch) == (16, 512, 32)
    else:
        assert sizes.vqvae.hidden < 128 and sizes.top.layers < 40 and sizes.bottom.layers < 20


def test_bad_parameter_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)
    with pytest.raises(vl.config.ConfigError, match="size"):
        vl.config.resolve(VQVAEChapterConfig, {"profile": "lite", "size": 48})
