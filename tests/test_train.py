import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters.running import TinyPredictor, moving_pattern, next_frame_loss

SCRIPT = os.path.join(os.path.dirname(__file__), "scripts", "train_tiny.py")


def _weights(path):
    return vl.io.load_weights(path)[0]


def _equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _run(run_dir, steps, **kw):
    options = [item for k, v in kw.items() for item in (f"--{k.replace('_', '-')}", str(v))]
    args = [sys.executable, SCRIPT, str(run_dir), str(steps), *options]
    return subprocess.run(args, check=True, capture_output=True, text=True)


def _setup(seed=0, width=8):
    torch.manual_seed(seed)
    model = TinyPredictor(width)
    return model, torch.optim.Adam(model.parameters(), lr=3e-3)


VIDEOS = moving_pattern(16, 5, 16, seed=0)


def test_sigkill_mid_run_then_resume_is_bit_exact(tmp_path):
    """A run killed with SIGKILL and resumed ends with the very weights of an uninterrupted run (CPU)."""
    _run(tmp_path / "straight", 16)
    run = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, SCRIPT, str(run), "16", "--ckpt-every", "3", "--sleep", "0.25"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = run / "checkpoints" / "latest.json"
    deadline = time.time() + 120
    while time.time() < deadline:
        if latest.is_file() and json.loads(latest.read_text())["step"] >= 6:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = json.loads(latest.read_text())["step"]
    assert 6 <= killed_at < 16, "the run was not interrupted mid-way"
    assert not (run / "final.safetensors").exists()
    _run(run, 16, ckpt_every=3)
    assert _equal(_weights(run / "final.safetensors"), _weights(tmp_path / "straight" / "final.safetensors"))
    assert _equal(_weights(run / "final_ema.safetensors"), _weights(tmp_path / "straight" / "final_ema.safetensors"))
    log = vl.train.read_log(run)
    assert [r["step"] for r in log] == list(range(1, 17)), "the log must hold each step exactly once"


def test_interrupted_checkpoint_write_leaves_previous_intact(tmp_path, monkeypatch):
    model, optimizer = _setup()
    batches = vl.train.StepBatches(VIDEOS, 4)
    vl.train.fit(model, next_frame_loss, batches, steps=4, optimizer=optimizer, run_dir=tmp_path,
                 ckpt_every=2, progress=False)
    import vidsynth_lite.train.state as state_module

    def crash(*args, **kwargs):
        raise OSError("disk full while writing the training state")

    monkeypatch.setattr(state_module, "save_state", crash)
    model, optimizer = _setup()
    with pytest.raises(OSError, match="disk full"):
        vl.train.fit(model, next_frame_loss, batches, steps=6, optimizer=optimizer, run_dir=tmp_path,
                     ckpt_every=2, progress=False)
    monkeypatch.undo()
    store = vl.train.CheckpointStore(tmp_path)
    assert store.latest().name == "step_00000004"
    model, optimizer = _setup()
    assert store.load(store.latest(), model, optimizer) == 4
    resumed = vl.train.fit(model, next_frame_loss, batches, steps=6, optimizer=optimizer, run_dir=tmp_path,
                           ckpt_every=2, progress=False)
    assert resumed.resumed_from == 4 and resumed.step == 6


def test_nan_guard_names_step_and_term(tmp_path):
    model, optimizer = _setup()

    def exploding(m, video):
        loss, logs = next_frame_loss(m, video)
        return loss * (float("nan") if exploding.calls == 2 else 1.0), logs

    def counting(m, video):
        exploding.calls += 1
        return exploding(m, video)

    exploding.calls = 0
    with pytest.raises(vl.train.NonFiniteLossError, match=r"step 2: loss = nan"):
        vl.train.fit(model, counting, vl.train.StepBatches(VIDEOS, 4), steps=5, optimizer=optimizer,
                     run_dir=tmp_path, ckpt_every=1, progress=False)
    assert vl.train.CheckpointStore(tmp_path).latest().name == "step_00000001"


def _smoke_run(tmp_path, seed):
    vl.runtime.seed_everything(seed)
    videos = moving_pattern(8, 5, 16, seed=seed)
    model, optimizer = _setup(seed)
    vl.train.fit(model, next_frame_loss, vl.train.StepBatches(videos, 4, seed=seed), steps=4,
                 optimizer=optimizer, run_dir=tmp_path / f"s{seed}-{time.time_ns()}", progress=False)
    return model.state_dict()


def test_same_seed_same_weights_other_seed_differs(tmp_path):
    a, b, c = _smoke_run(tmp_path, 0), _smoke_run(tmp_path, 0), _smoke_run(tmp_path, 1)
    assert _equal(a, b)
    assert not any(torch.equal(a[k], c[k]) for k in a)


def test_step_batches_are_a_function_of_the_step():
    data = torch.arange(10).float()
    batches = vl.train.StepBatches(data, 4, seed=3)
    first_epoch = torch.cat([batches(0), batches(1)])[:10]
    assert sorted(batches.indices(0) + batches.indices(1) + batches.indices(2)[:2]) == list(range(10))
    again = vl.train.StepBatches(data, 4, seed=3)
    assert torch.equal(again(1), batches(1)) and torch.equal(first_epoch, torch.cat([again(0), again(1)])[:10])
    assert not torch.equal(vl.train.StepBatches(data, 4, seed=4)(0), batches(0))
    late = [batches(step) for step in range(40, 0, -3)]  # going back over many epochs is still exact
    assert all(torch.equal(b, vl.train.StepBatches(data, 4, seed=3)(s)) for b, s in zip(late, range(40, 0, -3)))


def test_ema_follows_its_formula():
    model = torch.nn.Linear(2, 1)
    ema = vl.train.EMA(model, decay=0.75)
    before = {k: v.clone() for k, v in ema.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update(model)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(ema.state_dict()[key], 0.75 * before[key] + 0.25 * value)
    with pytest.raises(ValueError):
        vl.train.EMA(model, decay=1.0)
