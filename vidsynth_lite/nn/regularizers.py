"""Penalties that keep adversarial training stable: R1, the WGAN-GP gradient penalty, orthogonal regularisation.

The contract
------------
* Each function returns the **unweighted** penalty as a 0-dim tensor that back-propagates into the parameters
  it regularises; the caller multiplies by its weight (``gamma / 2`` for R1, ``lambda = 10`` for WGAN-GP,
  ``beta = 1e-4`` for orthogonality) and adds it to the loss of the network it belongs to (R1 and WGAN-GP to
  the discriminator's loss, orthogonality to the generator's).
* Gradient penalties are built with ``create_graph=True`` so that their own gradient reaches the
  discriminator's weights (a "double backward").
* "Lazy" regularisation (StyleGAN2: R1 every 16 steps with its weight multiplied by 16) is a matter of when
  the step function calls these; nothing here keeps state.

==============================  ==============================================================================
penalty                         paper / used by
==============================  ==============================================================================
:func:`r1_penalty`              Mescheder et al. 2018 (Eq. 9, R1); cINN supp. Eq. 11 (``||grad D_T(X)||^2``
                                on real videos, ``lambda_GP = 10``); StyleGAN2 (CCVS's discriminators)
:func:`wgan_gp_penalty`         Gulrajani et al. 2017 (Alg. 1); MoCoGAN-HD's public code (video D, weight 10)
:func:`orthogonal_regularization`  Brock et al. 2019 (BigGAN, Sec. 3.1); TrIVD-GAN-FP App. E.2 (weight 1e-4)
==============================  ==============================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

__all__ = ["orthogonal_regularization", "r1_penalty", "wgan_gp_penalty"]


def _input_gradient(inputs: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """``d (sum of scores) / d inputs`` with a graph, so the penalty can itself be differentiated."""
    (grad,) = torch.autograd.grad(outputs=scores.sum(), inputs=inputs, create_graph=True)
    return grad


def r1_penalty(real_inputs: torch.Tensor, real_scores: torch.Tensor) -> torch.Tensor:
    """R1: ``E_x ||grad_x D(x)||^2`` over real inputs (Mescheder et al. 2018, Eq. 9, without ``gamma / 2``).

    ``real_inputs`` must have ``requires_grad=True`` *before* the discriminator saw it, and ``real_scores`` is
    the discriminator's output on it (the same scores the hinge/logistic loss uses)::

        real = real.detach().requires_grad_(True)
        real_scores = D(real)
        loss = hinge_d_loss(real_scores, fake_scores) + gamma / 2 * r1_penalty(real, real_scores)

    For a discriminator with several scores per sample (a patch map) the gradient is that of their sum, per
    sample; the squared norm runs over every non-batch axis and the mean over the batch.
    """
    if not real_inputs.requires_grad:
        raise ValueError("r1_penalty: call real_inputs.requires_grad_(True) before computing real_scores = D(...)")
    grad = _input_gradient(real_inputs, real_scores)
    return grad.pow(2).flatten(1).sum(1).mean()


def wgan_gp_penalty(discriminator: Callable[[torch.Tensor], torch.Tensor | Sequence[torch.Tensor]],
                    real: torch.Tensor, fake: torch.Tensor, *, target_norm: float = 1.0,
                    norm_dims: Sequence[int] | None = None,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Two-sided gradient penalty ``E[(||grad D(x_hat)||_2 - 1)^2]`` at ``x_hat = a x + (1 - a) G(z)``.

    Gulrajani et al. 2017, Alg. 1 (without ``lambda``): ``a ~ U[0, 1]`` once per sample; ``real`` and ``fake``
    are detached here. The norm runs over every non-batch axis (``norm_dims=None``, the paper). MoCoGAN-HD's
    public code (``compute_gradient_penalty_T``) takes the norm over the channel axis only, i.e. one norm per
    voxel of a ``[B, C, T, H, W]`` input: ``norm_dims=(1,)`` reproduces it. If ``discriminator`` returns a list
    (one score tensor per scale) the penalty is computed per scale and averaged, as that code does.
    """
    if real.shape != fake.shape:
        raise ValueError(f"wgan_gp_penalty: real {tuple(real.shape)} and fake {tuple(fake.shape)} differ in shape")
    alpha_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(alpha_shape, generator=generator, device="cpu" if generator is not None else real.device)
    alpha = alpha.to(device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)   # x_hat
    outputs = discriminator(mixed)
    per_scale = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    dims = tuple(range(1, real.dim())) if norm_dims is None else tuple(norm_dims)
    penalties = []
    for scores in per_scale:
        grad = _input_gradient(mixed, scores)
        norm = grad.pow(2).sum(dim=dims).add(1e-12).sqrt()         # [B] (or [B, *] with norm_dims=(1,))
        penalties.append((norm - target_norm).pow(2).mean())
    return torch.stack(penalties).mean()


def _weight_matrices(source: nn.Module | Iterable[torch.Tensor]) -> list[torch.Tensor]:
    # weights of linear / conv layers (also under a spectral-norm parametrization's "original"); biases, norm
    # gains and other vectors are not regularised (BigGAN skips every parameter with fewer than 2 axes)
    if isinstance(source, nn.Module):
        return [p for p in source.parameters() if p.dim() >= 2 and p.requires_grad]
    return [p for p in source if p.dim() >= 2]


def orthogonal_regularization(source: nn.Module | Iterable[torch.Tensor], *,
                              exclude_diagonal: bool = True) -> torch.Tensor:
    """BigGAN's orthogonal regularisation ``sum_W ||W W^T * (1 - I)||_F^2`` (Brock et al. 2019, Sec. 3.1).

    Each weight is read as a matrix with one row per output unit (``[out, in * k...]``). With
    ``exclude_diagonal=True`` (BigGAN) only the inner products *between* filters are penalised, so any
    weight with mutually orthogonal rows scores 0 whatever their norms; ``exclude_diagonal=False`` is the
    original ``||W W^T - I||_F^2`` (Brock et al. 2017), 0 only for orthonormal rows. ``source`` is a module
    (every trainable parameter with 2 or more axes) or an explicit list of weights. TrIVD-GAN-FP App. E.2
    adds it to the generator's loss with weight ``1e-4``.
    """
    weights = _weight_matrices(source)
    if not weights:
        raise ValueError("orthogonal_regularization: no trainable weight with 2 or more axes to regularise")
    total = weights[0].new_zeros(())
    for weight in weights:
        matrix = weight.flatten(1)                                   # [out, in * k...]
        gram = matrix @ matrix.t()                                   # W W^T, [out, out]
        eye = torch.eye(gram.shape[0], device=gram.device, dtype=gram.dtype)
        off = gram * (1.0 - eye) if exclude_diagonal else gram - eye
        total = total + off.pow(2).sum()
    return total
