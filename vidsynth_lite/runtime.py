"""Runtime: which device, which precision, how many threads, which seed -- decided in one place.

Nothing here touches CUDA at import time; the device is chosen when :func:`device` is first called.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import sys
from typing import Any

import numpy as np
import torch

_DEVICE_KINDS = ("auto", "cpu", "cuda", "mps")


def device(kind: str = "auto") -> torch.device:
    """Return the device to compute on: ``"auto"`` picks cuda > mps > cpu.

    ``kind`` may also be an explicit device string such as ``"cuda:1"``. The environment variable
    ``VIDSYNTH_DEVICE`` replaces ``"auto"`` (handy to force the CPU on a GPU machine).
    """
    if kind == "auto":
        kind = os.environ.get("VIDSYNTH_DEVICE", "auto")
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind.split(":")[0] not in _DEVICE_KINDS:
        raise ValueError(f"device kind {kind!r} is not known; expected one of {_DEVICE_KINDS} (or 'cuda:N')")
    if kind.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {kind!r} was asked for, but torch sees no CUDA device; use 'auto' or 'cpu'")
    return torch.device(kind)


def autocast(dev: torch.device, bf16: bool):
    """Mixed-precision policy: bf16 autocast on CUDA when the profile asks for it, fp32 everywhere else.

    Returns a context manager; on CPU and MPS (or with ``bf16=False``) it does nothing, so CPU runs stay
    bit-for-bit repeatable.
    """
    if bf16 and dev.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def set_threads(n: int | None = None) -> int:
    """Fix the number of CPU threads torch uses (float results depend on it).

    ``n=None`` reads ``VIDSYNTH_THREADS`` or uses every core. Returns the number set.
    """
    if n is None:
        text = os.environ.get("VIDSYNTH_THREADS", "").strip()
        if not text:
            n = os.cpu_count() or 1
        elif not text.isdigit() or int(text) < 1:
            raise ValueError(f"VIDSYNTH_THREADS = {text!r}: expected a whole number of threads >= 1 (this machine "
                             f"has {os.cpu_count()} cores), or unset it to use them all")
        else:
            n = int(text)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be an int >= 1, got {n!r}")
    torch.set_num_threads(n)
    return n


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (all devices) with one integer."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an int in [0, 2**63 - 1], got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - a missing optional package is reported, not fatal
        return "not installed"


def environment(dev: torch.device | None = None) -> dict[str, Any]:
    """Facts about this run's software and hardware, stored beside every result."""
    dev = dev or device("auto")
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),
        "numpy": np.__version__,
        "av": _version("av"),
        "vidsynth_lite": _version("vidsynth_lite"),
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "cpu": cpu_model(),
    }
    if dev.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(dev)
        info["cuda"] = torch.version.cuda
    return info


def peak_memory_mb(dev: torch.device) -> float:
    """Peak memory so far: the CUDA allocator's peak on a GPU, else this process's peak resident set."""
    if dev.type == "cuda":
        return torch.cuda.max_memory_allocated(dev) / 2**20
    try:  # Linux: this process's own high-water mark (ru_maxrss would carry over a parent's peak across exec)
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB -> MB
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # macOS reports bytes, Linux KiB


_STARTED: float | None = None    # time.perf_counter() at the chapter's start(): results record the time since


def elapsed() -> float | None:
    """Seconds since this process's :func:`start` (the chapter's run time so far), or None before it."""
    import time

    return None if _STARTED is None else time.perf_counter() - _STARTED


def cpu_model() -> str:
    """The processor's model name (Linux ``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def start(cfg: Any) -> torch.device:
    """The first call of every chapter: seed, fix threads, choose the device and print a report.

    ``cfg`` is a resolved chapter config (it has ``seed`` and ``profile``; a ``device`` field is used when
    present). Returns the device to compute on.
    """
    import time

    global _STARTED
    _STARTED = time.perf_counter()
    set_threads()
    seed_everything(cfg.seed)
    dev = device(getattr(cfg, "device", "auto"))
    info = environment(dev)
    info.update(profile=cfg.profile, seed=cfg.seed)
    width = max(len(k) for k in info)
    print("vidsynth-lite environment")
    for key, value in info.items():
        print(f"  {key:<{width}}  {value}")
    return dev
