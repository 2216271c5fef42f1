"""The autoencoder's losses (CCVS Sec. 3.2, Eqs. 2-7) and the transformer's (Sec. 3.3, Eq. 8).

- Eq. 3, quantisation: ``L_q = ||sg(z) - z_q||^2 + beta ||sg(z_q) - z||^2``: the first term moves the codebook
  to the encoder, the second (the *commitment* loss) the encoder to the codebook. The official code (a copy of a
  VQ-VAE) puts ``beta`` on the codebook term instead; ``beta_on="codebook"`` gives that variant.
- Eq. 4, reconstruction: ``L_r = ||x - x_hat||_1 + ||VGG(x) - VGG(x_hat)||_1``, the second term through the
  package's perceptual network (real ImageNet VGG-16 features; :func:`vidsynth_lite.nn.load_perceptual`), its
  five layers weighted 1/32, 1/16, 1/8, 1/4, 1 as in the official code's VGG loss (the paper does not say how
  the layers add up; unweighted, the VGG term's gradient is ~60x the RGB term's at our scale).
- Eqs. 5-6, adversarial: the non-saturating logistic loss. The paper writes it with ``Delta`` scoring
  "fakeness" (``L_d = ln(1 + e^{Delta(x)}) + ln(1 + e^{-Delta(x_hat)})``); with ``D = -Delta`` that is the
  package's ``nonsaturating_d_loss`` / ``nonsaturating_g_loss``.
- Eq. 7, contextual: ``L_c = ||f_c - f_hat||^2 + ||o'_c - sigma(m_hat)||^2`` at every intermediate level. As
  App. F (Fig. F1) describes the training, the flow term counts where the context is visible and the mask term
  where it is occluded (``restrict=True``, also the official code's choice); ``restrict=False`` is Eq. 7 as
  printed, over every pixel. Flows are compared in pixels of each level, so a finer level weighs 4x more than
  the next coarser one (the official code compares them in pixels of the coarsest level, every level alike; the
  paper does not say), and the mask term applies at every level (official: the finest only).
- Eq. 8: the transformer's cross-entropy, in :class:`vidsynth_lite.nn.GPT`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidsynth_lite.nn import QuantizerOutput, upsample_flow

from .flow import FlowTrace


def quantization_loss(z: torch.Tensor, quant: QuantizerOutput, codebook_vectors: torch.Tensor, beta: float,
                      beta_on: str = "commitment") -> torch.Tensor:
    """Eq. 3. ``z`` [N, F, h, w] encoder output, ``codebook_vectors`` = U(Q(z)) [N, F, h, w] with gradient to
    the codebook. ``beta_on``: ``"commitment"`` (the paper) or ``"codebook"`` (the official code)."""
    codebook_term = F.mse_loss(codebook_vectors, z.detach())                  # ||sg(z) - z_q||^2
    commitment = F.mse_loss(z, codebook_vectors.detach())                     # ||sg(z_q) - z||^2
    if beta_on == "commitment":
        return codebook_term + beta * commitment
    if beta_on == "codebook":
        return beta * codebook_term + commitment
    raise ValueError(f"beta_on must be 'commitment' (Eq. 3) or 'codebook' (official code), got {beta_on!r}")


def reconstruction_loss(x: torch.Tensor, x_hat: torch.Tensor, perceptual=None, rgb: bool = True,
                        frames: int = 0, generator: torch.Generator | None = None,
                        weights: tuple | None = None) -> torch.Tensor:
    """Eq. 4 on frames [N, 3, H, W] in [-1, 1]: L1 in RGB (if ``rgb``) + L1 between ``perceptual``'s feature maps
    (if a network is given): ``sum_l w_l mean |f_l(x_hat) - f_l(x)|`` over its layers (``perceptual.features``),
    ``weights`` per layer (None: 1 each). ``frames > 0``: the feature term on that many frames drawn at random
    (an unbiased estimate of its mean, for a CPU budget)."""
    if not rgb and perceptual is None:
        raise ValueError("reconstruction_loss needs the RGB term, the perceptual term or both")
    loss = x.new_zeros(())
    if rgb:
        loss = loss + (x - x_hat).abs().mean()
    if perceptual is not None:
        if 0 < frames < x.shape[0]:
            pick = torch.randperm(x.shape[0], generator=generator)[:frames].to(x.device)
            x, x_hat = x[pick], x_hat[pick]
        fake, real = perceptual.features(x_hat), perceptual.features(x.detach())
        weights = (1.0,) * len(fake) if weights is None else weights
        if len(weights) != len(fake):
            raise ValueError(f"{len(weights)} perceptual weights for {len(fake)} feature layers")
        loss = loss + sum(w * (a - b).abs().mean() for w, a, b in zip(weights, fake, real))
    return loss


def context_loss(trace: FlowTrace, flow: torch.Tensor, occluded: torch.Tensor, restrict: bool = True,
                 context: int = 0) -> torch.Tensor:
    """Eq. 7 summed over F's levels for context frame ``context``: target ``flow`` [N, 2, H, W] (pixels of the
    full image) and ``occluded`` [N, 1, H, W] (1 = the context holds nothing there), both resized per level."""
    if not trace.flows:
        raise ValueError("context_loss needs F's trace: decode with a context and the flow module")
    total = flow.new_zeros(())
    for flows, masks in zip(trace.flows, trace.masks):
        f_hat, m_hat = flows[context], masks[context]
        size = f_hat.shape[-1]
        f_true = upsample_flow(flow, (size, size))                                 # pixels of this level
        o_true = F.interpolate(occluded, size=(size, size), mode="bilinear", align_corners=False)
        flow_err = (f_hat - f_true).pow(2).sum(1, keepdim=True)               # [N, 1, h, w]
        mask_err = (torch.sigmoid(m_hat) - o_true).pow(2)
        if restrict:                                                           # App. F / Fig. F1
            visible = (o_true < 0.5).to(flow.dtype)
            flow_term = (flow_err * visible).sum() / visible.sum().clamp(min=1)
            mask_term = (mask_err * (1 - visible)).sum() / (1 - visible).sum().clamp(min=1)
        else:                                                                  # Eq. 7 as printed
            flow_term, mask_term = flow_err.mean(), mask_err.mean()
        total = total + flow_term + mask_term
    return total
