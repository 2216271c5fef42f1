"""The bottom prior: a 2D PixelCNN that generates the bottom latents one time slice at a time (Walker et al.
2021, Sec. 3.2, Tables 4, 7, 8).

For the slice ``n`` it is conditioned through a 3D conditioning stack on (a) the top latents, upsampled to the
bottom grid by three convolutions with kernels (4,3,3) -> (3,4,4) -> (3,3,3) and strides (2,1,1) -> (1,2,2) ->
(1,1,1), of which slice ``n`` is taken (the window of 4 top slices), and (b) the ``past_window`` (2) bottom
slices ``n-2, n-1``, reduced to one slice by a convolution over time. The two are concatenated and passed through
a stack of residual blocks (Razavi et al. 2019). Slices ``0 .. n0-1`` (``n0 = cond_frames / 2``) come from the
conditioning frames; slices ``n0 .. T/2 - 1`` are generated.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.nn import CausalPixelCNN, ResidualStack3d, sample_cached, sample_naive

from .config import BottomPriorConfig


class BottomPrior(nn.Module):
    def __init__(self, cfg: BottomPriorConfig):
        super().__init__()
        self.cfg = cfg
        self.n0 = cfg.cond_frames // 2                  # bottom slices given (2)
        self.t_bottom = cfg.frames // 2                 # bottom slices in all (8)
        if cfg.past_window > self.n0 or cfg.past_window < 1:
            raise ValueError(f"past_window must be in [1, cond_frames/2 = {self.n0}], got {cfg.past_window}")
        e, k = cfg.cond_embed, cfg.kernel
        self.embed_top = nn.Embedding(cfg.num_codes, e)
        self.embed_bottom = nn.Embedding(cfg.num_codes, e)
        self.up = nn.Sequential(                                            # Table 8
            nn.ConvTranspose3d(e, e, (4, 3, 3), stride=(2, 1, 1), padding=1), nn.ReLU(),
            nn.ConvTranspose3d(e, e, (3, 4, 4), stride=(1, 2, 2), padding=1), nn.ReLU(),
            nn.Conv3d(e, e, 3, padding=1))
        self.past = nn.Conv3d(e, e, (cfg.past_window, 3, 3), padding=(0, 1, 1))
        self.lift = nn.Conv3d(2 * e, cfg.cond_hidden, (1, 3, 3), padding=(0, 1, 1))
        self.stack = ResidualStack3d(cfg.cond_hidden, cfg.cond_residual, cfg.cond_layers, kernel=(1, 3, 3))
        self.pixelcnn = CausalPixelCNN(cfg.num_codes, cfg.hidden, cfg.residual, cfg.layers, (1, k, k),
                                       [(1, k, k)], (1, 1, k), cfg.cond_hidden, cfg.attn_every, cfg.heads,
                                       cfg.dropout)

    def top_features(self, top: torch.Tensor) -> torch.Tensor:
        """Top codes [B, T/4, h, w] -> features on the bottom grid [B, e, T/2, 2h, 2w]."""
        return self.up(self.embed_top(top).movedim(-1, 1))

    def slice_condition(self, top_slice: torch.Tensor, past: torch.Tensor) -> torch.Tensor:
        """Top features of slice n [B, e, 1, H, W] and past bottom codes [B, w, H, W] -> [B, C, 1, H, W]."""
        p = F.relu(self.past(self.embed_bottom(past).movedim(-1, 1)))       # [B, e, 1, H, W]
        return self.stack(self.lift(torch.cat([F.relu(top_slice), p], dim=1)))

    def forward(self, top: torch.Tensor, bottom: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits [B, K, T/2 - n0, H, W] of bottom slices n0.. given all codes."""
        b, tb, hb, wb = bottom.shape
        if tb != self.t_bottom:
            raise ValueError(f"expected {self.t_bottom} bottom slices, got bottom codes {tuple(bottom.shape)}")
        s, w = tb - self.n0, self.cfg.past_window
        feats = self.top_features(top)[:, :, self.n0:]                      # [B, e, S, H, W]
        if feats.shape[-2:] != (hb, wb):
            raise ValueError(f"top codes {tuple(top.shape)} do not match bottom codes {tuple(bottom.shape)}")
        feats = feats.transpose(1, 2).reshape(b * s, -1, 1, hb, wb)        # [B*S, e, 1, H, W]
        past = torch.stack([bottom[:, n - w:n] for n in range(self.n0, tb)], 1).reshape(b * s, w, hb, wb)
        cond = self.slice_condition(feats, past)                            # [B*S, C, 1, H, W]
        logits = self.pixelcnn(bottom[:, self.n0:].reshape(b * s, 1, hb, wb), cond)   # [B*S, K, 1, H, W]
        return logits.reshape(b, s, -1, hb, wb).transpose(1, 2)             # [B, K, S, H, W]

    @torch.no_grad()
    def sample(self, top: torch.Tensor, cond_bottom: torch.Tensor, uniforms: torch.Tensor | None = None,
               temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
               generator: torch.Generator | None = None, fast: bool = True) -> torch.Tensor:
        """Generated bottom slices [B, T/2 - n0, H, W] given all top codes and the n0 conditioning slices.

        ``fast``: per slice, the conditioning stack runs once and the 2D PixelCNN samples row by row from
        caches; otherwise the whole teacher-forced model runs once per position. Same uniforms, same codes.
        """
        b, _, hb, wb = cond_bottom.shape
        s, w = self.t_bottom - self.n0, self.cfg.past_window
        if uniforms is None:
            uniforms = torch.rand(b, s, hb, wb, generator=generator, dtype=torch.float64)
        was = self.training
        self.eval()
        try:
            if not fast:
                return sample_naive(lambda c: self(top, torch.cat([cond_bottom, c], 1)), uniforms, temperature,
                                    top_k, top_p, device=top.device)
            feats = self.top_features(top)                                  # [B, e, T/2, H, W]
            codes = cond_bottom
            for n in range(self.n0, self.t_bottom):
                cond = self.slice_condition(feats[:, :, n:n + 1], codes[:, n - w:n])
                new = sample_cached(self.pixelcnn, cond, uniforms[:, n - self.n0:n - self.n0 + 1], temperature,
                                    top_k, top_p, device=top.device)      # [B, 1, H, W]
                codes = torch.cat([codes, new], 1)
            return codes[:, self.n0:]
        finally:
            self.train(was)


def bottom_prior_loss(model: nn.Module, batch: dict):
    """Cross-entropy (nats) of the generated bottom slices; ``batch`` has ``top`` and ``bottom`` codes."""
    m = model.module if hasattr(model, "module") else model
    top, bottom = batch["top"].long(), batch["bottom"].long()             # codes may be stored as int16
    logits = model(top, bottom)
    loss = F.cross_entropy(logits, bottom[:, m.n0:])
    return loss, {"bits_per_code": float(loss.detach()) / 0.6931471805599453}
