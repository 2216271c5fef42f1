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


def run_script_here(monkeypatch, *args):
    """Run tests/scripts/train_tiny.py in this process (no interpreter start-up: the uninterrupted reference)."""
    import runpy

    monkeypatch.setattr(sys, "argv", [SCRIPT, *map(str, args)])
    runpy.run_path(SCRIPT, run_name="__main__")


def _setup(seed=0, width=8):
    torch.manual_seed(seed)
    model = TinyPredictor(width)
    return model, torch.optim.Adam(model.parameters(), lr=3e-3)


VIDEOS = moving_pattern(16, 5, 16, seed=0)


FINAL = {"predictor": ["model", "model_ema"], "gan": ["G", "D", "features", "G_ema"]}


@pytest.mark.parametrize("kind", ["predictor", "gan"])
def test_sigkill_mid_run_then_resume_is_bit_exact(tmp_path, monkeypatch, kind):
    """A run killed with SIGKILL and resumed ends with the very weights of an uninterrupted run (CPU): the tiny
    predictor through fit, and a two-optimizer GAN (two D steps per G step, lazy R1, a frozen part, a late EMA,
    noise from the global RNG) through fit_parts."""
    gan = ["--gan"] if kind == "gan" else []
    run_script_here(monkeypatch, tmp_path / "straight", 16, *gan)
    run = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, SCRIPT, str(run), "16", "--ckpt-every", "3", "--sleep", "0.25",
                                *gan], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    assert not list(run.glob("final_*"))
    subprocess.run([sys.executable, SCRIPT, str(run), "16", "--ckpt-every", "3", *gan], check=True,
                   capture_output=True)
    for name in FINAL[kind]:
        resumed, straight = _weights(run / f"final_{name}.safetensors"), _weights(
            tmp_path / "straight" / f"final_{name}.safetensors")
        assert _equal(resumed, straight), name
    log = vl.train.read_log(run)
    assert [r["step"] for r in log] == list(range(1, 17)), "the log must hold each step exactly once"
    if kind == "gan":
        assert {"d_loss", "g_loss", "grad_norm_D", "lr_G", "lr_D"} <= set(log[-1])
        assert log[-1]["lr_G"] == pytest.approx(2e-3 * 0.5 ** 4)   # StepLR(4, 0.5) stepped once per loop step


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
    assert store.load(store.latest(), {"model": vl.train.Part(model, optimizer)}, {}) == 4
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


# ------------------------------------------------------------------------------------- several parts (fit_parts)
Part = vl.train.Part


def _gan_parts(seed=0, lr_d=1e-2, width=4):
    torch.manual_seed(seed)
    G = torch.nn.Linear(2, 3)
    D = torch.nn.Sequential(torch.nn.Linear(3, width), torch.nn.Tanh(), torch.nn.Linear(width, 1))
    return {"G": Part(G, torch.optim.SGD(G.parameters(), lr=1e-2), ema_decay=0.5, ema_start=2),
            "D": Part(D, torch.optim.SGD(D.parameters(), lr=lr_d))}


POINTS = torch.randn(64, 3, generator=torch.Generator().manual_seed(0))


def _points(step):
    return POINTS[(step * 8) % 64:(step * 8) % 64 + 8]                  # no host read of a tensor


def _gan_step(state, real):
    fake = state["G"](torch.randn(real.shape[0], 2))
    d_loss = torch.nn.functional.softplus(state["D"](fake.detach())).mean() + \
        torch.nn.functional.softplus(-state["D"](real)).mean()
    state.update("D", d_loss)
    g_loss = torch.nn.functional.softplus(-state["D"](fake)).mean()
    state.update("G", g_loss)
    return {"d_loss": d_loss, "g_loss": g_loss}


def test_update_steps_only_its_part_and_in_the_step_functions_order(tmp_path):
    parts = _gan_parts()
    seen = []

    def step(state, real):
        D = state["D"]
        d_before = [p.detach().clone() for p in D.parameters()]
        fake = state["G"](torch.randn(8, 2))
        state.update("D", torch.nn.functional.softplus(D(fake.detach())).mean())
        d_grads = [p.grad.clone() for p in D.parameters()]
        d_after_d = [p.detach().clone() for p in D.parameters()]
        assert not all(torch.equal(a, b) for a, b in zip(d_before, d_after_d)), "update('D') must step D"
        state.update("G", torch.nn.functional.softplus(-D(fake)).mean())
        # G's update leaves D's weights and gradients exactly as D's update left them
        assert all(torch.equal(a, p) for a, p in zip(d_after_d, D.parameters()))
        assert all(torch.equal(g, p.grad) for g, p in zip(d_grads, D.parameters()))
        seen.append(state.step)
        return {}

    vl.train.fit_parts(parts, step, _points, steps=3, run_dir=tmp_path, progress=False)
    assert seen == [0, 1, 2]


def test_ema_starts_at_ema_start_and_every_is_lazy_regularisation(tmp_path):
    parts = _gan_parts()
    G = parts["G"].model
    regularised = []

    def step(state, real):
        _gan_step(state, real)
        regularised.append(state.every(2))
        return {}

    result = vl.train.fit_parts(parts, step, _points, steps=2, run_dir=tmp_path / "a", progress=False)
    # steps 1 and 2 ran with state.step 0 and 1 < ema_start = 2: the average is a copy of the weights
    assert _equal(result.emas["G"].state_dict(), G.state_dict())
    result = vl.train.fit_parts(_gan_parts(), step, _points, steps=4, run_dir=tmp_path / "b", progress=False)
    assert not _equal(result.emas["G"].state_dict(), result.parts["G"].model.state_dict())
    assert regularised[-4:] == [True, False, True, False]


def test_frozen_part_is_frozen_and_verified(tmp_path):
    parts = _gan_parts()
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    parts["net"] = Part(net)
    before = {k: v.clone() for k, v in net.state_dict().items()}

    def step(state, real):
        out = _gan_step(state, state["net"](real))     # gradients flow through the frozen part, not into it
        with pytest.raises(ValueError, match="frozen"):
            state.update("net", state["net"](real).sum())
        return out

    vl.train.fit_parts(parts, step, _points, steps=3, run_dir=tmp_path / "ok", progress=False)
    assert _equal(net.state_dict(), before), "batch-norm statistics or weights of a frozen part changed"
    assert not net.training and not any(p.requires_grad for p in net.parameters())

    def sneaky(state, real):
        state["net"].train()                          # batch-norm statistics now move: the loop must notice
        return _gan_step(state, state["net"](real))

    parts = {**_gan_parts(), "net": Part(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3)))}
    with pytest.raises(vl.train.FrozenPartChangedError, match="'net' is frozen"):
        vl.train.fit_parts(parts, sneaky, _points, steps=2, run_dir=tmp_path / "bad", progress=False)
    assert vl.train.CheckpointStore(tmp_path / "bad").latest() is None, "a changed frozen part was checkpointed"


@pytest.mark.parametrize("parts, message", [
    ({}, "non-empty dict"),
    ({"G": torch.nn.Linear(1, 1)}, "must be a vidsynth_lite.train.Part"),
    ({"a b": Part(torch.nn.Linear(1, 1), torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), 1.0))},
     "letters, digits"),
    ({"G": Part(torch.nn.Linear(1, 1), torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), 1.0))},
     "not parameters of its model"),
    ({"G": Part(torch.nn.Linear(1, 1))}, "every part"),
    ({"G": Part(torch.nn.Linear(1, 1), ema_decay=0.9)}, "frozen"),
])
def test_bad_parts_are_named(tmp_path, parts, message):
    with pytest.raises((TypeError, ValueError), match=message):
        vl.train.fit_parts(parts, _gan_step, _points, steps=1, run_dir=tmp_path, progress=False)


def test_shared_parameters_and_a_step_without_update_are_refused(tmp_path):
    shared = torch.nn.Linear(3, 3)
    parts = {"A": Part(shared, torch.optim.SGD(shared.parameters(), 0.1)),
             "B": Part(torch.nn.Sequential(shared), torch.optim.SGD(shared.parameters(), 0.1))}
    with pytest.raises(ValueError, match="share parameters"):
        vl.train.fit_parts(parts, _gan_step, _points, steps=1, run_dir=tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="updated no part"):
        vl.train.fit_parts(_gan_parts(), lambda state, batch: {}, _points, steps=1, run_dir=tmp_path / "b",
                           progress=False)


def test_checkpoint_holds_every_part_optimizer_scheduler_ema_rng_and_step(tmp_path):
    parts = _gan_parts()
    parts["G"].scheduler = torch.optim.lr_scheduler.StepLR(parts["G"].optimizer, 1, 0.5)
    vl.train.fit_parts(parts, _gan_step, _points, steps=2, run_dir=tmp_path, progress=False)
    folder = vl.train.CheckpointStore(tmp_path).latest()
    assert {p.name for p in folder.iterdir()} == {"G.safetensors", "G.ema.safetensors", "D.safetensors",
                                                  "state.pt", "manifest.json"}
    state = vl.train.CheckpointStore(tmp_path).read_state(folder)
    assert state["step"] == 2 and set(state["optimizers"]) == {"G", "D"}
    assert state["schedulers"]["G"]["last_epoch"] == 2 and state["schedulers"]["D"] is None
    assert set(state["rng"]) >= {"torch", "numpy", "python"}


def test_bf16_autocast_wraps_the_step_and_backward_runs_outside_it(tmp_path, monkeypatch):
    """On a GPU runtime.autocast is bf16 autocast; on the CPU we stand it in with CPU autocast."""
    monkeypatch.setattr(vl.runtime, "autocast",
                        lambda dev, bf16: torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16))
    dtypes = []

    def step(state, real):
        out = _gan_step(state, real)
        dtypes.append(state["D"](real).dtype)
        return out

    parts = _gan_parts()
    vl.train.fit_parts(parts, step, _points, steps=2, run_dir=tmp_path, bf16=True, progress=False)
    assert dtypes == [torch.bfloat16] * 2
    assert all(p.dtype == torch.float32 and p.grad.dtype == torch.float32
               for part in parts.values() for p in part.model.parameters())


def test_no_host_read_of_a_tensor_between_logging_steps(tmp_path):
    """Losses and logged terms stay on the device; the loop reads them on logging/checkpoint steps only."""
    from torch.utils._python_dispatch import TorchDispatchMode

    reads: list[int] = []
    current = {"step": 1}

    class CountReads(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is torch.ops.aten._local_scalar_dense.default:   # float(t), t.item(), bool(t), int(t)
                reads.append(current["step"])
            return func(*args, **(kwargs or {}))

    def next_step(done, record):
        current["step"] = done + 1

    torch.manual_seed(0)
    model = TinyPredictor(4)
    videos = moving_pattern(8, 4, 8)
    with CountReads():
        vl.train.fit(model, next_frame_loss, lambda step: videos[(step % 2) * 4:(step % 2) * 4 + 4], steps=8,
                     optimizer=torch.optim.SGD(model.parameters(), lr=0.1), run_dir=tmp_path, grad_clip=1.0,
                     ema_decay=0.9, log_every=4, ckpt_every=8, progress=False, on_step=next_step)
    assert set(reads) <= {4, 8}, f"host reads during steps {sorted(set(reads) - {4, 8})}"


# ----------------------------------------------------------------------------------- resuming only the same run
def _fit_tiny(run_dir, steps=4, lr=3e-3, seed=0, width=8, config=None, **kw):
    model, _ = _setup(0, width)
    return vl.train.fit(model, next_frame_loss, vl.train.StepBatches(VIDEOS, 4, seed=seed), steps=steps,
                        optimizer=torch.optim.Adam(model.parameters(), lr=lr), run_dir=run_dir, ckpt_every=2,
                        config=config, progress=False, **kw)


@pytest.mark.parametrize("change, words", [
    ({"lr": 5e-4}, ["lr: 0.003 in the checkpoint, 0.0005 now"]),
    ({"seed": 1}, ["batches.seed: 0 in the checkpoint, 1 now"]),
    ({"config": {"lr": 5e-4}}, ["config.lr"]),
    ({"width": 16}, ["parts.model.shapes.net.0.weight: [8, 6, 3, 3] in the checkpoint, [16, 6, 3, 3] now"]),
    ({"grad_clip": 1.0}, ["parts.model.grad_clip: None in the checkpoint, 1.0 now"]),
])
def test_resume_with_other_settings_is_refused_naming_each_difference(tmp_path, change, words):
    _fit_tiny(tmp_path, steps=2, config={"lr": 3e-3})
    settings = {"config": {"lr": 3e-3}, **change}
    with pytest.raises(vl.train.RunMismatchError) as info:
        _fit_tiny(tmp_path, steps=4, **settings)
    text = str(info.value)
    assert str(tmp_path) in text and "delete" in text and "size mismatch" not in text
    for word in words:
        assert word in text


def test_resume_with_fewer_steps_than_saved_is_an_error_and_more_continues(tmp_path):
    _fit_tiny(tmp_path, steps=4)
    with pytest.raises(vl.train.RunMismatchError, match="already trained for 4 steps.*steps=2"):
        _fit_tiny(tmp_path, steps=2)
    assert _fit_tiny(tmp_path, steps=6).resumed_from == 4


def test_a_checkpoint_of_other_parts_is_refused(tmp_path):
    vl.train.fit_parts(_gan_parts(), _gan_step, _points, steps=2, run_dir=tmp_path, progress=False)
    with pytest.raises(vl.train.RunMismatchError, match=r"parts: \['D', 'G'\] in the checkpoint, "
                                                       r"\['model'\] now"):
        _fit_tiny(tmp_path, steps=4)
    with pytest.raises(vl.train.RunMismatchError, match=r"parts\.D\.shapes\.0\.weight: \[4, 3\] in the "
                                                       r"checkpoint, \[5, 3\] now"):
        vl.train.fit_parts(_gan_parts(width=5), _gan_step, _points, steps=4, run_dir=tmp_path, progress=False)
    resumed = vl.train.fit_parts(_gan_parts(), _gan_step, _points, steps=4, run_dir=tmp_path, progress=False)
    assert resumed.resumed_from == 2


def test_damaged_checkpoints_raise_checkpoint_errors_naming_the_file(tmp_path):
    _fit_tiny(tmp_path, steps=2)
    store = vl.train.CheckpointStore(tmp_path)
    folder = store.latest()
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF                                    # one flipped bit of one weight: silent corruption
    weights.write_bytes(bytes(data))
    with pytest.raises(vl.io.CheckpointError, match="model.safetensors does not match its recorded SHA-256"):
        _fit_tiny(tmp_path, steps=4)
    weights.write_bytes(bytes(data[:100]))
    with pytest.raises(vl.io.CheckpointError, match="model.safetensors has 100 bytes.*truncated"):
        _fit_tiny(tmp_path, steps=4)
    pointer = store.root / "latest.json"
    pointer.write_text('{"step": 2}')
    with pytest.raises(vl.io.CheckpointError, match=r"latest\.json must hold"):
        _fit_tiny(tmp_path, steps=4)
    pointer.write_text('{"step": 2, "dir": "step_0000')
    with pytest.raises(vl.io.CheckpointError, match=r"latest\.json is not valid JSON"):
        _fit_tiny(tmp_path, steps=4)


def test_the_gan_step_in_the_parts_docstring_runs_and_resumes():
    """Chapter authors start from the module docstring's example: it must run as written."""
    import textwrap

    from vidsynth_lite.chapters.running import RunningConfig
    from vidsynth_lite.train import parts as parts_module

    doc = parts_module.__doc__
    code = textwrap.dedent(doc[doc.index("::\n") + 3:doc.index("Other schedules")])
    def run():
        torch.manual_seed(0)
        namespace = {"G": torch.nn.Sequential(torch.nn.Linear(64, 12), torch.nn.Tanh()),
                     "D": torch.nn.Linear(12, 1), "videos": torch.randn(40, 12),
                     "cfg": vl.config.resolve(RunningConfig, {"profile": "smoke"})}
        exec(compile(code, "parts-docstring", "exec"), namespace)  # noqa: S102 - our own docstring
        return namespace

    first = run()
    result = first["result"]
    assert result.step == first["cfg"].steps and set(result.emas) == {"G"} and result.resumed_from is None
    assert isinstance(first["sampler"], torch.nn.Module)
    log = vl.train.read_log(result.run_dir)
    assert {"d_loss", "g_loss", "grad_norm_D"} <= set(log[-1])
    again = run()["result"]                         # the same configuration: the same folder, resumed
    assert again.run_dir == result.run_dir and again.resumed_from == first["cfg"].steps
    assert _equal(again.parts["G"].model.state_dict(), result.parts["G"].model.state_dict())


def test_tiny_predictor_names_bad_inputs():
    model = TinyPredictor(4)
    with pytest.raises(vl.checks.InputError, match=r"context: expected 5 dimensions"):
        model.rollout(torch.zeros(2, 3, 8, 8), 3)
    with pytest.raises(vl.checks.InputError, match=r"context: values must lie in \[-1, 1\].*uint8"):
        model.rollout(torch.full((1, 2, 3, 8, 8), 200.0), 3)
    with pytest.raises(vl.checks.InputError, match=r"context: expected T = 2 frames"):
        model.rollout(torch.zeros(1, 3, 3, 8, 8), 3)
    with pytest.raises(vl.checks.InputError, match=r"current: expected frames of 8x8"):
        model(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 6))
    with pytest.raises(ValueError, match="T >= 3 frames"):
        next_frame_loss(model, torch.zeros(1, 2, 3, 8, 8))
