"""Chapter 2 ("Measuring video synthesis") settings; profile values live in ``configs/metrics/<profile>.yaml``."""

from __future__ import annotations

import dataclasses

from vidsynth_lite.config import ChapterConfig, param


@dataclasses.dataclass
class MetricsConfig(ChapterConfig):
    """Chapter 2, "Measuring video synthesis"."""

    chapter = "metrics"
    size: int = param(32, "clip height and width for the synthetic worlds and SynI3D", choices=(32, 64))
    frames: int = param(16, "frames per clip (I3D needs at least 9; the FVD protocol uses 16)", min=9, max=64)
    n_samples: int = param(128, "clips per set for the FVD-syn experiments", min=8, max=100_000)
    draws: int = param(2, "disjoint draws for mean +- std (each draw has n_samples / draws clips)", min=1, max=16)
    i3d_clips: int = param(8, "clips per set for the real-I3D experiments (seconds each on a CPU)", min=0,
                           max=10_000)
    floor_dim: int = param(64, "feature dimension of the sample-size-floor experiment", min=2, max=2048)
    floor_max_n: int = param(1024, "largest N in the sample-size-floor experiment", min=16, max=100_000)
    k_samples: int = param(8, "stochastic samples per input for best-of-K / mean-of-K / DIV", min=2, max=100)
    bench_n: int = param(2048, "samples per side for the Frechet/KVD timing at d = 400", min=16, max=100_000)
