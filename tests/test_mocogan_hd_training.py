"""Training MoCoGAN-HD and StyleGAN2 with the shared loop: the frozen image generator stays bit-identical, every
ablation switches off what it says, path length and R1 behave, the run resumes exactly."""

import math

import pytest
import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters import mocogan_hd as ch
from vidsynth_lite.models import mocogan_hd as mh
from vidsynth_lite.models import stylegan2 as sg
from vidsynth_lite.models.stylegan2 import training as sg_training


@pytest.fixture(scope="module")
def smoke():
    cfg = vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "smoke", "frames": 6, "ckpt_every": 1,
                                                        "curve_every": 1, "fid_images": 48})
    torch.manual_seed(0)
    G = vl.nn.freeze(sg.Generator(ch.image_config(cfg)))
    pca = mh.style_space_pca(G.mapping, cfg.style_dim, samples=256)
    videos = torch.rand(6, cfg.frames, 3, cfg.size, cfg.size) * 2 - 1
    return cfg, G, pca, videos


def test_frozen_image_generator_stays_bit_identical_while_the_motion_generator_trains(smoke, tmp_path):
    cfg, G, pca, videos = smoke
    before = vl.nn.snapshot(G)
    run = ch.train_motion_generator(cfg, G, pca, videos, steps=3, run_dir=tmp_path / "m", progress=False)
    assert vl.nn.changed_since(G, before) == []
    assert all(p.grad is None for p in G.parameters())
    motion = run.parts["motion"].model
    fresh = ch.build_motion_generator(cfg, pca)
    moved = [n for n, p in motion.named_parameters() if not torch.equal(p, dict(fresh.named_parameters())[n])]
    assert moved, "the motion generator did not train"


@pytest.mark.parametrize("variant", list(ch.VARIANTS))
def test_each_ablation_switches_off_its_terms(smoke, tmp_path, variant):
    cfg, G, pca, videos = smoke
    run = ch.train_motion_generator(cfg, G, pca, videos, steps=2, run_dir=tmp_path / "v", variant=variant,
                                    progress=False)
    logged = set(run.history[-1])
    assert ("mutual" in logged) == (variant != "w/o L_m")
    assert ("contrastive" in logged) == (variant not in ("w/o L_contr", "w/o D_I"))
    assert ("d_image" in logged) == (variant != "w/o D_I")
    assert run.parts["motion"].model.cfg.residual == (variant != "w/o Eq. 2")


def test_cross_domain_step_uses_unpaired_clips(smoke, tmp_path):
    cfg, G, pca, videos = smoke
    run = ch.train_motion_generator(cfg, G, pca, videos, steps=2, run_dir=tmp_path / "x", cross_domain=True,
                                    progress=False)
    assert not run.parts["D_V"].model.cfg.pair_first
    assert run.parts["motion"].model.cfg.residual_scale == cfg.cross_residual_scale
    assert "contrastive" in run.history[-1]


def test_motion_training_resumes_exactly(smoke, tmp_path):
    cfg, G, pca, videos = smoke
    straight = ch.train_motion_generator(cfg, G, pca, videos, steps=4, run_dir=tmp_path / "a", progress=False)
    ch.train_motion_generator(cfg, G, pca, videos, steps=2, run_dir=tmp_path / "b", progress=False)
    resumed = ch.train_motion_generator(cfg, G, pca, videos, steps=4, run_dir=tmp_path / "b", progress=False)
    assert resumed.resumed_from == 2
    for name in ("motion", "D_V", "D_I"):
        a, b = straight.parts[name].model.state_dict(), resumed.parts[name].model.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_memory_bank_fills_with_momentum_keys(smoke, tmp_path):
    cfg, G, pca, videos = smoke
    run = ch.train_motion_generator(cfg, G, pca, videos, steps=3, run_dir=tmp_path / "k", progress=False)
    d_i = run.parts["D_I"].model
    assert int(d_i.bank.count) == 3 * 2 * cfg.motion_batch              # two views per clip per step
    assert not any(p.requires_grad for p in d_i.key.parameters())
    online = dict(d_i.disc.named_parameters())
    assert any(not torch.equal(p, online[n]) for n, p in d_i.key.named_parameters())   # lags behind


def test_stylegan2_trains_with_lazy_r1_and_path_length(tmp_path):
    cfg = vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "smoke", "pl_weight": 2.0, "pl_every": 2,
                                                        "r1_every": 2, "ckpt_every": 1, "curve_every": 2})
    images = torch.rand(16, 3, cfg.size, cfg.size) * 2 - 1
    run = ch.train_image_generator(cfg, images, steps=4, run_dir=tmp_path / "g", progress=False,
                                   snapshot_every=2, log_every=1)
    logs = run.history
    assert "r1" in logs[0] and "path_length" in logs[0] and "r1" not in logs[1]   # steps 0, 2: lazy
    assert float(run.parts["G"].model.path_length_mean) > 0
    points = ch.curve_points(tmp_path / "g")
    assert [p["step"] for p in points] == [2, 4] and points[1]["cpu_s"] >= points[0]["cpu_s"]
    assert ch.load_snapshot(points[-1]["path"], cfg).cfg == ch.image_config(cfg)


def test_path_lengths_equal_the_jacobian_norm_for_a_linear_synthesis():
    class Linear(torch.nn.Module):                  # image = A w (one style), so J^T y = A^T y exactly
        def __init__(self):
            super().__init__()
            self.A = torch.randn(3 * 4 * 4, 5)

        def forward(self, ws):
            return (ws.mean(1) @ self.A.T).reshape(-1, 3, 4, 4)

    torch.manual_seed(0)
    synth = Linear()
    ws = torch.randn(2, 3, 5)
    torch.manual_seed(1)
    got = sg_training.path_lengths(synth, ws)
    torch.manual_seed(1)
    y = torch.randn(2, 3, 4, 4) / 4.0                                     # the same draw: y / sqrt(H W)
    jt_y = (y.reshape(2, -1) @ synth.A) / 3                                # d/d ws[:, l] of sum(img * y)
    want = jt_y.pow(2).sum(1).sqrt()                                       # the same for each of the 3 layers
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_style_mixing_switches_codes_at_one_layer():
    torch.manual_seed(0)
    G = sg.Generator(sg.StyleGAN2Config(size=16, style_dim=8, n_mlp=1, channel_base=64, channel_max=8))
    ws = sg_training.mixed_styles(G, 64, mixing=1.0, device="cpu")
    changes = (ws[:, 1:] != ws[:, :-1]).any(-1).sum(1)
    assert (changes == 1).all()
    assert (sg_training.mixed_styles(G, 8, mixing=0.0, device="cpu").diff(dim=1) == 0).all()


def test_inversion_recovers_a_code_the_generator_made():
    torch.manual_seed(0)
    G = sg.Generator(sg.StyleGAN2Config(size=16, style_dim=8, n_mlp=2, channel_base=64, channel_max=8)).eval()
    for p in G.parameters():
        p.requires_grad_(False)
    for to_rgb in [G.synthesis.to_rgb1, *G.synthesis.to_rgbs]:     # the image is linear in the ToRGB weights:
        to_rgb.conv.weight.mul_(0.25)                                 # scale it into [-1, 1], as a real frame is
    w_true = G.mapping(torch.randn(3, 8))
    noise = G.synthesis.make_noise(3, zero=True)
    target = G.synthesis(w_true, noise)
    assert target.abs().max() <= 1                                     # invert() rejects frames outside [-1, 1]
    mean = G.mean_w(256)
    start = float(torch.nn.functional.mse_loss(G.synthesis(mean[None].expand(3, -1), noise), target))
    _w, history = mh.invert(G.synthesis, target, mean, steps=150, lr=0.05)
    assert history[-1] < 0.05 * start and math.isfinite(history[-1])
    assert all(p.grad is None for p in G.parameters())
