"""Benchmarks of the metrics (medians of repeats), recorded in chapter 2.

    .venv/bin/python benchmarks/bench_metrics.py [--threads N] [--repeats R] [--json out.json] [--skip-i3d]

- real I3D (Kinetics-400): seconds per 16-frame clip (any input size: clips are resized to 224 x 224);
- SynVideo (the shipped weights): seconds to extract the features of 256 clips of 16 x 32 x 32 (issue 15: under
  10 s on the 2-core CPU), and clips per second;
- SynI3D (lite weights, trained on first use): clips per second at its training resolution;
- Frechet distance and KVD (unbiased cubic MMD^2, all samples) at d = 400, N = 2048 per side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", default=None)
    p.add_argument("--skip-i3d", action="store_true")
    p.add_argument("--skip-syn", action="store_true", help="skip SynI3D (trains on first use)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from vidsynth_lite.metrics import frechet_distance_from_features, mmd2_unbiased
    out = {"threads": args.threads, "repeats": args.repeats, "torch": torch.__version__}

    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 400))
    b = rng.standard_normal((2048, 400)) + 0.1
    out["frechet_d400_n2048_s"] = median_time(lambda: frechet_distance_from_features(a, b), args.repeats)
    out["kvd_d400_n2048_s"] = median_time(lambda: mmd2_unbiased(a, b), args.repeats)

    if not args.skip_i3d:
        from vidsynth_lite.metrics.i3d_weights import find_weights, load_i3d_k400
        from vidsynth_lite.metrics.preprocess import i3d_preprocess
        if find_weights() is None:
            out["i3d_s_per_clip"] = "skipped: weights absent (make weights)"
        else:
            model = load_i3d_k400()
            clip = torch.rand(1, 16, 3, 64, 64) * 2 - 1
            with torch.no_grad():
                model(i3d_preprocess(clip))                                  # warm-up
                out["i3d_s_per_clip_16x224"] = median_time(lambda: model(i3d_preprocess(clip)), args.repeats)
    from vidsynth_lite.metrics import syn_video
    sv = syn_video.features("lite")
    clips256 = torch.rand(256, 16, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    sv(clips256[:8])                                                           # warm-up
    out["syn_video_256_clips_s"] = median_time(lambda: sv.both(clips256), args.repeats)
    out["syn_video_clips_per_s"] = 256 / out["syn_video_256_clips_s"]
    out["syn_video_hash"] = sv.hash
    if not args.skip_syn:
        from vidsynth_lite.metrics.syn_i3d import SynI3DFeatures, load_or_train
        net = SynI3DFeatures(load_or_train("lite", progress=False))
        clips = torch.rand(64, net.model.cfg.frames, 3, net.size, net.size) * 2 - 1
        net(clips[:8])
        out["syn_i3d_clips_per_s"] = clips.shape[0] / median_time(lambda: net(clips), args.repeats)
        out["syn_i3d_input"] = f"{net.model.cfg.frames}x{net.size}x{net.size}"
    for k, v in out.items():
        print(f"{k:28s} {v:.4g}" if isinstance(v, float) else f"{k:28s} {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
