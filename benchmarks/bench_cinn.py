"""Cost of the cINN chapter's training steps and sampling (Dorkenwald et al. 2021) at a profile's sizes.

    python benchmarks/bench_cinn.py [--profile lite] [--threads 1] [--repeats 5] [--device auto] [--json out.json]

Measures, as medians over ``--repeats`` (after one warm-up), with untrained weights (costs do not depend on them):

- seconds per stage-1 step: the cVAE on reconstruction + KL alone (before ``adversarial_from``) and the full
  step (D_T with its gradient penalty, D_S, then the cVAE with both adversarial terms and feature matching);
- seconds per cINN step (Eq. 7 on a posterior sample) at the chapter's batch;
- sampling: videos per second of ``ImageToVideo.sample`` (image AE embedding, cINN reverse, decoder);
- FLOPs of each step from ``torch.utils.flop_counter`` (matmuls and convolutions, forward and backward) and the
  achieved FLOP/s as a fraction of the peak of a plain fp32 matmul measured in the same process (MFU).

On a CPU shared with other processes the wall time is noisy; the CPU time of this process is reported beside it.
"""

from __future__ import annotations

import argparse
import json

import torch
from peak import matmul_peak, timed  # benchmarks/peak.py
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

from vidsynth_lite import runtime
from vidsynth_lite.chapters import cinn as ch
from vidsynth_lite.config import resolve
from vidsynth_lite.models import cinn as cm
from vidsynth_lite.models.cinn import steps as cs
from vidsynth_lite.models.cinn.discriminators import TemporalDiscriminator, spatial_discriminator
from vidsynth_lite.train import Part, TrainState


def _flops(fn) -> int:
    """FLOPs of ``fn`` counted by ``torch.utils.flop_counter``'s dispatch mode. FlopCounterMode's per-module
    tracker cannot follow the double backward of the gradient penalty (torch raises), so the inner counting mode
    is entered alone: totals only, no per-module breakdown."""
    counter = FlopCounterMode(display=False)
    counter.flop_counts.clear()
    with flop_counter._FlopCounterMode(counter):
        fn()
    return int(counter.get_total_flops())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="lite", choices=("smoke", "lite", "full"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = runtime.device(args.device)
    cfg = resolve(ch.CINNChapterConfig, {"profile": args.profile})
    m = ch.model_configs(cfg, "pushbot")
    n = 2048 if device.type == "cuda" else 1024
    measured = matmul_peak(device, n)
    peak, peak_cpu = measured["wall"], measured["cpu"]
    out = {"profile": args.profile, "device": str(device), "threads": args.threads,
           "matmul_peak_gflops": peak / 1e9, "matmul_peak_gflops_per_cpu_s": peak_cpu / 1e9, "matmul_n": n}

    cvae = cm.VideoCVAE(m.encoder, m.decoder).to(device)
    d_s, d_t = spatial_discriminator(m.discriminator).to(device), TemporalDiscriminator(m.discriminator).to(device)
    parts = {name: Part(mod, torch.optim.Adam(mod.parameters(), lr=1e-4)) for name, mod in
             (("cvae", cvae), ("D_T", d_t), ("D_S", d_s))}
    state = TrainState(parts, device)
    video = torch.rand(cfg.stage1_batch, 1 + cfg.frames, 3, cfg.size, cfg.size, device=device) * 2 - 1
    rows = {}
    for name, adversarial_from in (("stage1_reconstruction_step", 10**9), ("stage1_full_step", 0)):
        def step(adversarial_from=adversarial_from):
            state._begin(0)
            cs.stage1_step(state, {"video": video}, weights=m.loss, adversarial_from=adversarial_from)
            state._end()
        rows[name] = {**timed(step, args.repeats, device), "flops": _flops(step), "batch": cfg.stage1_batch}

    flow = cm.CINN(m.cinn).to(device)
    opt = torch.optim.Adam(flow.parameters(), lr=1e-4)
    batch = {"mu": torch.randn(cfg.cinn_batch, cfg.z_dim, device=device),
             "logvar": torch.full((cfg.cinn_batch, cfg.z_dim), -4.0, device=device),
             "cond": torch.randn(cfg.cinn_batch, cfg.embed_dim, device=device)}

    def cinn_step():
        loss, _ = cs.cinn_step(flow, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    rows["cinn_step"] = {**timed(cinn_step, args.repeats, device), "flops": _flops(cinn_step),
                         "batch": cfg.cinn_batch}

    i2v = cm.tasks.ImageToVideo(cvae, cm.ImageAE(m.image_ae).to(device), flow)
    x0 = torch.rand(16, 3, cfg.size, cfg.size, device=device) * 2 - 1
    k = cfg.samples

    def sample():
        i2v.sample(x0, k)
    rows["sampling"] = {**timed(sample, args.repeats, device), "flops": _flops(sample), "videos": 16 * k}
    rows["sampling"]["videos_per_s"] = 16 * k / rows["sampling"]["wall_s"]

    for name, r in rows.items():
        r["achieved_gflops"] = r["flops"] / r["wall_s"] / 1e9
        r["mfu"] = r["flops"] / r["wall_s"] / peak
        r["mfu_cpu_time"] = r["flops"] / r["cpu_s"] / peak_cpu if device.type == "cpu" else None
        extra = f", {r['videos_per_s']:.1f} videos/s" if "videos_per_s" in r else ""
        cpu_mfu = f" (per CPU second {100 * r['mfu_cpu_time']:5.1f}%)" if r["mfu_cpu_time"] is not None else ""
        print(f"{name:<28} {r['wall_s'] * 1e3:9.1f} ms wall (cpu {r['cpu_s'] * 1e3:8.1f} ms)  "
              f"{r['flops'] / 1e9:8.2f} GFLOP  MFU {100 * r['mfu']:5.1f}%{cpu_mfu}{extra}")
    print(f"matmul peak ({n}x{n} fp32, same process): {peak / 1e9:.1f} GFLOP/s on {device}, "
          f"{args.threads} thread(s)")
    out["rows"] = rows
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
