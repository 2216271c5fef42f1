"""The bottom prior: a 2D PixelCNN that generates the bottom latents one time slice at a time (Walker et al.
2021, Sec. 3.2, Tables 4, 7, 8).

For the slice ``n`` the PixelCNN is conditioned, position by position, on a volume ``c_n`` built from:

1. the top latents, upsampled to the bottom grid by three convolutions with kernels (4,3,3) -> (3,4,4) ->
   (3,3,3) and strides (2,1,1) -> (1,2,2) -> (1,1,1) to ``up_channels`` (Table 8: 64x64x8x1024), of which
   slice ``n`` is taken;
2. the ``past_window`` bottom slices ``n - w .. n - 1`` (Tables 7-8: 4), reduced to one slice by ``past_layers``
   convolutions of kernel (4,3,3) and stride (2,1,1) with "same" padding (Table 8: 4 layers; 4 -> 2 -> 1 -> 1 -> 1
   slices). A slice before the first one is all zeros (for ``n = 2`` the window holds 2 zero slices);
3. the two concatenated, lifted to ``cond_hidden`` channels and passed through ``cond_layers`` residual blocks
   (Table 7; "a conditioning stack identical to the one described in Razavi et al. 2019").

Then ``logits_n = PixelCNN(bottom_n, c_n)`` (:mod:`vidsynth_lite.nn.pixelcnn` has the PixelCNN's forward pass
in one loop). Slices ``0 .. n0-1`` (``n0 = cond_frames / 2``) come from the conditioning frames; slices
``n0 .. T/2 - 1`` are generated. The Sec. 3.2 text speaks of a window of 2 past slices; the tables' 4 is the
``full`` profile's value.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.nn import CausalPixelCNN, PixelCNNConfig, ResidualStack3d, sample_cached, sample_naive

from .config import BottomPriorConfig


def _past_convs(channels: int, window: int, layers: int) -> nn.Sequential:
    """``layers`` convolutions (4,3,3) / stride (2,1,1) with TensorFlow-style "same" padding in time
    (``out = ceil(in / 2)``): ``window`` slices -> 1 (Table 8)."""
    if window < 1 or layers < 1 or 2 ** layers < window:
        raise ValueError(f"past_layers = {layers} stride-2 convolutions cannot reduce past_window = {window} "
                         f"slices to one (need 2 ** past_layers >= past_window >= 1)")
    mods, t = [], window
    for i in range(layers):
        out = math.ceil(t / 2)
        total = max((out - 1) * 2 + 4 - t, 0)                               # "same" padding of a (4, .) kernel
        mods += [nn.ConstantPad3d((1, 1, 1, 1, total // 2, total - total // 2), 0.0),
                 nn.Conv3d(channels, channels, (4, 3, 3), stride=(2, 1, 1))]
        if i < layers - 1:
            mods.append(nn.ReLU())
        t = out
    return nn.Sequential(*mods)


class BottomPrior(nn.Module):
    def __init__(self, cfg: BottomPriorConfig):
        super().__init__()
        self.cfg = cfg
        self.n0 = cfg.cond_frames // 2                  # bottom slices given (2)
        self.t_bottom = cfg.frames // 2                 # bottom slices in all (8)
        e, u = cfg.cond_embed, cfg.up_channels
        self.embed_top = nn.Embedding(cfg.num_codes, e)
        self.embed_bottom = nn.Embedding(cfg.num_codes, e)
        self.up = nn.Sequential(                                            # Table 8: top -> bottom grid
            nn.ConvTranspose3d(e, u, (4, 3, 3), stride=(2, 1, 1), padding=1), nn.ReLU(),
            nn.ConvTranspose3d(u, u, (3, 4, 4), stride=(1, 2, 2), padding=1), nn.ReLU(),
            nn.Conv3d(u, u, 3, padding=1))
        self.past = _past_convs(e, cfg.past_window, cfg.past_layers)        # Table 8: window -> one slice
        self.lift = nn.Conv3d(u + e, cfg.cond_hidden, (1, 3, 3), padding=(0, 1, 1))
        self.stack = ResidualStack3d(cfg.cond_hidden, cfg.cond_residual, cfg.cond_layers, kernel=(1, 3, 3))
        self.pixelcnn = CausalPixelCNN(PixelCNNConfig.planar(
            cfg.kernel, num_codes=cfg.num_codes, hidden=cfg.hidden, residual=cfg.residual, layers=cfg.layers,
            cond_channels=cfg.cond_hidden, attn_every=cfg.attn_every, heads=cfg.heads, dropout=cfg.dropout))

    def top_features(self, top: torch.Tensor) -> torch.Tensor:
        """Top codes [B, T/4, h, w] -> features on the bottom grid [B, u, T/2, 2h, 2w]."""
        return self.up(self.embed_top(top).movedim(-1, 1))                  # [B, e, T/4, h, w] -> up

    def past_embeddings(self, bottom: torch.Tensor) -> torch.Tensor:
        """Bottom codes [B, n, H, W] -> embeddings with ``past_window`` zero slices in front,
        [B, e, w + n, H, W]: the window of slice ``m`` is ``[:, :, m : m + w]``."""
        emb = self.embed_bottom(bottom).movedim(-1, 1)                      # [B, e, n, H, W]
        return F.pad(emb, (0, 0, 0, 0, self.cfg.past_window, 0))

    def slice_condition(self, top_slice: torch.Tensor, past: torch.Tensor) -> torch.Tensor:
        """Top features of slice n [B, u, 1, H, W] and the embedded window [B, e, w, H, W] -> c_n [B, C, 1, H, W]."""
        p = F.relu(self.past(past))                                         # [B, e, 1, H, W]
        return self.stack(self.lift(torch.cat([F.relu(top_slice), p], dim=1)))

    def _check(self, top: torch.Tensor, bottom: torch.Tensor, bottom_slices: int) -> None:
        if top.dim() != 4 or bottom.dim() != 4 or bottom.shape[1] != bottom_slices or \
                top.shape[1] != self.t_bottom // 2 or bottom.shape[-2:] != (2 * top.shape[2], 2 * top.shape[3]):
            raise ValueError(f"BottomPrior expects top codes [B, {self.t_bottom // 2}, h, w] and bottom codes "
                             f"[B, {bottom_slices}, 2h, 2w], got {tuple(top.shape)} and {tuple(bottom.shape)}")

    def forward(self, top: torch.Tensor, bottom: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits [B, K, T/2 - n0, H, W] of bottom slices n0.. given all codes."""
        self._check(top, bottom, self.t_bottom)
        b, tb, hb, wb = bottom.shape
        s, w = tb - self.n0, self.cfg.past_window
        feats = self.top_features(top)[:, :, self.n0:]                      # [B, u, S, H, W]
        feats = feats.transpose(1, 2).reshape(b * s, -1, 1, hb, wb)        # [B*S, u, 1, H, W]
        emb = self.past_embeddings(bottom[:, :-1])                          # [B, e, w + T/2 - 1, H, W]
        past = torch.stack([emb[:, :, n:n + w] for n in range(self.n0, tb)], 1)   # [B, S, e, w, H, W]
        cond = self.slice_condition(feats, past.flatten(0, 1))              # [B*S, C, 1, H, W]
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
        self._check(top, cond_bottom, self.n0)
        b, _, hb, wb = cond_bottom.shape
        s, w = self.t_bottom - self.n0, self.cfg.past_window
        if uniforms is None:
            uniforms = torch.rand(b, s, hb, wb, generator=generator, dtype=torch.float64)
        was = self.training
        self.eval()
        try:
            if not fast:
                def logits_fn(c):
                    return self(top, torch.cat([cond_bottom, c], 1))
                return sample_naive(logits_fn, uniforms, temperature, top_k, top_p, device=top.device)
            feats = self.top_features(top)                                  # [B, u, T/2, H, W]
            codes = cond_bottom
            for n in range(self.n0, self.t_bottom):
                past = self.past_embeddings(codes)[:, :, n:n + w]           # slices n-w .. n-1
                cond = self.slice_condition(feats[:, :, n:n + 1], past)
                new = sample_cached(self.pixelcnn, cond, uniforms[:, n - self.n0:n - self.n0 + 1], temperature,
                                    top_k, top_p, device=top.device)      # [B, 1, H, W]
                codes = torch.cat([codes, new], 1)
            return codes[:, self.n0:]
        finally:
            self.train(was)


def bottom_prior_loss(model: nn.Module, batch: dict):
    """Cross-entropy (nats) of the generated bottom slices; ``batch`` has ``top`` and ``bottom`` codes.
    The logged ``bits_per_code`` stays a device tensor (no host sync)."""
    m = model.module if hasattr(model, "module") else model
    top, bottom = batch["top"].long(), batch["bottom"].long()             # codes may be stored as int16
    logits = model(top, bottom)
    loss = F.cross_entropy(logits, bottom[:, m.n0:])
    return loss, {"bits_per_code": loss.detach() / math.log(2)}
