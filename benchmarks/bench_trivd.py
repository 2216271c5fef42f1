"""Table 1 of TrIVD-GAN-FP (Luc et al. 2020) as a benchmark: step time and peak memory of every discriminator
decomposition with the same generator, on this machine, beside the paper's TPU numbers.

    python benchmarks/bench_trivd.py [--profile lite] [--world pushbot] [--seconds 30] [--rounds 3]
                                     [--threads 1] [--no-memory] [--json out.json]

- **Step time** (App. E.3): one training step = two D updates (each: a G pass without gradients and a D pass on
  real + generated, batch 2B) and one G update (a G pass and a D pass of batch B), plain Adam, no data loading.
  Each decomposition runs for ``--seconds`` of wall time in total, split into ``--rounds`` interleaved rounds
  (so that a change in the machine's load hits every decomposition alike); we report the median wall and the
  median CPU time per step (CPU time: what one free core takes when other processes share the machine) and
  their ratio to DVD-GAN-FP measured in the same run; the paper's ratio beside.
- **Peak memory**: on a GPU the allocator's peak over two steps (in this process, reset per decomposition); on a
  CPU each decomposition runs two steps in a fresh child process and reports its peak resident set and the
  part that the steps added to it (parameters, activations, gradients, Adam state; imports excluded).
- **Generator MFU**: FLOPs of one G forward + backward (``torch.utils.flop_counter``) over its median wall time,
  as a fraction of an fp32 matmul peak measured in the same run.

Untrained weights and random clips are used: the costs do not depend on the values.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch
from peak import matmul_peak, sync  # benchmarks/peak.py

from vidsynth_lite import runtime
from vidsynth_lite.chapters.trivd import PROTOCOLS, TrIVDChapterConfig, build, model_config
from vidsynth_lite.chapters.trivd_runs import measure_step_times
from vidsynth_lite.config import resolve
from vidsynth_lite.models.trivd import DECOMPOSITIONS, PAPER_TABLE1
from vidsynth_lite.models.trivd.training import time_steps

BASELINE = "dvd_gan_fp"


def _setup(cfg, world: str, decomposition: str, device, batch: int):
    model = model_config(cfg, world, decomposition=decomposition, table=True)
    G, D = build(model, seed=cfg.seed)
    G, D = G.to(device).train(), D.to(device).train()
    t = model.train
    opt_g = torch.optim.Adam(G.parameters(), t.lr_g, betas=t.betas)
    opt_d = torch.optim.Adam(D.parameters(), t.lr_d, betas=t.betas)
    g = torch.Generator().manual_seed(cfg.seed)
    real = (torch.rand(t.d_steps * batch, 16, 3, cfg.size, cfg.size, generator=g) * 2 - 1).to(device)
    return G, D, opt_g, opt_d, real, t


def step_times(cfg, world: str, decompositions, device, *, batch: int, seconds: float, rounds: int) -> dict:
    """Median wall / CPU seconds per training step of each decomposition (interleaved rounds), with ratios to
    DVD-GAN-FP from this run and from the paper."""
    out = measure_step_times(cfg, world, decompositions, batch=batch, seconds=seconds, rounds=rounds,
                             device=device)
    base = out.get(BASELINE)
    for d, row in out.items():
        if base:
            row["wall_ratio_to_dvd_gan_fp"] = row["wall_s"] / base["wall_s"]
            row["cpu_ratio_to_dvd_gan_fp"] = row["cpu_s"] / base["cpu_s"]
        row["paper_ms"] = PAPER_TABLE1[d]["ms"]
        row["paper_ratio_to_dvd_gan_fp"] = PAPER_TABLE1[d]["ms"] / PAPER_TABLE1[BASELINE]["ms"]
    return out


def _vm_hwm_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise OSError("no VmHWM in /proc/self/status")


def memory_child(profile: str, world: str, decomposition: str, batch: int) -> dict:
    """Run in a fresh process: peak resident set before and after two training steps."""
    cfg = resolve(TrIVDChapterConfig, {"profile": profile})
    torch.set_num_threads(1)
    device = torch.device("cpu")
    before = _vm_hwm_mb()
    G, D, og, od, real, t = _setup(cfg, world, decomposition, device, batch)
    built = _vm_hwm_mb()
    time_steps(G, D, og, od, real, seconds=0.0, d_steps=t.d_steps, ortho=t.ortho, min_steps=2)
    after = _vm_hwm_mb()
    return {"peak_rss_mb": after, "added_by_steps_mb": after - built, "models_and_data_mb": built - before}


def peak_memory(cfg, world, decompositions, device, *, batch: int, profile: str) -> dict:
    out = {}
    for d in decompositions:
        if device.type == "cuda":
            G, D, og, od, real, t = _setup(cfg, world, d, device, batch)
            torch.cuda.reset_peak_memory_stats(device)
            time_steps(G, D, og, od, real, seconds=0.0, d_steps=t.d_steps, ortho=t.ortho, min_steps=2)
            out[d] = {"peak_allocated_mb": torch.cuda.max_memory_allocated(device) / 2**20}
            del G, D, og, od, real
            torch.cuda.empty_cache()
        else:
            child = subprocess.run([sys.executable, __file__, "--memory-child", d, "--profile", profile,
                                    "--world", world, "--batch", str(batch)],
                                   check=True, capture_output=True, text=True)
            out[d] = json.loads(child.stdout.strip().splitlines()[-1])
        out[d]["paper_GB"] = PAPER_TABLE1[d]["GB"]
    return out


def generator_mfu(cfg, world, device, *, batch: int, repeats: int) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    G, _, _, _, real, _ = _setup(cfg, world, BASELINE, device, batch)
    cond = real[:batch, :G.cfg.cond_frames]
    z = torch.randn(batch, G.cfg.z_dim, device=device)

    def fwd_bwd():
        G.zero_grad(set_to_none=True)
        G(cond, z).square().mean().backward()

    counter = FlopCounterMode(display=False)
    with counter:
        fwd_bwd()
    flops = counter.get_total_flops()
    walls = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fwd_bwd()
        sync(device)
        walls.append(time.perf_counter() - t0)
    wall = statistics.median(walls)
    peak = matmul_peak(device)["wall"]
    return {"flops_per_fwd_bwd": flops, "wall_s": wall, "achieved_flops": flops / wall,
            "matmul_peak_flops": peak, "mfu": flops / wall / peak, "batch": batch}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="lite", choices=("smoke", "lite", "full"))
    ap.add_argument("--world", default="actions", choices=sorted(PROTOCOLS))
    ap.add_argument("--seconds", type=float, default=30.0, help="wall seconds per decomposition (paper: 30)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=None, help="batch of the G passes (default: the profile's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--only", nargs="*", default=None, help="decompositions to measure (default: all nine)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.profile, args.world, args.memory_child, args.batch)))
        return 0

    runtime.set_threads(args.threads)
    cfg = resolve(TrIVDChapterConfig, {"profile": args.profile})
    batch = args.batch or cfg.table_batch
    device = runtime.device()
    decompositions = args.only or list(DECOMPOSITIONS)
    if BASELINE not in decompositions:
        decompositions = [BASELINE, *decompositions]
    report = {"profile": args.profile, "world": args.world, "protocol": PROTOCOLS[args.world], "batch": batch,
              "seconds_per_decomposition": args.seconds, "rounds": args.rounds,
              "environment": runtime.environment(device)}
    report["step_time"] = step_times(cfg, args.world, decompositions, device, batch=batch, seconds=args.seconds,
                                     rounds=args.rounds)
    if not args.no_memory:
        report["memory"] = peak_memory(cfg, args.world, decompositions, device, batch=batch, profile=args.profile)
    report["generator"] = generator_mfu(cfg, args.world, device, batch=batch, repeats=5)

    print(f"TrIVD-GAN-FP Table 1 step time, {args.profile} on {device} ({args.threads} thread(s)), world "
          f"{args.world}, batch {batch} (D passes of {2 * batch}), {args.seconds:.0f} s per decomposition:")
    print(f"  {'decomposition':<20} {'wall ms':>8} {'cpu ms':>8} {'cpu/DVD':>8} {'paper/DVD':>9} {'paper ms':>8}"
          + ("   peak MB  added MB  paper GB" if "memory" in report else ""))
    for d, row in report["step_time"].items():
        line = (f"  {d:<20} {1e3 * row['wall_s']:8.0f} {1e3 * row['cpu_s']:8.0f} "
                f"{row.get('cpu_ratio_to_dvd_gan_fp', float('nan')):8.2f} {row['paper_ratio_to_dvd_gan_fp']:9.2f} "
                f"{row['paper_ms']:8.0f}")
        if "memory" in report:
            m = report["memory"][d]
            line += (f"   {m.get('peak_rss_mb', m.get('peak_allocated_mb')):7.0f} "
                     f"{m.get('added_by_steps_mb', float('nan')):8.0f} {m['paper_GB']:9.2f}")
        print(line)
    gen = report["generator"]
    print(f"generator fwd+bwd: {gen['flops_per_fwd_bwd'] / 1e9:.2f} GFLOP in {1e3 * gen['wall_s']:.0f} ms = "
          f"{gen['achieved_flops'] / 1e9:.1f} GFLOP/s; matmul peak {gen['matmul_peak_flops'] / 1e9:.1f} GFLOP/s; "
          f"MFU {100 * gen['mfu']:.1f}%")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
