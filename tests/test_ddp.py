"""DDP: two CPU processes under torchrun (gloo) train like one process on the same global batch."""

import os
import shutil
import subprocess
import sys

import pytest
import torch
from test_train import run_script_here

import vidsynth_lite as vl

SCRIPT = os.path.join(os.path.dirname(__file__), "scripts", "train_tiny.py")


def test_two_process_ddp_matches_single_process(tmp_path, monkeypatch):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    if torchrun is None:
        pytest.fail("torchrun is not installed next to this Python")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "VIDSYNTH_DEVICE": "cpu"}
    run_script_here(monkeypatch, tmp_path / "single", 6, "--batch", 8)
    done = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", SCRIPT, str(tmp_path / "ddp"), "6",
                           "--batch", "8"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    single = vl.io.load_weights(tmp_path / "single" / "final_model.safetensors")[0]
    ddp = vl.io.load_weights(tmp_path / "ddp" / "final_model.safetensors")[0]
    moved = False
    initial = vl.io.load_weights(min((tmp_path / "single" / "checkpoints").glob("step_*"))
                                 / "model.safetensors")[0]
    for key in single:
        torch.testing.assert_close(ddp[key], single[key], rtol=1e-4, atol=1e-5)
        moved |= not torch.allclose(initial[key], single[key])
    assert moved
    log = vl.train.read_log(tmp_path / "ddp")
    assert [r["step"] for r in log] == list(range(1, 7))
