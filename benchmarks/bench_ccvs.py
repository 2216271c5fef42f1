"""Costs of CCVS on this machine: KV-cache sampling, the memory-bandwidth bound, training steps and MFU.

    python benchmarks/bench_ccvs.py [--profile lite] [--threads 1] [--repeats 3] [--json out.json]

Every time is a median over ``--repeats`` runs after a warm-up, wall and CPU time of this process both reported
(on a shared machine the CPU time is what one free core would take); every ratio compares two quantities
measured in this process, interleaved; the matmul peak and the copy bandwidth that MFU and the bound divide by
are measured in this run.

1. **Sampling** with the transformer over a 16-frame x 64-token window (1024 tokens, the paper's window), at
   batch 1 and batch 16. The measured segment is the steady state of a sliding window (Sec. 3.3: the window
   slides by one frame): the last frame's ``--segment`` = 64 tokens are sampled after 15 given frames. (a) With
   the KV cache (:func:`vidsynth_lite.nn.sample_chunks`, ``use_cache=True``): a slide moves every time index, so
   each frame costs one prefill of the 960 tokens before it, then one token's work per token -- the prefill is
   counted. (b) Without it, the official code's strategy: the whole window up to the token is run again for every
   token (``--segment-uncached`` tokens of the same frame: each costs the same full pass, so a short segment
   gives the rate). Tokens per second, the speed-up (target >= 10x at batch 1), a check that both return the same
   tokens on the same segment (same uniforms), and the peak memory of each (a fresh subprocess per case: its peak
   resident set minus what the process held before sampling -- the model, the cache, the activations).
2. **The memory-bandwidth bound** of cached sampling at batch 1: a decode step (one token's forward with the
   cache) must read all the weights and the cached keys and values once; ``bytes / bandwidth`` (bandwidth
   measured here by a large tensor copy) is the least time a step can take. Measured: the median decode step
   over the frame's 64 tokens (the prefill excluded). Target: within 2x of the bound.
3. **Training steps**: seconds per step of the autoencoder (generator step: E, Q, D, F, the self-supervision,
   the autoregressive clips and the discriminators' forward; then the discriminator step) and of the
   transformer at the profile's batch sizes, their FLOPs (``torch.utils.flop_counter``), the model FLOP
   utilisation against the fp32 matmul peak, and steps x median = the profile's live training time. The
   perceptual (VGG-16) term is included when its weights are there (``make weights``), said otherwise.

Two transformer sizes are timed: the profile's and ``--big`` (default 8 layers x 512: enough weights for the
bandwidth bound to matter). Untrained weights: costs do not depend on the values.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from peak import matmul_peak  # benchmarks/peak.py
from torch.utils.flop_counter import FlopCounterMode

from vidsynth_lite.nn import GPT, GPTConfig, sample_chunks

WINDOW_FRAMES, FRAME_TOKENS = 16, 64
LENGTH = WINDOW_FRAMES * FRAME_TOKENS


def _timed(fns: dict, repeats: int, warmup=None) -> dict:
    """Median wall and CPU seconds of each function in ``fns``, run interleaved ``repeats`` times after
    ``warmup()`` (default: one call of each)."""
    if warmup is None:
        for fn in fns.values():
            fn()
    else:
        warmup()
    walls = {k: [] for k in fns}
    cpus = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            walls[name].append(time.perf_counter() - t0)
            cpus[name].append(time.process_time() - c0)
    return {k: {"wall_s": statistics.median(walls[k]), "cpu_s": statistics.median(cpus[k]),
                "wall_min_s": min(walls[k]), "wall_max_s": max(walls[k])} for k in fns}


def copy_bandwidth(mb: int = 256, repeats: int = 5) -> dict:
    """GB/s of a large tensor copy (read + write counted), by the median wall and CPU time."""
    src = torch.ones(mb * 2 ** 20 // 4)
    dst = torch.empty_like(src)
    t = _timed({"copy": lambda: dst.copy_(src)}, repeats)["copy"]
    return {"wall": 2 * src.numel() * 4 / t["wall_s"] / 1e9, "cpu": 2 * src.numel() * 4 / t["cpu_s"] / 1e9}


def _gpt(n_layer: int, n_embd: int, n_head: int, vocab: int = 1024) -> GPT:
    cfg = GPTConfig(vocab_size=vocab, block_size=LENGTH, n_layer=n_layer, n_head=n_head,
                    n_embd=n_embd, n_slots=FRAME_TOKENS, n_times=WINDOW_FRAMES)
    torch.manual_seed(0)
    return GPT(cfg).eval()


def _inputs(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, 1024, (batch, LENGTH), generator=g)                  # [B, 1024]
    return tokens, torch.rand(batch, LENGTH, generator=g, dtype=torch.float64)      # uniforms [B, 1024]


def _sampler(model: GPT, batch: int, segment: int, cached: bool):
    """A call that samples the last ``segment`` tokens of the window; returns them [B, segment]."""
    tokens, u = _inputs(batch)
    to_sample = torch.zeros(LENGTH, dtype=torch.bool)
    to_sample[LENGTH - segment:] = True

    def run() -> torch.Tensor:
        out = sample_chunks(model, tokens, to_sample, prefix_len=0, chunk_len=FRAME_TOKENS, window=WINDOW_FRAMES,
                            uniforms=u, top_k=100, use_cache=cached)
        return out[:, LENGTH - segment:]
    return run


def _status_mb(key: str) -> float:
    """``VmHWM`` (peak resident set) or ``VmRSS`` (current) of this process in MB (Linux; else ru_maxrss)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return float(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_mb_in_subprocess(args: argparse.Namespace, n_layer, n_embd, n_head, batch, cached, segment) -> float:
    """One sampling call in a fresh interpreter, so that its peak memory is its own."""
    cmd = [sys.executable, __file__, "--case", json.dumps([n_layer, n_embd, n_head, batch, segment, cached]),
           "--threads", str(args.threads)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["peak_mb"]


@torch.no_grad()
def decode_step_seconds(model: GPT, cached_before: int, steps: int) -> dict:
    """Median wall and CPU seconds of ``steps`` one-token forward passes with the KV cache at batch 1, after a
    prefill of ``cached_before`` tokens (the decode step the bandwidth bound is about; no sampling)."""
    tokens, _ = _inputs(1)
    cache = model.new_cache(1)
    slots, times = model.default_positions(0, LENGTH)
    model(tokens[:, :cached_before], slots=slots[:cached_before], times=times[:cached_before], cache=cache)
    walls, cpus = [], []
    for p in range(cached_before, cached_before + steps):
        t0, c0 = time.perf_counter(), time.process_time()
        model(tokens[:, p:p + 1], slots=slots[p:p + 1], times=times[p:p + 1], cache=cache)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "steps": steps}


def bench_sampling(args: argparse.Namespace, name: str, n_layer: int, n_embd: int, n_head: int,
                   bandwidth: dict) -> dict:
    """Cached vs uncached sampling of one transformer size at batch 1 and 16 (see the module docstring)."""
    model = _gpt(n_layer, n_embd, n_head)
    out = {"n_layer": n_layer, "n_embd": n_embd, "n_head": n_head, "params": model.num_params()}
    for batch in (1, 16):
        cached = _sampler(model, batch, args.segment, True)
        uncached = _sampler(model, batch, args.segment_uncached, False)
        same = torch.equal(_sampler(model, batch, args.segment_uncached, True)(), uncached())
        if not same:
            raise AssertionError("cached and uncached sampling disagree on the same uniforms")
        times = _timed({"cached": cached, "uncached": uncached}, args.repeats,
                       warmup=_sampler(model, batch, 1, True))      # the checks above warmed the uncached path
        row = {}
        for key, segment in (("cached", args.segment), ("uncached", args.segment_uncached)):
            t = times[key]
            row[key] = {**t, "tokens": batch * segment, "tokens_per_s": batch * segment / t["wall_s"],
                        "tokens_per_cpu_s": batch * segment / t["cpu_s"],
                        "peak_mb": _peak_mb_in_subprocess(args, n_layer, n_embd, n_head, batch, key == "cached",
                                                          args.segment if key == "cached" else 1)}
        row["speedup"] = row["cached"]["tokens_per_s"] / row["uncached"]["tokens_per_s"]
        row["speedup_cpu"] = row["cached"]["tokens_per_cpu_s"] / row["uncached"]["tokens_per_cpu_s"]
        row["identical_tokens"] = same
        out[f"batch{batch}"] = row
        print(f"  {name} ({out['params'] / 1e6:.2f} M params) batch {batch:>2}: cached "
              f"{row['cached']['tokens_per_s']:8.1f} tok/s ({row['cached']['peak_mb']:.0f} MB peak), uncached "
              f"(official strategy) {row['uncached']['tokens_per_s']:8.2f} tok/s "
              f"({row['uncached']['peak_mb']:.0f} MB) -> {row['speedup']:.1f}x wall, "
              f"{row['speedup_cpu']:.1f}x CPU; identical tokens: {same}", flush=True)
    # bandwidth bound at batch 1: weights (tied head counted once) + the keys and values read per decode step
    step = decode_step_seconds(model, LENGTH - args.segment, args.segment)
    mean_cached = LENGTH - args.segment / 2                                  # tokens in the cache, on average
    kv_bytes = 2 * n_layer * mean_cached * n_embd * 4
    bytes_per_token = out["params"] * 4 + kv_bytes
    bound = {k: bytes_per_token / (bandwidth[k] * 1e9) for k in ("wall", "cpu")}
    out["bandwidth_bound"] = {"bytes_per_token": bytes_per_token, "bound_s_per_token": bound["wall"],
                              "bound_cpu_s_per_token": bound["cpu"], "decode_step_s": step["wall_s"],
                              "decode_step_cpu_s": step["cpu_s"], "ratio": step["wall_s"] / bound["wall"],
                              "ratio_cpu": step["cpu_s"] / bound["cpu"],
                              "sampling_s_per_token": 1 / out["batch1"]["cached"]["tokens_per_s"]}
    print(f"  {name}: bandwidth bound {bound['wall'] * 1e3:.3f} ms/token ({bytes_per_token / 2**20:.1f} MiB at "
          f"{bandwidth['wall']:.1f} GB/s); decode step {step['wall_s'] * 1e3:.3f} ms (median of {step['steps']}) "
          f"= {step['wall_s'] / bound['wall']:.1f}x the bound (by CPU time: {step['cpu_s'] * 1e3:.3f} ms vs "
          f"{bound['cpu'] * 1e3:.3f} ms = {step['cpu_s'] / bound['cpu']:.1f}x); with prefill and sampling "
          f"{out['bandwidth_bound']['sampling_s_per_token'] * 1e3:.3f} ms/token", flush=True)
    return out


def bench_training(args: argparse.Namespace, peak: dict) -> dict:
    """Seconds, FLOPs and MFU of one autoencoder step and one transformer step at the profile's sizes."""
    from dataclasses import replace

    from vidsynth_lite.chapters.ccvs import CCVSChapterConfig, profile_configs, row_configs
    from vidsynth_lite.config import resolve
    from vidsynth_lite.models.ccvs import Autoencoder
    from vidsynth_lite.models.ccvs.training import (
        discriminator_step,
        generator_step,
        image_discriminator,
        video_discriminator,
    )
    from vidsynth_lite.models.ccvs.transformer import CCVSTransformer, TokenLayout
    from vidsynth_lite.nn import PerceptualWeightsNotFound, load_perceptual

    cfg = resolve(CCVSChapterConfig, {"profile": args.profile})
    sizes = profile_configs(args.profile, cfg)
    ae_cfg, loss_cfg = row_configs(sizes, "+ Sup.")                            # the chapter's live recipe
    t_cfg = sizes.transformer
    try:
        perceptual = load_perceptual("vgg16", verbose=False)
        vgg = "with the VGG-16 term of Eq. 4"
    except PerceptualWeightsNotFound:
        perceptual, loss_cfg = None, replace(loss_cfg, perceptual=False)
        vgg = "WITHOUT the VGG-16 term (no weights here: `make weights`)"
    torch.manual_seed(0)
    ae = Autoencoder(ae_cfg)
    widths = tuple(sorted(ae_cfg.widths)[:3])
    d_image, d_video = image_discriminator(widths), video_discriminator(widths)
    opt_g = torch.optim.Adam(ae.parameters(), lr=1e-4)
    opt_d = torch.optim.Adam(list(d_image.parameters()) + list(d_video.parameters()), lr=1e-4)
    clips = torch.rand(cfg.ae_batch, 4, 3, cfg.size, cfg.size) * 2 - 1            # [B, 4, 3, H, W]

    def ae_step():
        out = generator_step(ae, clips, loss_cfg, beta=ae_cfg.beta, beta_on=ae_cfg.beta_on,
                             generator=torch.Generator().manual_seed(0), perceptual=perceptual,
                             disc_image=d_image, disc_video=d_video, video_clips=max(1, cfg.ae_batch // 2))
        opt_g.zero_grad(set_to_none=True)
        out.loss.backward()
        opt_g.step()
        d_loss, _ = discriminator_step(clips, out, disc_image=d_image, disc_video=d_video)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

    side = ae_cfg.tokens_side
    layout = TokenLayout(frame_tokens=side * side, frame_vocab=ae_cfg.num_codes, window=t_cfg.window)
    t_model = CCVSTransformer(layout, t_cfg.n_layer, t_cfg.n_head, t_cfg.n_embd)
    opt_t = torch.optim.AdamW(t_model.parameters(), lr=1e-4)
    stream = torch.randint(0, ae_cfg.num_codes, (cfg.t_batch, layout.block_size))

    def t_step():
        loss = t_model.loss(stream)
        opt_t.zero_grad(set_to_none=True)
        loss.backward()
        opt_t.step()

    print(f"  training at {args.profile}: autoencoder {cfg.ae_batch} clips x 4 frames of {cfg.size}x{cfg.size} "
          f"{vgg}; transformer {cfg.t_batch} windows of {layout.block_size} tokens", flush=True)
    out = {"perceptual": perceptual is not None}
    for name, fn, steps in (("autoencoder", ae_step, cfg.ae_steps), ("transformer", t_step, cfg.t_steps)):
        with FlopCounterMode(display=False) as counter:
            fn()                                                                 # also the warm-up
        flops = counter.get_total_flops()
        t = _timed({name: fn}, args.repeats, warmup=lambda: None)[name]
        mfu = flops / t["wall_s"] / (peak["wall"] * 1e9)
        mfu_cpu = flops / t["cpu_s"] / (peak["cpu"] * 1e9)                       # both sides by CPU time
        out[name] = {**t, "flops": flops, "mfu": mfu, "mfu_cpu": mfu_cpu,
                     "profile_steps": steps, "profile_cpu_s": steps * t["cpu_s"]}
        print(f"  {name:<12} step {t['wall_s']:.3f} s wall, {t['cpu_s']:.3f} s CPU, {flops / 1e9:.2f} GFLOP, "
              f"{flops / t['wall_s'] / 1e9:.1f} GFLOP/s = MFU {100 * mfu:.1f} % of the {peak['wall']:.0f} GFLOP/s "
              f"matmul peak (by CPU time: {100 * mfu_cpu:.1f} % of {peak['cpu']:.0f}); {steps} steps at "
              f"{args.profile} = {steps * t['cpu_s']:.0f} CPU-s", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="lite", choices=("smoke", "lite", "full"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--segment", type=int, default=FRAME_TOKENS,
                    help="tokens sampled at the end of the window with the cache (one frame: one prefill)")
    ap.add_argument("--segment-uncached", type=int, default=2,
                    help="tokens sampled without the cache (each is a full pass over the window)")
    ap.add_argument("--big", nargs=3, type=int, default=[8, 512, 8], metavar=("LAYERS", "EMBD", "HEADS"))
    ap.add_argument("--skip-training", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)          # one sampling case (subprocess)
    args = ap.parse_args(argv)
    if not 1 <= args.segment_uncached <= args.segment <= LENGTH - 1:
        ap.error(f"need 1 <= --segment-uncached <= --segment <= {LENGTH - 1}")
    torch.set_num_threads(args.threads)
    if args.case:
        n_layer, n_embd, n_head, batch, segment, cached = json.loads(args.case)
        model = _gpt(n_layer, n_embd, n_head)
        run = _sampler(model, batch, segment, cached)
        baseline = _status_mb("VmRSS")                                     # model built, nothing sampled
        run()
        print(json.dumps({"peak_mb": _status_mb("VmHWM") - baseline}))     # what sampling added at its peak
        return 0

    from vidsynth_lite.chapters.ccvs import CCVSChapterConfig, profile_configs
    from vidsynth_lite.config import resolve

    t_cfg = profile_configs(args.profile, resolve(CCVSChapterConfig, {"profile": args.profile})).transformer
    peak = {k: v / 1e9 for k, v in matmul_peak().items() if k != "n"}   # GFLOP/s
    bandwidth = copy_bandwidth()
    out = {"profile": args.profile, "threads": args.threads, "machine": platform.processor() or platform.machine(),
           "torch": torch.__version__, "matmul_peak_gflops": peak["wall"], "matmul_peak_cpu_gflops": peak["cpu"],
           "copy_bandwidth_gbs": bandwidth["wall"], "copy_bandwidth_cpu_gbs": bandwidth["cpu"],
           "window": f"{WINDOW_FRAMES} frames x {FRAME_TOKENS} tokens", "segment": args.segment,
           "segment_uncached": args.segment_uncached, "repeats": args.repeats, "load_average": os.getloadavg()}
    print(f"CCVS benchmark, {args.threads} thread(s), medians of {args.repeats}, load average "
          f"{out['load_average'][0]:.2f}: fp32 matmul peak {peak['wall']:.0f} GFLOP/s ({peak['cpu']:.0f} by CPU "
          f"time), copy bandwidth {bandwidth['wall']:.1f} GB/s ({bandwidth['cpu']:.1f}); sampling the last "
          f"{args.segment} tokens (cached) / {args.segment_uncached} tokens (uncached) of a {WINDOW_FRAMES} x "
          f"{FRAME_TOKENS} window", flush=True)
    out["sampling"] = {
        "profile": bench_sampling(args, f"{args.profile} T", t_cfg.n_layer, t_cfg.n_embd, t_cfg.n_head, bandwidth),
        "big": bench_sampling(args, "big T", *args.big, bandwidth),
    }
    if not args.skip_training:
        out["training"] = bench_training(args, peak)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
