"""Costs of CCVS on this machine: KV-cache sampling, the memory-bandwidth bound, training steps and MFU.

    python benchmarks/bench_ccvs.py [--profile lite] [--threads 1] [--repeats 3] [--json out.json]

1. **Sampling** with the transformer over a 16-frame x 64-token window (1024 tokens, the paper's window), at
   batch 1 and batch 16: the last tokens of the window are sampled after the first ones are given, (a) with the
   KV cache (:func:`vidsynth_lite.nn.sample_chunks`, ``use_cache=True``: one prefill, then one token's work per
   token; ``--segment`` tokens), (b) without it -- the official code's strategy, the whole sequence run again
   for every token (``--segment-uncached`` tokens: each costs the same full pass, so a short segment gives the
   rate). Tokens per second, the speed-up (target >= 10x at batch 1), a check that both return the same tokens
   on the same segment, and the peak memory of each (a fresh subprocess per case: its peak resident set minus
   what the process held before sampling -- the model, the cache, the activations).
2. **The memory-bandwidth bound** of cached sampling at batch 1: every new token must read all the weights and
   the cached keys and values once; ``bytes / bandwidth`` (bandwidth measured here by a large tensor copy) is the
   least time a token can take. Target: the measured time per token within 2x of it.
3. **Training steps**: seconds per step (median of ``--repeats`` after a warm-up) of the autoencoder (generator
   step: E, Q, D, F and the discriminators' forward; discriminator step) and of the transformer at the profile's
   batch sizes, their FLOPs (``torch.utils.flop_counter``) and the model FLOP utilisation against a fp32 matmul
   peak measured in the same process.

Two transformer sizes are timed: the profile's and ``--big`` (default 8 layers x 512: enough weights for the
bandwidth bound to matter). Untrained weights: costs do not depend on the values.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from vidsynth_lite.nn import GPT, GPTConfig, sample_chunks

WINDOW_FRAMES, FRAME_TOKENS = 16, 64


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_peak(n: int = 1024, repeats: int = 10) -> float:
    """fp32 GFLOP/s of an n x n matmul (median)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n ** 3 / _median_time(lambda: a @ b, repeats) / 1e9


def copy_bandwidth(mb: int = 256, repeats: int = 5) -> float:
    """GB/s of a large tensor copy (read + write counted)."""
    src = torch.ones(mb * 2 ** 20 // 4)
    dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / _median_time(lambda: dst.copy_(src), repeats) / 1e9


def _gpt(n_layer: int, n_embd: int, n_head: int, vocab: int = 1024) -> GPT:
    cfg = GPTConfig(vocab_size=vocab, block_size=WINDOW_FRAMES * FRAME_TOKENS, n_layer=n_layer, n_head=n_head,
                    n_embd=n_embd, n_slots=FRAME_TOKENS, n_times=WINDOW_FRAMES)
    torch.manual_seed(0)
    return GPT(cfg).eval()


def sample_case(n_layer: int, n_embd: int, n_head: int, batch: int, segment: int, cached: bool) -> dict:
    """Sample the last ``segment`` tokens of a full window; returns seconds, tokens and the sampled tokens."""
    model = _gpt(n_layer, n_embd, n_head)
    length = WINDOW_FRAMES * FRAME_TOKENS
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, 1024, (batch, length), generator=g)
    to_sample = torch.zeros(length, dtype=torch.bool)
    to_sample[length - segment:] = True
    u = torch.rand(batch, length, generator=g, dtype=torch.float64)
    t0 = time.perf_counter()
    out = sample_chunks(model, tokens, to_sample, prefix_len=0, chunk_len=FRAME_TOKENS, window=WINDOW_FRAMES,
                        uniforms=u, top_k=100, use_cache=cached)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "tokens": batch * segment, "tokens_per_s": batch * segment / seconds,
            "sampled": out[:, length - segment:].tolist()}


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


def _run_case_in_subprocess(args: argparse.Namespace, n_layer, n_embd, n_head, batch, cached, segment) -> dict:
    """One sampling case in a fresh interpreter, so that its peak memory is its own."""
    cmd = [sys.executable, __file__, "--case", json.dumps([n_layer, n_embd, n_head, batch, segment, cached]),
           "--threads", str(args.threads)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_sampling(args: argparse.Namespace, name: str, n_layer: int, n_embd: int, n_head: int,
                   bandwidth: float) -> dict:
    """Cached vs uncached sampling of one transformer size at batch 1 and 16. Tokens per second come from the
    last ``--segment`` tokens of the window for the cache (its one prefill included) and from the last
    ``--segment-uncached`` tokens without it (every token costs a full pass: a short segment gives the rate);
    both return the same tokens on the shorter segment (checked)."""
    out = {"n_layer": n_layer, "n_embd": n_embd, "n_head": n_head,
           "params": _gpt(n_layer, n_embd, n_head).num_params()}
    for batch in (1, 16):
        cached = _run_case_in_subprocess(args, n_layer, n_embd, n_head, batch, True, args.segment)
        uncached = _run_case_in_subprocess(args, n_layer, n_embd, n_head, batch, False, args.segment_uncached)
        check = _run_case_in_subprocess(args, n_layer, n_embd, n_head, batch, True, args.segment_uncached)
        same = check.pop("sampled") == uncached.pop("sampled")
        cached.pop("sampled")
        if not same:
            raise AssertionError("cached and uncached sampling disagree")
        out[f"batch{batch}"] = {"cached": cached, "uncached": uncached,
                                "speedup": cached["tokens_per_s"] / uncached["tokens_per_s"],
                                "identical_tokens": same}
        print(f"  {name} ({out['params'] / 1e6:.1f} M params) batch {batch:>2}: cached "
              f"{cached['tokens_per_s']:8.1f} tok/s ({cached['peak_mb']:.0f} MB peak), uncached "
              f"{uncached['tokens_per_s']:8.2f} tok/s ({uncached['peak_mb']:.0f} MB) -> "
              f"{out[f'batch{batch}']['speedup']:.1f}x, identical tokens: {same}")
    # bandwidth bound at batch 1: weights (tied head counted once) + the keys and values read per token
    length = WINDOW_FRAMES * FRAME_TOKENS
    mean_cached = length - args.segment / 2                                  # tokens in the cache, on average
    kv_bytes = 2 * n_layer * mean_cached * n_embd * 4
    bytes_per_token = out["params"] * 4 + kv_bytes
    bound_s = bytes_per_token / (bandwidth * 1e9)
    measured_s = 1 / out["batch1"]["cached"]["tokens_per_s"]
    out["bandwidth_bound"] = {"bytes_per_token": bytes_per_token, "bound_s_per_token": bound_s,
                              "measured_s_per_token": measured_s, "ratio": measured_s / bound_s}
    print(f"  {name}: bandwidth bound {bound_s * 1e3:.3f} ms/token ({bytes_per_token / 2**20:.1f} MiB at "
          f"{bandwidth:.1f} GB/s); measured {measured_s * 1e3:.3f} ms/token = {measured_s / bound_s:.1f}x the bound")
    return out


def bench_training(args: argparse.Namespace, peak_gflops: float) -> dict:
    """Seconds, FLOPs and MFU of one autoencoder step and one transformer step at the profile's sizes."""
    from vidsynth_lite.chapters.ccvs import CCVSChapterConfig, profile_configs
    from vidsynth_lite.config import resolve
    from vidsynth_lite.models.ccvs import Autoencoder
    from vidsynth_lite.models.ccvs.training import (
        discriminator_step,
        generator_step,
        image_discriminator,
        video_discriminator,
    )
    from vidsynth_lite.models.ccvs.transformer import CCVSTransformer, TokenLayout

    cfg = resolve(CCVSChapterConfig, {"profile": args.profile})
    sizes = profile_configs(args.profile, cfg)
    ae_cfg, loss_cfg, t_cfg = sizes.autoencoder, sizes.loss, sizes.transformer
    torch.manual_seed(0)
    ae = Autoencoder(ae_cfg)
    d_image, d_video = image_discriminator(_disc_widths(ae_cfg)), video_discriminator(_disc_widths(ae_cfg))
    opt_g = torch.optim.Adam(ae.parameters(), lr=1e-4)
    opt_d = torch.optim.Adam(list(d_image.parameters()) + list(d_video.parameters()), lr=1e-4)
    clips = torch.rand(cfg.ae_batch, 4, 3, cfg.size, cfg.size) * 2 - 1

    def ae_step():
        out = generator_step(ae, clips, replace_perceptual(loss_cfg), beta=ae_cfg.beta, beta_on=ae_cfg.beta_on,
                             generator=torch.Generator().manual_seed(0), disc_image=d_image, disc_video=d_video,
                             video_clips=max(1, cfg.ae_batch // 2))
        opt_g.zero_grad(set_to_none=True)
        out.loss.backward()
        opt_g.step()
        d_loss, _ = discriminator_step(clips, out, disc_image=d_image, disc_video=d_video)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

    side = ae_cfg.tokens_side
    layout = TokenLayout(frame_tokens=side * side, frame_vocab=ae_cfg.num_codes, window=WINDOW_FRAMES)
    t_model = CCVSTransformer(layout, t_cfg.n_layer, t_cfg.n_head, t_cfg.n_embd)
    opt_t = torch.optim.AdamW(t_model.parameters(), lr=1e-4)
    stream = torch.randint(0, ae_cfg.num_codes, (cfg.t_batch, layout.block_size))

    def t_step():
        loss = t_model.loss(stream)
        opt_t.zero_grad(set_to_none=True)
        loss.backward()
        opt_t.step()

    out = {}
    for name, fn in (("autoencoder", ae_step), ("transformer", t_step)):
        with FlopCounterMode(display=False) as counter:
            fn()
        flops = counter.get_total_flops()
        seconds = _median_time(fn, args.repeats)
        mfu = flops / seconds / (peak_gflops * 1e9)
        out[name] = {"seconds": seconds, "flops": flops, "mfu": mfu}
        print(f"  {name:<12} step {seconds:.3f} s, {flops / 1e9:.2f} GFLOP, {flops / seconds / 1e9:.1f} GFLOP/s "
              f"= MFU {100 * mfu:.1f} % of the {peak_gflops:.0f} GFLOP/s matmul peak")
    return out


def replace_perceptual(loss_cfg):
    """The perceptual term needs the VGG weights (``make weights``); the benchmark times the rest."""
    from dataclasses import replace
    return replace(loss_cfg, perceptual=False)


def _disc_widths(ae_cfg) -> tuple:
    return tuple(sorted(ae_cfg.widths)[:3])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="lite", choices=("smoke", "lite", "full"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--segment", type=int, default=128, help="tokens sampled at the end of the window (cache)")
    ap.add_argument("--segment-uncached", type=int, default=16,
                    help="tokens sampled without the cache (each is a full pass over the window)")
    ap.add_argument("--big", nargs=3, type=int, default=[8, 512, 8], metavar=("LAYERS", "EMBD", "HEADS"))
    ap.add_argument("--skip-training", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)          # one sampling case (subprocess)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.case:
        n_layer, n_embd, n_head, batch, segment, cached = json.loads(args.case)
        baseline = _status_mb("VmRSS")                                     # torch imported, nothing sampled
        result = sample_case(n_layer, n_embd, n_head, batch, segment, cached)
        result["peak_mb"] = _status_mb("VmHWM") - baseline                 # what sampling added at its peak
        print(json.dumps(result))
        return 0

    from vidsynth_lite.chapters.ccvs import CCVSChapterConfig, profile_configs
    from vidsynth_lite.config import resolve

    t_cfg = profile_configs(args.profile, resolve(CCVSChapterConfig, {"profile": args.profile})).transformer
    peak = matmul_peak()
    bandwidth = copy_bandwidth()
    out = {"profile": args.profile, "threads": args.threads, "machine": platform.processor() or platform.machine(),
           "torch": torch.__version__, "matmul_peak_gflops": peak, "copy_bandwidth_gbs": bandwidth,
           "window": f"{WINDOW_FRAMES} frames x {FRAME_TOKENS} tokens", "segment": args.segment}
    print(f"CCVS benchmark, {args.threads} thread(s): fp32 matmul peak {peak:.0f} GFLOP/s, copy bandwidth "
          f"{bandwidth:.1f} GB/s; sampling the last {args.segment} tokens of a {WINDOW_FRAMES} x {FRAME_TOKENS} "
          "window")
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
