"""Files in and out: videos (PyAV), checkpoints (safetensors), atomic writes. (Showing videos in a notebook is
:mod:`vidsynth_lite.viz.video`.)"""

from vidsynth_lite.io.atomic import atomic_path, write_bytes, write_text
from vidsynth_lite.io.checkpoint import (
    CheckpointError,
    load_state,
    load_weights,
    save_state,
    save_weights,
)
from vidsynth_lite.io.video import (
    VideoInfo,
    VideoReadError,
    count_frames,
    decode_frames,
    read_video,
    video_info,
    write_video,
)

__all__ = [
    "CheckpointError",
    "VideoInfo",
    "VideoReadError",
    "atomic_path",
    "count_frames",
    "decode_frames",
    "load_state",
    "load_weights",
    "read_video",
    "save_state",
    "save_weights",
    "video_info",
    "write_bytes",
    "write_text",
    "write_video",
]
