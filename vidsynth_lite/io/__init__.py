"""Files in and out: videos (PyAV), notebook display of videos, checkpoints (safetensors), atomic writes."""

from vidsynth_lite.io.atomic import atomic_path, write_bytes, write_text
from vidsynth_lite.io.checkpoint import (
    CheckpointError,
    load_state,
    load_weights,
    save_state,
    save_weights,
)
from vidsynth_lite.io.show import frame_grid, show_video, tile, video_html
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
    "atomic_path", "write_bytes", "write_text",
    "CheckpointError", "load_state", "load_weights", "save_state", "save_weights",
    "frame_grid", "show_video", "tile", "video_html",
    "VideoInfo", "VideoReadError", "count_frames", "decode_frames", "read_video", "video_info", "write_video",
]
