"""StyleGAN2's modulated convolution, demodulation, FIR resampling and networks (Karras et al. 2020, Sec. 2)."""

import math

import pytest
import torch
import torch.nn.functional as F

from vidsynth_lite.models.stylegan2 import (
    Discriminator,
    Generator,
    ModulatedConv2d,
    StyleGAN2Config,
    render_frames,
)
from vidsynth_lite.models.stylegan2.layers import Blur, Upsample, fir_kernel

TINY = StyleGAN2Config(size=16, style_dim=8, n_mlp=2, channel_base=128, channel_max=16)


def test_modulated_conv_equals_per_sample_ordinary_conv_with_the_modulated_kernel():
    torch.manual_seed(0)
    conv = ModulatedConv2d(5, 7, 3, style_dim=6)
    x, style = torch.randn(4, 5, 9, 9), torch.randn(4, 6)
    grouped = conv(x, style)                                      # one grouped convolution for the batch
    for n in range(4):
        s = conv.modulation(style[n:n + 1])[0]                   # [in]
        w = conv.scale * conv.weight[0] * s[None, :, None, None]  # Eq. 1, by hand
        w = w / torch.sqrt(w.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)   # Eq. 3
        ref = F.conv2d(x[n:n + 1], w, padding=1)
        torch.testing.assert_close(grouped[n:n + 1], ref, rtol=1e-5, atol=1e-5)


def test_demodulation_gives_unit_norm_output_channels_for_unit_variance_input():
    torch.manual_seed(1)
    conv = ModulatedConv2d(64, 32, 3, style_dim=16)
    style = torch.randn(3, 16) * 3                               # strong, varied styles
    w = conv.modulated_weight(style)                             # [N, out, in, k, k]
    norms = w.pow(2).sum(dim=(2, 3, 4)).sqrt()
    torch.testing.assert_close(norms, torch.ones_like(norms), rtol=1e-4, atol=1e-4)
    # consequence (Sec. 2.2): i.i.d. unit-variance inputs give unit-variance outputs, whatever the style
    x = torch.randn(3, 64, 48, 48)
    std = conv(x, style)[:, :, 2:-2, 2:-2].std(dim=(2, 3))       # [N, out], away from the zero padding
    assert (std - 1).abs().max() < 0.1
    # without demodulation the scale follows the style
    raw = ModulatedConv2d(64, 32, 3, style_dim=16, demodulate=False)
    raw.load_state_dict(conv.state_dict())
    assert (raw(x, style * 10)[:, :, 2:-2, 2:-2].std() - 1).abs() > 0.5


def test_fir_upsample_preserves_a_constant_and_doubles_the_size():
    up = Upsample()
    x = torch.full((1, 2, 5, 5), 0.7)
    y = up(x)
    assert y.shape == (1, 2, 10, 10)
    torch.testing.assert_close(y[..., 2:-2, 2:-2], torch.full_like(y[..., 2:-2, 2:-2], 0.7))
    assert math.isclose(float(fir_kernel().sum()), 1.0, rel_tol=1e-6)
    blur = Blur((2, 1))
    torch.testing.assert_close(blur(x)[..., 2:-2, 2:-2], torch.full((1, 2, 1, 1), 0.7).expand(1, 2, 1, 1))


def test_generator_and_discriminator_shapes_and_ws_count():
    torch.manual_seed(0)
    g, d = Generator(TINY), Discriminator(TINY)
    assert g.num_ws == 2 * 4 - 2 == 6
    img = g(torch.randn(5, 8))
    assert img.shape == (5, 3, 16, 16)
    assert d(img).shape == (5,)
    with pytest.raises(ValueError, match=r"ws: expected latent codes \[N, 8\]"):
        g.synthesis(torch.randn(5, 7))
    with pytest.raises(ValueError, match=r"Discriminator input: expected frames of 16x16"):
        d(torch.randn(5, 3, 8, 8))
    with pytest.raises(ValueError, match="power of two"):
        StyleGAN2Config(size=24).validate()


def test_noise_maps_change_the_image_and_zero_noise_is_deterministic():
    torch.manual_seed(0)
    g = Generator(TINY)
    for m in g.modules():                                         # give the noise a visible strength
        if hasattr(m, "strength"):
            m.strength.data.fill_(0.5)
    w = g.mapping(torch.randn(2, 8))
    zero = g.synthesis.make_noise(2, zero=True)
    a, b = g.synthesis(w, zero), g.synthesis(w, zero)
    assert torch.equal(a, b)
    assert not torch.allclose(g.synthesis(w), g.synthesis(w))


def test_render_frames_keeps_one_noise_draw_over_a_video():
    torch.manual_seed(0)
    g = Generator(TINY)
    for m in g.modules():
        if hasattr(m, "strength"):
            m.strength.data.fill_(1.0)
    w = g.mapping(torch.randn(2, 8))
    ws = w[:, None].expand(2, 5, 8)                               # a still trajectory: the same code 5 times
    video = render_frames(g.synthesis, ws)                        # [B, T, 3, H, W]
    assert video.shape == (2, 5, 3, 16, 16)
    torch.testing.assert_close(video, video[:, :1].expand_as(video))   # same code + same noise = same frame
    assert not torch.allclose(video[0, 0], video[1, 0])
