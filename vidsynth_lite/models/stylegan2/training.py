"""StyleGAN2's training step (Karras et al. 2020, Sec. 3, App. B), apart from the model (labml's layout):
``update_D`` then ``update_G``, each one optimiser step through the shared loop's ``state.update``.

- Losses: the non-saturating logistic loss (StyleGAN / StyleGAN2), from :mod:`vidsynth_lite.nn`.
- **Lazy R1** (Sec. 3.1): ``gamma / 2 * E ||grad D(x)||^2`` on reals, every ``r1_every`` discriminator steps,
  multiplied by ``r1_every`` so its strength is unchanged.
- **Lazy path-length regularisation** (Sec. 3.2): for ``y ~ N(0, I) / sqrt(H W)`` the Jacobian-vector norm
  ``||J_w^T y||`` should stay constant: penalise ``(||J_w^T y|| - a)^2`` with ``a`` its running mean (EMA rate
  0.01), every ``pl_every`` generator steps, weighted by ``pl_weight * pl_every``.
- **Style mixing** (StyleGAN Sec. 3.1): with probability ``mixing`` a second code takes over from a random layer.
- Adam's hyper-parameters are corrected for the lazy intervals (App. B: ``lr * c``, ``beta ** c`` with
  ``c = k / (k + 1)``); the generator keeps an EMA of its weights (half-life ``ema_kimg`` thousand images).

Every random draw uses the global generator, which the shared loop saves in each checkpoint (exact resume).
"""

from __future__ import annotations

import math

import torch

from vidsynth_lite import nn as vnn

from .config import StyleGAN2Training
from .generator import Generator, SynthesisNetwork


def mixed_styles(G: Generator, batch: int, mixing: float, device) -> torch.Tensor:
    """``ws [batch, num_ws, D]`` of fresh codes; with probability ``mixing`` a second code from a random layer."""
    z = torch.randn(2 * batch, G.cfg.style_dim, device=device)
    w = G.mapping(z).reshape(2, batch, -1)                                 # [2, B, D]
    layer = torch.arange(G.num_ws, device=device)[None]                   # [1, L]
    cutoff = torch.randint(1, G.num_ws, (batch, 1), device=device)        # first layer of the second code
    mix = torch.rand(batch, 1, device=device) < mixing
    second = (layer >= cutoff) & mix                                      # [B, L]
    return torch.where(second[..., None], w[1][:, None], w[0][:, None])   # [B, L, D]


def path_lengths(synthesis: SynthesisNetwork, ws: torch.Tensor) -> torch.Tensor:
    """``||J_w^T y||`` per sample for ``y ~ N(0, I) / sqrt(H W)`` (Sec. 3.2), differentiable -> ``[B]``."""
    ws = ws if ws.requires_grad else ws.detach().requires_grad_(True)
    img = synthesis(ws)
    y = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
    (grad,) = torch.autograd.grad((img * y).sum(), ws, create_graph=True)   # J^T y  [B, L, D]
    return grad.pow(2).sum(2).mean(1).sqrt()                              # norm per layer, averaged over layers


def optimizers(G: Generator, D: torch.nn.Module, recipe: StyleGAN2Training) -> tuple:
    """Adam for G and D with App. B's correction for lazy regularisation."""
    def adam(params, every):
        c = every / (every + 1) if every else 1.0
        return torch.optim.Adam(params, lr=recipe.lr * c, betas=(recipe.betas[0] ** c, recipe.betas[1] ** c))
    return adam(G.parameters(), recipe.pl_every if recipe.pl_weight else 0), adam(D.parameters(), recipe.r1_every)


def ema_decay(recipe: StyleGAN2Training) -> float:
    """The generator EMA's decay per step: half-life of ``ema_kimg`` thousand images."""
    return 0.5 ** (recipe.batch / (recipe.ema_kimg * 1000.0))


def mirror(images: torch.Tensor) -> torch.Tensor:
    """StyleGAN2's dataset x-flips: each real image mirrored with probability 1/2."""
    flip = torch.rand(images.shape[0], 1, 1, 1, device=images.device) < 0.5
    return torch.where(flip, images.flip(-1), images)


def update_D(state, real: torch.Tensor, recipe: StyleGAN2Training) -> dict:
    G, D = state["G"], state["D"]
    with torch.no_grad():
        fake = G.synthesis(mixed_styles(G, real.shape[0], recipe.mixing, real.device))
    loss = vnn.nonsaturating_d_loss(D(real), D(fake))
    state.update("D", loss)
    logs = {"d_loss": loss.detach()}
    if recipe.r1_gamma > 0 and state.every(recipe.r1_every):             # lazy R1 (Sec. 3.1)
        real = real.detach().requires_grad_(True)
        r1 = vnn.r1_penalty(real, D(real))
        state.update("D", recipe.r1_gamma / 2 * r1 * recipe.r1_every)
        logs["r1"] = r1.detach()
    return logs


def update_G(state, batch: int, device, recipe: StyleGAN2Training) -> dict:
    G, D = state["G"], state["D"]
    fake = G.synthesis(mixed_styles(G, batch, recipe.mixing, device))
    loss = vnn.nonsaturating_g_loss(D(fake))
    state.update("G", loss)
    logs = {"g_loss": loss.detach()}
    if recipe.pl_weight > 0 and state.every(recipe.pl_every):            # lazy path-length (Sec. 3.2)
        n = max(1, batch // recipe.pl_batch_shrink)
        lengths = path_lengths(G.synthesis, mixed_styles(G, n, recipe.mixing, device))
        mean = G.path_length_mean.lerp(lengths.detach().mean(), recipe.pl_decay)    # a <- a + 0.01 (l - a)
        G.path_length_mean.copy_(mean)
        penalty = (lengths - mean).pow(2).mean()
        state.update("G", recipe.pl_weight * recipe.pl_every * penalty)
        logs["path_length"] = lengths.detach().mean()
    return logs


def train_step(state, real: torch.Tensor, recipe: StyleGAN2Training) -> dict:
    """One StyleGAN2 step on a batch of real images ``[B, 3, H, W]``: D, then G."""
    real = mirror(real)
    return {**update_D(state, real, recipe), **update_G(state, real.shape[0], real.device, recipe)}
