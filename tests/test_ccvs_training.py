"""CCVS's autoencoder training step: Eqs. 5-6 in the paper's notation and the known GAN reimplementation bugs
(a discriminator update that reaches the autoencoder, real and fake clips fed in different layouts, a temporal
discriminator whose time axis is not the clip's)."""

import pytest
import torch

from vidsynth_lite import nn as vnn
from vidsynth_lite.models.ccvs import Autoencoder, AutoencoderConfig, LossConfig
from vidsynth_lite.models.ccvs.training import (
    discriminator_step,
    generator_step,
    image_discriminator,
    video_discriminator,
)


def _ae():
    torch.manual_seed(0)
    return Autoencoder(AutoencoderConfig(size=16, levels=3, widths=(8, 8, 4), num_codes=16, code_dim=4,
                                         flow_hidden=(4, 4, 4), proj_min=4))


def _loss_cfg(**kw):
    base = {"perceptual": False, "self_supervision": True, "context_train": 2, "elastic": 0.02}
    return LossConfig(**{**base, **kw})


def _clips(b=2, t=3):
    g = torch.Generator().manual_seed(3)
    return torch.rand(b, t, 3, 16, 16, generator=g) * 2 - 1


def test_eq5_and_eq6_in_the_papers_notation():
    """Eq. 5: L_d = ln(1 + e^{Delta(x)}) + ln(1 + e^{-Delta(x_hat)}); Eq. 6: L_a = ln(1 + e^{Delta(x_hat)}), with
    Delta scoring fakeness; the package's losses take D = -Delta."""
    delta_real, delta_fake = torch.tensor([-2.0, 0.5]), torch.tensor([1.5, -0.3])
    l_d = (torch.log1p(torch.exp(delta_real)).mean() + torch.log1p(torch.exp(-delta_fake)).mean())
    l_a = torch.log1p(torch.exp(delta_fake)).mean()
    torch.testing.assert_close(vnn.nonsaturating_d_loss(-delta_real, -delta_fake), l_d)
    torch.testing.assert_close(vnn.nonsaturating_g_loss(-delta_fake), l_a)
    # the generator's loss falls when the discriminator finds its output more real (Delta lower)
    assert float(vnn.nonsaturating_g_loss(-(delta_fake - 1))) < float(l_a)


def test_discriminator_update_cannot_reach_the_autoencoder():
    ae = _ae()
    d_img, d_vid = image_discriminator((4, 4, 4)), video_discriminator((4, 4, 4))
    clips = _clips(t=4)                                                  # Delta_t pools time twice
    out = generator_step(ae, clips, _loss_cfg(), beta=0.25, beta_on="commitment",
                         generator=torch.Generator().manual_seed(0), disc_image=d_img, disc_video=d_vid)
    assert out.fake_images is not None and out.fake_clips is not None
    assert not out.fake_images.requires_grad and not out.fake_clips.requires_grad
    d_loss, logs = discriminator_step(clips, out, disc_image=d_img, disc_video=d_vid, r1_weight=16.0)
    assert set(logs) == {"d_image", "d_video"}
    grads = torch.autograd.grad(d_loss, list(ae.parameters()) + list(d_img.parameters()), allow_unused=True)
    n_ae = len(list(ae.parameters()))
    assert all(g is None for g in grads[:n_ae])                          # nothing reaches E, Q, D, F
    assert any(g is not None and g.abs().sum() > 0 for g in grads[n_ae:])  # Delta_i does learn


def test_generator_loss_reaches_the_autoencoder_through_both_discriminators():
    ae = _ae()
    d_img, d_vid = image_discriminator((4, 4, 4)), video_discriminator((4, 4, 4))
    cfg = _loss_cfg(rgb=True, lambda_r=0.0, lambda_q=0.0, lambda_c=0.0)   # only L_a is left
    out = generator_step(ae, _clips(t=4), cfg, beta=0.25, beta_on="commitment",
                         generator=torch.Generator().manual_seed(0), disc_image=d_img, disc_video=d_vid)
    assert {"adv_image", "adv_video"} <= set(out.logs)
    grads = torch.autograd.grad(out.loss, list(ae.decoder.parameters()), allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


class _Recorder(torch.nn.Module):
    """A discriminator that records what it is shown and scores the mean of its input."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.w * x.flatten(1).mean(1)


def test_real_and_fake_reach_each_discriminator_in_one_layout():
    """Delta_t sees real and decoded clips as [B, 3, T, H, W] (time on axis 2, frames in their order); Delta_i
    sees as many real frames as fake ones."""
    ae = _ae()
    clips = _clips(b=2, t=3)
    d_img, d_vid = _Recorder(), _Recorder()
    out = generator_step(ae, clips, _loss_cfg(), beta=0.25, beta_on="commitment",
                         generator=torch.Generator().manual_seed(0), disc_image=d_img, disc_video=d_vid,
                         video_clips=2)
    d_img.seen.clear()
    d_vid.seen.clear()
    discriminator_step(clips, out, disc_image=d_img, disc_video=d_vid)
    real_img, fake_img = d_img.seen
    assert real_img.shape == fake_img.shape == (2 * 3, 3, 16, 16)
    real_vid, fake_vid = d_vid.seen
    assert real_vid.shape == fake_vid.shape == (2, 3, 3, 16, 16)
    torch.testing.assert_close(real_vid, clips.transpose(1, 2))          # frames in time order on axis 2
    torch.testing.assert_close(fake_vid[:, :, 0], clips[:, 0])            # the decoded clip starts from the real
    assert not torch.allclose(fake_vid[:, :, 1], fake_vid[:, :, 2])       # frame, then its own decoded frames


def test_r1_is_applied_on_real_inputs_only_when_asked():
    ae = _ae()
    d_img = image_discriminator((4, 4, 4))
    clips = _clips()
    out = generator_step(ae, clips, _loss_cfg(video_gan=False), beta=0.25, beta_on="commitment",
                         generator=torch.Generator().manual_seed(0), disc_image=d_img)
    plain, _ = discriminator_step(clips, out, disc_image=d_img, r1_weight=0.0)
    lazy, _ = discriminator_step(clips, out, disc_image=d_img, r1_gamma=10.0, r1_weight=16.0)
    real = clips.flatten(0, 1)[: out.fake_images.shape[0]].requires_grad_(True)
    scores = d_img(real)
    r1 = vnn.r1_penalty(real, scores)
    assert float(lazy.detach()) == pytest.approx(float(plain.detach()) + 16.0 * 10.0 / 2 * float(r1.detach()),
                                                 rel=1e-4)
