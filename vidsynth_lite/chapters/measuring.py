"""Chapter 2 ("Measuring video synthesis") settings; profile values live in ``configs/metrics/<profile>.yaml``."""

from __future__ import annotations

import dataclasses

from vidsynth_lite.config import PROFILES, ChapterConfig, param

EVAL_METRICS = ("PSNR", "SSIM", "PSNR-moving", "FVD-syn", "KVD-syn", "FID-syn", "FVD*-syn", "DIV-syn", "FVD")


@dataclasses.dataclass
class MetricsConfig(ChapterConfig):
    """Chapter 2, "Measuring video synthesis"."""

    chapter = "metrics"
    size: int = param(32, "clip height and width of the synthetic worlds", choices=(32, 64))
    frames: int = param(16, "frames per clip (I3D needs at least 9; the FVD protocol uses 16)", min=9, max=64)
    draws: int = param(3, "disjoint draws for mean +- std and paired verdicts", min=1, max=16)
    n_samples: int = param(128, "clips per set for the IS-syn / DIV-syn examples", min=8, max=100_000)
    battery_clips: int = param(192, "pushbot clips in each of the battery's sets A, B, C (split into draws)",
                               min=4, max=100_000)
    i3d_clips: int = param(8, "clips per set for the real-I3D battery, strongest strengths only (0: skip)",
                           min=0, max=10_000)
    floor_pool: int = param(1536, "pushbot test clips pooled for the floors-vs-N experiment", min=8,
                            max=1_000_000)
    floor_ns: list = param([16, 32, 64, 128, 256], "N per side in the floors-vs-N experiment")  # noqa: RUF009
    floor_dim: int = param(64, "feature dimension of the Gaussian sample-size-floor experiment", min=2, max=2048)
    floor_max_n: int = param(1024, "largest N in the Gaussian sample-size-floor experiment", min=16, max=100_000)
    k_samples: int = param(8, "stochastic samples per input for best-of-K / mean-of-K / DIV", min=2, max=100)
    eval_inputs: int = param(384, "test inputs of the evaluate() example (M; divisible by draws)", min=4,
                             max=100_000)
    eval_skip: list = param([], f"metrics the evaluate() example leaves out, of {list(EVAL_METRICS)}")  # noqa: RUF009
    bench_n: int = param(2048, "samples per side for the Frechet/KVD timing at d = 400", min=16, max=100_000)
    syn_i3d_profile: str = param("lite", "profile of the older SynI3D, trained here for comparison",
                                 choices=PROFILES)
    network_profile: str = param("lite", "SynVideo profile (lite: the weights shipped with the package)",
                                 choices=PROFILES)

    def __post_init__(self):
        from vidsynth_lite.config import ConfigError
        bad = [m for m in self.eval_skip if m not in EVAL_METRICS]
        if bad:
            raise ConfigError(f"parameter 'eval_skip' = {self.eval_skip!r}: unknown {bad}; allowed "
                              f"{list(EVAL_METRICS)}")
        if any(not isinstance(n, int) or isinstance(n, bool) or n < 4 for n in self.floor_ns) or not self.floor_ns:
            raise ConfigError(f"parameter 'floor_ns' = {self.floor_ns!r}: expected a non-empty list of ints >= 4")
        for name, n in (("battery_clips", self.battery_clips), ("eval_inputs", self.eval_inputs)):
            if n % self.draws or n // self.draws < 2:
                raise ConfigError(f"parameter {name!r} = {n}: must be divisible by draws = {self.draws} into "
                                  "draws of at least 2")
