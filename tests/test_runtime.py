import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from vidsynth_lite import runtime


def test_auto_device_is_cpu_without_accelerators():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert runtime.device("auto") == torch.device("cpu")


def test_device_rejects_unknown_kind_and_absent_cuda():
    with pytest.raises(ValueError, match="not known"):
        runtime.device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            runtime.device("cuda")


def test_device_env_override(monkeypatch):
    monkeypatch.setenv("VIDSYNTH_DEVICE", "cpu")
    assert runtime.device() == torch.device("cpu")


def test_autocast_is_fp32_on_cpu_even_when_bf16_asked():
    x = torch.randn(4, 4)
    with runtime.autocast(torch.device("cpu"), bf16=True):
        y = x @ x
    assert y.dtype == torch.float32


def _draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_seed_everything_repeats_and_seeds_differ():
    runtime.seed_everything(3)
    a = _draws()
    runtime.seed_everything(3)
    b = _draws()
    runtime.seed_everything(4)
    c = _draws()
    assert a == b
    assert all(x != y for x, y in zip(a, c))


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True, 2**70])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed"):
        runtime.seed_everything(bad)


def test_set_threads(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("VIDSYNTH_THREADS", "1")
        assert runtime.set_threads() == 1 and torch.get_num_threads() == 1
        with pytest.raises(ValueError):
            runtime.set_threads(0)
    finally:
        torch.set_num_threads(before)


def test_environment_report_names_versions_device_threads():
    info = runtime.environment(torch.device("cpu"))
    for key in ("python", "torch", "numpy", "av", "device", "threads"):
        assert key in info
    assert info["device"] == "cpu" and info["threads"] == torch.get_num_threads()


def test_importing_the_package_never_initialises_cuda():
    code = ("import torch, vidsynth_lite as vl; import vidsynth_lite.io, vidsynth_lite.train, vidsynth_lite.config; "
            "assert not torch.cuda.is_initialized(), 'CUDA initialised at import'")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})


def test_peak_memory_grows_with_a_large_allocation():
    """In a fresh process (a test process's earlier peak could hide the allocation)."""
    code = ("import torch; from vidsynth_lite import runtime; cpu = torch.device('cpu'); "
            "before = runtime.peak_memory_mb(cpu); block = torch.ones(64 * 2**20); "
            "after = runtime.peak_memory_mb(cpu); assert block.sum() > 0; "
            "assert after >= before + 200, (before, after)")  # 256 MiB of float32, touched
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5"])
def test_bad_thread_count_in_the_environment_is_named(monkeypatch, value):
    monkeypatch.setenv("VIDSYNTH_THREADS", value)
    with pytest.raises(ValueError, match=f"VIDSYNTH_THREADS = '{value}': expected a whole number of threads >= 1"):
        runtime.set_threads()
