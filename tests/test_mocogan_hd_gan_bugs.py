"""The known GAN reimplementation bugs (TAKEOVER review list), each with a test that fails on the bug.

- a "frozen" image generator that still trains (MoCoGAN-HD's official ``toggle_grad`` writes
  ``param.required_grad``, a typo that leaves every parameter trainable);
- per-video inputs repeated over frames in the wrong order (``repeat`` where ``repeat_interleave`` is meant, a
  ``reshape`` where a ``transpose`` is meant);
- discriminator scores split on the wrong axis, or a discriminator whose score of one clip depends on the other
  clips of the batch (batch norm), so that splitting a joint batch into real and fake halves is wrong.
"""

import pytest
import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters import mocogan_hd as ch
from vidsynth_lite.models import mocogan_hd as mh
from vidsynth_lite.models import stylegan2 as sg
from vidsynth_lite.models.mocogan_hd import training as mh_training

TINY = sg.StyleGAN2Config(size=16, style_dim=8, n_mlp=2, channel_base=128, channel_max=16)


@pytest.fixture(scope="module")
def smoke():
    return vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": "smoke", "frames": 6, "ckpt_every": 1,
                                                         "curve_every": 1, "fid_images": 48})


# -- 1. frozen means frozen ------------------------------------------------------------------------------------
def test_an_unfrozen_image_generator_handed_to_motion_training_still_does_not_move(smoke, tmp_path):
    """The official code's typo leaves the generator trainable; ours must not depend on the caller freezing it:
    the shared loop freezes the part that has no optimizer, and not one weight or buffer may change."""
    cfg = smoke
    torch.manual_seed(0)
    G = sg.Generator(ch.image_config(cfg)).train()                      # NOT frozen: requires_grad, train mode
    for p in G.parameters():
        p.required_grad = False                                         # the official typo: a no-op attribute
    assert all(p.requires_grad for p in G.parameters())
    pca = mh.style_space_pca(G.mapping, cfg.style_dim, samples=256)
    videos = torch.rand(6, cfg.frames, 3, cfg.size, cfg.size) * 2 - 1
    before = vl.nn.snapshot(G)
    run = ch.train_motion_generator(cfg, G, pca, videos, steps=2, run_dir=tmp_path / "m", progress=False)
    assert vl.nn.changed_since(G, before) == []
    assert all(p.grad is None for p in G.parameters()), "gradients were accumulated in the image generator"
    assert not any(p.requires_grad for p in G.parameters())
    motion = run.parts["motion"].model
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in motion.parameters())


def test_the_motion_loss_reaches_the_motion_generator_through_the_frozen_synthesis():
    """Frozen is not detached: d(loss)/d(G_M) must be non-zero through the frozen image generator."""
    torch.manual_seed(0)
    G = vl.nn.freeze(sg.Generator(TINY))
    pca = mh.style_space_pca(G.mapping, TINY.style_dim, samples=128)
    M = mh.MotionGenerator(mh.MotionConfig(style_dim=8, hidden=6, n_pca=4, noise_dim=5, mi_hidden=7), pca)
    w1 = G.mapping(torch.randn(2, 8))
    video = sg.render_frames(G.synthesis, M(w1, 3).codes)               # [B, T, 3, H, W]
    video[:, 1:].square().mean().backward()
    assert M.to_coeffs.weight.grad is not None and M.to_coeffs.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in G.parameters())


# -- 2. per-video inputs over frames in the right order ------------------------------------------------------
def test_render_frames_frame_t_of_video_b_is_code_t_of_video_b_with_noise_b():
    """A wrong fold (``ws.transpose(0, 1).reshape``) or ``noise.repeat`` in place of ``repeat_interleave`` mixes
    videos: compare every frame with a direct one-image synthesis."""
    torch.manual_seed(0)
    G = sg.Generator(TINY).eval()
    for m in G.modules():
        if hasattr(m, "strength"):
            m.strength.data.fill_(0.5)                                  # noise visible in the image
    b, t = 3, 4
    ws = G.mapping(torch.randn(b * t, 8)).reshape(b, t, 8)             # a different code per frame and video
    noise = G.synthesis.make_noise(b)
    video = sg.render_frames(G.synthesis, ws, noise)                    # [B, T, 3, H, W]
    for i in range(b):
        for j in range(t):
            one = G.synthesis(ws[i, j][None], [m[i:i + 1] for m in noise])[0]
            torch.testing.assert_close(video[i, j], one, rtol=1e-4, atol=1e-5)


def test_video_discriminator_input_is_a_transpose_not_a_reshape():
    """``prepare`` must put channels first by a transpose: frame t of the paired clip is slice t on dim 2."""
    v = torch.randn(2, 5, 3, 8, 8)
    paired = mh.VideoDiscriminator(mh.VideoDiscriminatorConfig(base_channels=2)).prepare(v)   # [B, 6, 4, H, W]
    for t in range(4):
        torch.testing.assert_close(paired[:, :3, t], v[:, 0])            # frame 1 in channels 0-2 of every step
        torch.testing.assert_close(paired[:, 3:, t], v[:, t + 1])        # frame t + 2 in channels 3-5
    flat = mh.VideoDiscriminator(mh.VideoDiscriminatorConfig(base_channels=2, pair_first=False)).prepare(v)
    for t in range(5):
        torch.testing.assert_close(flat[:, :, t], v[:, t])


def test_a_swap_keeps_content_noise_with_content_and_motion_with_motion():
    torch.manual_seed(0)
    G = sg.Generator(TINY).eval()
    pca = mh.style_space_pca(G.mapping, 8, samples=128)
    M = mh.MotionGenerator(mh.MotionConfig(style_dim=8, hidden=6, n_pca=4, noise_dim=5, mi_hidden=7), pca)
    inputs = mh.sampling.draw_inputs(G, M, 3, 4, seed=1)
    swapped = mh.sampling.swap(inputs, content_from=torch.tensor([2, 0, 1]), motion_from=torch.tensor([0, 1, 2]))
    torch.testing.assert_close(swapped.content, inputs.content[[2, 0, 1]])
    torch.testing.assert_close(swapped.motion, inputs.motion)
    for a, b in zip(swapped.noise, inputs.noise):
        torch.testing.assert_close(a, b[[2, 0, 1]])


# -- 3. scores per sample, on the batch axis ------------------------------------------------------------------
def _clips(n, seed):
    return torch.randn(n, 5, 3, 16, 16, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("pair_first", [True, False])
def test_video_discriminator_scores_each_clip_alone(pair_first):
    """D_V's score map of a clip must not depend on the other clips of the batch (instance norm, not batch
    norm), and its batch axis is dim 0: scoring real and fake together and splitting on dim 0 equals scoring
    them apart. A batch-norm D_V, or a split on the time axis, fails here."""
    torch.manual_seed(0)
    d = mh.VideoDiscriminator(mh.VideoDiscriminatorConfig(base_channels=2, pair_first=pair_first)).train()
    real, fake = _clips(3, 1), _clips(3, 2)
    joint = d(torch.cat([real, fake]))
    apart_real, apart_fake = d(real), d(fake)
    for j, r, f in zip(joint, apart_real, apart_fake):
        assert j.shape[0] == 6 and j.shape[1] == 1                      # [B, 1, t, h, w]
        torch.testing.assert_close(j[:3], r, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(j[3:], f, rtol=1e-4, atol=1e-5)
    perm = torch.tensor([2, 0, 1])
    for p, s in zip(d(real[perm]), apart_real):
        torch.testing.assert_close(p, s[perm], rtol=1e-4, atol=1e-5)


def test_image_discriminator_scores_each_image_alone():
    torch.manual_seed(0)
    d = mh.ImageDiscriminator(mh.ImageDiscriminatorConfig(width=2, proj_dim=5), size=16).eval()
    a = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    b = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    logit, proj = d(torch.cat([a, b]))
    logit_a, proj_a = d(a)
    torch.testing.assert_close(logit[:3], logit_a, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(proj[:3], proj_a, rtol=1e-4, atol=1e-5)


def test_quality_matching_takes_the_first_frame_as_real_and_a_later_frame_as_fake(monkeypatch):
    """Eq. 5: D_I's loss is hinge(real = x~_1, fake = x~_t). With D_I scoring an image by its mean pixel, a
    video whose first frame is bright (+1) and later frames dark (-1) has loss 0; the swapped order costs 4."""
    from vidsynth_lite import nn as vnn

    calls = []
    monkeypatch.setattr(mh_training, "augment", lambda x, g=None: x)
    real_hinge = vnn.hinge_d_loss

    def spy(real_scores, fake_scores):
        calls.append((real_scores.detach(), fake_scores.detach()))
        return real_hinge(real_scores, fake_scores)

    monkeypatch.setattr(mh_training.vnn, "hinge_d_loss", spy)

    class MeanD(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, x):
            return self.w * x.mean(dim=(1, 2, 3)), x.flatten(1)[:, :4]

    class State(dict):
        def update(self, name, loss):
            self.setdefault("losses", {})[name] = loss.detach()

    d_v = mh.VideoDiscriminator(mh.VideoDiscriminatorConfig(base_channels=2))
    state = State(D_V=d_v, D_I=MeanD())
    fake = torch.cat([torch.ones(2, 1, 3, 16, 16), -torch.ones(2, 4, 3, 16, 16)], 1)   # [B, T, 3, H, W]
    settings = mh_training.StepSettings(frames=5, w_contrastive=0.0, video_loss="nonsaturating")
    mh_training.update_discriminators(state, _clips(2, 5), fake, settings)
    real_scores, fake_scores = calls[-1]
    torch.testing.assert_close(real_scores, torch.ones(2))               # the first frames, as real
    torch.testing.assert_close(fake_scores, -torch.ones(2))              # later frames, as fake
    assert float(state["losses"]["D_I"]) == pytest.approx(0.0)


def test_video_gradient_penalty_is_the_official_per_voxel_form():
    """``compute_gradient_penalty_T`` takes the gradient's norm over the channel axis (one per voxel). For a
    D_V that scores ``sum_c a_c x_c`` at every voxel, that norm is ``||a||`` everywhere: the penalty is
    ``(||a|| - 1)^2``; the norm over the whole clip would give ``(sqrt(T H W) ||a|| - 1)^2`` instead."""
    a = torch.tensor([0.3, -0.2, 0.1, 0.5, 0.4, -0.6])                 # 6 channels: [x_1, x_t] pairs

    class State(dict):
        def update(self, name, loss):
            self.setdefault("losses", {})[name] = loss.detach()

    d_v = mh.VideoDiscriminator(mh.VideoDiscriminatorConfig(base_channels=2))
    d_v.logits = lambda x: [(x * a.view(1, -1, 1, 1, 1)).sum(1, keepdim=True)] * 2   # two scales, same map
    state = State(D_V=d_v)
    settings = mh_training.StepSettings(frames=5, image_discriminator=False, video_loss="ralsgan")
    logs = mh_training.update_discriminators(state, _clips(2, 6), _clips(2, 7), settings)
    assert float(logs["gp"]) == pytest.approx(float((a.norm() - 1) ** 2), rel=1e-5)
