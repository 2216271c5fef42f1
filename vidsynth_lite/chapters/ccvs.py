"""Settings of chapter 4 (``notebooks/04_ccvs.py``, CCVS); profile values in ``configs/ccvs/<profile>.yaml``.

The model sizes of each profile are in :func:`profile_configs` (``full`` = the paper's, from
:mod:`vidsynth_lite.models.ccvs.config`); everything a reader may change is a flat field of
:class:`CCVSChapterConfig`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn

from vidsynth_lite import data as vl_data
from vidsynth_lite.config import ChapterConfig, ConfigError, param
from vidsynth_lite.models.ccvs.config import (
    AutoencoderConfig,
    CCVSConfig,
    LossConfig,
    TransformerConfig,
)


@dataclass
class CCVSChapterConfig(ChapterConfig):
    """Chapter 4, "CCVS: context-aware controllable video synthesis" (Le Moing, Ponce, Schmid 2021)."""

    chapter = "ccvs"
    size: int = param(32, "frame height and width (paper: 256)", choices=(32, 64, 128, 256))
    frames: int = param(16, "frames per evaluated clip (paper: 16)", min=4, max=64)
    cond_frames: int = param(1, "given frames for prediction (paper, BAIR: 1)", min=1, max=8)
    tokens_side: int = param(4, "token grid side per frame: tokens = side^2 (paper: 8, i.e. 64 tokens)",
                             choices=(2, 4, 8, 16))
    codes: int = param(128, "codebook size q (paper: 1024)", min=2, max=65536)
    train_videos: int = param(512, "pushbot training clips of 30 frames", min=8, max=10_000_000)
    test_videos: int = param(48, "test inputs (a multiple of eval_draws)", min=2, max=100_000)
    samples: int = param(3, "samples per test input (K; lite 3, not 4: 4 took the chapter to 735 s, over its "
                         "12 minutes, on a quiet 2-core AMD EPYC)", min=1, max=100)
    eval_draws: int = param(3, "disjoint draws of the test inputs (mean +- std, paired verdicts)", min=1, max=20)
    context: int = param(4, "context frames of F when sampling (official scripts: 15)", min=0, max=32)
    # lite's live step counts (the defaults; configs/ccvs/lite.yaml names only the profile): one thread measured
    # 2.8 CPU-s per autoencoder step and 0.88 CPU-s per transformer step, plus 44 CPU-s to encode the training
    # set, so 20 + 50 steps cost ~2.4 CPU-minutes (60 + 150 cost ~5.7, half the chapter's 12-minute budget). The
    # live runs show the losses falling; the quality comes from the shipped checkpoints (``pretrained``).
    ae_steps: int = param(20, "autoencoder steps trained live in the chapter", min=1)
    ae_batch: int = param(4, "clips per autoencoder step (4 frames each)", min=1)
    ae_lr: float = param(5e-4, "autoencoder Adam learning rate (paper: 0.02, official: 0.002, both with "
                         "equalised-learning-rate layers)", min=1e-7, max=1.0)
    t_steps: int = param(50, "transformer steps trained live in the chapter", min=1)
    t_batch: int = param(16, "windows per transformer step", min=1)
    t_lr: float = param(1e-3, "transformer AdamW learning rate (paper: 1e-5 at 24 layers x 1024)", min=1e-8,
                        max=1.0)
    top_k: int = param(100, "top-k of frame tokens at sampling (Table 2: 1, 10, 100)", min=0)
    temperature: float = param(1.0, "sampling temperature (official: 1.0)", min=0.01, max=10.0)
    pretrained: bool = param(True, "load the shipped checkpoints (pretrained/ccvs/) trained longer by "
                             "`python -m vidsynth_lite pretrain ccvs`")
    i3d_clips: int = param(8, "clips for the real-I3D FVD (0: skip it)", min=0, max=100_000)
    ckpt_every: int = param(50, "checkpoint period in steps", min=1)
    bf16: bool = param(False, "bf16 autocast on a GPU")

    def validate(self) -> CCVSChapterConfig:
        if self.test_videos % self.eval_draws:
            raise ConfigError(f"test_videos ({self.test_videos}) must be a multiple of eval_draws "
                              f"({self.eval_draws})")
        if self.size // self.tokens_side < 2 or (self.size // self.tokens_side) & (self.size // self.tokens_side - 1):
            raise ConfigError(f"size / tokens_side = {self.size} / {self.tokens_side} must be a power of two >= 2 "
                              "(one resolution level per halving)")
        if self.cond_frames >= self.frames:
            raise ConfigError(f"cond_frames ({self.cond_frames}) must be < frames ({self.frames})")
        return self


def profile_configs(profile: str, cfg: CCVSChapterConfig | None = None) -> CCVSConfig:
    """The networks' sizes. ``full``: the paper (Sec. 3-4, App. A; official bairhd scripts). ``lite``: 32x32
    frames, 4x4 tokens, narrow networks (minutes on a 2-core CPU). ``smoke``: tiny widths (seconds)."""
    full = CCVSConfig()
    if profile not in ("smoke", "lite", "full"):
        raise ValueError(f"profile must be 'smoke', 'lite' or 'full', got {profile!r}")
    if profile == "full":
        out = full
    else:
        lite = profile == "lite"
        out = CCVSConfig(
            autoencoder=replace(full.autoencoder, size=32, levels=4, widths=(64, 64, 32, 16) if lite else (8, 8, 8, 8),
                                num_codes=256, code_dim=64 if lite else 8,
                                flow_hidden=(16, 16, 8) if lite else (4, 4, 4), proj_min=16 if lite else 4),
            loss=replace(full.loss, lr=5e-4, batch_frames=16, batch_clips=4, elastic=0.03, ema_decay=None,
                         perceptual_frames=4),
            transformer=replace(full.transformer, n_layer=4 if lite else 1, n_head=4 if lite else 2,
                                n_embd=128 if lite else 16, lr=1e-3, batch=16, top_k=100),
            control=replace(full.control, state_bins=32 if lite else 8, audio_codes=64, audio_code_dim=32,
                            audio_tokens=(4, 2), sample_context=4))
    if cfg is None:
        return out
    levels = (cfg.size // cfg.tokens_side).bit_length()                       # halvings + 1
    widths = _widths(out.autoencoder, levels)
    ae = replace(out.autoencoder, size=cfg.size, levels=levels, widths=widths, num_codes=cfg.codes)
    return replace(out, autoencoder=ae, frames=cfg.frames,
                   loss=replace(out.loss, lr=cfg.ae_lr, batch_clips=cfg.ae_batch),
                   transformer=replace(out.transformer, lr=cfg.t_lr, batch=cfg.t_batch, top_k=cfg.top_k),
                   control=replace(out.control, sample_context=cfg.context))


def _widths(ae: AutoencoderConfig, levels: int) -> tuple:
    """The profile's widths for another number of levels: keep the coarse end, repeat or drop fine levels."""
    w = list(ae.widths)
    while len(w) < levels:
        w.append(w[-1])
    return tuple(w[:levels])




# -- Table 1: the autoencoder's ablation rows ---------------------------------------------------------------
ROWS = {                               # row name -> (LossConfig switches, F on, self-supervision on)
    "RGB": {"rgb": True, "perceptual": False, "image_gan": False, "video_gan": False, "flow": False, "self_supervision": False},
    "+ VGG": {"rgb": True, "perceptual": True, "image_gan": False, "video_gan": False, "flow": False, "self_supervision": False},
    "+ Delta_i": {"rgb": True, "perceptual": True, "image_gan": True, "video_gan": False, "flow": False, "self_supervision": False},
    "+ Delta_t": {"rgb": True, "perceptual": True, "image_gan": True, "video_gan": True, "flow": False, "self_supervision": False},
    "+ F": {"rgb": True, "perceptual": True, "image_gan": True, "video_gan": True, "flow": True, "self_supervision": False},
    "+ Sup.": {"rgb": True, "perceptual": True, "image_gan": True, "video_gan": True, "flow": True, "self_supervision": True},
}
FINAL_ROW = "+ Sup."
# the order ``pretrain`` trains the other rows in: the pair behind "F improves all metrics" first, then the pair
# behind "the feature loss is sharper than RGB", then the rest (a stopped pretrain leaves the most useful rows)
ROWS_BY_PRIORITY = ("+ Delta_t", "+ F", "RGB", "+ VGG", "+ Delta_i")


def row_configs(sizes: CCVSConfig, row: str) -> tuple[AutoencoderConfig, LossConfig]:
    """The autoencoder and loss settings of one Table 1 row (every row keeps the others' sizes)."""
    if row not in ROWS:
        raise ValueError(f"unknown Table 1 row {row!r}; expected one of {list(ROWS)}")
    switches = dict(ROWS[row])
    flow = switches.pop("flow")
    return replace(sizes.autoencoder, flow=flow), replace(sizes.loss, **switches)


# -- data -----------------------------------------------------------------------------------------------------
class FrameWindows:
    """Short clips for the autoencoder: ``length`` frames at a stride of 1 .. ``max_stride`` from 30-frame videos
    (the official loader draws 4 frames at a random stride from BAIR's 30); item ``i`` is a pure function of
    ``(seed, i)``. ``videos`` [N, T, 3, H, W]."""

    def __init__(self, videos: torch.Tensor, length: int = 4, max_stride: int = 2, crops: int = 8, seed: int = 0):
        self.videos, self.length, self.max_stride, self.crops, self.seed = videos, length, max_stride, crops, seed
        if videos.shape[1] < length:
            raise ValueError(f"videos of {videos.shape[1]} frames are shorter than the windows ({length})")

    def __len__(self) -> int:
        return len(self.videos) * self.crops

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, int(index)])
        t = self.videos.shape[1]
        stride = int(rng.integers(1, min(self.max_stride, (t - 1) // (self.length - 1)) + 1))
        start = int(rng.integers(0, t - stride * (self.length - 1)))
        return self.videos[index % len(self.videos), start:start + stride * (self.length - 1) + 1:stride]


def load_videos(world: str, split: str, n: int, frames: int, size: int, seed: int) -> dict[str, torch.Tensor]:
    """``n`` clips of a synthetic world as tensors: ``video`` [n, T, 3, H, W] and the world's annotations."""
    data = vl_data.load(world, split, frames=frames, size=size, seed=seed, length=n)
    items = [data[i] for i in range(n)]
    return {k: torch.stack([torch.as_tensor(it[k]) for it in items]) for k in items[0]
            if isinstance(items[0][k], torch.Tensor)}


# -- training ---------------------------------------------------------------------------------------------------
def discriminators(ae_cfg: AutoencoderConfig, loss_cfg: LossConfig) -> nn.ModuleDict:
    """Delta_i and / or Delta_t (App. A) as the loss switches ask, widths from the autoencoder's finest levels."""
    from vidsynth_lite.models.ccvs.training import image_discriminator, video_discriminator

    widths = tuple(sorted(ae_cfg.widths)[:3])
    discs = nn.ModuleDict()
    if loss_cfg.image_gan:
        discs["image"] = image_discriminator(widths)
    if loss_cfg.video_gan:
        discs["video"] = video_discriminator(widths)
    return discs


def train_autoencoder(ae_cfg: AutoencoderConfig, loss_cfg: LossConfig, videos: torch.Tensor, *, steps: int,
                      run_dir, seed: int = 0, device=None, perceptual=None, ckpt_every: int = 100,
                      progress: bool = True, config: dict | None = None):
    """Train E, Q, D, F (and the discriminators) with :func:`vidsynth_lite.train.fit_parts`; returns
    ``(autoencoder with the averaged weights, in eval mode, FitResult)``."""
    from vidsynth_lite import train
    from vidsynth_lite.models.ccvs import Autoencoder
    from vidsynth_lite.models.ccvs.training import autoencoder_step_fn

    torch.manual_seed(seed)
    ae = Autoencoder(ae_cfg)
    betas = tuple(loss_cfg.betas)
    parts = {"AE": train.Part(ae, torch.optim.Adam(ae.parameters(), lr=loss_cfg.lr, betas=betas),
                              ema_decay=loss_cfg.ema_decay)}
    discs = discriminators(ae_cfg, loss_cfg)
    if len(discs):
        parts["D"] = train.Part(discs, torch.optim.Adam(discs.parameters(), lr=loss_cfg.lr, betas=betas))
    if loss_cfg.perceptual and perceptual is None:
        raise ValueError("this row uses the perceptual (VGG) term: pass perceptual=vl.nn.load_perceptual('vgg16')")
    step = autoencoder_step_fn(loss_cfg, beta=ae_cfg.beta, beta_on=ae_cfg.beta_on,
                               perceptual=perceptual if loss_cfg.perceptual else None, seed=seed,
                               video_clips=max(1, loss_cfg.batch_clips // 2))
    batches = train.StepBatches(FrameWindows(videos, seed=seed), loss_cfg.batch_clips, seed=seed)
    result = train.fit_parts(parts, step, batches, steps=steps, run_dir=run_dir, ckpt_every=ckpt_every,
                             log_every=max(1, min(10, steps // 20)), device=device, desc="autoencoder",
                             progress=progress,
                             config=config or {"autoencoder": asdict(ae_cfg), "loss": asdict(loss_cfg)})
    averaged = result.emas["AE"].averaged(ae) if "AE" in result.emas else ae.eval()
    return averaged.eval(), result


@torch.no_grad()
def encode_videos(ae, videos: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Tokens of every frame: videos [N, T, 3, H, W] -> [N, T, h w]."""
    n, t = videos.shape[:2]
    frames = videos.flatten(0, 1)
    codes = torch.cat([ae.tokens(frames[i:i + batch].to(next(ae.parameters()).device)).flatten(1).cpu()
                       for i in range(0, len(frames), batch)])
    return codes.view(n, t, -1)


def train_transformer(layout, t_cfg: TransformerConfig, codes: torch.Tensor, *, steps: int, run_dir, seed: int = 0,
                      annotations: torch.Tensor | None = None, labels: torch.Tensor | None = None, device=None,
                      ckpt_every: int = 100, progress: bool = True, config: dict | None = None):
    """Train T on windows of ``codes`` [N, T, h w] (Eq. 8) with :func:`vidsynth_lite.train.fit`; AdamW with
    minGPT's split (no weight decay on embeddings, norms and biases). Returns ``(model in eval mode, result)``."""
    from vidsynth_lite import train
    from vidsynth_lite.models.ccvs import CCVSTransformer, TokenWindows

    torch.manual_seed(seed)
    model = CCVSTransformer(layout, t_cfg.n_layer, t_cfg.n_head, t_cfg.n_embd, t_cfg.dropout, t_cfg.decomposed)
    decay = [p for n_, p in model.named_parameters() if p.dim() >= 2 and "wte" not in n_ and "emb" not in n_]
    other = [p for n_, p in model.named_parameters() if not (p.dim() >= 2 and "wte" not in n_ and "emb" not in n_)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": t_cfg.weight_decay},
                             {"params": other, "weight_decay": 0.0}], lr=t_cfg.lr, betas=tuple(t_cfg.betas))
    data = TokenWindows(codes, layout, annotations=annotations, labels=labels, seed=seed)
    batches = train.StepBatches(data, t_cfg.batch, seed=seed)

    def loss_fn(m, batch):
        return m.loss(batch["stream"], batch.get("end_distance"))

    result = train.fit(model, loss_fn, batches, steps=steps, optimizer=opt, run_dir=run_dir, ckpt_every=ckpt_every,
                       log_every=max(1, min(10, steps // 20)), device=device, desc="transformer", progress=progress,
                       config=config or {"layout": asdict(layout), "transformer": asdict(t_cfg)})
    return result.model.eval(), result


def train_position_estimator(ae, videos: torch.Tensor, states: torch.Tensor, *, steps: int, run_dir, seed: int = 0,
                             hidden: int = 64, batch: int = 64, lr: float = 2e-3, device=None, progress: bool = True):
    """App. A: regress the gripper's (x, y) from E's latent features (MSE); ``states`` [N, T, >= 2] in [0, 1]."""
    from vidsynth_lite import train
    from vidsynth_lite.models.ccvs import PositionEstimator

    with torch.no_grad():
        frames = videos.flatten(0, 1)
        z = torch.cat([ae.encoder(frames[i:i + 256])[0] for i in range(0, len(frames), 256)])   # [N*T, F, h, w]
    targets = states.flatten(0, 1)[:, :2]
    torch.manual_seed(seed)
    est = PositionEstimator(z.shape[1], z.shape[-1], hidden)
    batches = train.StepBatches(_Pairs(z, targets), batch, seed=seed)

    def loss_fn(m, b):
        return torch.nn.functional.mse_loss(m(b["z"]), b["position"])

    result = train.fit(est, loss_fn, batches, steps=steps, optimizer=torch.optim.Adam(est.parameters(), lr=lr),
                       run_dir=run_dir, ckpt_every=steps, log_every=max(1, steps // 20), device=device,
                       desc="position estimator", progress=progress)
    return result.model.eval(), result


class _Pairs:
    def __init__(self, a: torch.Tensor, b: torch.Tensor):
        self.a, self.b = a, b

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int) -> dict:
        return {"z": self.a[i], "position": self.b[i]}


# -- the shipped checkpoints ----------------------------------------------------------------------------------
def pretrained_dir():
    """``vidsynth_lite/models/ccvs/weights/``: the checkpoints ``pretrain`` writes and the chapter loads
    (shipped with the package, beside ``manifest.json``)."""
    from pathlib import Path

    from vidsynth_lite.models import ccvs as ccvs_models

    return Path(ccvs_models.__file__).resolve().parent / "weights"


def read_manifest(folder) -> dict | None:
    """The shipped checkpoints' manifest (command, commit, CPU minutes, metrics), or None if absent."""
    import json

    path = folder / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else None


def load_shipped(folder, name: str, expect: AutoencoderConfig | None, device=None):
    """Load ``folder/name``; with ``expect``, refuse an autoencoder whose config differs from this profile's."""
    from vidsynth_lite.io import CheckpointError
    from vidsynth_lite.models.ccvs import load_model

    model, _ = load_model(folder / name, device or "cpu")
    if expect is not None:
        got = replace(model.cfg, flow=expect.flow)
        if got != expect:
            raise CheckpointError(f"{name} was trained with {model.cfg}, but this profile builds {expect}: "
                                  "retrain it with `python -m vidsynth_lite pretrain ccvs` or set "
                                  "pretrained = False")
    return model


def load_ablation(folder, sizes: CCVSConfig, device=None) -> dict:
    """Table 1's rows from the shipped checkpoints (the rows ``pretrain`` has written; none when ``folder`` is
    None)."""
    if folder is None:
        return {}
    return {row: load_shipped(folder, row_file(row), row_configs(sizes, row)[0], device) for row in ROWS
            if (folder / row_file(row)).is_file()}


def load_transformers(folder, device=None) -> dict:
    """The shipped transformers: ``{"prediction": T, "state": T, "p2p": T}``."""
    return {name: load_shipped(folder, f"t_{name}.safetensors", None, device) for name in TRANSFORMERS}


def row_file(row: str) -> str:
    slug = row.lower().replace("+ ", "").replace(".", "").replace(" ", "_")
    return f"ae_{slug}.safetensors"


TRANSFORMERS = ("prediction", "state", "p2p")


def layouts(sizes: CCVSConfig, frames_per_video: int = 30) -> dict:
    """The token layouts of the pushbot controls: prediction, state-conditioned, point-to-point (Sec. 3.3)."""
    from vidsynth_lite.models.ccvs import TokenLayout

    ae, t, c = sizes.autoencoder, sizes.transformer, sizes.control
    base = {"frame_tokens": ae.tokens_side ** 2, "frame_vocab": ae.num_codes, "window": t.window}
    return {"prediction": TokenLayout(**base),
            "state": TokenLayout(**base, frame_annotation=c.state_dims, annotation_vocab=c.state_bins),
            "p2p": TokenLayout(**base, end_frame=True, max_end_distance=frames_per_video - 1)}


@torch.no_grad()
def reconstruction_psnr(ae, videos: torch.Tensor, context: int = 1) -> float:
    """Mean PSNR (dB, data range 2) of Table 1's "Reconstruction": frames 1.. decoded from their own tokens with
    the first real frame as the initial context."""
    from vidsynth_lite.models.ccvs import reconstruct_video

    rec = reconstruct_video(ae, videos, context)
    mse = (rec[:, 1:].clamp(-1, 1) - videos[:, 1:]).pow(2).flatten(2).mean(-1)
    return float((10 * torch.log10(4.0 / mse.clamp(min=1e-10))).mean())


def pretrain_main(argv: list[str]) -> int:
    """``python -m vidsynth_lite pretrain ccvs [--profile lite] [--stages final transformers ...]``."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m vidsynth_lite pretrain ccvs")
    parser.add_argument("--profile", default="lite", choices=("smoke", "lite", "full"))
    parser.add_argument("--stages", nargs="+", default=["final", "transformers", "estimator", "rows"],
                        choices=("final", "transformers", "estimator", "rows"))
    parser.add_argument("--rows", nargs="+", default=list(ROWS_BY_PRIORITY), choices=ROWS_BY_PRIORITY,
                        help="Table 1 rows to train, in this order")
    parser.add_argument("--t-steps", nargs="+", default=[], metavar="NAME=STEPS",
                        help=f"steps per transformer (default 600 each), NAME in {TRANSFORMERS}")
    args = parser.parse_args(argv)
    steps = {k: int(v) for k, v in (item.split("=", 1) for item in args.t_steps)}
    if set(steps) - set(TRANSFORMERS):
        parser.error(f"--t-steps names must be among {TRANSFORMERS}, got {sorted(steps)}")
    print(json.dumps(pretrain(args.profile, stages=tuple(args.stages), rows=tuple(args.rows), t_steps=steps or 600),
                     indent=2))
    return 0


def pretrain(profile: str = "lite", *, row_steps: int = 150, final_steps: int = 600, t_steps: int | dict = 600,
             est_steps: int = 300, curve_every: int = 150, seed: int = 0, out_dir=None, device=None,
             stages: tuple = ("final", "transformers", "estimator", "rows"), rows: tuple = ROWS_BY_PRIORITY,
             progress: bool = True) -> dict:
    """``python -m vidsynth_lite pretrain ccvs``: train the chapter's recipe longer than the chapter can and write
    fp16 checkpoints + ``manifest.json`` (command, commit, CPU minutes, metrics) to :func:`pretrained_dir`.

    Stages, in this order (each skipped when its files exist, each resumable inside ``runs/ccvs-pretrain-*``):
    ``final`` -- Table 1's last row for ``row_steps`` steps (its Table 1 checkpoint), then on to
    ``final_steps`` ("training longer"), with a quality-vs-CPU-minutes curve; ``transformers`` -- prediction,
    state-conditioned and point-to-point T on the final autoencoder's tokens; ``estimator`` -- the position
    estimator; ``rows`` -- the other Table 1 rows (``rows``, in that order), ``row_steps`` each, from the same
    seed. ``t_steps``: steps of every transformer, or ``{name: steps}`` (names missing from it: 600); the
    manifest records each file's steps.
    """
    import json
    import subprocess
    import time

    from vidsynth_lite import config as vl_config
    from vidsynth_lite import io as vl_io
    from vidsynth_lite import nn as vnn
    from vidsynth_lite import paths, runtime, train
    from vidsynth_lite.models.ccvs import load_model, quantize_state, save_model

    runtime.set_threads()                                        # VIDSYNTH_THREADS, else every core
    cfg = vl_config.resolve(CCVSChapterConfig, {"profile": profile, "seed": seed}).validate()
    sizes = profile_configs(profile, cfg)
    out = pretrained_dir() if out_dir is None else out_dir
    out.mkdir(parents=True, exist_ok=True)
    runs = paths.runs_dir() / f"ccvs-pretrain-{profile}"
    train_set = load_videos("pushbot", "train", cfg.train_videos, 30, cfg.size, cfg.seed)
    check = load_videos("pushbot", "test", 8, cfg.frames, cfg.size, cfg.seed)["video"]
    perceptual = vnn.load_perceptual("vgg16", verbose=progress)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=paths.repo_root(),
                            check=False).stdout.strip() or "unknown"
    manifest = read_manifest(out) or {"files": {}, "curves": {}}
    def steps_of(name: str) -> int:
        return t_steps.get(name, 600) if isinstance(t_steps, dict) else t_steps

    recorded = manifest.get("t_steps") if isinstance(manifest.get("t_steps"), dict) else {}
    manifest.update({"command": f"python -m vidsynth_lite pretrain ccvs --profile {profile}", "commit": commit,
                     "profile": profile, "seed": seed, "row_steps": row_steps, "final_steps": final_steps,
                     "t_steps": {name: manifest["files"].get(f"t_{name}.safetensors", {}).get(
                         "steps", recorded.get(name, steps_of(name))) for name in TRANSFORMERS},
                     "est_steps": est_steps})

    def save_manifest():
        vl_io.write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")

    def minutes(since: float) -> float:
        return (time.process_time() - since) / 60

    def train_row(row: str, steps: int):
        ae_cfg, loss_cfg = row_configs(sizes, row)
        return train_autoencoder(ae_cfg, loss_cfg, train_set["video"], steps=steps, run_dir=runs / row_file(row),
                                 seed=seed, device=device, perceptual=perceptual, progress=progress)[0]

    final_file = "ae_final.safetensors"
    if "final" in stages and not (out / final_file).is_file():
        c0, curve = time.process_time(), []
        for steps in [row_steps, *range(row_steps + curve_every, final_steps, curve_every), final_steps]:
            ae = train_row(FINAL_ROW, steps)
            curve.append({"steps": steps, "cpu_minutes": minutes(c0), "psnr_context1": reconstruction_psnr(ae, check)})
            if steps == row_steps:
                save_model(out / row_file(FINAL_ROW), ae.cpu(), step=steps, half=True)
                manifest["files"][row_file(FINAL_ROW)] = {"row": FINAL_ROW, "steps": steps, **curve[-1]}
            manifest["curves"]["autoencoder"] = curve
            save_manifest()
        save_model(out / final_file, ae.cpu(), step=final_steps, half=True)
        manifest["files"][final_file] = {"steps": final_steps, **curve[-1]}
        save_manifest()
    if ("transformers" in stages or "estimator" in stages) and (out / final_file).is_file():
        ae, _ = load_model(out / final_file)                     # the shipped (fp16) weights: what the chapter uses
        codes = encode_videos(ae, train_set["video"])
        state_tokens = quantize_state(train_set["state"][..., :2], sizes.control.state_bins)
        for name, layout in layouts(sizes).items():
            file = f"t_{name}.safetensors"
            if "transformers" not in stages or (out / file).is_file():
                continue
            c0 = time.process_time()
            model, result = train_transformer(layout, sizes.transformer, codes, steps=steps_of(name),
                                              run_dir=runs / f"t_{name}", seed=seed, device=device,
                                              annotations=state_tokens if name == "state" else None,
                                              progress=progress)
            save_model(out / file, model.cpu(), step=steps_of(name), half=True)
            log = train.read_log(result.run_dir)
            manifest["t_steps"][name] = steps_of(name)
            manifest["files"][file] = {"steps": steps_of(name), "cpu_minutes": minutes(c0),
                                       "final_loss": log[-1]["loss"] if log else None}
            manifest["curves"][f"t_{name}"] = [{"step": r["step"], "loss": r["loss"]} for r in log]
            save_manifest()
        est_file = "position_estimator.safetensors"
        if "estimator" in stages and not (out / est_file).is_file():
            c0 = time.process_time()
            est, _ = train_position_estimator(ae, train_set["video"], train_set["state"], steps=est_steps,
                                              run_dir=runs / "position_estimator", seed=seed, device=device,
                                              progress=progress)
            save_model(out / est_file, est.cpu(), step=est_steps, half=True)
            manifest["files"][est_file] = {"steps": est_steps, "cpu_minutes": minutes(c0)}
            save_manifest()
    if "rows" in stages:
        for row in rows:                                         # the rows the chapter's claims compare first
            if (out / row_file(row)).is_file():
                continue
            c0 = time.process_time()
            ae = train_row(row, row_steps)
            save_model(out / row_file(row), ae.cpu(), step=row_steps, half=True)
            manifest["files"][row_file(row)] = {"row": row, "steps": row_steps, "cpu_minutes": minutes(c0),
                                                "psnr_context1": reconstruction_psnr(ae, check)}
            save_manifest()
    return manifest

