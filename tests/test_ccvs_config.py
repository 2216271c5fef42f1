"""Chapter 4 profiles: every YAML resolves; full builds the paper's networks (checked on the meta device)."""

import pytest
import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters import ccvs as chapter
from vidsynth_lite.chapters.ccvs import CCVSChapterConfig, layouts, profile_configs, row_configs
from vidsynth_lite.models.ccvs import Autoencoder, CCVSConfig, CCVSTransformer


@pytest.fixture(autouse=True)
def _no_env_profile(monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)


@pytest.mark.parametrize("profile", ["smoke", "lite", "full"])
def test_profiles_resolve_and_validate(profile):
    cfg = vl.config.resolve(CCVSChapterConfig, {"profile": profile}).validate()
    sizes = profile_configs(profile, cfg)
    assert sizes.autoencoder.tokens_side == cfg.tokens_side and sizes.autoencoder.size == cfg.size
    assert len(sizes.autoencoder.widths) == sizes.autoencoder.levels


def test_full_profile_builds_the_papers_networks_on_the_meta_device():
    cfg = vl.config.resolve(CCVSChapterConfig, {"profile": "full"}).validate()
    sizes = profile_configs("full", cfg)
    paper = CCVSConfig()
    assert sizes.autoencoder == paper.autoencoder and sizes.transformer.n_layer == 24
    assert (cfg.size, cfg.tokens_side ** 2, cfg.codes, cfg.context, cfg.top_k) == (256, 64, 1024, 15, 100)
    assert sizes.autoencoder.level_sizes == (8, 16, 32, 64, 128, 256)
    with torch.device("meta"):
        ae = Autoencoder(sizes.autoencoder)
        t = CCVSTransformer(layouts(sizes)["state"], sizes.transformer.n_layer, sizes.transformer.n_head,
                            sizes.transformer.n_embd)
    assert t.layout.block_size == 16 * (2 + 64) and t.layout.vocab_size == 1024 + 128   # x_z_len 1056 (official)
    assert ae.quantizer.codebook.shape == (1024, 512)
    assert 300e6 < t.gpt.num_params() < 320e6                    # 24 x 12 x 1024^2 + embeddings


def test_ablation_rows_switch_what_table1_says():
    sizes = profile_configs("smoke")
    ae_rgb, loss_rgb = row_configs(sizes, "RGB")
    ae_f, loss_f = row_configs(sizes, "+ F")
    assert not ae_rgb.flow and not loss_rgb.perceptual and not loss_rgb.image_gan
    assert ae_f.flow and loss_f.video_gan and not loss_f.self_supervision
    with pytest.raises(ValueError, match="row"):
        row_configs(sizes, "+ magic")


def test_bad_parameters_are_clear_errors():
    with pytest.raises(vl.config.ConfigError, match="multiple"):
        vl.config.resolve(CCVSChapterConfig, {"profile": "lite", "test_videos": 10}).validate()
    with pytest.raises(vl.config.ConfigError, match="tokens_side"):
        vl.config.resolve(CCVSChapterConfig, {"profile": "lite", "tokens_side": 3})


def test_pretrain_trains_every_other_table1_row_once():
    assert sorted(chapter.ROWS_BY_PRIORITY) == sorted(set(chapter.ROWS) - {chapter.FINAL_ROW})
