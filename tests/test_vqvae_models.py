"""The chapter's three networks (Walker et al. 2021): paper shapes, causality, fast == naive sampling."""

import math
from dataclasses import replace

import pytest
import torch
from vqvae_smoke import smoke_sizes

from vidsynth_lite.checks import InputError
from vidsynth_lite.models.vqvae import (
    BottomPrior,
    TopPrior,
    VideoPredictor,
    VideoVQVAE,
    VQVAEModels,
    bottom_prior_loss,
    compression,
    latent_volumes,
    top_prior_loss,
    vqvae_loss,
)

_smoke = smoke_sizes


def test_full_config_is_the_papers_table_3_to_8():
    c = VQVAEModels()
    assert (c.vqvae.size, c.vqvae.frames, c.vqvae.num_codes, c.vqvae.code_dim) == (256, 16, 512, 64)
    assert (c.vqvae.hidden, c.vqvae.residual, c.vqvae.layers, c.vqvae.beta) == (128, 32, 2, 0.25)
    assert (c.top.hidden, c.top.residual, c.top.layers, c.top.heads, c.top.kernel, c.top.dropout) == \
        (512, 1024, 40, 8, 3, 0.5)
    assert c.top.layers // c.top.attn_every == 8 and c.bottom.layers // c.bottom.attn_every == 4
    assert (c.bottom.layers, c.bottom.kernel, c.bottom.dropout, c.bottom.cond_layers) == (20, 5, 0.0, 20)
    assert c.vqvae.bottom_shape == (8, 64, 64) and c.vqvae.top_shape == (4, 32, 32)
    # Sec. 3.1: "a greater than 98% reduction in bits" (1.3% in the introduction)
    assert round(compression(c.vqvae)["ratio"] * 100, 1) == 1.3


def test_latent_shapes_of_the_paper_configuration():
    """256x256x16 video -> bottom 64x64x8 and top 32x32x4 codes, decoded back to 256x256x16 (tiny widths,
    the real strides, kernels and resolution)."""
    cfg = replace(VQVAEModels().vqvae, hidden=4, residual=2, layers=1, num_codes=8, code_dim=2)
    torch.manual_seed(0)
    model = VideoVQVAE(cfg).eval()
    video = torch.rand(1, 16, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        out = model(video)
    assert out.bottom.codes.shape == (1, 8, 64, 64)
    assert out.top.codes.shape == (1, 4, 32, 32)
    assert out.recon.shape == video.shape


def test_full_priors_take_the_paper_latents_on_meta_device():
    """Full-width priors (Tables 4-8), built on the meta device: logits over 512 codes for 3 top slices of
    32x32 and 6 bottom slices of 64x64."""
    c = VQVAEModels()
    with torch.device("meta"):
        top, bottom = TopPrior(c.top), BottomPrior(c.bottom)
        lt = top(torch.zeros(1, 1, 32, 32, dtype=torch.long), torch.zeros(1, 2, 64, 64, dtype=torch.long),
                 torch.zeros(1, 3, 32, 32, dtype=torch.long))
        lb = bottom(torch.zeros(1, 4, 32, 32, dtype=torch.long), torch.zeros(1, 8, 64, 64, dtype=torch.long))
    assert lt.shape == (1, 512, 3, 32, 32)
    assert lb.shape == (1, 512, 6, 64, 64)


@pytest.mark.parametrize("video, message", [
    (torch.zeros(1, 6, 3, 32, 32), "T = 6 must be a multiple of 4"),
    (torch.zeros(16, 3, 32, 32), r"expected 5 dimensions \[B, T, C, H, W\]"),
    (torch.zeros(1, 16, 1, 32, 32), "expected 3 channels"),
    (torch.zeros(1, 16, 3, 36, 36), "multiples of 8"),
    (torch.full((1, 16, 3, 32, 32), 200.0), r"values must lie in \[-1, 1\].*uint8"),
    (torch.full((1, 16, 3, 32, 32), float("nan")), "NaN"),
    (torch.zeros(1, 16, 3, 32, 32, dtype=torch.uint8), "float tensor"),
])
def test_bad_video_is_one_clear_error_at_every_entry_point(video, message):
    """Issue 9: a 4-D tensor or [0, 255] values fail at once, naming what was expected -- when training
    (forward), encoding and predicting."""
    model = VideoVQVAE(_smoke().vqvae)
    with pytest.raises(InputError, match=message):
        model.train()(video)
    with pytest.raises(InputError, match=message):
        model.encode(video)
    predictor = VideoPredictor(model, TopPrior(_smoke().top), BottomPrior(_smoke().bottom))
    if video.dim() == 5:
        with pytest.raises(InputError, match=message if video.shape[1] % 4 == 0 else "T = 4 frames"):
            predictor.predict(video[:, :4] if video.shape[1] % 4 == 0 else video)


def test_training_steps_read_no_tensor_on_the_host_after_the_first():
    """On the meta device every host read raises. The VQ-VAE's first training step checks the data's values
    (one read); after it, a step of each network -- loss, logged terms, backward -- reads nothing."""
    sizes = _smoke()
    with torch.device("meta"):
        vq, top, bottom = VideoVQVAE(sizes.vqvae).train(), TopPrior(sizes.top).train(), BottomPrior(sizes.bottom)
        video = torch.zeros(2, 16, 3, 32, 32)
        codes = {"top": torch.zeros(2, 4, 4, 4, dtype=torch.long), "bottom": torch.zeros(2, 8, 8, 8, dtype=torch.long)}
    with pytest.raises(RuntimeError, match="meta"):
        vqvae_loss(vq, video)                                            # the first step's value check
    vq._values_checked = True                                             # as after a first step on a GPU
    for model, loss_fn, batch in [(vq, vqvae_loss, video), (top, top_prior_loss, codes),
                                  (bottom.train(), bottom_prior_loss, codes)]:
        loss, logs = loss_fn(model, batch)
        loss.backward()
        assert all(v.device.type == "meta" for v in logs.values()), loss_fn.__name__


def test_bottom_masking_zeroes_the_bottom_layer_in_training():
    cfg = replace(_smoke().vqvae, bottom_mask_prob=1.0)
    torch.manual_seed(0)
    model = VideoVQVAE(cfg)
    video = torch.rand(2, 16, 3, 32, 32) * 2 - 1
    model.train()
    out = model(video)
    model.eval()
    with torch.no_grad():
        top_only = model.decode(out.bottom.codes, out.top.codes, mask_bottom=True)
    torch.testing.assert_close(out.recon.detach(), top_only, rtol=1e-5, atol=1e-5)


def _smoke_models(seed=0):
    c = _smoke()
    torch.manual_seed(seed)
    return (VideoVQVAE(c.vqvae).double().eval(), TopPrior(c.top).double().eval(),
            BottomPrior(c.bottom).double().eval())


def _codes(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 32, (2, 4, 4, 4), generator=g), torch.randint(0, 32, (2, 8, 8, 8), generator=g)


def test_top_prior_is_causal_in_time_and_raster_order():
    _, top, _ = _smoke_models()
    t_codes, b_codes = _codes()
    target = t_codes[:, 1:]                                                   # [2, 3, 4, 4]
    base = top(t_codes[:, :1], b_codes[:, :2], target)
    n = target[0].numel()
    for p in (0, 5, 16, 30, n - 1):
        t, y, x = p // 16, (p // 4) % 4, p % 4
        changed = target.clone()
        changed[:, t, y, x] = (changed[:, t, y, x] + 1) % 32
        diff = (top(t_codes[:, :1], b_codes[:, :2], changed) - base).abs().amax(dim=(0, 1)).flatten()
        assert torch.all(diff[:p + 1] == 0), f"top logits at or before {p} changed"
        if p < n - 1:
            assert diff[p + 1:].max() > 0


def test_bottom_prior_is_causal_across_and_within_slices():
    _, _, bottom = _smoke_models()
    t_codes, b_codes = _codes(1)
    base = bottom(t_codes, b_codes)                                           # [2, K, 6, 8, 8]
    for n, y, x in [(2, 0, 0), (3, 4, 5), (5, 7, 7), (7, 3, 2)]:
        changed = b_codes.clone()
        changed[:, n, y, x] = (changed[:, n, y, x] + 1) % 32
        diff = (bottom(t_codes, changed) - base).abs().amax(dim=(0, 1))      # [6, 8, 8]
        s = n - 2
        flat = diff.flatten()
        p = (s * 8 + y) * 8 + x
        assert torch.all(flat[:p + 1] == 0), f"bottom logits at or before slice {n} ({y}, {x}) changed"
        assert flat[p + 1:].numel() == 0 or flat[p + 1:].max() > 0
        assert torch.all(diff[s + 3:] == 0) if s + 3 < 6 else True          # window of 2 past slices
    # a change in the conditioning slices reaches only the slices whose window holds them
    changed = b_codes.clone()
    changed[:, 1] = (changed[:, 1] + 1) % 32
    diff = (bottom(t_codes, changed) - base).abs().amax(dim=(0, 1, 3, 4))    # [6]
    assert diff[0] > 0 and diff[1] > 0 and torch.all(diff[2:] == 0)


@pytest.mark.parametrize("window, layers", [(2, 1), (4, 4)])
def test_bottom_prior_sees_exactly_its_window_of_past_slices(window, layers):
    """Slice m is conditioned on slices m - w .. m - 1 (Tables 7-8 at full: w = 4 through 4 stride-2
    convolutions; the text's 2 at smoke): changing all of slice n moves the logits of slice n (later
    positions), of the w slices after it, and of nothing else."""
    cfg = replace(_smoke().bottom, past_window=window, past_layers=layers)
    torch.manual_seed(0)
    bottom = BottomPrior(cfg).double().eval()
    t_codes, b_codes = _codes(4)
    base = bottom(t_codes, b_codes)                                           # [2, K, 6, 8, 8]
    for n in range(8):
        changed = b_codes.clone()
        changed[:, n] = (changed[:, n] + 1) % 32
        moved = (bottom(t_codes, changed) - base).abs().amax(dim=(0, 1, 3, 4)) > 0   # [6]: slices 2..7
        assert moved.tolist() == [n <= m <= n + window for m in range(2, 8)], f"slice {n}"


def test_fast_sampler_equals_naive_sampler_for_both_priors():
    _, top, bottom = _smoke_models(2)
    t_codes, b_codes = _codes(2)
    g = torch.Generator().manual_seed(0)
    u_top = torch.rand(2, 3, 4, 4, generator=g, dtype=torch.float64)
    u_bot = torch.rand(2, 6, 8, 8, generator=g, dtype=torch.float64)
    for temperature in (1.0, 1.2):
        fast = top.sample(t_codes[:, :1], b_codes[:, :2], u_top, temperature, fast=True)
        naive = top.sample(t_codes[:, :1], b_codes[:, :2], u_top, temperature, fast=False)
        assert torch.equal(fast, naive)
    full_top = torch.cat([t_codes[:, :1], fast], 1)
    for temperature in (1.2,):                                              # the naive bottom loop is slow
        fast_b = bottom.sample(full_top, b_codes[:, :2], u_bot, temperature, fast=True)
        naive_b = bottom.sample(full_top, b_codes[:, :2], u_bot, temperature, fast=False)
        assert fast_b.shape == (2, 6, 8, 8) and torch.equal(fast_b, naive_b)


def test_predictor_returns_videos_and_latent_volumes_are_assembled_from_the_conditioning_frames():
    vq, top, bottom = _smoke_models(3)
    video = torch.rand(2, 16, 3, 32, 32, dtype=torch.float64) * 2 - 1
    vols = {k: v.long() for k, v in latent_volumes(vq, video).items()}
    b_c, t_c = vq.encode(video[:, :4])
    assert torch.equal(vols["top"][:, :1], t_c) and torch.equal(vols["bottom"][:, :2], b_c)
    b_all, t_all = vq.encode(video)
    assert torch.equal(vols["top"][:, 1:], t_all[:, 1:]) and torch.equal(vols["bottom"][:, 2:], b_all[:, 2:])
    # a dataset of dict items gives the same volumes as a tensor
    from_dataset = latent_volumes(vq, [{"video": v} for v in video], batch_size=1)
    assert from_dataset["top"].dtype == torch.int16 and torch.equal(from_dataset["top"].long(), vols["top"])
    out = VideoPredictor(vq, top, bottom).predict(video[:, :4], samples=3,
                                                   generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 3, 16, 3, 32, 32) and out.abs().max() <= 1
    assert not torch.equal(out[0, 0], out[0, 1])                            # samples differ
    assert math.isfinite(float(out.sum()))
