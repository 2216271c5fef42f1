"""Cost of MoCoGAN-HD's stages (Tian et al. 2021) at a profile's sizes, on this machine.

    python benchmarks/bench_mocogan_hd.py [--profile lite] [--threads 1] [--repeats 5] [--json out.json]

Measures, as medians over ``--repeats`` loop steps (after one warm-up step):

- seconds per training step of the StyleGAN2 image generator (D step with lazy R1, then G step) and of the
  motion generator (Eq. 7: G_M step through the frozen image generator, then D_V with its gradient penalty and
  D_I with the contrastive loss), both through the shared loop's ``fit_parts`` at the chapter's batch sizes;
- their model FLOP utilisation: FLOPs of one step counted by ``torch.utils.flop_counter`` (forward and backward,
  the lazy regulariser's share included at its rate) over the step's median time, divided by the fp32 matmul
  peak measured in the same process (a 1024 x 1024 matmul, median of repeats);
- videos per second when sampling (no gradient): ``frames``-frame clips rendered by G_M + the frozen generator;
- with a GPU (``--device cuda``), the same at ``--profile full`` gives the paper-size step.

Wall time and CPU time are both reported: on a shared machine the CPU time is what one free core would take.
Untrained weights are used; the costs do not depend on their values.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from peak import matmul_peak, sync  # benchmarks/peak.py
from torch.utils.flop_counter import FlopCounterMode

import vidsynth_lite as vl
from vidsynth_lite.chapters import mocogan_hd as ch
from vidsynth_lite.models import mocogan_hd as mh
from vidsynth_lite.models import stylegan2 as sg
from vidsynth_lite.models.stylegan2 import training as sg_training


class _StepClock:
    """``on_step`` hook of ``fit_parts``: wall and CPU seconds of every loop step."""

    def __init__(self, device):
        self.device, self.walls, self.cpus = device, [], []
        self.t, self.c = time.perf_counter(), time.process_time()

    def __call__(self, step, record):
        sync(self.device)
        t, c = time.perf_counter(), time.process_time()
        self.walls.append(t - self.t)
        self.cpus.append(c - self.c)
        self.t, self.c = t, c


def _median_steps(clock: _StepClock) -> dict:
    walls, cpus = clock.walls[1:-1], clock.cpus[1:-1]        # drop the warm-up and the checkpointing last step
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "steps_timed": len(walls)}


class _GlobalOnly:
    """Stands in for FlopCounterMode's module tracker: its backward hooks break ``torch.autograd.grad`` (R1, the
    gradient penalty) in torch 2.14, and we only need the global total, not per-module attribution."""

    parents = ("Global",)

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


def _flops(fn) -> int:
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    with counter:
        fn()
    return counter.get_total_flops()


def bench_image(cfg, device, repeats: int, peak: float) -> dict:
    images = torch.rand(4 * cfg.image_batch, 3, cfg.size, cfg.size) * 2 - 1
    clock = _StepClock(device)
    with tempfile.TemporaryDirectory() as tmp:
        run = ch.train_image_generator(cfg, images, steps=repeats + 2, run_dir=Path(tmp) / "g", device=device,
                                       progress=False, on_step=clock)
    out = _median_steps(clock)
    G, D = run.parts["G"].model, run.parts["D"].model
    recipe = ch.image_recipe(cfg)
    real = images[:cfg.image_batch].to(device)

    def step(with_r1: bool):
        fake = G.synthesis(sg_training.mixed_styles(G, real.shape[0], recipe.mixing, device))
        d_params, g_params = list(D.parameters()), list(G.parameters())
        vl.nn.nonsaturating_d_loss(D(real), D(fake.detach())).backward(inputs=d_params)
        vl.nn.nonsaturating_g_loss(D(fake)).backward(inputs=g_params)
        if with_r1:
            r = real.detach().requires_grad_(True)
            vl.nn.r1_penalty(r, D(r)).backward(inputs=d_params)

    plain, lazy = _flops(lambda: step(False)), _flops(lambda: step(True))
    flops = plain + (lazy - plain) / recipe.r1_every
    out.update(flops_per_step=flops, mfu=flops / out["wall_s"] / peak,
               params={"G": sum(p.numel() for p in G.parameters()), "D": sum(p.numel() for p in D.parameters())})
    return out


def bench_motion(cfg, device, repeats: int, peak: float) -> dict:
    torch.manual_seed(0)
    G = vl.nn.freeze(sg.Generator(ch.image_config(cfg))).to(device)
    pca = mh.style_space_pca(G.mapping, cfg.style_dim, samples=max(4 * cfg.style_dim, 256), device=device)
    videos = torch.rand(4 * cfg.motion_batch, cfg.frames, 3, cfg.size, cfg.size) * 2 - 1
    clock = _StepClock(device)
    with tempfile.TemporaryDirectory() as tmp:
        run = ch.train_motion_generator(cfg, G, pca, videos, steps=repeats + 2, run_dir=Path(tmp) / "m",
                                        device=device, progress=False, on_step=clock)
    out = _median_steps(clock)
    settings = ch.step_settings(cfg)
    real = videos[:cfg.motion_batch].to(device)

    class _State:                                           # what a step function needs, for counting FLOPs
        def __getitem__(self, name):
            return run.parts[name].model

        def update(self, name, loss):                       # into that part's parameters only, as the loop does
            loss.backward(inputs=run.parts[name].trainable_parameters())

    out["flops_per_step"] = _flops(lambda: mh.training.train_step(_State(), real, settings))
    out["mfu"] = out["flops_per_step"] / out["wall_s"] / peak
    motion = run.parts["motion"].model.eval()
    n = 4 * cfg.motion_batch
    mh.sampling.videos(G, motion, 2, cfg.frames, seed=0)                   # warm-up
    times = []
    for r in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        mh.sampling.videos(G, motion, n, cfg.frames, seed=r)
        sync(device)
        times.append(time.perf_counter() - t0)
    out["sampling_videos_per_s"] = n / statistics.median(times)
    out["sampling_frames_per_s"] = n * cfg.frames / statistics.median(times)
    out["params"] = {k: sum(p.numel() for p in run.parts[k].model.parameters()) for k in ("motion", "D_V")}
    out["params"]["D_I"] = sum(p.numel() for p in run.parts["D_I"].model.disc.parameters())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="lite", choices=("smoke", "lite", "full"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.profile == "full" and device.type == "cpu":
        print("the full profile is for a GPU (--device cuda): no GPU here, nothing measured")
        return 0
    cfg = vl.config.resolve(ch.MoCoGANHDChapterConfig, {"profile": args.profile}).validate()
    torch.manual_seed(0)
    peak = matmul_peak(device)["wall"]
    out = {"profile": args.profile, "threads": args.threads, "device": str(device),
           "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
           "repeats": args.repeats, "matmul_peak_gflops": peak / 1e9}
    print(f"MoCoGAN-HD at {args.profile}: {cfg.size}x{cfg.size}, {cfg.frames} frames, {args.threads} thread(s), "
          f"{device}; fp32 matmul peak {peak / 1e9:.1f} GFLOP/s (1024^3, this process)")
    out["image_generator"] = img = bench_image(cfg, device, args.repeats, peak)
    print(f"  StyleGAN2 step (batch {cfg.image_batch}): {img['wall_s']:.3f} s wall ({img['cpu_s']:.3f} cpu), "
          f"{img['flops_per_step'] / 1e9:.2f} GFLOP -> MFU {100 * img['mfu']:.1f}%")
    out["motion_generator"] = mot = bench_motion(cfg, device, args.repeats, peak)
    print(f"  motion step (batch {cfg.motion_batch} x {cfg.frames} frames): {mot['wall_s']:.3f} s wall "
          f"({mot['cpu_s']:.3f} cpu), {mot['flops_per_step'] / 1e9:.2f} GFLOP -> MFU {100 * mot['mfu']:.1f}%")
    print(f"  sampling: {mot['sampling_videos_per_s']:.1f} videos/s ({mot['sampling_frames_per_s']:.0f} frames/s)")
    out["ratio_motion_to_image_step"] = mot["wall_s"] / img["wall_s"]
    print(f"  a motion step costs {out['ratio_motion_to_image_step']:.2f} image-GAN steps (same process)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
