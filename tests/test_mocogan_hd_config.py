"""Chapter 7 profiles: every YAML file resolves; full is the papers' configuration (built on the meta device)."""

import dataclasses

import pytest
import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters import mocogan_hd as ch
from vidsynth_lite.models import mocogan_hd as mh
from vidsynth_lite.models import stylegan2 as sg


@pytest.fixture(autouse=True)
def _no_env_profile(monkeypatch):
    monkeypatch.delenv("VIDSYNTH_PROFILE", raising=False)


@pytest.mark.parametrize("profile", ["smoke", "lite", "full"])
def test_profiles_resolve_and_validate(profile):
    cfg = vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": profile}).validate()
    assert ch.image_config(cfg).size == cfg.size
    if profile != "full":
        assert cfg.size == 32 and cfg.style_dim < 512 and cfg.hidden < 384


def test_full_is_the_papers_sizes_on_the_meta_device():
    cfg = vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "full"}).validate()
    assert ch.image_config(cfg) == sg.StyleGAN2Config()                       # StyleGAN2 config F at 256x256
    recipe = ch.image_recipe(cfg)
    paper = sg.StyleGAN2Training()
    assert (recipe.batch, recipe.lr, recipe.r1_gamma, recipe.r1_every, recipe.pl_weight, recipe.pl_every,
            recipe.mixing, recipe.ema_kimg) == (paper.batch, paper.lr, paper.r1_gamma, paper.r1_every,
                                                paper.pl_weight, paper.pl_every, paper.mixing, paper.ema_kimg)
    motion = ch.motion_config(cfg, cross_domain=False)
    assert motion == mh.MotionConfig()                                       # App. A.1 / official code
    assert ch.motion_config(cfg, cross_domain=True).residual_scale < motion.residual_scale
    assert ch.video_discriminator_config(cfg, cross_domain=False) == mh.VideoDiscriminatorConfig()
    d_i = ch.image_discriminator_config(cfg)
    assert dataclasses.asdict(d_i) == dataclasses.asdict(mh.ImageDiscriminatorConfig())
    training = mh.MoCoGANHDTraining()
    assert (cfg.frames, cfg.motion_batch, cfg.motion_lr, cfg.g_steps_per_d, cfg.w_contrastive, cfg.w_mutual,
            cfg.w_match, cfg.gp_weight) == (training.frames, training.batch, training.lr, training.g_steps_per_d,
                                            training.w_contrastive, training.w_mutual, training.w_match,
                                            training.gp_weight)
    with torch.device("meta"):
        G, D = sg.Generator(ch.image_config(cfg)), sg.Discriminator(ch.image_config(cfg))
        pca = mh.LatentPCA(torch.empty(512), torch.empty(512, 512), torch.empty(512), torch.empty(512))
        M = mh.MotionGenerator(motion, pca)
        d_v = mh.VideoDiscriminator(ch.video_discriminator_config(cfg, cross_domain=False))
        d_img = mh.ImageDiscriminator(d_i, cfg.size)
    n = {name: sum(p.numel() for p in m.parameters()) for name, m in
         (("G", G), ("D", D), ("M", M), ("D_V", d_v), ("D_I", d_img))}
    # StyleGAN2 config F at 256x256: about 30 M (G, rosinality's port: 30.0 M) and 29 M (D) parameters
    assert 29e6 < n["G"] < 31e6 and 28e6 < n["D"] < 30e6, n
    assert G.num_ws == 14
    # G_M: two LSTMCells 512 -> 384 (2 x 4 x 384 x (512 + 384 + 2)), W [384 x 384], H: 384 -> 512 -> 512
    lstm = 2 * 4 * 384 * (512 + 384 + 2)
    assert n["M"] == lstm + 384 * 384 + 384 + 384 * 512 + 512 + 512 * 512 + 512
    assert [layer[0].out_channels for layer in d_v.scales[0].layers] == [64, 128, 256, 512, 1]   # Tab. 6


def test_bad_values_are_clear_errors():
    with pytest.raises(vl.config.ConfigError, match="mi_input"):
        vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "lite", "mi_input": "c"})
    with pytest.raises(ValueError, match="eval_videos"):
        vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "lite", "eval_videos": 95}).validate()
    with pytest.raises(ValueError, match="n_pca"):
        vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "lite", "n_pca": 200}).validate()
