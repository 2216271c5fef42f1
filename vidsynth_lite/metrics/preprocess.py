"""Preprocessing for the reference FVD (Unterthiner et al. 2018, ``frechet_video_distance.py``).

The reference code resizes every frame with TensorFlow 1's ``tf.image.resize_bilinear(frames, [224, 224],
align_corners=False)``, then maps uint8 [0, 255] to [-1, 1] (``2 x / 255 - 1``), and feeds RGB clips to I3D.

TF1's bilinear resize (``half_pixel_centers=False``, the TF1 default) maps output pixel ``i`` to the source
coordinate ``i * in / out`` ("asymmetric": no half-pixel shift), interpolates between ``floor`` and the next
pixel, and clamps the upper neighbour at the border. ``torch.nn.functional.interpolate(..., mode="bilinear",
align_corners=False)`` uses half-pixel centres ``(i + 0.5) * in / out - 0.5`` instead, so it gives different
pixels; chapter 2 measures what that difference does to FVD. Because resizing and the affine map to [-1, 1]
commute, we resize videos that are already in [-1, 1]. One difference remains: the reference receives uint8
frames, while our clips are floats that were never quantised (at most half a grey level, 1/255, per pixel).
"""

from __future__ import annotations

import torch

from vidsynth_lite.checks import InputError, check_video

I3D_SIZE = 224


def tf1_bilinear_matrix(in_size: int, out_size: int, dtype=torch.float64) -> torch.Tensor:
    """``[out, in]`` interpolation matrix of TF1 ``resize_bilinear(align_corners=False)`` along one axis."""
    scale = in_size / out_size
    src = torch.arange(out_size, dtype=torch.float64) * scale           # asymmetric: no half-pixel shift
    lo = src.floor().long().clamp(max=in_size - 1)
    hi = (lo + 1).clamp(max=in_size - 1)
    frac = src - lo.to(torch.float64)
    m = torch.zeros(out_size, in_size, dtype=torch.float64)
    rows = torch.arange(out_size)
    m.index_put_((rows, lo), 1.0 - frac, accumulate=True)
    m.index_put_((rows, hi), frac, accumulate=True)
    return m.to(dtype)


def resize_bilinear_tf1(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``[..., H, W]`` to ``size = (h, w)`` exactly as TF1 ``resize_bilinear(align_corners=False)``."""
    h, w = size
    if x.shape[-2:] == (h, w):
        return x
    mh = tf1_bilinear_matrix(x.shape[-2], h, x.dtype).to(x.device)     # [h, H]
    mw = tf1_bilinear_matrix(x.shape[-1], w, x.dtype).to(x.device)     # [w, W]
    return mh @ x @ mw.T                                                # [..., h, w]


def resize_bilinear_torch(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """PyTorch's half-pixel bilinear resize of ``[..., H, W]`` (what many re-implementations use)."""
    lead = x.shape[:-2]
    y = torch.nn.functional.interpolate(x.reshape(-1, 1, *x.shape[-2:]), size=size, mode="bilinear",
                                        align_corners=False, antialias=False)
    return y.reshape(*lead, *size)


def check_video_batch(x: torch.Tensor, name: str = "videos") -> None:
    """Raise one clear :class:`~vidsynth_lite.checks.InputError` (a ValueError) unless ``x`` is a finite float
    tensor ``[N, T, 3, H, W]`` within [-1, 1]."""
    if isinstance(x, torch.Tensor) and (x.ndim != 5 or x.shape[2] != 3):
        raise InputError(f"{name}: expected shape [N, T, 3, H, W] (RGB), got {tuple(x.shape)}")
    check_video(x, name=name, rank=5, channels=3)


def i3d_preprocess(videos: torch.Tensor, resize: str = "tf1") -> torch.Tensor:
    """``[N, T, 3, H, W]`` in [-1, 1] -> I3D input ``[N, 3, T, 224, 224]`` in [-1, 1] (reference protocol).

    ``resize="tf1"`` is the reference; ``"torch"`` (half-pixel centres) is offered only to measure the
    difference it makes.
    """
    check_video_batch(videos)
    fn = {"tf1": resize_bilinear_tf1, "torch": resize_bilinear_torch}.get(resize)
    if fn is None:
        raise ValueError(f"resize must be 'tf1' or 'torch', got {resize!r}")
    x = fn(videos.float(), (I3D_SIZE, I3D_SIZE))                          # [N, T, 3, 224, 224]
    return x.clamp(-1.0, 1.0).permute(0, 2, 1, 3, 4).contiguous()       # [N, 3, T, 224, 224]


def resize_clips(videos: torch.Tensor, size: int) -> torch.Tensor:
    """``[N, T, C, H, W]`` -> ``[N, T, C, size, size]`` (bilinear, antialiased; unchanged when already that size):
    how the book's feature networks take clips of another resolution."""
    if videos.shape[-1] == size and videos.shape[-2] == size:
        return videos
    n, t, c = videos.shape[:3]
    x = torch.nn.functional.interpolate(videos.flatten(0, 1), size=(size, size), mode="bilinear",
                                        align_corners=False, antialias=True)      # [N*T, C, size, size]
    return x.reshape(n, t, c, size, size)


@torch.no_grad()
def batched_outputs(model: torch.nn.Module, videos: torch.Tensor, *, size: int, batch_size: int,
                    device: torch.device) -> dict[str, torch.Tensor]:
    """Run ``model`` (returning a dict of tensors) over ``videos`` in batches, resized to ``size``; CPU float."""
    check_video(videos, name="videos")
    outs = [model(resize_clips(videos[i:i + batch_size].to(device, torch.float32), size))
            for i in range(0, videos.shape[0], batch_size)]
    return {k: torch.cat([o[k] for o in outs]).float().cpu() for k in outs[0]}
