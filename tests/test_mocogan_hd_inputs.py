"""Bad input to the public entry points of StyleGAN2 and MoCoGAN-HD fails at once with one message naming what was
expected (``vidsynth_lite.checks.InputError``), never later with an unpacking or convolution error, and never
silently (a target in [0, 255] inverted without complaint). Each case below reaches a different error, or none,
without its check."""

import pytest
import torch

from vidsynth_lite import checks
from vidsynth_lite.chapters import mocogan_hd as ch
from vidsynth_lite.models import mocogan_hd as mh
from vidsynth_lite.models import stylegan2 as sg

TINY = sg.StyleGAN2Config(size=16, style_dim=8, n_mlp=2, channel_base=128, channel_max=16)
InputError = checks.InputError


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    return sg.Generator(TINY).eval()


def _motion(d=8):
    codes = torch.randn(200, d, generator=torch.Generator().manual_seed(0))
    cfg = mh.MotionConfig(style_dim=d, hidden=6, n_pca=4, noise_dim=5, mi_hidden=7)
    return mh.MotionGenerator(cfg, mh.fit_pca(codes))


# --- StyleGAN2 ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("z, expected", [
    (torch.randn(3, 7), r"z: expected latent codes \[N, 8\] \(the last dimension is the latent size 8\)"),
    (torch.randn(3, 2, 8), r"z: expected latent codes \[N, 8\], got 3 dimensions"),
    (torch.zeros(3, 8, dtype=torch.long), r"z: expected latent codes \[N, 8\] as a float tensor, got dtype"),
])
def test_generator_rejects_latents_of_the_wrong_size_rank_or_dtype(G, z, expected):
    with pytest.raises(InputError, match=expected):
        G(z)


def test_synthesis_rejects_wrong_codes_and_noise_maps(G):
    with pytest.raises(InputError, match=r"ws: expected \[N, 8\] or \[N, 6, 8\] \(one code per layer\)"):
        G.synthesis(torch.randn(2, 5, 8))
    noise = G.synthesis.make_noise(2)
    with pytest.raises(InputError, match=r"noise: expected 5 noise maps \(one per styled convolution\), got 4"):
        G.synthesis(torch.randn(2, 8), noise[:-1])
    with pytest.raises(InputError, match=r"noise\[0\]: expected a noise map \[2, 1, 4, 4\], got \(3, 1, 4, 4\)"):
        G.synthesis(torch.randn(2, 8), [torch.randn(3, 1, 4, 4)] + noise[1:])


def test_render_frames_wants_trajectories_and_one_noise_draw_per_video(G):
    with pytest.raises(InputError, match=r"ws: expected latent codes \[B, T, 8\], got 2 dimensions"):
        sg.render_frames(G.synthesis, torch.randn(6, 8))
    per_frame = G.synthesis.make_noise(6)                              # B * T maps instead of B
    with pytest.raises(InputError, match=r"noise \(one draw per video\)\[0\]: expected a noise map \[2, 1, 4, 4\]"):
        sg.render_frames(G.synthesis, torch.randn(2, 3, 8), per_frame)
    assert sg.render_frames(G.synthesis, torch.randn(2, 3, 8)).shape == (2, 3, 3, 16, 16)


@pytest.mark.parametrize("x, expected", [
    (torch.randn(2, 1, 3, 16, 16), r"expected 4 dimensions \[B, C, H, W\]"),
    (torch.randn(2, 1, 16, 16), r"expected 3 channels"),
    (torch.randn(2, 3, 32, 32), r"expected frames of 16x16"),
    (torch.zeros(2, 3, 16, 16, dtype=torch.uint8), r"expected a float tensor \[B, C, H, W\], got dtype torch.uint8"),
])
def test_discriminator_rejects_wrong_images_by_shape(x, expected):
    with pytest.raises(InputError, match=f"Discriminator input: {expected}"):
        sg.Discriminator(TINY)(x)


def test_discriminator_reads_no_values_inside_a_training_step():
    """Generated images are not clamped while training: values beyond [-1, 1] must pass (a range check here
    would also synchronise with the GPU at every step)."""
    assert sg.Discriminator(TINY)(3 * torch.randn(2, 3, 16, 16)).shape == (2,)


def test_modulated_conv_names_the_channels_and_style_it_expects():
    conv = sg.ModulatedConv2d(5, 7, 3, style_dim=6)
    with pytest.raises(InputError, match=r"ModulatedConv2d: x must be \[N, 5, H, W\], got \(2, 4, 9, 9\)"):
        conv(torch.randn(2, 4, 9, 9), torch.randn(2, 6))
    with pytest.raises(InputError, match=r"style: expected latent codes \[N, 6\]"):
        conv(torch.randn(2, 5, 9, 9), torch.randn(2, 5))
    with pytest.raises(InputError, match=r"one style per sample expected \(\[2, 6\]\)"):
        conv(torch.randn(2, 5, 9, 9), torch.randn(3, 6))


# --- MoCoGAN-HD --------------------------------------------------------------------------------------------------
def test_motion_generator_rejects_wrong_codes_frames_and_noise():
    M = _motion()
    with pytest.raises(InputError, match=r"z1 \(content codes in the style space\): expected latent codes \[N, 8\]"):
        M(torch.randn(2, 9), 4)
    with pytest.raises(InputError, match=r"got 3 dimensions"):
        M(torch.randn(2, 4, 8), 4)
    with pytest.raises(InputError, match=r"frames: expected an int >= 1, got 2.5"):
        M(torch.randn(2, 8), 2.5)
    with pytest.raises(InputError, match=r"noise: expected eps \[2, 3, 5\] \(B, frames - 1, noise_dim\)"):
        M(torch.randn(2, 8), 4, noise=torch.randn(2, 4, 5))
    assert M(torch.randn(2, 8), 4).codes.shape == (2, 4, 8)


@pytest.mark.parametrize("video, expected", [
    (torch.randn(2, 3, 16, 16), r"expected 5 dimensions \[B, T, C, H, W\]"),
    (torch.randn(2, 4, 1, 16, 16), r"expected 3 channels"),
    (torch.randn(2, 1, 3, 16, 16), r"expected clips of T >= 2 frames"),
])
def test_video_discriminator_rejects_wrong_clips(video, expected):
    d = mh.VideoDiscriminator(mh.VideoDiscriminatorConfig(base_channels=4))
    with pytest.raises(InputError, match=f"D_V input: {expected}"):
        d(video)


def test_image_discriminator_and_augmentations_reject_wrong_images():
    d = mh.ImageDiscriminator(mh.ImageDiscriminatorConfig(width=4, proj_dim=7), size=16)
    with pytest.raises(InputError, match=r"D_I input: expected frames of 16x16"):
        d(torch.randn(2, 3, 32, 32))
    with pytest.raises(InputError, match=r"D_I input: expected 4 dimensions"):
        d.project(torch.randn(2, 2, 3, 16, 16))
    with pytest.raises(InputError, match=r"images to augment: expected 4 dimensions \[B, C, H, W\]"):
        mh.augment(torch.randn(2, 4, 3, 16, 16))


def test_contrastive_pieces_check_widths():
    with pytest.raises(InputError, match=r"queue: expected keys \[K, 4\] \(the views' width\)"):
        mh.info_nce(torch.randn(3, 4), torch.randn(3, 4), torch.randn(8, 5))
    with pytest.raises(InputError, match=r"MemoryBank.push: expected keys \[n, 4\]"):
        mh.MemoryBank(8, 4).push(torch.randn(2, 3))
    with pytest.raises(InputError, match=r"noise_pred and noise must have the same shape"):
        mh.mutual_information_loss(torch.randn(2, 3, 5), torch.randn(2, 4, 5))
    with pytest.raises(InputError, match=r"codes: expected trajectories \[B, T, D\]"):
        mh.interpolate_codes(torch.randn(3, 8), 2)


def test_sampling_and_pca_check_the_latent_size(G):
    with pytest.raises(InputError, match=r"codes \(trajectories\): expected latent codes \[B, T, 8\]"):
        mh.sampling.render(G, torch.randn(2, 3, 9), G.synthesis.make_noise(2))
    pca = mh.fit_pca(torch.randn(50, 8))
    with pytest.raises(InputError, match=r"w: expected latent codes \[N, 8\]"):
        pca.project(torch.randn(4, 6))


def test_inversion_checks_its_target_values_once_at_the_entry(G):
    frame = torch.rand(2, 3, 16, 16) * 2 - 1
    w0 = G.mean_w(64)
    with pytest.raises(InputError, match=r"target \(first frames to invert\): values must lie in \[-1, 1\], "
                                         r"found \[[\d.]+, 25[\d.]+\] \(uint8-range values\? use x / 127.5 - 1\)"):
        mh.invert(G.synthesis, (frame + 1) * 127.5, w0, steps=1)
    with pytest.raises(InputError, match=r"target \(first frames to invert\): expected frames of 16x16"):
        mh.invert(G.synthesis, torch.zeros(2, 3, 8, 8), w0, steps=1)
    with pytest.raises(InputError, match=r"target \(first frames to invert\): expected 4 dimensions"):
        mh.invert(G.synthesis, frame[:, None], w0, steps=1)
    with pytest.raises(InputError, match=r"w_init: expected latent codes \[8\] or \[N, 8\]"):
        mh.invert(G.synthesis, frame, torch.zeros(7), steps=1)
    with pytest.raises(InputError, match=r"w_init: expected \[8\] or \[2, 8\] \(one code per target\)"):
        mh.invert(G.synthesis, frame, torch.zeros(3, 8), steps=1)
    w, history = mh.invert(G.synthesis, frame, w0, steps=2)
    assert w.shape == (2, 8) and len(history) == 2


def test_chapter_training_functions_check_their_data_once(tmp_path):
    cfg = ch.MoCoGANHDChapterConfig(profile="smoke").validate()
    images = torch.rand(4, 3, cfg.size, cfg.size)                       # in [0, 1]: fine
    with pytest.raises(InputError, match=r"images: values must lie in \[-1, 1\], found \[.*\] \(uint8-range"):
        ch.train_image_generator(cfg, images * 255, steps=1, run_dir=tmp_path / "g", progress=False)
    with pytest.raises(InputError, match=rf"images: expected frames of {cfg.size}x{cfg.size}"):
        ch.train_image_generator(cfg, torch.zeros(4, 3, 2 * cfg.size, 2 * cfg.size), steps=1,
                                 run_dir=tmp_path / "g", progress=False)
    clips = torch.zeros(2, cfg.frames + 1, 3, cfg.size, cfg.size)
    with pytest.raises(InputError, match=rf"videos: expected T = {cfg.frames} frames"):
        ch.train_motion_generator(cfg, None, None, clips, steps=1, run_dir=tmp_path / "m", progress=False)
    assert not (tmp_path / "g").exists() and not (tmp_path / "m").exists()    # nothing half-written
