"""The motion generator G_M (Tian et al. 2021, Sec. 3.1, Eqs. 1-3, App. A.1).

Given the first frame's code ``z_1`` (a style code ``w`` of the frozen image generator), G_M predicts the codes of
the following frames:

- Eq. 1: an LSTM encoder turns ``z_1`` into the initial state, ``(h_0, c_0) = LSTM_enc(z_1)``; an LSTM decoder then
  steps once per frame on fresh noise, ``(h_t, c_t) = LSTM_dec(eps_t, (h_{t-1}, c_{t-1}))``, ``eps_t ~ N(0, I)``.
- Eq. 2: the motion is a **residual** in the span of the top principal directions ``U`` of the style space,
  ``z_{t+1} = z_t + lambda * U^T (std * tanh(W h_t + b))`` -- the tanh and the per-component standard deviation
  ``std`` are the official code's (the paper writes ``lambda * U h_t``).
- Eq. 3: a 2-layer MLP ``H`` maps ``h_t`` back towards ``eps_t``; the generator maximises their cosine similarity
  (the mutual-information loss ``L_m``), so that the decoder cannot ignore its noise.

With ``residual=False`` (Tab. 5, "w/o Eq. 2") the same output layer places the code directly,
``z_{t+1} = mean_w + U^T (std * tanh(W h_t + b))``: only the residual connection to ``z_t`` is removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.checks import InputError
from vidsynth_lite.models.stylegan2.inputs import check_codes

from .config import MotionConfig
from .pca import LatentPCA


@dataclass
class MotionOutput:
    codes: torch.Tensor        # [B, T, D]: z_1 .. z_T (z_1 is the input)
    noise: torch.Tensor        # [B, T-1, noise_dim]: eps_t fed to the decoder
    hidden: torch.Tensor       # [B, T-1, hidden]: h_t
    cell: torch.Tensor         # [B, T-1, hidden]: c_t
    noise_pred: torch.Tensor   # [B, T-1, noise_dim]: H(h_t) (or H([h_t, c_t])), the MI head's output


class MotionGenerator(nn.Module):
    """G_M of Sec. 3.1. ``pca``: the style-space PCA (its top ``cfg.n_pca`` components form ``U``)."""

    def __init__(self, cfg: MotionConfig, pca: LatentPCA):
        super().__init__()
        self.cfg = cfg.validate()
        if pca.components.shape[0] < cfg.n_pca or pca.components.shape[1] != cfg.style_dim:
            raise ValueError(f"the PCA has {tuple(pca.components.shape)} components; MotionConfig needs at least "
                             f"[{cfg.n_pca}, {cfg.style_dim}]")
        # U and std travel with the weights: a checkpoint is the whole motion model
        self.register_buffer("basis", pca.components[:cfg.n_pca].clone())  # U [K, D], orthonormal rows
        self.register_buffer("basis_std", pca.std[:cfg.n_pca].clone())     # [K]
        self.register_buffer("mean_code", pca.mean.clone())                 # [D] (used by the w/o Eq. 2 variant)
        self.encoder = nn.LSTMCell(cfg.style_dim, cfg.hidden)              # LSTM_enc of Eq. 1
        self.decoder = nn.LSTMCell(cfg.noise_dim, cfg.hidden)              # LSTM_dec of Eq. 1
        self.to_coeffs = nn.Linear(cfg.hidden, cfg.n_pca)                  # W, b of Eq. 2 (official code)
        mi_in = cfg.hidden * (2 if cfg.mi_input == "hc" else 1)
        self.mi_head = nn.Sequential(nn.Linear(mi_in, cfg.mi_hidden), nn.ReLU(),
                                     nn.Linear(cfg.mi_hidden, cfg.noise_dim))   # H of Eq. 3
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """The official initialisation: orthogonal LSTM gate blocks and linear layers, zero biases, W ~ N(0, 0.02)."""
        for cell in (self.encoder, self.decoder):
            for name, p in cell.named_parameters():
                if name.startswith("weight"):
                    for block in p.chunk(4, dim=0):                        # the four gates, one block each
                        nn.init.orthogonal_(block)
                else:
                    p.zero_()
        for layer in self.mi_head:
            if isinstance(layer, nn.Linear):
                nn.init.orthogonal_(layer.weight)
                layer.bias.zero_()
        nn.init.normal_(self.to_coeffs.weight, std=0.02)
        self.to_coeffs.bias.zero_()

    def step_direction(self, h: torch.Tensor) -> torch.Tensor:
        """``U^T (std * tanh(W h + b))`` -> ``[B, D]``: a move in the span of the top principal directions."""
        coeffs = torch.tanh(self.to_coeffs(h)) * self.basis_std            # [B, K]
        return coeffs @ self.basis                                         # [B, D]

    def forward(self, z1: torch.Tensor, frames: int, noise: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> MotionOutput:
        """Codes of ``frames`` frames starting at ``z1 [B, D]``; ``noise [B, frames-1, noise_dim]`` or drawn.

        Shapes are checked (one :class:`~vidsynth_lite.checks.InputError` naming what was expected); values are
        not: ``z1`` is a style code, unbounded, and reading it would synchronise with the GPU every step."""
        check_codes(z1, name="z1 (content codes in the style space)", dim=self.cfg.style_dim)
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
            raise InputError(f"frames: expected an int >= 1, got {frames!r}")
        b = z1.shape[0]
        if noise is None:
            noise = torch.randn(b, frames - 1, self.cfg.noise_dim, generator=generator).to(z1)
        elif not isinstance(noise, torch.Tensor) or noise.shape != (b, frames - 1, self.cfg.noise_dim):
            got = tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__
            raise InputError(f"noise: expected eps [{b}, {frames - 1}, {self.cfg.noise_dim}] (B, frames - 1, "
                             f"noise_dim), got {got}")
        h, c = self.encoder(z1)                                            # Eq. 1: (h_0, c_0) = LSTM_enc(z_1)
        codes, hs, cs = [z1], [], []
        for t in range(frames - 1):
            h, c = self.decoder(noise[:, t], (h, c))                       # Eq. 1: LSTM_dec(eps_t, (h, c))
            if self.cfg.residual:
                z = codes[-1] + self.cfg.residual_scale * self.step_direction(h)   # Eq. 2
            else:
                z = self.mean_code + self.step_direction(h)                # Tab. 5 "w/o Eq. 2"
            codes.append(z)
            hs.append(h)
            cs.append(c)
        hidden = torch.stack(hs, 1) if hs else z1.new_zeros(b, 0, self.cfg.hidden)   # [B, T-1, hidden]
        cell = torch.stack(cs, 1) if cs else z1.new_zeros(b, 0, self.cfg.hidden)
        mi_in = torch.cat([hidden, cell], -1) if self.cfg.mi_input == "hc" else hidden
        return MotionOutput(torch.stack(codes, 1), noise, hidden, cell, self.mi_head(mi_in))


def mutual_information_loss(noise_pred: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Eq. 3 as a loss to minimise: ``-(1/n) sum_t cos(H(h_t), eps_t)`` over every step of every video."""
    if noise_pred.shape != noise.shape:
        raise InputError(f"noise_pred and noise must have the same shape [B, T-1, noise_dim], got "
                         f"{tuple(noise_pred.shape)} and {tuple(noise.shape)}")
    return -F.cosine_similarity(noise_pred, noise, dim=-1).mean()


def interpolate_codes(codes: torch.Tensor, factor: int) -> torch.Tensor:
    """Sec. 4.4 "motion interpolation": ``factor - 1`` linearly interpolated codes between consecutive ones.

    ``codes [B, T, D]`` -> ``[B, (T - 1) * factor + 1, D]`` (factor 2 is the official code's midpoints).
    """
    if factor < 1:
        raise InputError(f"factor must be >= 1, got {factor}")
    if not isinstance(codes, torch.Tensor) or codes.ndim != 3:
        got = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
        raise InputError(f"codes: expected trajectories [B, T, D], got {got}")
    b, t, d = codes.shape
    a = torch.arange(factor, dtype=codes.dtype, device=codes.device) / factor     # [F] positions in [0, 1)
    start, end = codes[:, :-1, None], codes[:, 1:, None]                    # [B, T-1, 1, D]
    mid = start + a[None, None, :, None] * (end - start)                    # [B, T-1, F, D]
    return torch.cat([mid.reshape(b, (t - 1) * factor, d), codes[:, -1:]], 1)
