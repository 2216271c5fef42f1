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


def matmul_peak(device: torch.device | str | None = None, n: int = 1024, repeats: int = 10) -> dict[str, float]:
    """fp32 FLOP/s of an ``n x n`` matmul (2 n^3 FLOPs) on ``device``: the median of ``repeats`` timed products
    after one warm-up, per wall second (``"wall"``) and per CPU second of this process (``"cpu"``; on a shared
    CPU the second is the machine's speed, the first includes waiting for a core)."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b                                                                # warm-up: allocation, kernel choice
    walls, cpus = [], []
    for _ in range(repeats):
        sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        a @ b
        sync(device)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    flops = 2 * n ** 3
    return {"wall": flops / statistics.median(walls), "cpu": flops / max(statistics.median(cpus), 1e-9), "n": n}
