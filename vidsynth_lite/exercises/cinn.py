"""Chapter 5 exercises: the invertible pieces of the cINN (Dorkenwald et al. 2021) and the official log-det bug."""

import math

import torch

from vidsynth_lite.exercises.core import Exercise, register
from vidsynth_lite.nn.invertible import ActNorm, AffineCoupling, InvertibleLeakyReLU


def _leaky_reference(x, alpha):
    return InvertibleLeakyReLU(alpha)(x)


def _leaky_inputs(g: torch.Generator):
    return torch.randn(8, 5, generator=g, dtype=torch.float64), float(torch.rand(1, generator=g)) * 0.8 + 0.1


def _actnorm_reference(x):
    act = ActNorm(x.shape[1])
    act.initialize(x)
    return act.log_scale.detach().clone(), act.bias.detach().clone()


def _gap_reference(pre_activations, alpha):
    """Claimed minus true NLL per sample when every leaky ReLU's log-det is taken as 0 (the official code)."""
    n_neg = sum((h < 0).sum(1).to(torch.float64) for h in pre_activations)
    return n_neg * math.log(alpha)


def _gap_inputs(g: torch.Generator):
    layers = int(torch.randint(1, 5, (1,), generator=g))
    return [torch.randn(6, 4, generator=g, dtype=torch.float64) for _ in range(layers)], 0.9


class _Net(torch.nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = weight

    def forward(self, h):
        return torch.tanh(h @ self.weight)


def _coupling_reverse_reference(y, cond, weight):
    coupling = AffineCoupling(y.shape[1], _Net(weight), cond_dim=cond.shape[1])
    return coupling(y, cond, reverse=True)[0]


def _coupling_inputs(g: torch.Generator):
    d, c = 6, 2
    return (torch.randn(5, d, generator=g, dtype=torch.float64), torch.randn(5, c, generator=g, dtype=torch.float64),
            torch.randn(d - d // 2 + c, 2 * (d // 2), generator=g, dtype=torch.float64))


register(Exercise(
    name="cinn.leaky_relu",
    kind="build",
    skill="an elementwise bijection and its exact log-determinant (the piece the official code gets wrong)",
    forbid=("vidsynth_lite.nn.invertible",),
    reference=_leaky_reference,
    make_inputs=_leaky_inputs,
    hint="y = x where x >= 0, alpha x elsewhere; the Jacobian is diagonal: log|det| = (number of x < 0) * "
         "log(alpha), one value per row [B]; return (y, log_det)",
))

register(Exercise(
    name="cinn.actnorm_start",
    kind="build",
    skill="ActNorm's data-dependent initialisation: the first batch leaves with zero mean and unit variance",
    forbid=("vidsynth_lite.nn.invertible",),
    reference=_actnorm_reference,
    make_inputs=lambda g: (3 + 2 * torch.randn(64, 5, generator=g, dtype=torch.float64),),
    atol=1e-5, rtol=1e-5,
    hint="choose log_scale and bias so that exp(log_scale) * x + bias has zero mean and unit (population) "
         "variance per feature on this batch; ActNorm adds eps = 1e-6 to the std",
))

register(Exercise(
    name="cinn.official_nll_gap",
    kind="understand",
    skill="how a missing log-determinant term biases a reported likelihood, and in which direction",
    forbid=("vidsynth_lite.nn.invertible",),
    reference=_gap_reference,
    make_inputs=_gap_inputs,
    hint="the NLL subtracts log|det|; the leaky ReLU's true log|det| is n_neg * log(alpha) < 0, the official code "
         "uses 0: which one is larger, and by how much? count negatives over every layer's input",
))

register(Exercise(
    name="cinn.coupling_reverse",
    kind="debug",
    skill="inverting an affine coupling without inverting its networks (finding the sign bug)",
    forbid=("vidsynth_lite.nn.invertible",),
    reference=_coupling_reverse_reference,
    make_inputs=_coupling_inputs,
    hint="the passive half (first d - d // 2 features) is unchanged, so s and t can be recomputed from it; "
         "then undo y_a = x_a * exp(s) + t",
))
