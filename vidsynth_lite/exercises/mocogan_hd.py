"""Chapter 7 exercises: MoCoGAN-HD and its StyleGAN2 image generator (Tian et al. 2021; Karras et al. 2020).

The references are written here independently of the package's implementations (a per-sample loop instead of
the grouped convolution; a closed form instead of the motion generator), so a solution cannot pass by calling
the code it is meant to rebuild and be checked against itself.
"""

import torch
import torch.nn.functional as F

from vidsynth_lite.exercises.core import Exercise, register


def _modulated_conv_reference(x, weight, scales, demodulate):
    """StyleGAN2 Eqs. 1 and 3, one ordinary convolution per sample."""
    out = []
    for n in range(x.shape[0]):
        w = weight * scales[n][None, :, None, None]                       # Eq. 1: w' = s_i w_ijk
        if demodulate:
            w = w / torch.sqrt(w.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)   # Eq. 3
        out.append(F.conv2d(x[n:n + 1], w, padding=weight.shape[-1] // 2))
    return torch.cat(out)


def _modulated_conv_inputs(g: torch.Generator):
    n, cin, cout, k = 3, 4, 5, 3
    return (torch.randn(n, cin, 7, 7, generator=g), torch.randn(cout, cin, k, k, generator=g),
            torch.rand(n, cin, generator=g) * 2 + 0.1, bool(torch.rand(1, generator=g) < 0.7))


def _max_step_reference(std, lam):
    """Eq. 2's step is lam * U^T (std * tanh(.)) with orthonormal rows U: its norm is at most lam * ||std||."""
    return lam * torch.linalg.vector_norm(std)


def _max_step_inputs(g: torch.Generator):
    return (torch.rand(int(torch.randint(2, 40, (1,), generator=g)), generator=g) * 3,
            float(torch.rand(1, generator=g)))


def _toggle_reference(model, on):
    """What a working ``toggle_grad(model, on)`` leaves behind: every parameter's ``requires_grad == on``."""
    return [bool(on)] * len(list(model.parameters()))


def _toggle_inputs(g: torch.Generator):
    layers = int(torch.randint(1, 4, (1,), generator=g))
    model = torch.nn.Sequential(*[torch.nn.Linear(3, 3) for _ in range(layers)])
    on = bool(torch.rand(1, generator=g) < 0.3)
    model.requires_grad_(not on)                                          # start from the other state
    return (model, on)


register(Exercise(
    name="mocogan_hd.modulated_conv",
    reference=_modulated_conv_reference,
    make_inputs=_modulated_conv_inputs,
    atol=1e-5, rtol=1e-4,
    hint="scale the kernel by s per *input* channel (dim 1 of [out, in, k, k]); demodulate per *output* "
         "channel over (in, k, k); one grouped convolution with groups = N, or a loop over samples",
))

register(Exercise(
    name="mocogan_hd.max_step",
    reference=_max_step_reference,
    make_inputs=_max_step_inputs,
    hint="|tanh| < 1, and the rows of U are orthonormal: ||a U|| = ||a|| for any coefficient row a",
))

register(Exercise(
    name="mocogan_hd.toggle_grad",
    reference=_toggle_reference,
    make_inputs=_toggle_inputs,
    trials=6,
    hint="print(hasattr(p, 'required_grad')) after the loop: Python happily creates a new attribute",
))
