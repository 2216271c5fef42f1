"""Stage 2: the conditional invertible network T_theta (Dorkenwald et al., Secs. 3.1, 3.2, 3.4; supplement B.1).

T_theta maps a residual ``nu ~ N(0, I)`` and the start frame's embedding (and optionally a control ``eta``) to a
video representation ``z`` of stage 1 (Eq. 1, ``z = T(nu; x_0)``), and back (Eq. 3, ``nu = T^-1(z; x_0)``).
Training maximises the likelihood of ``z`` drawn from the frozen stage-1 posterior q_phi(z | X) (Eq. 6-7)::

    min_theta  E_{z, x_0} [ 0.5 ||T^-1(z; x_0)||^2 - log|det J_{T^-1}(z; x_0)| ]          (Eq. 7)

(Eq. 7 as printed drops the 1/2 of the Gaussian's exponent; the official loss keeps it, and so do we.)

Module direction: like the official code, ``forward`` is the *normalising* direction ``z -> nu`` (what training
evaluates) and ``reverse=True`` the generative one ``nu -> z``. Each of the ``n_flows`` blocks is
ActNorm -> invertible leaky ReLU -> affine coupling (second half) -> affine coupling (first half) -> fixed shuffle
(the official ``ConditionalFlatDoubleCouplingFlowBlock``); the condition enters every coupling.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vidsynth_lite.nn.invertible import (
    ActNorm,
    AffineCoupling,
    FixedPermutation,
    InvertibleLeakyReLU,
    InvertibleSequence,
    ScaleShiftNet,
    standard_normal_nll,
)

from .config import CINNConfig


def flow_block(cfg: CINNConfig, seed: int) -> InvertibleSequence:
    """One block: ActNorm, leaky ReLU, two couplings (each half transformed once), a fixed shuffle."""
    d, half = cfg.z_dim, cfg.z_dim - cfg.z_dim // 2

    def coupling(active_first: bool) -> AffineCoupling:
        n_passive = d - half if active_first else half
        net = ScaleShiftNet(n_passive + cfg.cond_dim, d - n_passive, cfg.hidden, cfg.depth)
        return AffineCoupling(d, net, cond_dim=cfg.cond_dim, clamp=cfg.clamp, active_first=active_first)

    return InvertibleSequence(
        ActNorm(d),
        InvertibleLeakyReLU(cfg.leaky_alpha, official_zero_log_det=cfg.official_zero_log_det),
        coupling(active_first=False),
        coupling(active_first=True),
        FixedPermutation(d, seed=seed),
    )


class CINN(nn.Module):
    """T_theta: ``forward(z, cond) -> (nu, log|det dT^-1/dz|)``; ``forward(nu, cond, reverse=True) -> (z, ...)``.

    ``cond`` ``[B, cond_dim]`` is the x_0 embedding followed by the one-hot control (see :meth:`condition`).
    """

    def __init__(self, cfg: CINNConfig, seed: int = 0):
        super().__init__()
        self.cfg = cfg
        self.flow = InvertibleSequence(*[flow_block(cfg, seed * 1000 + i) for i in range(cfg.n_flows)])

    def condition(self, embedding: torch.Tensor, eta: torch.Tensor | None = None) -> torch.Tensor:
        """``[embedding, one-hot eta]`` ``[B, cond_dim]`` (Sec. 3.4: eta joins x_0 as a condition)."""
        if embedding.ndim != 2 or embedding.shape[1] != self.cfg.embed_dim:
            raise ValueError(f"expected an x_0 embedding [B, {self.cfg.embed_dim}], got {tuple(embedding.shape)}")
        n_eta = sum(self.cfg.control_bins)
        if n_eta == 0:
            if eta is not None:
                raise ValueError("this cINN has no control input (control_bins is empty) but eta was given")
            return embedding
        if eta is None or eta.shape != (embedding.shape[0], n_eta):
            got = None if eta is None else tuple(eta.shape)
            raise ValueError(f"expected a one-hot control eta [{embedding.shape[0]}, {n_eta}], got {got}")
        return torch.cat([embedding, eta.to(embedding.dtype)], 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, reverse: bool = False):
        if x.ndim != 2 or x.shape[1] != self.cfg.z_dim:
            raise ValueError(f"CINN expects [B, {self.cfg.z_dim}] inputs, got {tuple(x.shape)}")
        return self.flow(x, cond, reverse=reverse)

    def nll(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Per-sample ``-log p(z | x_0)`` in nats (Eqs. 5-6 with the Gaussian's constant) -> ``[B]``."""
        nu, log_det = self(z, cond)
        return standard_normal_nll(nu, log_det)

    def sample(self, cond: torch.Tensor, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> torch.Tensor:
        """``z = T(nu; x_0)`` with ``nu ~ N(0, temperature^2 I)`` (Sec. 3.2, last paragraph) -> ``[B, z_dim]``."""
        nu = temperature * torch.randn(cond.shape[0], self.cfg.z_dim, generator=generator,
                                       device=cond.device, dtype=cond.dtype)
        return self(nu, cond, reverse=True)[0]


def cinn_loss(model: CINN, z: torch.Tensor, cond: torch.Tensor):
    """Eq. 7 per dimension: ``mean(0.5 ||nu||^2 - log|det|) / d_z`` -> ``(loss, logs)`` (nats per dimension,
    without the constant ``0.5 log 2 pi``)."""
    nu, log_det = model(z, cond)
    d = z.shape[1]
    quad, jac = 0.5 * nu.pow(2).sum(1).mean() / d, log_det.mean() / d
    loss = quad - jac
    nll = loss + 0.5 * math.log(2 * math.pi)
    return loss, {"nll_per_dim": nll.detach(), "quadratic": quad.detach(), "log_det": jac.detach()}
