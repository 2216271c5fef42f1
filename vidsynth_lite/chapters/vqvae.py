"""Settings of chapter 3 (``notebooks/03_vqvae.py``, Walker et al. 2021) and the glue it needs.

One source per value: every field's default is the paper's value where the paper gives one (read from the
tables in :mod:`vidsynth_lite.models.vqvae.config`, never retyped here) and the book's choice otherwise; each
profile's values live in ``configs/vqvae/<profile>.yaml`` (flat literals, the same files papermill takes).
``full.yaml`` repeats the paper's sizes so that a papermill user sees them; a test checks that they equal the
tables. :func:`model_configs` turns the flat fields into the three networks' configs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from vidsynth_lite import data, metrics, paths, runtime, train
from vidsynth_lite.config import PROFILE_ENV, ChapterConfig, param, resolve
from vidsynth_lite.io import CheckpointError, load_weights, save_weights
from vidsynth_lite.io.atomic import atomic_path
from vidsynth_lite.models import vqvae as vqm
from vidsynth_lite.models.vqvae.checkpoint import pack_state, unpack_state
from vidsynth_lite.models.vqvae.config import (
    PAPER_TRAINING,
    BottomPriorConfig,
    TopPriorConfig,
    VQVAEConfig,
    VQVAEModels,
)

_VQ, _TOP, _BOTTOM, _TRAIN = VQVAEConfig(), TopPriorConfig(), BottomPriorConfig(), PAPER_TRAINING  # the tables


@dataclass
class VQVAEChapterConfig(ChapterConfig):
    """Chapter 3, "Predicting video with a hierarchical VQ-VAE" (Walker et al. 2021)."""
    chapter = "vqvae"
    # -- data and protocol -------------------------------------------------------------------------------
    world: str = param("pushbot", "synthetic world to train and evaluate on", choices=("pushbot", "actions"))
    size: int = param(_VQ.size, "frame height and width (paper: 256)", choices=(32, 64, 128, 256))
    frames: int = param(_VQ.frames, "frames per clip: cond_frames given + the rest predicted (paper: 16)",
                        min=8, max=64)
    cond_frames: int = param(_TOP.cond_frames, "conditioning frames (paper: 4 in, 12 predicted)", choices=(4, 8))
    train_videos: int = param(256, "training clips", min=8, max=10_000_000)
    test_videos: int = param(384, "test inputs of the evaluation (3 draws of 128 at lite)", min=2, max=100_000)
    samples: int = param(2, "samples per test input (K of best-of-K / mean-of-K, DIV)", min=2, max=100)
    sample_batch: int = param(64, "test inputs sampled at once (x samples = the sampler's batch)", min=1)
    temperatures: list[float] = param([1.0, 1.2], "sampling temperatures (the paper's project page: 1.0 and "  # noqa: RUF009
                                      "1.2)", min=0.05, max=10.0)
    # -- the VQ-VAE (Table 3) ----------------------------------------------------------------------------
    vq_hidden: int = param(_VQ.hidden, "VQ-VAE hidden units (Table 3: 128)", min=1)
    vq_residual: int = param(_VQ.residual, "VQ-VAE residual units (Table 3: 32)", min=1)
    vq_layers: int = param(_VQ.layers, "residual blocks per VQ-VAE stack (Table 3: 2)", min=0)
    num_codes: int = param(_VQ.num_codes, "codebook size K of each layer, and the priors' categories "
                           "(Table 3: 512)", min=2, max=32767)
    code_dim: int = param(_VQ.code_dim, "codebook dimension D (Table 3: 64)", min=1)
    restart_threshold: float = param(_VQ.restart_threshold, "restart a code whose EMA count of vectors per batch "
                                     "falls below this (not in the paper; 0: never)", min=0.0)
    vq_steps: int = param(_TRAIN["vqvae"].steps, "VQ-VAE optimiser steps (Table 3: 1 000 000)", min=1)
    vq_batch: int = param(_TRAIN["vqvae"].batch, "VQ-VAE batch size (Table 3: 16)", min=1)
    vq_lr: float = param(3e-4, "VQ-VAE Adam learning rate (not stated in the paper)", min=1e-7, max=1.0)
    # -- the top prior (Tables 4-6) ----------------------------------------------------------------------
    top_hidden: int = param(_TOP.hidden, "top prior hidden units (Table 4: 512)", min=1)
    top_residual: int = param(_TOP.residual, "top prior residual units (Table 4: 1024)", min=1)
    top_layers: int = param(_TOP.layers, "top prior gated layers (Table 4: 40)", min=1)
    top_attn_every: int = param(_TOP.attn_every, "attention after every n-th top layer (Table 4: 8 in 40)", min=0)
    top_heads: int = param(_TOP.heads, "top prior attention heads (Table 4: 8)", min=1)
    top_kernel: int = param(_TOP.kernel, "top prior filter size (Table 4: 3)", min=1)
    top_dropout: float = param(_TOP.dropout, "top prior dropout (Table 4: 0.5)", min=0.0, max=0.99)
    top_cond_embed: int = param(_TOP.cond_embed, "conditioning embedding width (Table 6: 256)", min=1)
    top_cond_hidden: int = param(_TOP.cond_hidden, "conditioning stack hidden units (Table 5: 512)", min=1)
    top_cond_residual: int = param(_TOP.cond_residual, "conditioning stack residual units (Table 5: 128)", min=1)
    top_cond_layers: int = param(_TOP.cond_layers, "conditioning stack layers (Table 5: 4)", min=0)
    top_steps: int = param(_TRAIN["top"].steps, "top prior steps (Table 4: 1 016 000)", min=1)
    top_batch: int = param(_TRAIN["top"].batch, "top prior batch size (Table 4: 512)", min=1)
    # -- the bottom prior (Tables 4, 7, 8) ---------------------------------------------------------------
    bottom_hidden: int = param(_BOTTOM.hidden, "bottom prior hidden units (Table 4: 512)", min=1)
    bottom_residual: int = param(_BOTTOM.residual, "bottom prior residual units (Table 4: 1024)", min=1)
    bottom_layers: int = param(_BOTTOM.layers, "bottom prior gated layers (Table 4: 20)", min=1)
    bottom_attn_every: int = param(_BOTTOM.attn_every, "attention after every n-th bottom layer (Table 4: 4 in 20)",
                                   min=0)
    bottom_heads: int = param(_BOTTOM.heads, "bottom prior attention heads (Table 4: 8)", min=1)
    bottom_kernel: int = param(_BOTTOM.kernel, "bottom prior filter size (Table 4: 5)", min=1)
    bottom_dropout: float = param(_BOTTOM.dropout, "bottom prior dropout (Table 4: 0.0)", min=0.0, max=0.99)
    bottom_cond_embed: int = param(_BOTTOM.cond_embed, "embedding width of the conditioning codes (not stated)",
                                   min=1)
    bottom_up_channels: int = param(_BOTTOM.up_channels, "width of the top latents upsampled to the bottom grid "
                                    "(Table 8: 1024)", min=1)
    bottom_past_window: int = param(_BOTTOM.past_window, "past bottom slices seen per slice (Tables 7-8: 4; the "
                                    "text: 2)", min=1, max=16)
    bottom_past_layers: int = param(_BOTTOM.past_layers, "stride-2 convolutions over the past window (Table 8: 4)",
                                    min=1, max=8)
    bottom_cond_hidden: int = param(_BOTTOM.cond_hidden, "conditioning stack hidden units (Table 7: 1024)", min=1)
    bottom_cond_residual: int = param(_BOTTOM.cond_residual, "conditioning stack residual units (not stated)",
                                      min=1)
    bottom_cond_layers: int = param(_BOTTOM.cond_layers, "conditioning stack residual blocks (Table 7: 20)", min=0)
    bottom_steps: int = param(_TRAIN["bottom"].steps, "bottom prior steps (Table 4: 950 000)", min=1)
    bottom_batch: int = param(_TRAIN["bottom"].batch, "bottom prior batch size (Table 4: 32)", min=1)
    prior_lr: float = param(3e-4, "Adam learning rate of both priors (not stated in the paper)", min=1e-7, max=1.0)
    # -- evaluation and running --------------------------------------------------------------------------
    fvd_videos: int = param(8, "clips per side for the real-I3D FVD (small N: a high-variance estimate; 0 only "
                            "with 'FVD' in eval_skip)", min=0, max=100_000)
    eval_draws: int = param(3, "disjoint draws of the test inputs in the evaluation (test_videos must divide "
                            "into them, >= 2 inputs each)", min=1, max=100)
    eval_skip: list[str] = param([], "metrics the evaluation leaves out (a profile choice, said in the table): "  # noqa: RUF009
                            "PSNR, SSIM, PSNR-moving, FVD-syn, KVD-syn, FID-syn, FVD*-syn, DIV-syn, FVD",
                            min_len=0)
    curve_videos: int = param(64, "held-out inputs (one sample each) for the quality-vs-CPU-minutes points; the "
                              "shipped checkpoint's curve used 64", min=4, max=100_000)
    naive_videos: int = param(1, "videos sampled with the naive sampler to time it and check it equals the "
                              "fast one (0: skip)", min=0, max=64)
    ckpt_every: int = param(100, "checkpoint period in steps", min=1)
    bf16: bool = param(False, "bf16 autocast on a GPU")

    def validate(self) -> VQVAEChapterConfig:
        """Checks that need several fields, or the model's arithmetic: one :class:`ConfigError` naming the
        parameter, its value and what is allowed. Returns ``self``."""
        fail = self.refuse

        if self.frames % 4:
            fail("frames", "a multiple of 4 (the VQ-VAE halves time twice: Table 3 strides 2 and 2)")
        if self.frames <= self.cond_frames:
            fail("frames", f"more than cond_frames = {self.cond_frames} (frames to predict)")
        for prefix in ("top", "bottom"):
            heads, hidden = getattr(self, f"{prefix}_heads"), getattr(self, f"{prefix}_hidden")
            if getattr(self, f"{prefix}_attn_every") and hidden % heads:
                fail(f"{prefix}_heads", f"a divisor of {prefix}_hidden = {hidden}")
            if getattr(self, f"{prefix}_kernel") % 2 == 0:
                fail(f"{prefix}_kernel", "an odd filter size (masked convolutions are centred)")
        if 2 ** self.bottom_past_layers < self.bottom_past_window:
            fail("bottom_past_layers", f">= log2(bottom_past_window = {self.bottom_past_window}): each stride-2 "
                                       "convolution halves the window, which must end as one slice")
        if self.test_videos % self.eval_draws or self.test_videos // self.eval_draws < 2:
            fail("test_videos", f"a multiple of eval_draws = {self.eval_draws} with >= 2 inputs per draw")
        if set(self.eval_skip) - set(metrics.evaluation.SKIPPABLE):
            fail("eval_skip", f"names from {list(metrics.evaluation.SKIPPABLE)}")
        if "FVD" not in self.eval_skip and not 2 <= self.fvd_videos <= self.test_videos:
            fail("fvd_videos", f"2 .. test_videos = {self.test_videos} clips per side for the real-I3D FVD, or "
                               "'FVD' in eval_skip")
        return self


MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(VQVAEChapterConfig)
                     if f.name.startswith(("vq_hidden", "vq_residual", "vq_layers", "top_", "bottom_"))
                     and not f.name.endswith(("_steps", "_batch"))) + ("num_codes", "code_dim", "restart_threshold")


def model_configs(cfg: VQVAEChapterConfig) -> VQVAEModels:
    """The three networks' configs from the chapter's flat fields (after :meth:`VQVAEChapterConfig.validate`).
    Fields the chapter does not expose keep the paper's values (beta, EMA decay, bottom masking rate)."""
    cfg.validate()
    clip = {"cond_frames": cfg.cond_frames, "frames": cfg.frames, "num_codes": cfg.num_codes}
    return VQVAEModels(
        vqvae=VQVAEConfig(frames=cfg.frames, size=cfg.size, hidden=cfg.vq_hidden, residual=cfg.vq_residual,
                          layers=cfg.vq_layers, num_codes=cfg.num_codes, code_dim=cfg.code_dim,
                          restart_threshold=cfg.restart_threshold),
        top=TopPriorConfig(**clip, hidden=cfg.top_hidden, residual=cfg.top_residual, layers=cfg.top_layers,
                           attn_every=cfg.top_attn_every, heads=cfg.top_heads, kernel=cfg.top_kernel,
                           dropout=cfg.top_dropout, cond_embed=cfg.top_cond_embed, cond_hidden=cfg.top_cond_hidden,
                           cond_residual=cfg.top_cond_residual, cond_layers=cfg.top_cond_layers),
        bottom=BottomPriorConfig(**clip, hidden=cfg.bottom_hidden, residual=cfg.bottom_residual,
                                 layers=cfg.bottom_layers, attn_every=cfg.bottom_attn_every,
                                 heads=cfg.bottom_heads, kernel=cfg.bottom_kernel, dropout=cfg.bottom_dropout,
                                 past_window=cfg.bottom_past_window, past_layers=cfg.bottom_past_layers,
                                 up_channels=cfg.bottom_up_channels, cond_embed=cfg.bottom_cond_embed,
                                 cond_hidden=cfg.bottom_cond_hidden, cond_residual=cfg.bottom_cond_residual,
                                 cond_layers=cfg.bottom_cond_layers),
    )


# -- glue the chapter and its pretraining share -------------------------------------------------------------
def lr_schedule(optimizer, steps: int, warmup: int = 50, floor: float = 0.1):
    """Linear warm-up over ``warmup`` steps, then a cosine decay to ``floor`` x the learning rate at ``steps``
    (the paper states no schedule). A pure function of the step, so a resumed run continues it exactly."""
    def factor(step: int) -> float:
        ramp = min(1.0, (step + 1) / max(1, warmup))
        return ramp * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps)))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# -- the shipped checkpoint: the lite recipe trained longer (python -m vidsynth_lite pretrain vqvae) ------------
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "models" / "vqvae" / "weights"
CHECKPOINT = "vqvae-lite-pushbot"          # <WEIGHTS_DIR>/<CHECKPOINT>.safetensors and .json
SMOKE_CHECK_CLIPS = 4                      # test clips on which the shipped file's reconstruction PSNR is recorded


def evaluation_clips(cfg: VQVAEChapterConfig, count: int):
    """The chapter's evaluation clips: ``count`` test inputs and ``count`` disjoint real clips (the floors)."""
    world = data.load(cfg.world, "test", frames=cfg.frames, size=cfg.size, seed=cfg.seed, length=2 * count)
    clips = torch.stack([world[i]["video"] for i in range(2 * count)])     # [2M, T, 3, H, W]
    return clips[:count], clips[count:]


def reconstruct(vqvae, videos, batch: int = 16):
    """The VQ-VAE's reconstruction of ``videos`` [M, T, 3, H, W] (encode, then decode both layers), computed on
    the model's device, returned on the CPU."""
    dev = next(vqvae.parameters()).device
    with torch.no_grad():
        return torch.cat([vqvae.decode(*vqvae.encode(videos[i:i + batch].to(dev))).clamp(-1, 1).cpu()
                          for i in range(0, len(videos), batch)])


CURVE_SKIP = ("FVD", "KVD-syn", "FID-syn", "SSIM")   # the curve's points: FVD-syn, PSNR, PSNR-moving, FVD*, DIV
CURVE_DRAWS = 2


def quality(cfg: VQVAEChapterConfig, real, reference, *, vqvae=None, predictor=None, network="syn-video",
            device="cpu"):
    """One point of the quality-vs-compute curve, scored by the book's evaluation (:func:`metrics.evaluate`):
    the VQ-VAE's reconstructions as a row (and the ceiling), and, given a ``predictor``, one sample per input at
    temperature 1 (seeded), beside copy-last and the real-vs-real floor, in :data:`CURVE_DRAWS` draws."""
    recon = reconstruct(vqvae if vqvae is not None else predictor.vqvae, real)
    samples = {"reconstruction": recon[:, None]}                        # [M, 1, T, 3, H, W]
    if predictor is not None:
        samples["samples"] = one_sample(predictor, real, cfg)[:, None]
    return metrics.evaluate(real=real, samples=samples, cond_frames=cfg.cond_frames, reference=reference,
                            reconstructions=recon, network=network, draws=CURVE_DRAWS, skip=CURVE_SKIP,
                            protocol={"world": cfg.world, "split": "test", "seed": cfg.seed,
                                      "samples": "one per input, T = 1.0"}, device=device)


def point(ev) -> dict[str, float]:
    """The numbers of one curve point: FVD-syn (and its floor), PSNR and PSNR-moving of every row."""
    out = {"fvd_syn_floor": float(ev.scores[metrics.FLOOR]["FVD-syn"])}
    for row, key in ((metrics.COPY_LAST, "copy_last"), ("reconstruction", "recon"), ("samples", "samples")):
        if row in ev.scores:
            sc = ev.scores[row]
            out |= {f"{key}_fvd_syn": float(sc["FVD-syn"]), f"{key}_psnr": float(sc["PSNR best-of-K"]),
                    f"{key}_psnr_moving": float(sc["PSNR-moving best-of-K"])}
    return out


def _commit() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "vidsynth_lite", "configs",
                                ":(exclude)vidsynth_lite/models/vqvae/weights"],     # the file being written
                               cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" (with uncommitted changes)" if dirty else "")


PRIORS = ("top.", "bottom.")               # the priors' keys in a VideoPredictor's state dict


def save_pretrained(path: Path, predictor, cfg: VQVAEChapterConfig, record: dict) -> Path:
    """Write the three networks as one safetensors file with the chapter config, the networks' sizes, the storage
    format and ``record`` (command, commit, metrics, curve) in its metadata, and the same as JSON beside it.

    Storage (a deviation from a plain float16 file, to keep the shipped file under 5 MB): the two priors' weight
    tensors with >= 2 dims are int8 with one float16 scale per output channel (symmetric, round to nearest:
    :func:`~vidsynth_lite.models.vqvae.checkpoint.quantize_int8`); the VQ-VAE and every other float tensor are
    float16; integer buffers are kept. :func:`load_pretrained` dequantizes."""
    state, storage = pack_state(predictor.state_dict(), PRIORS)
    config = {"kind": "vqvae-predictor", "chapter": cfg.to_dict(), "models": model_configs(cfg).to_dict(),
              "storage": storage}
    return _write(path, state, config, record)


def _write(path: Path, state: dict, config: dict, record: dict) -> Path:
    path = Path(path)
    save_weights(path, state, config=config, extra=record)
    with atomic_path(path.with_suffix(".json"), suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps({"config": config, **record}, indent=1, sort_keys=True) + "\n")
    return path


# fields that say how the chapter evaluates, not what a checkpoint was trained with
EVALUATION_FIELDS = ("test_videos", "samples", "sample_batch", "temperatures", "fvd_videos", "eval_draws",
                     "eval_skip", "curve_videos", "naive_videos")


def recipe_config(stored: dict) -> VQVAEChapterConfig:
    """The chapter config of a checkpoint: its stored training recipe, with today's ``lite`` evaluation settings
    (:data:`EVALUATION_FIELDS`), so that a file trained before an evaluation field changed still loads."""
    recipe = {k: v for k, v in stored.items() if k not in EVALUATION_FIELDS}
    evaluation = {k: v for k, v in _lite_values().items() if k in EVALUATION_FIELDS}
    return VQVAEChapterConfig(**recipe, **evaluation).validate()


def load_pretrained(path: Path | None = None, device="cpu"):
    """A file written by :func:`save_pretrained` -> ``(VideoPredictor in eval mode, float32; its metadata)``:
    the int8 priors are dequantized with their scales (a float16 file from before that format loads too). The
    recorded sizes must build the current networks exactly (a changed model fails here, by name)."""
    path = Path(path or WEIGHTS_DIR / f"{CHECKPOINT}.safetensors")
    stored, meta = load_weights(path, device)
    if meta["config"].get("kind") != "vqvae-predictor":
        raise CheckpointError(f"{str(path)!r} holds no chapter-3 predictor (kind {meta['config'].get('kind')!r})")
    try:
        state = unpack_state(stored, meta["config"].get("storage"))   # int8 priors -> float32
    except CheckpointError as error:
        raise CheckpointError(f"{str(path)!r}: {error}") from error
    cfg = recipe_config(meta["config"]["chapter"])
    sizes = model_configs(cfg)
    if sizes.to_dict() != meta["config"]["models"]:
        raise CheckpointError(f"{str(path)!r} was trained with model sizes {meta['config']['models']}, but its "
                              f"chapter config now gives {sizes.to_dict()}")
    predictor = vqm.VideoPredictor(vqm.VideoVQVAE(sizes.vqvae), vqm.TopPrior(sizes.top),
                                   vqm.BottomPrior(sizes.bottom))
    own = predictor.state_dict()
    try:
        predictor.load_state_dict({k: v.to(own[k].dtype) if k in own else v for k, v in state.items()})
    except RuntimeError as error:
        raise CheckpointError(f"{str(path)!r} does not fit the current networks: {error}") from error
    return predictor.to(device).eval(), {"chapter": cfg, **meta}


def pretrain(*, vq_steps: int = 12_000, prior_steps: int = 6_000, train_videos: int = 2048,
             eval_videos: int = 64, segments: int = 6, run_dir: Path | None = None, out: Path | None = None,
             command: str = "python -m vidsynth_lite pretrain vqvae", progress: bool = True,
             **overrides) -> Path:
    """Train the chapter's ``lite`` recipe longer on this machine's CPU and write the shipped checkpoint.

    The same networks, learning rates and schedule as the chapter at ``lite``; more steps (``vq_steps`` for the
    VQ-VAE, ``prior_steps`` for each prior) and more training clips. Each stage runs in ``segments`` parts
    through :func:`vidsynth_lite.train.fit` (so an interrupted run resumes exactly: call it again); after each
    part the quality and the CPU-minutes spent so far are recorded -- the curve the chapter plots. Returns the
    path of the ``.safetensors`` file (a ``.json`` with the same record sits beside it).
    """
    cfg = VQVAEChapterConfig(**{**_lite_values(), "vq_steps": vq_steps, "top_steps": prior_steps,
                                "bottom_steps": prior_steps, "train_videos": train_videos, **overrides}).validate()
    sizes = model_configs(cfg)
    runtime.seed_everything(cfg.seed)
    device = torch.device("cpu")
    run_dir = Path(run_dir or paths.runs_dir() / f"pretrain-{CHECKPOINT}")
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "progress.json"
    log = json.loads(log_path.read_text()) if log_path.is_file() else {"points": [], "cpu_s": 0.0,
                                                                        "commit": _commit(), "command": command}
    done = {(p["stage"], p["step"]) for p in log["points"]}

    def record(point: dict) -> None:
        log["points"].append(point)
        log_path.write_text(json.dumps(log, indent=1))
        print(f"[pretrain] {point['stage']} step {point['step']}: {point['cpu_minutes']:.1f} CPU-min "
              + " ".join(f"{k} {v:.3g}" for k, v in point.items() if isinstance(v, float) and k != "cpu_minutes"),
              flush=True)

    world = data.load(cfg.world, "train", frames=cfg.frames, size=cfg.size, seed=cfg.seed, length=train_videos)
    clips = torch.stack([world[i]["video"] for i in range(train_videos)])        # [N, T, 3, H, W]

    def cuts(total: int) -> list[int]:
        return sorted({round(total * (i + 1) / segments) for i in range(segments)})

    def fit_segments(stage, model, loss_fn, batches, total, lr):
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        for k in cuts(total):
            if (stage, k) in done and k != total:
                continue
            c0 = time.process_time()
            train.fit(model, loss_fn, batches, steps=k, optimizer=opt, scheduler=lr_schedule(opt, total),
                      run_dir=run_dir / stage, ckpt_every=max(1, min(500, total // segments)), log_every=50,
                      config={"chapter": _recipe(cfg)}, device=device, desc=f"{stage} (pretrain)",
                      progress=progress)
            log["cpu_s"] += time.process_time() - c0
            if (stage, k) not in done:
                snapshot(stage, k)
                record({"stage": stage, "step": k, "cpu_minutes": log["cpu_s"] / 60})
        return model.eval()

    torch.manual_seed(cfg.seed)
    vq = vqm.VideoVQVAE(sizes.vqvae)
    top, bottom = vqm.TopPrior(sizes.top), vqm.BottomPrior(sizes.bottom)
    predictor = vqm.VideoPredictor(vq, top, bottom)

    def snapshot(stage: str, step: int) -> None:
        """The networks at each point of the curve (stored as the shipped file is): the curve is scored from these after
        training (:func:`score_curve`), and can be scored again with another feature network."""
        save_pretrained(run_dir / "points" / f"{stage}-{step}.safetensors", predictor.eval(), cfg,
                        {"stage": stage, "step": step})

    vq = fit_segments("vqvae", vq, vqm.vqvae_loss, train.StepBatches(clips, cfg.vq_batch, seed=cfg.seed),
                      cfg.vq_steps, cfg.vq_lr)
    volumes = vqm.latent_volumes(vq, clips, cfg.cond_frames)
    code_batches = {name: train.StepBatches(vqm.CodesDataset(volumes), batch, seed=cfg.seed)
                    for name, batch in (("top", cfg.top_batch), ("bottom", cfg.bottom_batch))}
    predictor.eval()
    opts = {n: torch.optim.Adam(m.parameters(), lr=cfg.prior_lr) for n, m in (("top", top), ("bottom", bottom))}
    for k in cuts(prior_steps):                                     # the two priors advance together
        if ("priors", k) in done and k != prior_steps:
            continue
        c0 = time.process_time()
        for name, model, loss_fn in (("top", top, vqm.top_prior_loss), ("bottom", bottom, vqm.bottom_prior_loss)):
            train.fit(model, loss_fn, code_batches[name], steps=k, optimizer=opts[name],
                      scheduler=lr_schedule(opts[name], prior_steps), run_dir=run_dir / f"{name}_prior",
                      ckpt_every=max(1, min(500, prior_steps // segments)), log_every=50,
                      config={"chapter": _recipe(cfg)}, device=device, desc=f"{name} prior (pretrain)",
                      progress=progress)
        log["cpu_s"] += time.process_time() - c0
        if ("priors", k) not in done:
            snapshot("priors", k)
            record({"stage": "priors", "step": k, "cpu_minutes": log["cpu_s"] / 60})

    out = Path(out or WEIGHTS_DIR / f"{CHECKPOINT}.safetensors")
    record_ = {"command": log.get("command", command), "commit": _commit(),       # the code that wrote the file
               "run_started_at_commit": log.get("commit", _commit()),       # a resumed run may span commits
               "cpu_minutes": log["cpu_s"] / 60, "machine": platform.processor() or platform.machine(),
               "threads": torch.get_num_threads(), "torch": torch.__version__, "eval_clips": eval_videos,
               "steps_done": {"vqvae": cfg.vq_steps, "top": prior_steps, "bottom": prior_steps}}
    save_pretrained(out, predictor, cfg, record_)
    return finish_checkpoint(out, run_dir, eval_videos)


def score_curve(run_dir: Path, cfg: VQVAEChapterConfig, real, reference, network="syn-video") -> list[dict]:
    """Score every snapshot of a pretraining run (``run_dir/points``) with :func:`quality`: the curve
    ``[{"stage", "step", "cpu_minutes", <point numbers>}]`` in training order."""
    log = json.loads((Path(run_dir) / "progress.json").read_text())
    curve = []
    for p in log["points"]:
        snap_path = Path(run_dir) / "points" / f"{p['stage']}-{p['step']}.safetensors"
        scored = snap_path.with_name(f"{snap_path.stem}.score-{len(real)}-{_network_hash(network)[-16:]}.json")
        if scored.is_file():                        # scored before on these clips with this network
            numbers = json.loads(scored.read_text())
        else:
            snap, _ = load_pretrained(snap_path)
            numbers = point(quality(cfg, real, reference, vqvae=snap.vqvae, network=network,
                                    predictor=snap if p["stage"] == "priors" else None))
            with atomic_path(scored, suffix=".json") as tmp:
                Path(tmp).write_text(json.dumps(numbers))
        curve.append({"stage": p["stage"], "step": p["step"], "cpu_minutes": p["cpu_minutes"], **numbers})
        print(f"[curve] {p['stage']} step {p['step']}, {p['cpu_minutes']:.1f} CPU-min: "
              + " ".join(f"{k} {v:.3g}" for k, v in curve[-1].items() if isinstance(v, float)), flush=True)
    return curve


def finish_checkpoint(path: Path, run_dir: Path, eval_videos: int = 64, network="syn-video") -> Path:
    """Score the shipped file as stored (int8 priors and float16 VQ-VAE, dequantized by :func:`load_pretrained`)
    and its pretraining curve with the book's evaluation, record the one number its test recomputes, and rewrite
    the file's record (its tensors byte for byte as they were) and the JSON beside it. Run again after the
    feature network changes: the weights stay, the numbers follow the evaluation."""
    predictor, meta = load_pretrained(path)
    cfg, record_ = meta["chapter"], dict(meta["extra"])
    real, reference = evaluation_clips(cfg, eval_videos)
    ev = quality(cfg, real, reference, predictor=predictor, network=network)
    record_.update(curve=score_curve(Path(run_dir), cfg, real, reference, network), eval_clips=eval_videos,
                   metrics={**point(ev), "protocol": {**ev.protocol, "network": network,
                                                      "network_hash": _network_hash(network)}},
                   smoke_check=smoke_check(predictor, cfg))
    stored, meta = load_weights(path)                       # the tensors exactly as stored: only the record changes
    return _write(path, stored, meta["config"], record_)


def _network_hash(network) -> str:
    net = metrics.get_network(network)
    return str(getattr(net, "hash", None) or getattr(net, "name", network))


def one_sample(predictor, real, cfg: VQVAEChapterConfig, batch: int = 32):
    """One sample per test input at temperature 1 (seeded; on the model's device): [M, T, 3, H, W] on the CPU."""
    g = torch.Generator().manual_seed(cfg.seed + 1)
    dev = next(predictor.parameters()).device
    with torch.no_grad():
        return torch.cat([predictor.predict(real[i:i + batch, :cfg.cond_frames].to(dev), samples=1,
                                            generator=g)[:, 0].cpu() for i in range(0, len(real), batch)])


def smoke_check(predictor, cfg: VQVAEChapterConfig) -> dict:
    """The one recorded metric a test recomputes: the reconstruction's PSNR (all pixels and moving pixels) of the
    first :data:`SMOKE_CHECK_CLIPS` test clips, by the book's evaluation without its feature networks (seconds
    on a CPU)."""
    real, reference = evaluation_clips(cfg, SMOKE_CHECK_CLIPS)
    recon = reconstruct(predictor.vqvae, real)
    ev = metrics.evaluate(real=real, samples={"reconstruction": recon[:, None]}, cond_frames=cfg.cond_frames,
                          reference=reference, draws=1,
                          skip=tuple(f for f in metrics.evaluation.SKIPPABLE if f not in ("PSNR", "PSNR-moving")))
    sc = ev.scores["reconstruction"]
    return {"clips": SMOKE_CHECK_CLIPS, "psnr": float(sc["PSNR best-of-K"]),
            "psnr_moving": float(sc["PSNR-moving best-of-K"])}


def _recipe(cfg: VQVAEChapterConfig) -> dict:
    """What a pretraining run checks on resume: every field but :data:`EVALUATION_FIELDS`."""
    return {k: v for k, v in cfg.to_dict().items() if k not in EVALUATION_FIELDS}


def _lite_values() -> dict:
    """The lite profile's values (configs/vqvae/lite.yaml over the defaults): the recipe the pretraining runs."""
    saved = os.environ.pop(PROFILE_ENV, None)
    try:
        return resolve(VQVAEChapterConfig, {"profile": "lite"}).to_dict()
    finally:
        if saved is not None:
            os.environ[PROFILE_ENV] = saved


def pretrain_main(argv: list[str]) -> int:
    """``python -m vidsynth_lite pretrain vqvae [--steps VQ PRIOR] [--train-videos N] [--rescore]`` (threads:
    the ``VIDSYNTH_THREADS`` variable, else every core). ``--rescore`` trains nothing: it scores the shipped file
    and its pretraining curve again with the book's current evaluation (:func:`finish_checkpoint`)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vidsynth_lite pretrain vqvae",
                                     description="train chapter 3's lite recipe longer; write its checkpoint")
    parser.add_argument("--steps", nargs=2, type=int, default=None, metavar=("VQ_STEPS", "PRIOR_STEPS"))
    parser.add_argument("--train-videos", type=int, default=None)
    parser.add_argument("--rescore", action="store_true", help="score the shipped file and its curve again")
    args = parser.parse_args(argv)
    runtime.set_threads()
    run_dir = paths.runs_dir() / f"pretrain-{CHECKPOINT}"
    if args.rescore:
        print(finish_checkpoint(WEIGHTS_DIR / f"{CHECKPOINT}.safetensors", run_dir))
        return 0
    given = {"train_videos": args.train_videos} if args.train_videos else {}
    if args.steps:
        given.update(vq_steps=args.steps[0], prior_steps=args.steps[1])
    print(pretrain(command=" ".join(["python -m vidsynth_lite pretrain vqvae", *argv]), run_dir=run_dir, **given))
    return 0
