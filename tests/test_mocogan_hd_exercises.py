"""Chapter 7's exercises: a solution that calls the package's (or the library's) implementation fails, the
checkers catch the bugs each exercise is about, and checking leaves the caller's random stream alone.
(``tests/test_exercises.py`` runs every chapter's stub and solution, and every reference-returning cheat.)"""

import pytest
import torch

import vidsynth_lite as vl
from vidsynth_lite.models import mocogan_hd as mh
from vidsynth_lite.models import stylegan2 as sg

CHAPTER_7 = [n for n in vl.exercises.names() if n.startswith("mocogan_hd.")]


def _conv_by_package(x, weight, scales, demodulate):
    out_ch, in_ch, k, _ = weight.shape
    conv = sg.ModulatedConv2d(in_ch, out_ch, k, style_dim=in_ch, demodulate=demodulate)
    return conv(x, scales)


def _codes_by_package(z1, noise, encoder, decoder, to_coeffs, basis, std, lam):
    d, k = basis.shape[1], basis.shape[0]
    cfg = mh.MotionConfig(style_dim=d, hidden=encoder.hidden_size, n_pca=k, noise_dim=noise.shape[-1],
                          residual_scale=lam)
    pca = mh.LatentPCA(torch.zeros(d), basis, std, std)
    return mh.MotionGenerator(cfg, pca)(z1, noise.shape[1] + 1, noise=noise).codes


def _render_by_package(synthesis, ws, noise):
    return sg.render_frames(synthesis, ws, noise)


def _freeze_by_package(image_generator, motion_generator, lr):
    vl.nn.freeze(image_generator)
    return torch.optim.Adam(motion_generator.parameters(), lr=lr)


CHEATS = [("mocogan_hd.modulated_conv", _conv_by_package, "ModulatedConv2d"),
          ("mocogan_hd.motion_codes", _codes_by_package, "vidsynth_lite's"),
          ("mocogan_hd.video_noise", _render_by_package, "render_frames"),
          ("mocogan_hd.frozen_optimizer", _freeze_by_package, "freeze")]


@pytest.mark.parametrize("name, cheat, named", CHEATS, ids=[c[0] for c in CHEATS])
def test_a_solution_that_calls_the_package_fails(name, cheat, named):
    verdict = vl.exercises.check(name, cheat, quiet=True)
    assert not verdict.passed and "write it yourself" in verdict.message and named in verdict.message, \
        verdict.message


def test_every_exercise_with_a_package_twin_has_a_cheat_here():
    assert {name for name, _, _ in CHEATS} | {"mocogan_hd.max_step", "mocogan_hd.quiz_pairing"} == set(CHAPTER_7)
    kinds = {vl.exercises.get(n).kind for n in CHAPTER_7}
    assert {"build", "understand", "debug", "quiz"} <= kinds


def test_the_frozen_optimizer_checker_catches_each_half_of_the_bug():
    def typo_fixed_but_in_optimizer(image_generator, motion_generator, lr):
        image_generator.requires_grad_(False)
        params = list(motion_generator.parameters()) + list(image_generator.parameters())
        return torch.optim.Adam(params, lr=lr)

    def out_of_optimizer_but_typo(image_generator, motion_generator, lr):
        for p in image_generator.parameters():
            p.required_grad = False                                      # the official typo
        return torch.optim.Adam(motion_generator.parameters(), lr=lr)

    def detached(image_generator, motion_generator, lr):                 # freezes G_M too: nothing trains
        image_generator.requires_grad_(False)
        motion_generator.requires_grad_(False)
        return torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=lr)

    first = vl.exercises.check("mocogan_hd.frozen_optimizer", typo_fixed_but_in_optimizer, quiet=True)
    assert not first.passed and "tensors in the optimizer 4" in first.message, first.message
    second = vl.exercises.check("mocogan_hd.frozen_optimizer", out_of_optimizer_but_typo, quiet=True)
    assert not second.passed and "tensors requiring grad 4" in second.message, second.message
    third = vl.exercises.check("mocogan_hd.frozen_optimizer", detached, quiet=True)
    assert not third.passed and "no gradient reaches the motion generator" in third.message, third.message


def test_the_roll_out_checker_catches_a_non_residual_step_and_a_missing_first_code():
    def from_z1(z1, noise, encoder, decoder, to_coeffs, basis, std, lam):   # z_t = z_1 + step: not Eq. 2
        h, c = encoder(z1)
        codes = [z1]
        for t in range(noise.shape[1]):
            h, c = decoder(noise[:, t], (h, c))
            codes.append(z1 + lam * (std * torch.tanh(to_coeffs(h))) @ basis)
        return torch.stack(codes, 1)

    def no_first(z1, noise, encoder, decoder, to_coeffs, basis, std, lam):
        h, c = encoder(z1)
        codes, z = [], z1
        for t in range(noise.shape[1]):
            h, c = decoder(noise[:, t], (h, c))
            z = z + lam * (std * torch.tanh(to_coeffs(h))) @ basis
            codes.append(z)
        return torch.stack(codes, 1)

    verdict = vl.exercises.check("mocogan_hd.motion_codes", from_z1, quiet=True)
    assert not verdict.passed and "values differ" in verdict.message, verdict.message
    verdict = vl.exercises.check("mocogan_hd.motion_codes", no_first, quiet=True)
    assert not verdict.passed and "expected shape" in verdict.message, verdict.message


def test_the_noise_checker_needs_several_videos_to_see_the_bug():
    def tiled(synthesis, ws, noise):
        b, t, d = ws.shape
        img = synthesis(ws.reshape(b * t, d), [m.repeat(t, 1, 1, 1) for m in noise])
        return img.reshape(b, t, *img.shape[1:])

    exercise = vl.exercises.get("mocogan_hd.video_noise")
    one_video = exercise.edge_cases["one video"]()
    torch.testing.assert_close(tiled(*one_video), exercise.reference(*one_video))   # invisible with B = 1
    verdict = vl.exercises.check("mocogan_hd.video_noise", tiled, quiet=True)
    assert not verdict.passed and "values differ" in verdict.message, verdict.message


def test_checking_leaves_the_global_random_stream_alone():
    def solved(image_generator, motion_generator, lr):
        image_generator.requires_grad_(False)
        return torch.optim.Adam(motion_generator.parameters(), lr=lr)

    torch.manual_seed(123)
    state = torch.get_rng_state()
    assert vl.exercises.check("mocogan_hd.frozen_optimizer", solved, quiet=True).passed
    vl.exercises.check("mocogan_hd.motion_codes", _codes_by_package, quiet=True)
    assert torch.equal(torch.get_rng_state(), state)
