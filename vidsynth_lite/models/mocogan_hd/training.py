"""MoCoGAN-HD's objective (Tian et al. 2021, Eq. 7) as one training step of the shared loop: the motion
generator G_M, then the video discriminator D_V and the contrastive image discriminator D_I.

Parts (names used with ``state``): ``"G_img"`` the frozen image generator (no optimizer: the loop checks that not
one of its weights changes), ``"motion"`` G_M, ``"D_V"``, ``"D_I"`` (a :class:`ContrastiveDiscriminator`: D_I, its
momentum copy and the memory bank; only D_I's own layers are optimised).

Generator side (minimised by G_M)::

    L_G = L_adv(D_V, x~)  +  L_adv(D_I, x~_t)  +  w_match * (1 - cos(F(x~_1), F(x~_t)))  +  w_mutual * L_m

- Eq. 4: D_V judges clips (in-domain: each frame paired with the first);
- Eq. 5 (quality matching): D_I takes the generated first frame ``x~_1`` as *real* and a later frame ``x~_t`` as
  *fake*, so every frame is pulled towards the image generator's own first-frame quality;
- feature matching with cosine similarity between the first and a later frame (Sec. 3.2, last paragraph);
- Eq. 3: the mutual-information loss L_m.

Discriminator side: D_V on real vs generated clips, D_I on ``x~_1`` vs ``x~_t`` plus ``w_contrastive * L_contr``
(Eq. 6): in-domain, two augmented frames of one real video are a positive pair; across domains (no videos of the
image domain exist), two augmentations of one generated frame. After D_I's step its momentum copy moves
(``theta_k <- m theta_k + (1 - m) theta``) and the copy's projections of the step's augmented views enter the
memory bank as negatives for later steps.

Losses: D_I uses the hinge loss (the official code); D_V uses ``video_loss`` -- ``"ralsgan"`` (the official
code's relativistic-average LSGAN with its gradient penalty of weight ``gp_weight``: the norm of the input
gradient over the channel axis, one per voxel, as ``compute_gradient_penalty_T`` computes it) or
``"nonsaturating"`` (the standard objective that Eq. 4 writes). Every random draw uses the global generator
(saved in checkpoints).

Where this step differs from the official code (the paper says nothing on these points):

- the clips D_V sees are mirrored left-right per clip with probability 1/2; the official ``flip_video`` instead
  reverses the *time* axis of the whole batch with probability 1/2 (which would hide the arrow of time from
  D_V);
- the D step scores the clips of the last G_M step (generated before that update, detached); the official
  ``D_step`` draws a fresh batch (one more generator pass per step);
- in-domain, the official code replaces D_I by a 2D PatchGAN on ``[x_1, x_t]`` pairs of real and generated
  videos (relativistic LSGAN, no contrastive loss); we follow the paper (Sec. 3.2): Eq. 5's quality matching
  and Eq. 6's content matching in both settings;
- the memory bank holds one queue of the momentum encoder's projections of the step's contrastive views (real
  frames in-domain, generated later frames across domains); the official cross-domain code keeps two, one for
  first frames and one for later frames, each with its own loss.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite import nn as vnn
from vidsynth_lite.models.stylegan2.generator import render_frames

from .augmentations import augment
from .contrastive import MemoryBank, info_nce, momentum_update
from .image_discriminator import ImageDiscriminator
from .motion import mutual_information_loss


@dataclass(frozen=True)
class StepSettings:
    """What one step does; the ablations of Tab. 5 switch terms off here."""

    frames: int = 16                # clip length rendered per video (App. B: 16)
    cross_domain: bool = False      # content from an image-only domain: contrastive pairs from generated frames
    image_discriminator: bool = True   # False: Tab. 5 "w/o D_I" (no Eq. 5, no Eq. 6, no feature matching)
    w_contrastive: float = 2.0      # lambda_contr (0: Tab. 5 "w/o L_contr")
    w_mutual: float = 1.0           # lambda_m (0: Tab. 5 "w/o L_m")
    w_match: float = 1.0            # feature matching between the first and a later frame
    video_loss: str = "ralsgan"     # "ralsgan" (+ gradient penalty, official code) or "nonsaturating" (Eq. 4)
    gp_weight: float = 10.0         # gradient penalty on D_V with "ralsgan" (official code: 10)
    g_steps_per_d: int = 1          # generator updates per discriminator update (official code: 5)
    noise: bool = True              # the image generator's noise inputs (one draw per video, kept over frames)
    temperature: float = 0.07       # tau of Eq. 6
    momentum: float = 0.999         # MoCo momentum of D_I's key encoder

    def validate(self) -> StepSettings:
        if self.video_loss not in ("ralsgan", "nonsaturating"):
            raise ValueError(f"video_loss must be 'ralsgan' or 'nonsaturating', got {self.video_loss!r}")
        if self.frames < 2 or self.g_steps_per_d < 1:
            raise ValueError(f"need frames >= 2 and g_steps_per_d >= 1, got {self.frames}, {self.g_steps_per_d}")
        return self


class ContrastiveDiscriminator(nn.Module):
    """D_I with what Eq. 6 needs besides it: the momentum (key) encoder and the memory bank of negatives."""

    def __init__(self, disc: ImageDiscriminator, bank_size: int, seed: int = 0):
        super().__init__()
        self.disc = disc
        self.key = copy.deepcopy(disc).requires_grad_(False)               # theta_k starts at theta
        self.bank = MemoryBank(bank_size, disc.cfg.proj_dim, seed=seed)

    def train(self, mode: bool = True) -> ContrastiveDiscriminator:
        super().train(mode)
        self.key.eval()                                                    # keys: no power iteration, no drift
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.disc(x)


def generate_videos(state, batch: int, settings: StepSettings, device) -> tuple[torch.Tensor, object]:
    """``z ~ N(0, I)`` -> ``w_1`` (frozen mapping) -> G_M trajectory -> frozen synthesis: ``[B, T, 3, H, W]``."""
    G = state["G_img"]
    with torch.no_grad():
        w1 = G.mapping(torch.randn(batch, G.cfg.style_dim, device=device))   # z_1 in the style space
    motion = state["motion"](w1, settings.frames)                          # Eqs. 1-2: codes [B, T, D]
    noise = G.synthesis.make_noise(batch, device=device, zero=not settings.noise)   # one draw per video
    return render_frames(G.synthesis, motion.codes, noise), motion


def _pick_later_frame(video: torch.Tensor) -> torch.Tensor:
    """One random frame ``t`` in 2..T per video -> ``[B, 3, H, W]``."""
    b, t = video.shape[:2]
    idx = torch.randint(1, t, (b,), device=video.device)
    return video[torch.arange(b, device=video.device), idx]


def _video_scores(D_V, video: torch.Tensor) -> list[torch.Tensor]:
    flip = torch.rand(video.shape[0], 1, 1, 1, 1, device=video.device) < 0.5   # random mirror per clip
    return D_V(torch.where(flip, video.flip(-1), video))


def _video_g_loss(settings: StepSettings, real_scores, fake_scores) -> torch.Tensor:
    if settings.video_loss == "ralsgan":
        return torch.stack([vnn.ralsgan_g_loss(r.detach(), f) for r, f in zip(real_scores, fake_scores)]).sum()
    return torch.stack([vnn.nonsaturating_g_loss(f) for f in fake_scores]).sum()


def _video_d_loss(settings: StepSettings, real_scores, fake_scores) -> torch.Tensor:
    if settings.video_loss == "ralsgan":
        return torch.stack([vnn.ralsgan_d_loss(r, f) for r, f in zip(real_scores, fake_scores)]).sum()
    return torch.stack([vnn.nonsaturating_d_loss(r, f) for r, f in zip(real_scores, fake_scores)]).sum()


def update_motion(state, real: torch.Tensor, settings: StepSettings) -> tuple[torch.Tensor, dict]:
    """One G_M step (Eq. 7, generator side); returns the generated clips (detached) for the D step."""
    fake, motion = generate_videos(state, real.shape[0], settings, real.device)
    with torch.no_grad():
        real_scores = _video_scores(state["D_V"], real)
    adv_v = _video_g_loss(settings, real_scores, _video_scores(state["D_V"], fake))   # Eq. 4
    loss, logs = adv_v, {"g_video": adv_v.detach()}
    if settings.image_discriminator:
        first, later = augment(fake[:, 0]), augment(_pick_later_frame(fake))
        score_later, proj_later = state["D_I"](later)
        _, proj_first = state["D_I"](first)
        adv_i = vnn.hinge_g_loss(score_later)                              # Eq. 5: later frames look like x~_1
        match = (1 - F.cosine_similarity(proj_first.detach(), proj_later, dim=1)).mean()
        loss = loss + adv_i + settings.w_match * match
        logs.update(g_image=adv_i.detach(), match=match.detach())
    if settings.w_mutual > 0:
        mi = mutual_information_loss(motion.noise_pred, motion.noise)     # Eq. 3
        loss = loss + settings.w_mutual * mi
        logs["mutual"] = mi.detach()
    state.update("motion", loss)
    return fake.detach(), logs


def _contrastive_views(real: torch.Tensor, fake: torch.Tensor, settings: StepSettings):
    """Eq. 6's positive pairs: two frames of one real video (in-domain) or one generated frame twice."""
    if settings.cross_domain:
        frame = _pick_later_frame(fake)
        return augment(frame), augment(frame)
    b, t = real.shape[:2]
    i = torch.randint(0, t, (b,), device=real.device)
    j = (i + torch.randint(1, t, (b,), device=real.device)) % t          # a different frame of the same video
    rows = torch.arange(b, device=real.device)
    return augment(real[rows, i]), augment(real[rows, j])


def update_discriminators(state, real: torch.Tensor, fake: torch.Tensor, settings: StepSettings) -> dict:
    """D_V, then D_I with its contrastive loss, on the clips of the last generator step."""
    D_V = state["D_V"]
    d_v = _video_d_loss(settings, _video_scores(D_V, real), _video_scores(D_V, fake))
    logs = {"d_video": d_v.detach()}
    if settings.video_loss == "ralsgan" and settings.gp_weight > 0:
        # the official code's penalty: per scale, the gradient norm over the channel axis only (one norm per
        # voxel of [B, C, T, H, W]), (norm - 1)^2 averaged, then averaged over the scales
        gp = vnn.wgan_gp_penalty(lambda x: D_V.logits(x), D_V.prepare(real), D_V.prepare(fake), norm_dims=(1,))
        d_v = d_v + settings.gp_weight * gp
        logs["gp"] = gp.detach()
    state.update("D_V", d_v)
    if settings.image_discriminator:
        cd = state["D_I"]
        score_first, _ = cd(augment(fake[:, 0]))
        score_later, _ = cd(augment(_pick_later_frame(fake)))
        d_i = vnn.hinge_d_loss(score_first, score_later)                  # Eq. 5: x~_1 real, x~_t fake
        logs["d_image"] = d_i.detach()
        if settings.w_contrastive > 0:
            view_a, view_b = _contrastive_views(real, fake, settings)
            contr = info_nce(cd.disc.project(view_a), cd.disc.project(view_b), cd.bank.keys.clone(),
                             settings.temperature)                        # Eq. 6
            d_i = d_i + settings.w_contrastive * contr
            logs["contrastive"] = contr.detach()
        state.update("D_I", d_i)
        if settings.w_contrastive > 0:
            with torch.no_grad():
                momentum_update(cd.key, cd.disc, settings.momentum)
                cd.bank.push(torch.cat([cd.key.project(view_a), cd.key.project(view_b)]))
    return logs


def train_step(state, real: torch.Tensor, settings: StepSettings) -> dict:
    """One step of Eq. 7 on real clips ``[B, T, 3, H, W]``: ``g_steps_per_d`` G_M updates, then D_V and D_I."""
    logs: dict = {}
    for _ in range(settings.g_steps_per_d):
        fake, logs = update_motion(state, real, settings)
    return {**logs, **update_discriminators(state, real, fake, settings)}
