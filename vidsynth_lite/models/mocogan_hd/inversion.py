"""Video prediction by inverting the first frame (Tian et al. 2021, Sec. 4.1 "Sky Time-Lapse", App. B, Eq. 8).

Given a real first frame ``x_1``, find the style code ``w`` whose image ``G(w)`` reproduces it::

    w* = argmin_w  ||G(w) - x_1||_2^2  +  lambda_vgg * ||F(G(w)) - F(x_1)||_1          (Eq. 8)

(both terms averaged over their elements, so that lambda_vgg = 1 weighs them alike)
with ``F`` VGG features (the perceptual loss of Johnson et al. 2016; here the book's shared VGG-16 feature loss,
:meth:`vidsynth_lite.nn.PerceptualNetwork.feature_l1`). The motion generator then starts from ``z_1 = w*``; the
PSNR / SSIM of ``G(w*)`` against ``x_1`` bound what any prediction from it can reach ("Up-B" in Tab. 3).

One ``w`` per image is shared by every layer (MoCoGAN-HD's latent space is StyleGAN2's W, not W+). It starts at
the mean code and is optimised with Adam; the generator's noise inputs are fixed (zero by default).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidsynth_lite.checks import InputError, check_video
from vidsynth_lite.models.stylegan2.generator import SynthesisNetwork
from vidsynth_lite.models.stylegan2.inputs import check_codes


def invert(synthesis: SynthesisNetwork, target: torch.Tensor, w_init: torch.Tensor, *, steps: int, lr: float = 0.05,
           perceptual=None, perceptual_weight: float = 1.0, noise: list[torch.Tensor] | None = None
           ) -> tuple[torch.Tensor, list[float]]:
    """Eq. 8 for a batch of frames ``target [N, 3, H, W]`` -> (codes ``[N, D]``, loss per step).

    ``w_init [D]`` or ``[N, D]`` (the mean code); ``perceptual``: a network with ``feature_l1(a, b) -> [N]``
    (``None``: the pixel term only). Only ``w`` is optimised; the generator's weights are never touched.

    The target is checked once here, values included (finite, in [-1, 1]: a frame in [0, 255] or [0, 1] would
    be fitted without complaint and give a meaningless Up-B); that one host read is outside the loop.
    """
    size = synthesis.cfg.size
    check_video(target, name="target (first frames to invert)", rank=4, channels=3, size=size)
    check_codes(w_init, name="w_init", dim=synthesis.cfg.style_dim, ranks=(1, 2))
    if w_init.ndim == 2 and w_init.shape[0] not in (1, target.shape[0]):
        raise InputError(f"w_init: expected [{synthesis.cfg.style_dim}] or [{target.shape[0]}, "
                         f"{synthesis.cfg.style_dim}] (one code per target), got {tuple(w_init.shape)}")
    if steps < 1:
        raise InputError(f"steps: expected >= 1 optimisation steps, got {steps}")
    n = target.shape[0]
    w = w_init.detach().expand(n, -1).clone().requires_grad_(True)        # [N, D]
    noise = noise if noise is not None else synthesis.make_noise(n, device=target.device, zero=True)
    opt = torch.optim.Adam([w], lr=lr)
    history = []
    for _ in range(steps):
        img = synthesis(w, noise)
        loss = F.mse_loss(img, target)                                    # ||G(w) - x||^2, per pixel
        if perceptual is not None and perceptual_weight > 0:
            loss = loss + perceptual_weight * perceptual.feature_l1(img, target).mean()
        opt.zero_grad(set_to_none=True)
        (grad,) = torch.autograd.grad(loss, [w])                          # gradient to w only
        w.grad = grad
        opt.step()
        history.append(loss.detach())
    return w.detach(), [float(h) for h in history]
