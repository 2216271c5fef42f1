"""The top prior: a PixelCNN extended into time (Walker et al. 2021, Sec. 3.2, Tables 4-6).

It models the top latents of the 12 predicted frames, ``[B, T/4 - 1, H/8, W/8]`` (3 x 32 x 32 at full size),
conditioned on the VQ-VAE latents of the 4 conditioning frames. The whole forward pass::

    # conditioning stack (Tables 5-6), once per clip
    a = ConvT_(2,4,4)/2(E_top[cond_top])                 # conditioning top latents 32x32 -> 64x64x2
    b = E_bottom[cond_bottom]                            # conditioning bottom latents 64x64x2
    x = mean_t Conv_(2,4,4)/2([a, b])                    # concatenated, down to 32x32x256
    c = ResidualStack(Conv_3(relu(tile_t(x))))           # tiled over the 3 predicted steps, 512 channels,
                                                         # 4 residual blocks (Table 5)
    # the PixelCNN extended into time (Table 4): vidsynth_lite.nn.pixelcnn, whose docstring writes out
    # its loop -- a (3,3,3) masked convolution, 40 gated layers whose stacks convolve in the y-t and x-t
    # planes, causal self-attention over the 3D voxel after every 5th layer, dropout 0.5
    logits = PixelCNN(top, c)                            # [B, K, 3, 32, 32]

The conditioning stack averages over the two time steps after the downsampling convolution (Table 6 does not
say how 64x64x2 becomes 32x32; with 4 conditioning frames the convolution already leaves one step).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.nn import CausalPixelCNN, PixelCNNConfig, ResidualStack3d, sample_cached, sample_naive

from .config import TopPriorConfig


class TopPrior(nn.Module):
    def __init__(self, cfg: TopPriorConfig):
        super().__init__()
        if cfg.cond_frames % 4 or cfg.frames % 4 or cfg.frames <= cfg.cond_frames:
            raise ValueError(f"cond_frames and frames must be multiples of 4 with frames > cond_frames, got "
                             f"{cfg.cond_frames}, {cfg.frames}")
        self.cfg = cfg
        self.t_cond = cfg.cond_frames // 4                  # top slices given (1)
        self.t_pred = cfg.frames // 4 - self.t_cond         # top slices predicted (3)
        e = cfg.cond_embed
        self.embed_top = nn.Embedding(cfg.num_codes, e)
        self.embed_bottom = nn.Embedding(cfg.num_codes, e)
        self.up_top = nn.ConvTranspose3d(e, e, (2, 4, 4), stride=2, padding=(0, 1, 1))   # 32x32 -> 64x64x2
        self.down = nn.Conv3d(2 * e, cfg.cond_embed, (2, 4, 4), stride=2, padding=(0, 1, 1))  # -> 32x32x256
        self.lift = nn.Conv3d(cfg.cond_embed, cfg.cond_hidden, 3, padding=1)             # -> 32x32x3x512
        self.stack = ResidualStack3d(cfg.cond_hidden, cfg.cond_residual, cfg.cond_layers)  # Table 5
        self.pixelcnn = CausalPixelCNN(PixelCNNConfig.spacetime(
            cfg.kernel, num_codes=cfg.num_codes, hidden=cfg.hidden, residual=cfg.residual, layers=cfg.layers,
            cond_channels=cfg.cond_hidden, attn_every=cfg.attn_every, heads=cfg.heads, dropout=cfg.dropout))

    def condition(self, cond_top: torch.Tensor, cond_bottom: torch.Tensor) -> torch.Tensor:
        """Conditioning codes top [B, T/4c, h, w] and bottom [B, T/2c, 2h, 2w] -> [B, C, t_pred, h, w]."""
        a = self.up_top(self.embed_top(cond_top).movedim(-1, 1))            # [B, e, 2, 2h, 2w]
        b = self.embed_bottom(cond_bottom).movedim(-1, 1)                   # [B, e, 2, 2h, 2w]
        if a.shape != b.shape:
            raise ValueError(f"conditioning latents do not fit: top {tuple(cond_top.shape)} -> "
                             f"{tuple(a.shape)}, bottom {tuple(cond_bottom.shape)} -> {tuple(b.shape)}")
        x = self.down(torch.cat([a, b], dim=1)).mean(2, keepdim=True)       # [B, 256, 1, h, w]
        x = x.expand(-1, -1, self.t_pred, -1, -1)                           # tiled: [B, 256, t_pred, h, w]
        return self.stack(self.lift(F.relu(x)))                             # [B, 512, t_pred, h, w]

    def forward(self, cond_top: torch.Tensor, cond_bottom: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
        """Logits [B, K, t_pred, h, w] of the predicted top codes ``top`` [B, t_pred, h, w] (teacher forcing)."""
        if top.dim() != 4 or top.shape[1] != self.t_pred or top.shape[-2:] != cond_top.shape[-2:]:
            raise ValueError(f"TopPrior expects predicted top codes [B, {self.t_pred}, h, w] matching the "
                             f"conditioning top codes {tuple(cond_top.shape)}, got {tuple(top.shape)}")
        return self.pixelcnn(top, self.condition(cond_top, cond_bottom))

    @torch.no_grad()
    def sample(self, cond_top: torch.Tensor, cond_bottom: torch.Tensor, uniforms: torch.Tensor | None = None,
               temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
               generator: torch.Generator | None = None, fast: bool = True) -> torch.Tensor:
        """Predicted top codes [B, t_pred, h, w]. ``fast``: row-cached sampler; else one full pass per position.

        Both use the uniforms ``uniforms`` [B, t_pred, h, w] (drawn from ``generator`` if not given), so they
        return the same codes for the same draws.
        """
        b, _, h, w = cond_top.shape
        if uniforms is None:
            uniforms = torch.rand(b, self.t_pred, h, w, generator=generator, dtype=torch.float64)
        was = self.training
        self.eval()
        try:
            if fast:
                return sample_cached(self.pixelcnn, self.condition(cond_top, cond_bottom), uniforms,
                                     temperature, top_k, top_p, device=cond_top.device)
            return sample_naive(lambda c: self(cond_top, cond_bottom, c), uniforms, temperature, top_k, top_p,
                                device=cond_top.device)
        finally:
            self.train(was)


def top_prior_loss(model: nn.Module, batch: dict):
    """Cross-entropy (nats) of the predicted top codes; ``batch`` has ``top`` [B, T/4, h, w], ``bottom``.
    The logged ``bits_per_code`` stays a device tensor (no host sync)."""
    m = model.module if hasattr(model, "module") else model
    top, bottom = batch["top"].long(), batch["bottom"].long()             # codes may be stored as int16
    tc, bc = m.t_cond, 2 * m.t_cond
    logits = model(top[:, :tc], bottom[:, :bc], top[:, tc:])
    loss = F.cross_entropy(logits, top[:, tc:])
    return loss, {"bits_per_code": loss.detach() / math.log(2)}
