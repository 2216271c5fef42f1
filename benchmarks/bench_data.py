"""Clips per second of every synthetic world at 16 x 64 x 64 on one CPU core.

    python benchmarks/bench_data.py [--frames 16] [--size 64] [--clips 40] [--runs 5] [--json out.json]

Each run renders ``--clips`` consecutive items (fresh indices every run, so nothing is cached); the table gives
the median and the range over ``--runs`` runs, after one warm-up run. Torch and numpy are pinned to one thread.
Target from the issue: pushbot >= 100 clips/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch

import vidsynth_lite.data as D

WORLDS = ("pushbot", "sky", "actions", "drums", "faces", "faces_b")


def measure(name: str, frames: int, size: int, clips: int, runs: int) -> list[float]:
    ds = D.load(name, frames=1 if name == "faces_b" else frames, size=size, length=clips * (runs + 1))
    rates, cpu_rates = [], []
    for r in range(runs + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(r * clips, (r + 1) * clips):
            ds[i]
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if r:                 # run 0 warms caches (background images, interpolation matrices)
            rates.append(clips / wall)
            cpu_rates.append(clips / cpu)
    return rates, cpu_rates


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--worlds", nargs="*", default=list(WORLDS))
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = {}
    print(f"clips/s, {args.frames} frames x {args.size}x{args.size}, 1 thread, median of {args.runs} runs "
          f"x {args.clips} clips  ({platform.processor() or platform.machine()}, torch {torch.__version__})")
    print("wall: clips / elapsed seconds; cpu: clips / CPU seconds of this process (what one free core would "
          "give when other processes share the machine)")
    print(f"{'world':10s} {'median':>8s} {'min':>8s} {'max':>8s} {'cpu':>8s}")
    for name in args.worlds:
        rates, cpu = measure(name, args.frames, args.size, args.clips, args.runs)
        rows[name] = {"median": statistics.median(rates), "min": min(rates), "max": max(rates),
                      "cpu_median": statistics.median(cpu)}
        r = rows[name]
        note = " (single images)" if name == "faces_b" else ""
        print(f"{name:10s} {r['median']:8.1f} {r['min']:8.1f} {r['max']:8.1f} {r['cpu_median']:8.1f}{note}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"frames": args.frames, "size": args.size, "threads": 1, "clips_per_s": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
