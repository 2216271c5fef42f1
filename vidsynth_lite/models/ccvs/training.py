"""One training step of the CCVS autoencoder: the generator side (E, Q, D, F) and the two discriminators
(Sec. 3.2, Eq. 2; App. A "Image and temporal discriminators"; Sec. 4 "Training details").

A batch is ``clips`` [B, T, 3, H, W] (T = 4 in the official training: one real frame then three decoded). The
generator's loss (Eq. 2) adds, as the :class:`~vidsynth_lite.models.ccvs.config.LossConfig` switches say
(Table 1's columns):

1. **image level** -- every frame ``x_t`` (t >= 1) reconstructed from its own tokens; with F, the previous real
   frame ``x_{t-1}`` is its context (context recovery); ``L_q`` (Eq. 3), ``L_r`` (Eq. 4), ``L_a`` with the image
   discriminator Delta_i (Eq. 6);
2. **self-supervision** ("Sup.") -- the first frame of each clip reconstructed with its augmented view
   ``(1 - o) * B(A(x))`` as context, and ``L_c`` (Eq. 7) on F's flow and mask at every level;
3. **video level** -- the first ``video_clips`` clips decoded autoregressively as at inference (real first
   frame, then each decoded frame re-encoded into the context, gradients only through the previous frame), with
   ``L_r`` and ``L_a`` from the temporal discriminator Delta_t on the decoded clip.

Adversarial losses are the non-saturating logistic loss of Eqs. 5-6; the discriminators get a lazy R1 penalty
(the official code; the paper does not say). Delta_i / Delta_t are StyleGAN2-like residual discriminators, 2D and
3D (App. A), built from the package's ``ResidualDiscriminator`` with leaky ReLU 0.2 and skip gain 1/sqrt(2),
without StyleGAN2's blur filters, minibatch-stddev layer and equalised learning rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from vidsynth_lite import nn as vnn

from .augment import augmented_view
from .autoencoder import Autoencoder
from .config import LossConfig
from .losses import context_loss, quantization_loss, reconstruction_loss
from .synthesis import decode_video


def image_discriminator(widths: tuple) -> torch.nn.Module:
    """Delta_i: residual 2D blocks (each halves the resolution but the last), images [N, 3, H, W] -> [N]."""
    return vnn.ResidualDiscriminator(3, widths, spectral=False, negative_slope=0.2, skip_gain=2 ** -0.5)


def video_discriminator(widths: tuple) -> torch.nn.Module:
    """Delta_t: the same blocks with 3D convolutions, clips [B, 3, T, H, W] -> [B, T'] (App. A)."""
    return vnn.ResidualDiscriminator(3, widths, blocks_3d=len(widths), pool_3d=2, spectral=False,
                                     negative_slope=0.2, skip_gain=2 ** -0.5)


@dataclass
class GeneratorOutput:
    loss: torch.Tensor
    logs: dict[str, torch.Tensor]               # 0-d tensors (read on logging steps only)
    fake_images: torch.Tensor | None = None     # image-level reconstructions, for Delta_i's step   [N, 3, H, W]
    fake_clips: torch.Tensor | None = None      # autoregressively decoded clips, for Delta_t's step [B, T, 3, H, W]
    pictures: dict[str, torch.Tensor] = field(default_factory=dict)


def generator_step(ae: Autoencoder, clips: torch.Tensor, cfg: LossConfig, *, beta: float, beta_on: str,
                   generator: torch.Generator, perceptual=None, disc_image=None, disc_video=None,
                   video_clips: int | None = None) -> GeneratorOutput:
    """Eq. 2 for one batch of clips [B, T, 3, H, W]; see the module docstring for the three parts."""
    b, t = clips.shape[:2]
    if t < 2:
        raise ValueError(f"the autoencoder trains on clips of at least 2 frames, got {tuple(clips.shape)}")
    use_flow = ae.decoder.flow is not None
    percept = perceptual if cfg.perceptual else None
    logs: dict[str, torch.Tensor] = {}

    # 1. image level: every frame's tokens; frames 1..T-1 decoded (with the previous real frame as context)
    quant, z, feats = ae.encode(clips.flatten(0, 1))                               # E, Q on B*T frames
    loss_q = quantization_loss(z, quant, ae.quantizer.lookup(quant.codes), beta, beta_on)   # Eq. 3
    z_q = quant.z_q.view(b, t, *quant.z_q.shape[1:])                               # [B, T, F, h, w]
    feats = [f.view(b, t, *f.shape[1:]) for f in feats]
    target = clips[:, 1:].flatten(0, 1)                                            # [B*(T-1), 3, H, W]
    contexts = [[f[:, :-1].flatten(0, 1) for f in feats]] if use_flow else None
    recon, _ = ae.decode(z_q[:, 1:].flatten(0, 1), contexts)
    loss_r = reconstruction_loss(target, recon, percept, cfg.rgb, cfg.perceptual_frames, generator,
                                 cfg.perceptual_weights)                          # Eq. 4
    fakes = [recon]
    loss = cfg.lambda_q * loss_q
    logs.update(quant=loss_q.detach(), perplexity=torch.as_tensor(quant.perplexity),
                usage=torch.as_tensor(quant.usage), l1=(target - recon).detach().abs().mean())

    # 2. self-supervision of F: frame 0 with its augmented view as the only context
    if cfg.self_supervision and use_flow:
        x0 = clips[:, 0]
        view = augmented_view(x0, cfg, generator)
        _, view_feats = ae.encoder(view.context)
        x0_hat, trace = ae.decode(z_q[:, 0], [view_feats])
        loss_c = context_loss(trace, view.flow, view.occluded)                     # Eq. 7
        loss_r = loss_r + reconstruction_loss(x0, x0_hat, percept, cfg.rgb, cfg.perceptual_frames, generator,
                                              cfg.perceptual_weights)
        loss = loss + cfg.lambda_c * loss_c
        fakes.append(x0_hat)
        logs["context"] = loss_c.detach()

    loss = loss + cfg.lambda_r * loss_r
    fake_images = torch.cat(fakes)
    if cfg.image_gan and disc_image is not None:
        loss_a = vnn.nonsaturating_g_loss(disc_image(fake_images))                # Eq. 6
        loss = loss + cfg.lambda_a * loss_a
        logs["adv_image"] = loss_a.detach()

    # 3. video level: decode like at inference (context = previously decoded frames) for Delta_t
    fake_clips = None
    if cfg.video_gan and disc_video is not None:
        n = b if video_clips is None else min(b, video_clips)
        fake_clips = decode_video(ae, z_q[:n], clips[:n, :1], cfg.context_train if use_flow else 0)
        loss_rv = reconstruction_loss(clips[:n, 1:].flatten(0, 1), fake_clips[:, 1:].flatten(0, 1), percept,
                                      cfg.rgb, cfg.perceptual_frames, generator, cfg.perceptual_weights)
        loss_av = vnn.nonsaturating_g_loss(disc_video(fake_clips.transpose(1, 2)))
        loss = loss + cfg.lambda_r * loss_rv + cfg.lambda_a * loss_av
        logs.update(recon_video=loss_rv.detach(), adv_video=loss_av.detach())
    logs["recon"] = loss_r.detach()
    return GeneratorOutput(loss=loss, logs=logs, fake_images=fake_images.detach(),
                           fake_clips=None if fake_clips is None else fake_clips.detach())


def discriminator_step(clips: torch.Tensor, out: GeneratorOutput, *, disc_image=None, disc_video=None,
                       r1_gamma: float = 10.0, r1_weight: float = 0.0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Eq. 5 for Delta_i (real frames vs the image-level reconstructions) and Delta_t (real vs decoded clips),
    plus ``r1_weight * r1_gamma / 2 * R1`` on real inputs (``r1_weight``: the lazy-regularisation factor, the
    R1 period on the steps that apply it, 0 otherwise)."""
    loss = clips.new_zeros(())
    logs: dict[str, torch.Tensor] = {}
    pairs = []
    if disc_image is not None and out.fake_images is not None:
        real = clips.flatten(0, 1)[: out.fake_images.shape[0]]
        pairs.append(("image", disc_image, real, out.fake_images))
    if disc_video is not None and out.fake_clips is not None:
        real = clips[: out.fake_clips.shape[0]].transpose(1, 2)                    # [B, 3, T, H, W]
        pairs.append(("video", disc_video, real, out.fake_clips.transpose(1, 2)))
    for name, disc, real, fake in pairs:
        real = real.detach().requires_grad_(r1_weight > 0)
        real_scores = disc(real)
        d_loss = vnn.nonsaturating_d_loss(real_scores, disc(fake))                 # Eq. 5
        if r1_weight > 0:
            d_loss = d_loss + r1_weight * r1_gamma / 2 * vnn.r1_penalty(real, real_scores)
        loss = loss + d_loss
        logs[f"d_{name}"] = d_loss.detach()
    return loss, logs


def autoencoder_step_fn(cfg: LossConfig, *, beta: float, beta_on: str, perceptual=None, seed: int = 0,
                        video_clips: int | None = None):
    """The step function of :func:`vidsynth_lite.train.fit_parts` for parts ``"AE"`` (E, Q, D, F) and, when
    adversarial terms are on, ``"D"`` (a ``ModuleDict`` with ``"image"`` and/or ``"video"``): the generator's
    update, then the discriminators' (the official order), R1 every ``cfg.r1_every`` steps. The augmentations
    draw from a generator seeded by the step, so a resumed run sees the same views."""

    def step(state, clips: torch.Tensor) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed * 1_000_003 + state.step)
        discs = state["D"] if "D" in state.parts else {}
        d_image = discs["image"] if "image" in discs else None       # noqa: SIM401 (an nn.ModuleDict has no get)
        d_video = discs["video"] if "video" in discs else None       # noqa: SIM401
        out = generator_step(state["AE"], clips, cfg, beta=beta, beta_on=beta_on, generator=generator,
                             perceptual=perceptual, disc_image=d_image, disc_video=d_video, video_clips=video_clips)
        state.update("AE", out.loss)
        logs = dict(out.logs)
        if d_image is not None or d_video is not None:
            lazy = cfg.r1_every if (cfg.r1_gamma > 0 and state.every(cfg.r1_every)) else 0
            d_loss, d_logs = discriminator_step(clips, out, disc_image=d_image, disc_video=d_video,
                                                r1_gamma=cfg.r1_gamma, r1_weight=lazy)
            state.update("D", d_loss)
            logs.update(d_logs)
        return logs

    return step
