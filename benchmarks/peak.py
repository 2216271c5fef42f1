"""The one matmul peak every benchmark divides by (MFU = achieved FLOP/s / this, measured in the same process).

The scripts run as ``python benchmarks/bench_<x>.py``, so this file is importable as ``peak``.
"""

from __future__ import annotations

import statistics
import time

import torch


def sync(device: torch.device | str | None) -> None:
    """Wait for queued GPU work (a no-op on the CPU), so that a timer brackets the work itself."""
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, repeats: int, device: torch.device | str | None = None) -> dict[str, float]:
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` calls after one warm-up call, each bracketed by
    :func:`sync` (CPU seconds are this process's: on a shared CPU the wall time includes waiting for a core)."""
    fn()                                                                 # warm-up: allocation, kernel choice
    walls, cpus = [], []
    for _ in range(repeats):
        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync(device)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}


def matmul_peak(device: torch.device | str | None = None, n: int = 1024, repeats: int = 10) -> dict[str, float]:
    """fp32 FLOP/s of an ``n x n`` matmul (2 n^3 FLOPs) on ``device``, from :func:`timed`: per wall second
    (``"wall"``) and per CPU second of this process (``"cpu"``)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    t = timed(lambda: a @ b, repeats, device)
    flops = 2 * n ** 3
    return {"wall": flops / t["wall_s"], "cpu": flops / max(t["cpu_s"], 1e-9), "n": n}
