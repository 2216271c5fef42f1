"""Cost of the VQ-VAE chapter's stages (Walker et al. 2021) at a profile's sizes, on this machine.

    python benchmarks/bench_vqvae.py [--profile lite] [--threads 1] [--repeats 5] [--json out.json]

Measures, as medians over ``--repeats`` (after one warm-up):

- seconds per optimiser step (forward, backward, Adam) of the VQ-VAE, the top prior and the bottom prior at the
  chapter's batch sizes, and the lite training time of each stage that follows (steps x median);
- peak memory (CUDA allocator peak on a GPU; the process's peak resident set on a CPU);
- sampling time per video with the fast (row-cached) sampler, batched as in the chapter and one at a time;
- the naive sampler (a full forward pass per position) on one video, the speed-up, and a check that both
  samplers return the same codes for the same random draws;
- the VQ-VAE training step with and without a host read of every logged term each step (the quantizer's
  ``int(step)`` and per-call perplexity and the loop's ``float(loss)`` before the change), interleaved in one
  process, medians and their ratio;
- the top prior's attention memory per layer at the paper's batch (512 x 3 x 32 x 32 positions), dense vs
  fused (``scaled_dot_product_attention``), by calculation.

Wall time and CPU time of this process are both reported: when other processes share the machine, the CPU
time is what one free core would take. Untrained weights are used: the costs do not depend on the values.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import time

import torch

from vidsynth_lite.chapters.vqvae import VQVAEChapterConfig, model_configs
from vidsynth_lite.config import resolve
from vidsynth_lite.models.vqvae import (
    BottomPrior,
    TopPrior,
    VideoPredictor,
    VideoVQVAE,
    bottom_prior_loss,
    latent_volumes,
    top_prior_loss,
    vqvae_loss,
)
from vidsynth_lite.nn import attention_memory_bytes, perplexity, sample_cached, sample_naive


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn, repeats: int, device: torch.device) -> dict[str, float]:
    fn()                                                               # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus),
            "wall_min_s": min(walls), "wall_max_s": max(walls)}


def _step_fn(model, loss_fn, batch):
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        model.train()
        loss, _ = loss_fn(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def host_sync_comparison(model, batch, repeats: int) -> dict[str, float]:
    """Median step time with a host read of every logged term per step ("before": what the quantizer and the
    loop did) and without ("after": terms stay device tensors), the two interleaved so that load drifts hit both."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step(read: bool):
        model.train()
        out = model(batch)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
        if read:                                        # what the old code read to the host every step
            for term in (out.loss, out.recon_loss):    # the loop's float(loss) and float(logged term)
                float(term.detach())
            for vq, q in ((model.vq_bottom, out.bottom), (model.vq_top, out.top)):
                int(vq.step)                            # the quantizer's int(self.step)
                counts = torch.bincount(q.codes.flatten(), minlength=model.cfg.num_codes)   # its perplexity
                float(perplexity(q.codes, model.cfg.num_codes)) + float((counts > 0).double().mean())
    step(True)
    step(False)                                         # warm-up
    times = {True: [], False: []}
    cpus = {True: [], False: []}
    for _ in range(repeats):
        for read in (True, False):
            if batch.device.type == "cuda":
                torch.cuda.synchronize(batch.device)
            t0, c0 = time.perf_counter(), time.process_time()
            step(read)
            if batch.device.type == "cuda":
                torch.cuda.synchronize(batch.device)
            times[read].append(time.perf_counter() - t0)
            cpus[read].append(time.process_time() - c0)
    before, after = statistics.median(times[True]), statistics.median(times[False])
    before_cpu, after_cpu = statistics.median(cpus[True]), statistics.median(cpus[False])
    return {"before_s": before, "after_s": after, "ratio": before / after, "before_cpu_s": before_cpu,
            "after_cpu_s": after_cpu, "cpu_ratio": before_cpu / after_cpu, "repeats": repeats}


def attention_memory(cfg) -> dict[str, dict[str, float]]:
    """Table 4's top prior: batch 512, 3 x 32 x 32 positions, 512 channels, 8 heads, per attention layer."""
    b, n, c, h = 512, 3 * 32 * 32, cfg.hidden, cfg.heads
    out = {}
    for name, nbytes in (("float32", 4), ("bfloat16", 2)):
        dense = attention_memory_bytes(b, n, c, h, nbytes, dense=True)
        fused = attention_memory_bytes(b, n, c, h, nbytes)
        out[name] = {"dense_scores_GB": dense["scores"] / 1e9, "dense_total_GB": dense["total"] / 1e9,
                     "fused_total_GB": fused["total"] / 1e9, "one_score_matrix_GB": dense["scores"] / 2e9}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="lite", choices=("smoke", "lite", "full"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--naive", type=int, default=1, help="run the naive sampler on this many videos (0: skip)")
    ap.add_argument("--scaling", nargs="*", type=int, default=[4, 8, 16],
                    help="also time naive vs fast sampling of the top prior's PixelCNN alone on 3 x S x S code "
                         "volumes for these S (the lite widths; S = 32 is the paper's top layer)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg = resolve(VQVAEChapterConfig, {"profile": args.profile})
    sizes = model_configs(cfg)
    torch.manual_seed(0)
    out: dict = {"profile": args.profile, "threads": args.threads, "device": str(device),
                 "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
                 "repeats": args.repeats, "sizes": sizes.to_dict()}

    vq = VideoVQVAE(sizes.vqvae).to(device)
    video = torch.rand(max(cfg.vq_batch, 8), cfg.frames, 3, cfg.size, cfg.size, device=device) * 2 - 1
    stages = {"vqvae": (vq, vqvae_loss, video[:cfg.vq_batch], cfg.vq_steps)}
    vols = latent_volumes(vq.eval(), video, cfg.cond_frames)
    top, bottom = TopPrior(sizes.top).to(device), BottomPrior(sizes.bottom).to(device)
    rep = lambda n: {k: v.repeat((n + len(v) - 1) // len(v), 1, 1, 1)[:n] for k, v in vols.items()}
    stages["top_prior"] = (top, top_prior_loss, rep(cfg.top_batch), cfg.top_steps)
    stages["bottom_prior"] = (bottom, bottom_prior_loss, rep(cfg.bottom_batch), cfg.bottom_steps)
    print(f"VQ-VAE chapter at {args.profile}: {cfg.size}x{cfg.size}x{cfg.frames}, {args.threads} thread(s), "
          f"{device}, median of {args.repeats}")
    for name, (model, loss_fn, batch, steps) in stages.items():
        t = _timed(_step_fn(model, loss_fn, batch), args.repeats, device)
        t.update(steps=steps, train_wall_s=t["wall_s"] * steps, train_cpu_s=t["cpu_s"] * steps,
                 params=sum(p.numel() for p in model.parameters()), peak_mb=_peak_mb(device))
        out[name] = t
        print(f"  {name:<13} {t['wall_s']:.3f} s/step wall ({t['cpu_s']:.3f} cpu) -> {steps} steps "
              f"{t['train_wall_s']:.0f} s; {t['params'] / 1e6:.2f} M params; peak {t['peak_mb']:.0f} MB")

    predictor = VideoPredictor(vq.eval(), top.eval(), bottom.eval())
    cond = video[:, :cfg.cond_frames]
    n_batch = cfg.test_videos * cfg.samples                              # one temperature of the chapter
    batched_cond = cond.repeat((n_batch + len(cond) - 1) // len(cond), 1, 1, 1, 1)[:n_batch]
    g = torch.Generator().manual_seed(0)
    t = _timed(lambda: predictor.predict(batched_cond, 1, generator=g), max(1, args.repeats // 2), device)
    out["sample_fast_batched"] = {**t, "videos": n_batch, "per_video_wall_s": t["wall_s"] / n_batch}
    print(f"  fast sampler, batch {n_batch}: {t['wall_s'] / n_batch:.3f} s per video")
    t1 = _timed(lambda: predictor.predict(cond[:1], 1, generator=g), args.repeats, device)
    out["sample_fast_single"] = t1
    print(f"  fast sampler, one video: {t1['wall_s']:.3f} s ({t1['cpu_s']:.3f} cpu)")
    if args.naive:
        fast, naive = [], []
        for i in range(args.naive):
            one = cond[i % len(cond):][:1]
            c0 = time.perf_counter()
            a = predictor.predict(one, 1, generator=torch.Generator().manual_seed(100 + i), fast=True)
            c1 = time.perf_counter()
            b = predictor.predict(one, 1, generator=torch.Generator().manual_seed(100 + i), fast=False)
            c2 = time.perf_counter()
            if not torch.equal(a, b):
                raise AssertionError("fast and naive samplers disagree")
            fast.append(c1 - c0)
            naive.append(c2 - c1)
        out["sample_naive_single"] = {"wall_s": statistics.median(naive), "videos": args.naive}
        out["fast_speedup"] = statistics.median(naive) / statistics.median(fast)
        print(f"  naive sampler, one video: {statistics.median(naive):.2f} s -> fast is "
              f"{out['fast_speedup']:.1f}x faster (identical samples)")
    if args.scaling:
        out["scaling"] = {}
        net = top.pixelcnn.eval()
        for side in args.scaling:
            u = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(side), dtype=torch.float64)
            c0 = time.perf_counter()
            a = sample_cached(net, None, u)
            c1 = time.perf_counter()
            b = sample_naive(lambda codes: net(codes), u)
            c2 = time.perf_counter()
            if not torch.equal(a, b):
                raise AssertionError(f"fast and naive samplers disagree on 3x{side}x{side}")
            out["scaling"][f"3x{side}x{side}"] = {"fast_s": c1 - c0, "naive_s": c2 - c1,
                                                  "speedup": (c2 - c1) / (c1 - c0)}
            print(f"  top-prior PixelCNN alone, 3x{side}x{side} codes: naive {c2 - c1:.2f} s, fast {c1 - c0:.2f} s "
                  f"-> {(c2 - c1) / (c1 - c0):.1f}x (identical samples)")
    sync = host_sync_comparison(VideoVQVAE(sizes.vqvae).to(device), video[:cfg.vq_batch], max(5, args.repeats))
    out["host_sync"] = sync
    print(f"  VQ-VAE step, host read of every logged term each step (before): {sync['before_s']:.4f} s wall, "
          f"{sync['before_cpu_s']:.4f} s cpu; logged terms kept on the device (after): {sync['after_s']:.4f} s "
          f"wall, {sync['after_cpu_s']:.4f} s cpu -> {sync['ratio']:.3f}x wall, {sync['cpu_ratio']:.3f}x cpu")
    full_top = resolve(VQVAEChapterConfig, {"profile": "full"})
    mem = attention_memory(model_configs(full_top).top)
    out["top_prior_attention_memory_per_layer"] = mem
    for dtype, m in mem.items():
        print(f"  top prior attention per layer at the paper's batch ({dtype}): one N x N score matrix "
              f"{m['one_score_matrix_GB']:.1f} GB, dense (scores + softmax + q/k/v/out) {m['dense_total_GB']:.1f} GB"
              f" -> fused SDPA {m['fused_total_GB']:.2f} GB")
    out["peak_mb"] = _peak_mb(device)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
