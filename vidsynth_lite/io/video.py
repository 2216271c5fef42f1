"""Video files: write frames to H.264 mp4 and read any video PyAV can decode.

Frames are float tensors ``[T, C, H, W]`` in [-1, 1] (C = 3, or 1 for grey). torchvision >= 0.29 has no video
I/O, so PyAV (which bundles FFmpeg and libx264) does the work.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vidsynth_lite.io.atomic import atomic_path

_RANGE_TOLERANCE = 1e-3   # round-off a model's output may carry past [-1, 1]


class VideoReadError(ValueError):
    """A file that is missing, not a video, or holds no decodable frame."""


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """``[T, C, H, W]`` in [-1, 1] -> ``[T, H, W, 3]`` uint8 (grey is repeated to RGB).

    Refuses an empty clip, NaN / inf, and values outside [-1, 1] (beyond round-off): frames in [0, 255] or
    [0, 1] would otherwise be clamped to a white or washed-out video without a word.
    """
    if not isinstance(frames, torch.Tensor) or frames.ndim != 4 or frames.shape[1] not in (1, 3):
        shape = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
        raise ValueError(f"expected frames as a tensor [T, C, H, W] with C in (1, 3), got {shape}")
    if frames.shape[0] == 0 or frames.shape[2] == 0 or frames.shape[3] == 0:
        raise ValueError(f"expected at least one frame of at least 1x1 pixels, got {tuple(frames.shape)}")
    if not torch.isfinite(frames).all():
        raise ValueError("frames contain NaN or inf; expected finite values in [-1, 1]")
    lo, hi = float(frames.min()), float(frames.max())
    if lo < -1 - _RANGE_TOLERANCE or hi > 1 + _RANGE_TOLERANCE:
        hint = " (uint8 frames? use x / 127.5 - 1)" if hi > 2 else " (clamp the model's output to [-1, 1])"
        raise ValueError(f"frames must lie in [-1, 1], found values in [{lo:.4g}, {hi:.4g}]{hint}")
    x = frames.detach().float().cpu().clamp(-1, 1)
    x = ((x + 1) * 127.5).round().to(torch.uint8)  # [T, C, H, W] in 0..255
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.permute(0, 2, 3, 1).contiguous().numpy()  # [T, H, W, 3]


def from_uint8(array: np.ndarray) -> torch.Tensor:
    """``[T, H, W, 3]`` uint8 -> ``[T, 3, H, W]`` float32 in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float()  # [T, 3, H, W]
    return x / 127.5 - 1.0


def _even_sizes(rgb: np.ndarray) -> np.ndarray:
    """H.264 in yuv420p (the only pixel format every browser plays) needs even sizes: an odd height or width is
    padded by repeating the last row or column, with a warning naming both sizes."""
    pad_h, pad_w = rgb.shape[1] % 2, rgb.shape[2] % 2
    if not (pad_h or pad_w):
        return rgb
    warnings.warn(f"frames of {rgb.shape[1]}x{rgb.shape[2]} are written as {rgb.shape[1] + pad_h}x"
                  f"{rgb.shape[2] + pad_w}: H.264 (yuv420p) needs even sizes, so the last row / column is "
                  "repeated; crop it off after reading, or pass frames of even size", stacklevel=3)
    return np.pad(rgb, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")


def _encode_file(path: Path, rgb: np.ndarray, fps: float, crf: int) -> None:
    """Write ``[T, H, W, 3]`` uint8 as H.264 mp4 to ``path`` with the ``moov`` atom first (``+faststart``)."""
    import av

    # movflags is an option of the mp4 *muxer*: given to the stream (as before) FFmpeg ignores it and writes the
    # moov atom last, so a browser must fetch the whole file before it can start playing. The muxer moves moov
    # to the front in a second pass over the finished file, which needs a real file, not a memory buffer.
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=round(fps))
        stream.width, stream.height = rgb.shape[2], rgb.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for image in rgb:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _checked_fps(fps: float) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if round(fps) < 1:
        raise ValueError(f"fps = {fps!r} rounds to 0 frames per second; expected fps >= 0.5")
    return fps


def encode_mp4(frames: torch.Tensor, fps: float = 8, crf: int = 18) -> bytes:
    """Encode frames ``[T, C, H, W]`` in [-1, 1] as H.264 (yuv420p, plays in every browser, ``moov`` first) and
    return the mp4 bytes. Odd sizes are padded to even ones with a warning (see :func:`write_video`)."""
    rgb = _even_sizes(to_uint8(frames))  # [T, H', W', 3]
    with tempfile.TemporaryDirectory(prefix="vidsynth-mp4-") as folder:
        path = Path(folder) / "video.mp4"
        _encode_file(path, rgb, _checked_fps(fps), crf)
        return path.read_bytes()


def write_video(path: str | os.PathLike, frames: torch.Tensor, fps: float = 8, crf: int = 18) -> Path:
    """Write ``frames`` ``[T, C, H, W]`` in [-1, 1] to an H.264 mp4 at ``path``, atomically.

    The ``moov`` atom comes first, so a browser starts playing before the whole file has arrived. Refused,
    writing nothing: zero frames, NaN / inf, values outside [-1, 1]. Odd sizes: H.264 in yuv420p needs even
    ones, so a 33x47 clip is written as 34x48 (last row / column repeated) with a warning saying so.
    """
    _checked_fps(fps)
    rgb = _even_sizes(to_uint8(frames))  # [T, H', W', 3]
    with atomic_path(path, suffix=".mp4") as tmp:
        _encode_file(tmp, rgb, fps, crf)
    return Path(path)


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video's first video stream."""

    path: str
    frames: int       # number of decodable frames (counted by decoding when the container does not say)
    fps: float
    height: int
    width: int
    codec: str


def _open(path: str | os.PathLike):
    import av

    p = Path(path)
    if not p.is_file():
        raise VideoReadError(f"video file not found: {str(p)!r}")
    try:
        container = av.open(str(p))
    except Exception as error:
        raise VideoReadError(f"{str(p)!r} is not a readable video ({type(error).__name__}: {error}); expected a "
                             "file PyAV/FFmpeg can decode (mp4, avi, mkv, webm, gif, ...)") from error
    if not container.streams.video:
        container.close()
        raise VideoReadError(f"{str(p)!r} holds no video stream; expected a video file")
    return container


def decode_frames(path: str | os.PathLike, start: int = 0, num_frames: int | None = None,
                  stride: int = 1) -> np.ndarray:
    """Decode frames ``start, start + stride, ...`` as ``[T, H, W, 3]`` uint8, stopping after the last one needed.

    ``num_frames=None`` takes every remaining frame. Raises :class:`VideoReadError` for a missing, non-video or
    damaged file (fewer frames decode than the container declares), or one too short for the request.
    """
    if start < 0 or stride < 1 or (num_frames is not None and num_frames < 1):
        raise ValueError(f"expected start >= 0, stride >= 1, num_frames >= 1 or None; got start={start}, "
                         f"stride={stride}, num_frames={num_frames}")
    last = None if num_frames is None else start + (num_frames - 1) * stride
    container = _open(path)
    picked: list[np.ndarray] = []
    decoded = 0
    try:
        stream = container.streams.video[0]
        declared = int(stream.frames or 0)
        try:
            for index, frame in enumerate(container.decode(stream)):
                decoded = index + 1
                if index >= start and (index - start) % stride == 0:
                    picked.append(frame.to_ndarray(format="rgb24"))
                if last is not None and index >= last:
                    break
        except Exception as error:
            raise VideoReadError(f"{str(path)!r} could not be decoded past frame {decoded} "
                                 f"({type(error).__name__}: {error}); the file may be truncated or corrupted") from error
    finally:
        container.close()
    if decoded == 0:
        raise VideoReadError(f"{str(path)!r} holds no decodable frame; the file may be truncated or corrupted")
    if last is None and declared and decoded < declared:
        raise VideoReadError(f"{str(path)!r} declares {declared} frames but only {decoded} decode; the file is "
                             "truncated or corrupted")
    if num_frames is not None and len(picked) < num_frames:
        raise VideoReadError(f"{str(path)!r} has {decoded} frames; {num_frames} frames from {start} with stride "
                             f"{stride} need {last + 1}")
    if not picked:
        raise VideoReadError(f"{str(path)!r} has {decoded} frames; none left from start={start}")
    return np.stack(picked)  # [T, H, W, 3]


def count_frames(path: str | os.PathLike) -> int:
    """Number of frames of the first video stream, counted from packets (no decoding: cheap)."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)
    except Exception as error:
        raise VideoReadError(f"{str(path)!r} could not be read ({type(error).__name__}: {error})") from error
    finally:
        container.close()


def video_info(path: str | os.PathLike) -> VideoInfo:
    """Frame count (from packets), frame rate, size and codec of the first video stream; one frame is decoded
    to prove the file is readable."""
    frames = count_frames(path)
    first = decode_frames(path, 0, 1)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0) or 0.0
        codec = stream.codec_context.name
    finally:
        container.close()
    return VideoInfo(path=str(path), frames=frames, fps=fps, height=first.shape[1], width=first.shape[2],
                     codec=codec)


def read_video(path: str | os.PathLike, start: int = 0, num_frames: int | None = None,
               stride: int = 1) -> torch.Tensor:
    """Decode a video to ``[T, 3, H, W]`` float32 in [-1, 1] (see :func:`decode_frames` for the selection)."""
    return from_uint8(decode_frames(path, start, num_frames, stride))  # [T, 3, H, W]
