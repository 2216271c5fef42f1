"""Pictures: interactive views with static fallbacks, and per-topic plotting helpers (``viz/<topic>.py``)."""

from vidsynth_lite.viz.widgets import explore, static_values

__all__ = ["explore", "static_values"]
