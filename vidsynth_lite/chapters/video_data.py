"""Settings of chapter 1, "Video data" (``notebooks/01_video_data.py``; profiles in ``configs/data/``)."""

from __future__ import annotations

from dataclasses import dataclass

from vidsynth_lite.config import ChapterConfig, param


@dataclass
class DataConfig(ChapterConfig):
    """Chapter 1, "Video data"."""

    chapter = "data"
    size: int = param(64, "frame height and width of the worlds shown", choices=(32, 64, 128, 256))
    frames: int = param(16, "frames per clip", min=2, max=64)
    show: int = param(4, "clips shown per world", min=1, max=16)
    stats_clips: int = param(48, "clips per world for the statistics (motion, annotations)", min=4, max=100_000)
    label_clips: int = param(240, "actions clips counted for the class balance", min=12, max=100_000)
    bench_clips: int = param(20, "clips per world timed for the speed table", min=2, max=10_000)
    real_frames: int = param(16, "frames read from the real clip (opencv-doc's vtest.avi)", min=2, max=64)
    cache_clips: int = param(64, "pushbot clips written to the disk cache in the caching demo", min=2, max=100_000)
