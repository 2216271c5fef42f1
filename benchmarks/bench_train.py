"""Time of one training step through vl.train.fit, with and without a host read of the loss at every step.

    python benchmarks/bench_train.py [--steps 40] [--runs 5] [--json out.json]

The loop keeps losses and logged terms on the device and reads them on logging steps only. Before that change it
called ``float(loss)`` (and ``float`` of every logged term, and the NaN check) at every step. Both paths run here
in one process, interleaved run by run, on the same model and batches:

* ``per-step read``: ``fit(..., log_every=50)`` plus an ``on_step`` hook that calls ``float()`` on every term of
  every step -- the old loop's host reads;
* ``logging-step read``: ``fit(..., log_every=50)`` as it is;
* ``log every step``: ``fit(..., log_every=1)`` (a read and a JSON line per step, as chapter 0 logs);
* ``bare PyTorch``: the same forward, backward, clipping, Adam step and EMA written as a plain ``for`` loop
  (what the loop's bookkeeping costs on top).

Models: chapter 0's ``TinyPredictor`` (width 32, 8 clips of 12 frames at 32x32: its ``lite`` setting) and a small
conv autoencoder (4 stride-2 convolutions down and up, width 64, 8 frames of 64x64); and an MLP whose step takes
about a millisecond, where the loop's own bookkeeping is not hidden behind the compute. Each run times
``--steps`` steps (step-to-step intervals from ``on_step``, the first 3 and the checkpointing last one dropped);
the table gives the median over all kept steps of all ``--runs`` runs, in wall and CPU time, on one thread.

On a CPU the device *is* the host, so a read costs only the call itself: expect ratios near 1. On a GPU a read
makes the host wait until the device has finished every queued kernel, so the next step's kernels cannot be
queued while this step runs; that saving can only be measured on a GPU (run this script there with
``VIDSYNTH_DEVICE=cuda``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch
from torch import nn

import vidsynth_lite as vl
from vidsynth_lite.chapters.running import TinyPredictor, moving_pattern, next_frame_loss


class ConvAutoencoder(nn.Module):
    """A small image autoencoder: 64x64 -> 4x4 -> 64x64, width 64."""

    def __init__(self, width: int = 64):
        super().__init__()
        down = [nn.Conv2d(3, width, 4, 2, 1)] + [nn.Conv2d(width, width, 4, 2, 1) for _ in range(3)]
        up = [nn.ConvTranspose2d(width, width, 4, 2, 1) for _ in range(3)] + [nn.ConvTranspose2d(width, 3, 4, 2, 1)]
        self.net = nn.Sequential(*[m for layer in down + up[:-1] for m in (layer, nn.GELU())], up[-1])

    def forward(self, x):
        return self.net(x)


def autoencoder_loss(model, video):
    frames = video.flatten(0, 1)                                   # [B * T, 3, H, W]
    recon = model(frames)
    loss = (recon - frames).pow(2).mean()
    return loss, {"l1": (recon - frames).abs().mean().detach()}


def mlp_loss(model, x):
    loss = (model(x) - x).pow(2).mean()
    return loss, {"abs": (model(x) - x).abs().mean().detach()}


def setups(device):
    tiny_clips = moving_pattern(64, 12, 32, seed=0)                 # chapter 0 lite: [64, 12, 3, 32, 32]
    conv_clips = moving_pattern(32, 8, 64, seed=0)                  # [32, 8, 3, 64, 64]
    points = torch.randn(512, 64, generator=torch.Generator().manual_seed(0))
    return {
        "TinyPredictor (ch. 0 lite)": (lambda: TinyPredictor(32), next_frame_loss, tiny_clips),
        "conv autoencoder 64x64": (lambda: ConvAutoencoder(64), autoencoder_loss, conv_clips),
        "MLP 64-256-64 (a ~1 ms step)": (lambda: nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 64)),
                                         mlp_loss, points),
    }


def _intervals(marks):
    """(wall, cpu) seconds between consecutive steps; the first steps (warm-up) and the last (it checkpoints)
    are dropped."""
    return [(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(marks[2:-1])]


def _read_every_term(step, record):
    for value in record.values():
        if isinstance(value, torch.Tensor):
            float(value)                                            # the old loop's per-step host read


def time_fit(make, loss_fn, clips, steps, device, log_every, read_each_step):
    torch.manual_seed(0)
    model = make()
    marks = []

    def hook(step, record):
        if read_each_step:
            _read_every_term(step, record)
        marks.append((time.perf_counter(), time.process_time()))

    with tempfile.TemporaryDirectory() as run_dir:
        vl.train.fit(model, loss_fn, vl.train.StepBatches(clips, 8, seed=0), steps=steps,
                     optimizer=torch.optim.Adam(model.parameters(), lr=1e-3), run_dir=run_dir, grad_clip=1.0,
                     ema_decay=0.99, ckpt_every=10 * steps, log_every=log_every, device=device, progress=False,
                     on_step=hook)
    return _intervals(marks)


def time_bare(make, loss_fn, clips, steps, device):
    torch.manual_seed(0)
    model = make().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    ema = vl.train.EMA(model, 0.99)
    batches = vl.train.StepBatches(clips, 8, seed=0)
    marks = []
    for step in range(steps):
        loss, _ = loss_fn(model, batches(step).to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        ema.update(model)
        marks.append((time.perf_counter(), time.process_time()))
    return _intervals(marks)


VARIANTS = {
    "per-step read (old)": lambda m, f, c, s, d: time_fit(m, f, c, s, d, log_every=50, read_each_step=True),
    "logging-step read (new)": lambda m, f, c, s, d: time_fit(m, f, c, s, d, log_every=50, read_each_step=False),
    "log every step": lambda m, f, c, s, d: time_fit(m, f, c, s, d, log_every=1, read_each_step=False),
    "bare PyTorch": time_bare,
}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    device = vl.runtime.device()
    report = {"device": str(device), "threads": torch.get_num_threads(), "torch": torch.__version__,
              "machine": platform.processor() or platform.machine(), "steps": args.steps, "runs": args.runs,
              "models": {}}
    print(f"one training step (ms), median over {args.runs} runs x {args.steps - 4} steps; device {device}, "
          f"{torch.get_num_threads()} thread")
    for name, (make, loss_fn, clips) in setups(device).items():
        samples = {v: [] for v in VARIANTS}
        time_bare(make, loss_fn, clips, 6, device)                 # warm-up (allocator, kernels)
        for _ in range(args.runs):
            for variant, run in VARIANTS.items():                  # interleaved: load changes hit every variant
                samples[variant] += run(make, loss_fn, clips, args.steps, device)
        rows = {v: {"wall_ms": 1e3 * statistics.median(w for w, _ in s),
                    "cpu_ms": 1e3 * statistics.median(c for _, c in s)} for v, s in samples.items()}
        old, new = rows["per-step read (old)"], rows["logging-step read (new)"]
        rows["ratio old/new (wall)"] = old["wall_ms"] / new["wall_ms"]
        rows["ratio old/new (cpu)"] = old["cpu_ms"] / new["cpu_ms"]
        rows["loop overhead vs bare (cpu)"] = new["cpu_ms"] / rows["bare PyTorch"]["cpu_ms"]
        report["models"][name] = rows
        print(f"\n{name}")
        for variant in VARIANTS:
            print(f"  {variant:<26} wall {rows[variant]['wall_ms']:8.2f}   cpu {rows[variant]['cpu_ms']:8.2f}")
        print(f"  old/new: wall x{rows['ratio old/new (wall)']:.3f}, cpu x{rows['ratio old/new (cpu)']:.3f}; "
              f"new loop / bare PyTorch (cpu) x{rows['loop overhead vs bare (cpu)']:.3f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
