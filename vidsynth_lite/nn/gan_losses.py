"""Adversarial losses: hinge / geometric hinge, non-saturating, relativistic-average LSGAN, feature matching.

The contract (every function in this file)
-------------------------------------------
* A discriminator returns **raw scores** (logits), any shape whose first axis is the batch: ``[B]``, ``[B, 1]``,
  a PatchGAN map ``[B, 1, (T,) H, W]``, or TrIVD-GAN-FP's ``D`` outputs per sample ``[B, D]``. A multi-scale
  discriminator returns one such tensor per scale: call the loss once per scale and add (or average) them.
* Every loss is the **mean over every score** of its tensor(s): a patch score counts as one sample of the
  empirical risk, exactly as TrIVD-GAN-FP Eq. 13 averages over its ``D`` outputs (``1/D sum_d``).
* ``*_d_loss(real_scores, fake_scores)`` is minimised by the discriminator; compute ``fake_scores`` on a
  *detached* fake (``G(z).detach()``) so that the D step does not build G's graph.
  ``*_g_loss(...)`` is minimised by the generator; there the fake is *not* detached.
* Scores of real and fake may have different batch sizes; they must come from the same discriminator.
* Nothing here reads a value back to the host: every loss is a 0-dim tensor on the scores' device.

Which paper uses which
----------------------
================================  ===========================================================================
loss                              used by
================================  ===========================================================================
:func:`hinge_d_loss` /            cINN (Dorkenwald et al. 2021, supp. Eqs. 11-12, both discriminators);
:func:`hinge_g_loss`              TrIVD-GAN-FP's *geometric hinge* (Luc et al. 2020, App. E.1, Eqs. 13-14;
                                  Lim & Ye 2017), which is this loss averaged over the ``D`` outputs
:func:`nonsaturating_d_loss` /    CCVS (Le Moing et al. 2021, Eqs. 5-6) and StyleGAN2 (CCVS App. A models its
:func:`nonsaturating_g_loss`      image discriminator on it); CCVS writes ``Delta = -D`` (low = real)
:func:`ralsgan_d_loss` /          MoCoGAN-HD's public code (both discriminators); Jolicoeur-Martineau 2019
:func:`ralsgan_g_loss`
:func:`feature_matching_loss`     cINN (supp. Eq. 10, ``lambda_F = 10``, after pix2pixHD, Wang et al. 2018b);
                                  MoCoGAN-HD (Sec. 3.2, with cosine similarity instead of L1)
================================  ===========================================================================

Penalties (R1, WGAN-GP, orthogonal regularisation) live in :mod:`vidsynth_lite.nn.regularizers`.

Example: one GAN step, D then G (hinge loss, R1 on real data, orthogonal regularisation on G)
----------------------------------------------------------------------------------------------
::

    from vidsynth_lite import nn as vnn

    def update_D(G, D, opt_D, real, z, r1_gamma=10.0):
        fake = G(z).detach()                                  # no graph through G in the D step
        real = real.detach().requires_grad_(True)             # R1 needs d D(x) / d x
        real_scores, fake_scores = D(real), D(fake)
        loss = vnn.hinge_d_loss(real_scores, fake_scores)
        loss = loss + r1_gamma / 2 * vnn.r1_penalty(real, real_scores)   # Mescheder et al. 2018, Eq. 9
        opt_D.zero_grad(set_to_none=True)
        loss.backward()
        opt_D.step()
        return loss.detach()

    def update_G(G, D, opt_G, z, ortho=1e-4):
        fake_scores = D(G(z))                                 # gradients reach G through D
        loss = vnn.hinge_g_loss(fake_scores) + ortho * vnn.orthogonal_regularization(G)
        opt_G.zero_grad(set_to_none=True)                     # D's grads from this step are dropped by
        loss.backward()                                       # opt_D.zero_grad before D's next update
        opt_G.step()
        return loss.detach()

    for step in range(steps):
        for _ in range(2):                                    # TrIVD-GAN-FP: two D updates per G update
            update_D(G, D, opt_D, next_real(), torch.randn(B, z_dim))
        update_G(G, D, opt_G, torch.randn(B, z_dim))

To use the relativistic loss instead, the G step also needs real scores: ``ralsgan_g_loss(D(real), D(G(z)))``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "feature_matching_loss",
    "geometric_hinge_d_loss",
    "geometric_hinge_g_loss",
    "hinge_d_loss",
    "hinge_g_loss",
    "nonsaturating_d_loss",
    "nonsaturating_g_loss",
    "ralsgan_d_loss",
    "ralsgan_g_loss",
]


def _scores(name: str, scores: torch.Tensor) -> torch.Tensor:
    if not isinstance(scores, torch.Tensor) or not scores.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor of discriminator scores, got {type(scores)}")
    if scores.numel() == 0:
        raise ValueError(f"{name}: got an empty tensor of scores {tuple(scores.shape)}")
    return scores


# -- hinge (cINN supp. Eqs. 11-12) and geometric hinge (TrIVD-GAN-FP Eqs. 13-14) ----------------------------
def hinge_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss ``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`` (Lim & Ye 2017).

    cINN supp. Eqs. 11-12 (``rho`` = ReLU); TrIVD-GAN-FP Eq. 13 is the same with ``1/D sum_d`` over the
    discriminator's ``D`` outputs per sample, i.e. the mean over every score (see the module docstring).
    """
    real_scores, fake_scores = _scores("real_scores", real_scores), _scores("fake_scores", fake_scores)
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


def hinge_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Generator hinge loss ``-E[D(G(z))]`` (TrIVD-GAN-FP Eq. 14; the ``-D_T``, ``-D_S`` terms of cINN Eq. 10)."""
    return -_scores("fake_scores", fake_scores).mean()


geometric_hinge_d_loss = hinge_d_loss   # TrIVD-GAN-FP App. E.1 Eq. 13: the name the paper uses
geometric_hinge_g_loss = hinge_g_loss   # TrIVD-GAN-FP App. E.1 Eq. 14


# -- non-saturating logistic loss (Goodfellow et al. 2014; CCVS Eqs. 5-6) -------------------------------------
def nonsaturating_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """``E[softplus(-D(x))] + E[softplus(D(G(z)))]`` = binary cross-entropy with logits, real = 1, fake = 0.

    CCVS Eq. 5 writes ``ln(1 + e^{Delta(x)}) + ln(1 + e^{-Delta(x_hat)})``: the same loss for ``Delta = -D``
    (CCVS's discriminator scores real images *low*). ``softplus(s) = ln(1 + e^s)``.
    """
    real_scores, fake_scores = _scores("real_scores", real_scores), _scores("fake_scores", fake_scores)
    return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()


def nonsaturating_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """``E[softplus(-D(G(z)))] = -E[log sigmoid(D(G(z)))]``: the non-saturating generator loss (CCVS Eq. 6)."""
    return F.softplus(-_scores("fake_scores", fake_scores)).mean()


# -- relativistic-average LSGAN (Jolicoeur-Martineau 2019; MoCoGAN-HD's public code) --------------------------
def _ralsgan(first: torch.Tensor, second: torch.Tensor, fake_target: float) -> torch.Tensor:
    first, second = _scores("scores", first), _scores("scores", second)
    # a sample is judged against the *average* score of the other side: C(x) - E[C(x')]
    first_rel = first - second.mean()
    second_rel = second - first.mean()
    return 0.5 * ((first_rel - 1.0) ** 2).mean() + 0.5 * ((second_rel - fake_target) ** 2).mean()


def ralsgan_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, *,
                   fake_target: float = 0.0) -> torch.Tensor:
    """Relativistic-average LSGAN, discriminator side::

        1/2 E_x[(D(x) - E[D(G(z))] - 1)^2] + 1/2 E_z[(D(G(z)) - E[D(x)] - fake_target)^2]

    ``fake_target=0`` is MoCoGAN-HD's public code (``models/losses.py``: MSE to targets 1 and 0 of the
    relative scores, the two terms averaged); Jolicoeur-Martineau (2019, RaLSGAN) uses ``fake_target=-1``.
    The means ``E[.]`` run over every score (batch and patches) of the other side, as in that code.
    """
    return _ralsgan(real_scores, fake_scores, fake_target)


def ralsgan_g_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, *,
                   fake_target: float = 0.0) -> torch.Tensor:
    """Relativistic-average LSGAN, generator side: the discriminator loss with real and fake swapped::

        1/2 E_z[(D(G(z)) - E[D(x)] - 1)^2] + 1/2 E_x[(D(x) - E[D(G(z))] - fake_target)^2]

    Unlike the hinge and non-saturating losses, the generator needs real scores too (they may be computed
    under ``torch.no_grad()`` or on a detached real batch; the gradient reaches G through ``E[D(G(z))]``).
    """
    return _ralsgan(fake_scores, real_scores, fake_target)


# -- feature matching (pix2pixHD, Wang et al. 2018b; cINN supp. Eq. 10; MoCoGAN-HD Sec. 3.2) ------------------
def feature_matching_loss(real_features: Sequence[torch.Tensor], fake_features: Sequence[torch.Tensor], *,
                          distance: str = "l1") -> torch.Tensor:
    """Mean over layers of the distance between discriminator features of a real and a generated input.

    ``real_features[i]`` and ``fake_features[i]`` are the i-th intermediate activations of the *same*
    discriminator (e.g. ``PatchDiscriminator(..., return_features=True)``), usually without its final score
    map. Real features are detached: the loss trains the generator only.

    ``distance="l1"``: mean absolute difference per layer (pix2pixHD; cINN's ``l_F``).
    ``distance="cosine"``: ``1 - cos`` between the flattened features of each sample, averaged (MoCoGAN-HD
    "changes the regularisation to cosine similarity"; there the "real" side is the generated first frame).
    """
    if len(real_features) != len(fake_features) or len(real_features) == 0:
        raise ValueError(f"feature_matching_loss: expected two equally long, non-empty lists of features, got "
                         f"{len(real_features)} and {len(fake_features)}")
    if distance not in ("l1", "cosine"):
        raise ValueError(f"feature_matching_loss: distance must be 'l1' or 'cosine', got {distance!r}")
    terms = []
    for index, (real, fake) in enumerate(zip(real_features, fake_features)):
        if real.shape != fake.shape:
            raise ValueError(f"feature_matching_loss: layer {index} has shapes {tuple(real.shape)} (real) and "
                             f"{tuple(fake.shape)} (fake)")
        real = real.detach()
        if distance == "l1":
            terms.append((real - fake).abs().mean())
        else:
            terms.append((1.0 - F.cosine_similarity(real.flatten(1), fake.flatten(1), dim=1)).mean())
    return torch.stack(terms).mean()
