"""Pictures: videos in a notebook (mp4 + PNG grid), interactive views with static fallbacks, and per-topic
plotting helpers (``viz/<topic>.py``)."""

from vidsynth_lite.viz.flow import flow_to_rgb
from vidsynth_lite.viz.video import frame_grid, show_video, tile, video_html
from vidsynth_lite.viz.widgets import explore, static_values

__all__ = ["explore", "flow_to_rgb", "frame_grid", "show_video", "static_values", "tile", "video_html"]
