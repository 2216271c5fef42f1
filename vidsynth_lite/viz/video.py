"""Show videos in a notebook: a small embedded mp4 that plays in the page plus a PNG frame grid.

The mp4 plays in JupyterLab and in the rendered book; the PNG is what static readers (PDF, a page without
video support, nbviewer previews) still see. One helper for every chapter: :func:`show_video`.
"""

from __future__ import annotations

import base64
import html
import io as _io
from collections.abc import Sequence

import numpy as np
import torch

from vidsynth_lite.io.video import encode_mp4, to_uint8

DEFAULT_MAX_KIB = 400  # cap of one embedded mp4; the book's pages stay light
_GAP = 2               # pixels between tiled videos and frames


def as_batch(videos: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """Accept ``[T, C, H, W]``, ``[B, T, C, H, W]`` or a list of ``[T, C, H, W]``; return ``[B, T, C, H, W]``."""
    if isinstance(videos, (list, tuple)):
        if not videos:
            raise ValueError("expected at least one video, got an empty list")
        videos = torch.stack([torch.as_tensor(v) for v in videos])
    if not isinstance(videos, torch.Tensor) or videos.ndim not in (4, 5):
        shape = tuple(videos.shape) if isinstance(videos, torch.Tensor) else type(videos).__name__
        raise ValueError(f"expected a video [T, C, H, W] or a batch [B, T, C, H, W], got {shape}")
    if videos.ndim == 4:
        videos = videos.unsqueeze(0)  # [1, T, C, H, W]
    if videos.shape[2] not in (1, 3):
        raise ValueError(f"expected 1 or 3 channels in dim 2 of [B, T, C, H, W], got shape {tuple(videos.shape)}")
    return videos.detach().float().cpu()


def tile(videos: torch.Tensor, columns: int = 4, scale: int = 1) -> torch.Tensor:
    """Tile ``[B, T, C, H, W]`` into one video ``[T, 3, H', W']`` (``columns`` per row, white gaps)."""
    b, t, c, h, w = videos.shape
    if c == 1:
        videos = videos.expand(-1, -1, 3, -1, -1)
    if scale > 1:
        videos = videos.repeat_interleave(scale, dim=3).repeat_interleave(scale, dim=4)
        h, w = h * scale, w * scale
    columns = max(1, min(columns, b))
    rows = -(-b // columns)
    canvas = torch.ones(t, 3, rows * (h + _GAP) - _GAP, columns * (w + _GAP) - _GAP)
    for i in range(b):
        r, k = divmod(i, columns)
        canvas[:, :, r * (h + _GAP): r * (h + _GAP) + h, k * (w + _GAP): k * (w + _GAP) + w] = videos[i]
    return canvas  # [T, 3, H', W']


def frame_grid(videos: torch.Tensor | Sequence[torch.Tensor], max_frames: int = 8) -> np.ndarray:
    """A PNG-ready uint8 image ``[H', W', 3]``: one row per video, ``max_frames`` evenly spaced frames."""
    batch = as_batch(videos)  # [B, T, C, H, W]
    b, t, c, h, w = batch.shape
    picks = np.unique(np.linspace(0, t - 1, num=min(t, max_frames)).round().astype(int))
    frames = batch[:, picks]  # [B, F, C, H, W]
    f = frames.shape[1]
    rows = frames.reshape(b * f, 1, c, h, w)  # each frame a one-frame "video"
    grid = tile(rows, columns=f)  # [1, 3, H', W']
    return to_uint8(grid)[0]


def _png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = _io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _auto_scale(height: int, target: int = 160) -> int:
    return max(1, target // max(height, 1))


def video_html(videos: torch.Tensor | Sequence[torch.Tensor], fps: float = 8, caption: str | None = None,
               columns: int = 4, scale: int | None = None, max_kib: int = DEFAULT_MAX_KIB) -> str:
    """An HTML ``<video>`` element with the tiled mp4 embedded (base64), at most ``max_kib`` KiB.

    Quality is lowered (higher CRF, then half size) until the mp4 fits; a video that cannot fit raises.
    """
    batch = as_batch(videos)
    scale = scale or _auto_scale(batch.shape[-2])
    for factor in (scale, max(1, scale // 2), 1):
        tiled = tile(batch, columns=columns, scale=factor)
        for crf in (18, 23, 28, 33, 38):
            data = encode_mp4(tiled, fps=fps, crf=crf)
            if len(data) <= max_kib * 1024:
                b64 = base64.b64encode(data).decode("ascii")
                cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
                return (f'<figure style="margin:0"><video autoplay loop muted controls playsinline '
                        f'style="image-rendering:pixelated;max-width:100%" '
                        f'src="data:video/mp4;base64,{b64}"></video>{cap}</figure>')
    raise ValueError(f"the video ({tuple(batch.shape)}) does not fit in {max_kib} KiB even at low quality; "
                     "show fewer frames or videos, or raise max_kib")


def show_video(videos: torch.Tensor | Sequence[torch.Tensor], fps: float = 8, caption: str | None = None,
               columns: int = 4, scale: int | None = None, max_kib: int = DEFAULT_MAX_KIB,
               max_frames: int = 8) -> None:
    """Display videos in the notebook: the playing mp4 (HTML) and a PNG grid of ``max_frames`` frames each.

    ``videos``: ``[T, C, H, W]``, ``[B, T, C, H, W]`` or a list of ``[T, C, H, W]``, values in [-1, 1].
    """
    from IPython.display import HTML, Image, display

    display(HTML(video_html(videos, fps=fps, caption=caption, columns=columns, scale=scale, max_kib=max_kib)))
    display(Image(data=_png_bytes(frame_grid(videos, max_frames=max_frames)), format="png"))
