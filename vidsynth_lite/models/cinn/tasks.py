"""What the trained model does (Dorkenwald et al., Secs. 3.2, 3.4, 4.4 and supplement A.5).

All functions take the three trained networks bundled in :class:`ImageToVideo` and work on clips
``[B, 1 + T, 3, H, W]`` (start frame first) or start frames ``[B, 3, H, W]``:

- :meth:`ImageToVideo.sample`: stochastic (and controlled) image-to-video, ``nu ~ N(0, I)``, ``z = T(nu; x_0, eta)``,
  ``X = p_psi(x_0, z)`` (Sec. 3.2, last paragraph; Sec. 3.4);
- :meth:`ImageToVideo.sample_prior`: the "w/o cINN" ablation (Table 4): ``z ~ N(0, I)``, the cVAE's prior;
- :meth:`ImageToVideo.residual`: ``nu = T^-1(z; x_0, eta)`` of an observed clip, ``z`` the posterior mean;
- :meth:`ImageToVideo.transfer`: motion transfer (supp. A.5): the query clip's ``nu`` animates other start frames;
- :meth:`ImageToVideo.video_to_video`: controlled video-to-video (supp. A.5): keep ``nu``, change ``eta``;
- :meth:`ImageToVideo.longer`: longer videos by chaining (Sec. 4.1, Landscape): the last frame starts the next.
"""

from __future__ import annotations

import torch
from torch import nn

from .cinn import CINN
from .image_ae import ImageAE
from .stage1 import VideoCVAE


class ImageToVideo(nn.Module):
    """Stage 1 (``cvae``), the x_0 embedding (``image_ae``) and stage 2 (``cinn``), frozen, in eval mode."""

    def __init__(self, cvae: VideoCVAE, image_ae: ImageAE, cinn: CINN):
        super().__init__()
        self.cvae, self.image_ae, self.cinn = cvae, image_ae, cinn
        self.eval().requires_grad_(False)

    def condition(self, x0: torch.Tensor, eta: torch.Tensor | None = None) -> torch.Tensor:
        return self.cinn.condition(self.image_ae.embed(x0), eta)

    def decode(self, x0: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``X = p_psi(x_0, z)`` -> clips ``[B, 1 + T, 3, H, W]`` with ``x_0`` in front."""
        return torch.cat([x0[:, None], self.cvae.decoder(x0, z)], 1)

    @torch.no_grad()
    def sample(self, x0: torch.Tensor, samples: int, eta: torch.Tensor | None = None,
               generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        """``samples`` videos per start frame -> ``[B, K, 1 + T, 3, H, W]``."""
        b = x0.shape[0]
        x0k = x0.repeat_interleave(samples, 0)                                   # [B*K, 3, H, W]
        etak = None if eta is None else eta.repeat_interleave(samples, 0)
        z = self.cinn.sample(self.condition(x0k, etak), generator, temperature)  # [B*K, d_z]
        return self.decode(x0k, z).view(b, samples, *self.decode_shape)

    @torch.no_grad()
    def sample_prior(self, x0: torch.Tensor, samples: int, generator: torch.Generator | None = None):
        """"w/o cINN": ``z ~ N(0, I)`` decoded from each start frame -> ``[B, K, 1 + T, 3, H, W]``."""
        b = x0.shape[0]
        x0k = x0.repeat_interleave(samples, 0)
        z = torch.randn(b * samples, self.cinn.cfg.z_dim, generator=generator, device=x0.device, dtype=x0.dtype)
        return self.decode(x0k, z).view(b, samples, *self.decode_shape)

    @property
    def decode_shape(self) -> tuple[int, ...]:
        d = self.cvae.decoder.cfg
        return (1 + d.frames, 3, d.size, d.size)

    @torch.no_grad()
    def residual(self, clip: torch.Tensor, eta: torch.Tensor | None = None) -> torch.Tensor:
        """``nu = T^-1(z~; x~_0, eta)`` of observed clips ``[B, 1 + T, 3, H, W]``, ``z~`` the posterior mean."""
        mu, _ = self.cvae.encoder(clip[:, 1:])
        return self.cinn(mu, self.condition(clip[:, 0], eta))[0]

    @torch.no_grad()
    def generate(self, x0: torch.Tensor, nu: torch.Tensor, eta: torch.Tensor | None = None) -> torch.Tensor:
        """``X = p_psi(x_0, T(nu; x_0, eta))`` -> ``[B, 1 + T, 3, H, W]``."""
        z = self.cinn(nu, self.condition(x0, eta), reverse=True)[0]
        return self.decode(x0, z)

    @torch.no_grad()
    def transfer(self, query: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """Motion transfer: the residual of each ``query`` clip ``[Q, 1 + T, ...]`` applied to every start frame
        ``x0`` ``[N, 3, H, W]`` -> ``[Q, N, 1 + T, 3, H, W]``."""
        nu = self.residual(query)                                                 # [Q, d_z]
        q, n = nu.shape[0], x0.shape[0]
        out = self.generate(x0.repeat(q, 1, 1, 1), nu.repeat_interleave(n, 0))   # [Q*N, 1 + T, ...]
        return out.view(q, n, *self.decode_shape)

    @torch.no_grad()
    def video_to_video(self, query: torch.Tensor, eta_query: torch.Tensor, eta_new: torch.Tensor) -> torch.Tensor:
        """Controlled video-to-video: ``nu = T^-1(z~; x~_0, eta~)``, then ``T(nu; x~_0, eta*)`` for each row of
        ``eta_new`` ``[E, n_eta]`` -> ``[B, E, 1 + T, 3, H, W]``."""
        nu = self.residual(query, eta_query)                                      # [B, d_z]
        b, e = nu.shape[0], eta_new.shape[0]
        x0 = query[:, 0].repeat_interleave(e, 0)
        out = self.generate(x0, nu.repeat_interleave(e, 0), eta_new.repeat(b, 1))
        return out.view(b, e, *self.decode_shape)

    @torch.no_grad()
    def longer(self, x0: torch.Tensor, chunks: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Chain ``chunks`` samples, each started from the previous one's last frame -> ``[B, 1 + chunks*T, ...]``."""
        clips, start = [x0[:, None]], x0
        for _ in range(chunks):
            clip = self.sample(start, 1, generator=generator)[:, 0]              # [B, 1 + T, 3, H, W]
            clips.append(clip[:, 1:])
            start = clip[:, -1]
        return torch.cat(clips, 1)
