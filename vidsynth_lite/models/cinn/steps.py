"""Training steps of both stages, kept apart from the networks (labml's ``experiment.py`` layout).

Stage 1 (supplement B.2, Eqs. 10-12), one loop step = D_T, then D_S, then the cVAE:

- ``update_temporal_d``: Eq. 11, ``E[relu(1 - D_T(X))] + lambda_GP ||grad D_T(X)||^2 + E[relu(1 + D_T(X_hat))]``;
- ``update_spatial_d``: Eq. 12, the same hinge on single frames drawn from the batch, without a penalty;
- ``update_cvae``: Eq. 10, ``lambda ||X - X_hat||_1 + w_p l_phi(X, X_hat) - D_T(X_hat) - D_S(X_hat)
  + lambda_F l_F(X, X_hat) + beta KL``.

Until ``adversarial_from`` the discriminators rest and the cVAE trains on reconstruction and KL alone (the
official code's ``pretrain`` epoch). Stage 2 (Eq. 7) is a plain likelihood step on posterior *samples*
``z = mu + sigma * eps`` of the frozen encoder (precomputed ``mu, log sigma^2``, fresh ``eps`` every step).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from vidsynth_lite.nn.gan_losses import feature_matching_loss, hinge_d_loss, hinge_g_loss
from vidsynth_lite.nn.regularizers import r1_penalty

from .cinn import CINN, cinn_loss
from .config import Stage1Loss
from .stage1 import kl_divergence, reparameterize


def split_clip(video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A clip ``[B, 1 + T, 3, H, W]`` -> start frame ``x_0`` ``[B, 3, H, W]`` and the frames to model ``X``."""
    return video[:, 0], video[:, 1:]


def _frames(video: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return video.flatten(0, 1)[index]                                  # [B*T, 3, H, W] -> [n, 3, H, W]


def update_temporal_d(state, real: torch.Tensor, fake: torch.Tensor, w: Stage1Loss) -> dict:
    """Eq. 11 on clips ``[B, T, 3, H, W]``; the penalty is the gradient norm at the real clips (R1 form)."""
    d_t = state["D_T"]
    real_in = real.transpose(1, 2).detach().requires_grad_(True)       # [B, 3, T, H, W]
    real_scores = d_t(real_in)
    fake_scores = d_t(fake.detach().transpose(1, 2))
    hinge = hinge_d_loss(real_scores, fake_scores)
    penalty = r1_penalty(real_in, real_scores)
    state.update("D_T", hinge + w.gradient_penalty * penalty)
    return {"d_t": hinge.detach(), "gp": penalty.detach()}


def update_spatial_d(state, real_frames: torch.Tensor, fake_frames: torch.Tensor) -> dict:
    """Eq. 12 on frames ``[n, 3, H, W]``."""
    d_s = state["D_S"]
    hinge = hinge_d_loss(d_s(real_frames), d_s(fake_frames.detach()))
    state.update("D_S", hinge)
    return {"d_s": hinge.detach()}


def update_cvae(state, x0, real, recon, mu, logvar, w: Stage1Loss, perceptual: Callable | None,
                adversarial: bool, index: torch.Tensor | None) -> dict:
    """Eq. 10 (the expectation over q_phi is the one reparameterised sample ``recon`` was decoded from)."""
    l1 = (recon - real).abs().mean()
    kl = kl_divergence(mu, logvar).mean()
    loss = w.l1 * l1 + w.kl * kl
    logs = {"l1": l1.detach(), "kl": kl.detach()}
    if perceptual is not None and w.perceptual:
        perc = perceptual(recon.flatten(0, 1), real.flatten(0, 1))      # frame-wise l_phi
        loss = loss + w.perceptual * perc
        logs["perceptual"] = perc.detach()
    if adversarial:
        d_t, d_s = state["D_T"], state["D_S"]
        fake_feats = d_t.forward_features(recon.transpose(1, 2))    # one pass: -D_T and l_F
        with torch.no_grad():
            real_feats = d_t.forward_features(real.transpose(1, 2))
        g_t = hinge_g_loss(d_t.score(fake_feats))
        g_s = hinge_g_loss(d_s(_frames(recon, index)))
        fm = feature_matching_loss(real_feats, fake_feats)
        loss = loss + w.adversarial_t * g_t + w.adversarial_s * g_s + w.feature_matching * fm
        logs.update(g_t=g_t.detach(), g_s=g_s.detach(), fm=fm.detach())
    state.update("cvae", loss)
    return logs


def stage1_step(state, batch, *, weights: Stage1Loss, perceptual: Callable | None = None,
                adversarial_from: int = 0) -> dict:
    """One loop step of stage 1 on ``batch["video"]`` ``[B, 1 + T, 3, H, W]``: D_T, D_S, then the cVAE."""
    x0, real = split_clip(batch["video"])
    cvae = state["cvae"]
    recon, mu, logvar, _ = cvae(x0, real)
    adversarial = state.step >= adversarial_from
    logs: dict = {}
    index = None
    if adversarial:
        n = min(weights.spatial_frames, real.shape[0] * real.shape[1])
        index = torch.randint(real.shape[0] * real.shape[1], (n,), device=real.device)   # frames for D_S
        logs.update(update_temporal_d(state, real, recon, weights))
        logs.update(update_spatial_d(state, _frames(real, index), _frames(recon, index)))
    logs.update(update_cvae(state, x0, real, recon, mu, logvar, weights, perceptual, adversarial, index))
    return logs


def cinn_step(model: CINN, batch: dict):
    """Eq. 7 on one posterior sample per clip: ``batch`` holds the frozen encoder's ``mu``, ``logvar``
    ``[B, d_z]`` and the condition ``cond`` ``[B, cond_dim]`` (x_0 embedding and one-hot eta)."""
    z = reparameterize(batch["mu"], batch["logvar"])               # fresh eps each step (global RNG)
    return cinn_loss(model, z, batch["cond"])
