"""The hierarchical video VQ-VAE (Walker et al. 2021, Sec. 3.1, Table 3).

Encoder: 3D convolutions downsample the video ``[B, T, 3, H, W]`` by (2, 4, 4) to the bottom layer
``(T/2, H/4, W/4)``; another stack downsamples by (2, 2, 2) to the top layer ``(T/4, H/8, W/8)``. Each layer is
quantised with its own codebook (Eqs. 1-3). Decoder: the top latents are upsampled by a transposed convolution,
concatenated with the bottom latents and decoded by a transposed (4, 8, 8) / (2, 4, 4) convolution. During
training the bottom latents in the concatenation are zeroed for a random subset of the batch ("we randomly mask
out the bottom layer ... encourages the model to utilize the top latent layer").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.checks import check_video
from vidsynth_lite.nn import QuantizerOutput, ResidualStack3d, VectorQuantizer

from .config import VQVAEConfig


@dataclass
class VQVAEOutput:
    recon: torch.Tensor          # [B, T, C, H, W]
    bottom: QuantizerOutput      # codes [B, T/2, H/4, W/4]
    top: QuantizerOutput         # codes [B, T/4, H/8, W/8]
    loss: torch.Tensor           # Eq. 2 with the EMA codebook: reconstruction + beta * commitment (both layers)
    recon_loss: torch.Tensor


def _to_cthw(video: torch.Tensor) -> torch.Tensor:
    return video.transpose(1, 2)                                            # [B, T, C, H, W] -> [B, C, T, H, W]


class VideoVQVAE(nn.Module):
    def __init__(self, cfg: VQVAEConfig):
        super().__init__()
        self.cfg = cfg
        self._values_checked = False
        hid, res, n = cfg.hidden, cfg.residual, cfg.layers
        self.enc_bottom = nn.Sequential(
            nn.Conv3d(cfg.channels, hid, (4, 8, 8), stride=(2, 4, 4), padding=(1, 2, 2)),   # Table 3, stage 1
            nn.ReLU(), nn.Conv3d(hid, hid, 3, padding=1), ResidualStack3d(hid, res, n))
        self.enc_top = nn.Sequential(
            nn.Conv3d(hid, hid, 4, stride=2, padding=1),                                     # Table 3, stage 2
            nn.ReLU(), nn.Conv3d(hid, hid, 3, padding=1), ResidualStack3d(hid, res, n))
        self.pre_bottom = nn.Conv3d(hid, cfg.code_dim, 1)
        self.pre_top = nn.Conv3d(hid, cfg.code_dim, 1)
        q = {"beta": cfg.beta, "ema": cfg.ema, "decay": cfg.decay, "restart_threshold": cfg.restart_threshold}
        self.vq_bottom = VectorQuantizer(cfg.num_codes, cfg.code_dim, **q)
        self.vq_top = VectorQuantizer(cfg.num_codes, cfg.code_dim, **q)
        self.dec_top = nn.Sequential(
            nn.Conv3d(cfg.code_dim, hid, 3, padding=1), ResidualStack3d(hid, res, n),
            nn.ConvTranspose3d(hid, cfg.code_dim, 4, stride=2, padding=1))                  # top -> bottom grid
        self.dec = nn.Sequential(
            nn.Conv3d(2 * cfg.code_dim, hid, 3, padding=1), ResidualStack3d(hid, res, n),
            nn.ConvTranspose3d(hid, cfg.channels, (4, 8, 8), stride=(2, 4, 4), padding=(1, 2, 2)))  # Table 3

    # -- input checks (issue 9: one clear message, at every public entry point) ----------------------------
    def check_input(self, video: torch.Tensor, values: bool = True, name: str = "video") -> torch.Tensor:
        """``video`` must be a float ``[B, T, C, H, W]`` batch with T a multiple of 4, H and W multiples of 8
        (the strides of Table 3) and, if ``values``, finite values in [-1, 1] (reading them is a host sync)."""
        return check_video(video, name=name, channels=self.cfg.channels, frames_multiple=4, size_multiple=8,
                           values=values)

    # -- encoder -------------------------------------------------------------------------------------------
    def quantize(self, video: torch.Tensor) -> tuple[QuantizerOutput, QuantizerOutput]:
        """Video [B, T, C, H, W] -> (bottom, top) quantiser outputs (shape checked; values by the callers)."""
        self.check_input(video, values=False)
        f_bottom = self.enc_bottom(_to_cthw(video))                         # [B, hid, T/2, H/4, W/4]
        f_top = self.enc_top(f_bottom)                                      # [B, hid, T/4, H/8, W/8]
        return self.vq_bottom(self.pre_bottom(f_bottom)), self.vq_top(self.pre_top(f_top))

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Video [B, T, C, H, W] -> codes (bottom [B, T/2, H/4, W/4], top [B, T/4, H/8, W/8])."""
        self.check_input(video)
        was = self.training
        self.eval()
        try:
            b, t = self.quantize(video)
        finally:
            self.train(was)
        return b.codes, t.codes

    # -- decoder -------------------------------------------------------------------------------------------
    def decode_latents(self, z_bottom: torch.Tensor, z_top: torch.Tensor) -> torch.Tensor:
        """Quantised latents (channels first) -> video [B, T, C, H, W]. Zeros for ``z_bottom`` = masked."""
        up = self.dec_top(z_top)                                            # [B, D, T/2, H/4, W/4]
        x = self.dec(torch.cat([z_bottom, up], dim=1))                      # [B, C, T, H, W]
        return x.transpose(1, 2)                                            # [B, T, C, H, W]

    def decode(self, bottom_codes: torch.Tensor, top_codes: torch.Tensor, mask_bottom: bool = False) -> torch.Tensor:
        """Codes -> video [B, T, C, H, W]; ``mask_bottom`` decodes from the top layer alone (Fig. 2)."""
        z_b = self.vq_bottom.lookup(bottom_codes)                           # [B, D, T/2, H/4, W/4]
        if mask_bottom:
            z_b = torch.zeros_like(z_b)
        return self.decode_latents(z_b, self.vq_top.lookup(top_codes))

    def forward(self, video: torch.Tensor) -> VQVAEOutput:
        """Eq. 2 on a batch [B, T, C, H, W]. The values are checked on the first call and on every call on a
        CPU; on a GPU later training steps check only the shape (a value check is a host sync)."""
        self.check_input(video, values=video.device.type == "cpu" or not self._values_checked)
        self._values_checked = True
        q_b, q_t = self.quantize(video)
        z_b = q_b.z_q
        if self.training and self.cfg.bottom_mask_prob > 0:
            keep = (torch.rand(z_b.shape[0], device=z_b.device) >= self.cfg.bottom_mask_prob).to(z_b.dtype)
            z_b = z_b * keep.view(-1, 1, 1, 1, 1)                           # Sec. 3.1 random masking
        recon = self.decode_latents(z_b, q_t.z_q)
        recon_loss = F.mse_loss(recon, video)                               # ||D(z_q(x)) - x||^2
        return VQVAEOutput(recon=recon, bottom=q_b, top=q_t, loss=recon_loss + q_b.loss + q_t.loss,
                           recon_loss=recon_loss)


def vqvae_loss(model: nn.Module, video: torch.Tensor):
    """``loss_fn`` for :func:`vidsynth_lite.train.fit`: Eq. 2 (EMA codebook), with logged terms that stay device
    tensors (the loop reads them on logging steps only)."""
    out = model(video)
    return out.loss, {"recon": out.recon_loss.detach(), "perplexity_bottom": out.bottom.perplexity,
                      "perplexity_top": out.top.perplexity, "usage_bottom": out.bottom.usage,
                      "usage_top": out.top.usage}
