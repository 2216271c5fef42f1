"""The x_0 embedding: an image autoencoder trained before the cINN (Dorkenwald et al., supplement B.1).

"The feature representation for the starting frame x_0 is obtained by a pretrained Autoencoder optimized for
reconstructing images." The official code's autoencoder is a VAE whose encoder's *mode* (the mean) conditions the
cINN. Ours is a small convolutional Gaussian autoencoder (stride-2 convolutions down to 4x4, a linear layer to
``mu, logvar`` of ``z_dim``; the mirror image up), trained by L1 reconstruction plus a tiny KL that keeps the
code well scaled. :meth:`ImageAE.embed` returns the mode.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.checks import check_video

from .config import ImageAEConfig
from .stage1 import group_norm, kl_divergence, reparameterize


class ImageAE(nn.Module):
    """Gaussian image autoencoder ``[B, 3, H, W] -> (mu, logvar) [B, z_dim] -> [B, 3, H, W]``.

    ``decoder=False`` builds the encoder only: all the cINN needs once the autoencoder is trained (the shipped
    checkpoint keeps the encoder only)."""

    def __init__(self, cfg: ImageAEConfig, decoder: bool = True):
        super().__init__()
        self.cfg = cfg
        n = len(cfg.widths)
        if cfg.size % 2 ** n or cfg.size // 2 ** n < 1:
            raise ValueError(f"image AE: {n} stride-2 stages cannot take size {cfg.size} down evenly")
        self.final = cfg.size // 2 ** n
        down, c_in = [], 3
        for w in cfg.widths:
            down += [nn.Conv2d(c_in, w, 4, 2, 1), group_norm(w, 16), nn.LeakyReLU(0.2)]
            c_in = w
        self.down = nn.Sequential(*down)
        flat = cfg.widths[-1] * self.final ** 2
        self.to_stats = nn.Linear(flat, 2 * cfg.z_dim)
        self.has_decoder = decoder
        if not decoder:
            return
        self.from_z = nn.Linear(cfg.z_dim, flat)
        up = []
        for w_in, w_out in zip(cfg.widths[::-1], list(cfg.widths[::-1][1:]) + [cfg.widths[0]]):
            up += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(w_in, w_out, 3, 1, 1),
                   group_norm(w_out, 16), nn.LeakyReLU(0.2)]
        self.up = nn.Sequential(*up, nn.Conv2d(cfg.widths[0], 3, 3, 1, 1), nn.Tanh())

    def encode(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``image`` ``[B, 3, H, W]`` -> ``mu, logvar`` ``[B, z_dim]``."""
        check_video(image, name="ImageAE input", rank=4, size=self.cfg.size, values=False)
        return self.to_stats(self.down(image).flatten(1)).chunk(2, dim=1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if not self.has_decoder:
            raise RuntimeError("this ImageAE was built with decoder=False (encoder only): it embeds, it cannot decode")
        h = self.from_z(z).view(z.shape[0], self.cfg.widths[-1], self.final, self.final)   # [B, C, 4, 4]
        return self.up(h)

    @torch.no_grad()
    def embed(self, image: torch.Tensor) -> torch.Tensor:
        """The cINN's condition: the mode (mean) of the code of ``image`` ``[B, 3, H, W]`` -> ``[B, z_dim]``."""
        return self.encode(image)[0]

    def forward(self, image, generator: torch.Generator | None = None):
        mu, logvar = self.encode(image)
        return self.decode(reparameterize(mu, logvar, generator)), mu, logvar


def image_ae_loss(model: ImageAE, images: torch.Tensor):
    """L1 reconstruction + ``cfg.kl`` * KL, on a batch of frames ``[B, 3, H, W]`` -> ``(loss, logs)``."""
    recon, mu, logvar = model(images)
    l1 = F.l1_loss(recon, images)
    kl = kl_divergence(mu, logvar).mean()
    return l1 + model.cfg.kl * kl, {"l1": l1.detach(), "kl": kl.detach()}
