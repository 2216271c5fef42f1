"""From frames to frames: encode the conditioning frames, sample the top then the bottom latents, decode
(Walker et al. 2021, Fig. 3 right; Sec. 3.2).

Latent volumes are always assembled the same way, in training and at test time: the first slices (top: 1,
bottom: 2) are the codes of the 4 conditioning frames encoded on their own, the remaining slices are the codes
of the whole 16-frame video (training) or samples (prediction). The priors therefore see at training time
exactly the conditioning they get when predicting.
"""

from __future__ import annotations

import torch
from torch import nn

from vidsynth_lite.checks import check_video

from .bottom_prior import BottomPrior
from .top_prior import TopPrior
from .vqvae import VideoVQVAE


def _video_batches(videos, batch_size: int):
    """Yield [B, T, C, H, W] batches from a tensor or from a dataset of tensors / dicts with ``video``."""
    for i in range(0, len(videos), batch_size):
        if isinstance(videos, torch.Tensor):
            yield videos[i:i + batch_size]
        else:
            items = [videos[j] for j in range(i, min(i + batch_size, len(videos)))]
            yield torch.stack([it["video"] if isinstance(it, dict) else it for it in items])


@torch.no_grad()
def latent_volumes(vqvae: VideoVQVAE, videos, cond_frames: int = 4, batch_size: int = 16,
                   device: torch.device | None = None) -> dict[str, torch.Tensor]:
    """Videos (a tensor [N, T, C, H, W] or a dataset of such clips) -> {"top": [N, T/4, h, w], "bottom":
    [N, T/2, 2h, 2w]}, assembled as in the module docstring (conditioning slices from the first
    ``cond_frames`` frames encoded alone). Codes are stored as int16 on the CPU (a codebook has < 32768
    codes), so that a large training set fits in memory; :class:`CodesDataset` returns int64."""
    tops, bottoms = [], []
    dev = device or next(vqvae.parameters()).device
    for v in _video_batches(videos, batch_size):
        v = v.to(dev)
        b_all, t_all = vqvae.encode(v)
        b_c, t_c = vqvae.encode(v[:, :cond_frames])
        tops.append(torch.cat([t_c, t_all[:, t_c.shape[1]:]], 1).to("cpu", torch.int16))
        bottoms.append(torch.cat([b_c, b_all[:, b_c.shape[1]:]], 1).to("cpu", torch.int16))
    return {"top": torch.cat(tops), "bottom": torch.cat(bottoms)}


class CodesDataset(torch.utils.data.Dataset):
    """Map-style dataset over precomputed latent volumes (items: {"top": ..., "bottom": ...}, int64)."""

    def __init__(self, volumes: dict[str, torch.Tensor]):
        self.volumes = volumes

    def __len__(self) -> int:
        return self.volumes["top"].shape[0]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[i].long() for k, v in self.volumes.items()}


class VideoPredictor(nn.Module):
    """The three trained models together: ``predict(cond_video)`` -> sampled 16-frame videos."""

    def __init__(self, vqvae: VideoVQVAE, top: TopPrior, bottom: BottomPrior):
        super().__init__()
        self.vqvae, self.top, self.bottom = vqvae, top, bottom

    @torch.no_grad()
    def predict(self, cond_video: torch.Tensor, samples: int = 1, temperature: float = 1.0,
                top_k: int | None = None, top_p: float | None = None, generator: torch.Generator | None = None,
                fast: bool = True) -> torch.Tensor:
        """Conditioning frames [B, 4, C, H, W] -> videos [B, samples, T, C, H, W] (frames 0-3 are the VQ-VAE's
        reconstruction of the conditioning frames, frames 4.. are predicted)."""
        check_video(cond_video, name="cond_video", channels=self.vqvae.cfg.channels,
                    frames=self.top.cfg.cond_frames, size_multiple=8)
        b = cond_video.shape[0]
        b_c, t_c = self.vqvae.encode(cond_video)                            # [B, 2, H, W], [B, 1, h, w]
        b_c = b_c.repeat_interleave(samples, 0)                             # [B*S, ...]
        t_c = t_c.repeat_interleave(samples, 0)
        top_new = self.top.sample(t_c, b_c, temperature=temperature, top_k=top_k, top_p=top_p,
                                  generator=generator, fast=fast)
        top = torch.cat([t_c, top_new], 1)                                  # [B*S, T/4, h, w]
        bottom_new = self.bottom.sample(top, b_c, temperature=temperature, top_k=top_k, top_p=top_p,
                                        generator=generator, fast=fast)
        bottom = torch.cat([b_c, bottom_new], 1)                            # [B*S, T/2, H, W]
        self.vqvae.eval()
        video = self.vqvae.decode(bottom, top).clamp(-1, 1)                 # [B*S, T, C, H, W]
        return video.reshape(b, samples, *video.shape[1:])
