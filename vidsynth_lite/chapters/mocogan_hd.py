"""Settings of chapter 7 (``notebooks/07_mocogan_hd.py``); profile values in ``configs/mocogan_hd/<profile>.yaml``.

The dataclass defaults are the ``lite`` values; ``full.yaml`` restores the papers' sizes (checked against
:class:`~vidsynth_lite.models.stylegan2.StyleGAN2Config` and :mod:`vidsynth_lite.models.mocogan_hd.config` by
``tests/test_mocogan_hd_config.py``). :func:`image_config`, :func:`motion_config`, ... turn the flat fields into
the models' configs.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from vidsynth_lite import config as vl_config
from vidsynth_lite import data as vl_data
from vidsynth_lite import io as vl_io
from vidsynth_lite import metrics as vl_metrics
from vidsynth_lite import nn as vl_nn
from vidsynth_lite import paths, runtime
from vidsynth_lite.checks import check_video
from vidsynth_lite.config import ChapterConfig, param
from vidsynth_lite.models import mocogan_hd as mh
from vidsynth_lite.models import stylegan2 as sg
from vidsynth_lite.models.mocogan_hd import training as mh_training
from vidsynth_lite.models.stylegan2 import StyleGAN2Config, StyleGAN2Training
from vidsynth_lite.models.stylegan2 import training as sg_training
from vidsynth_lite.train import FitResult, Part, StepBatches, fit_parts


@dataclass
class MoCoGANHDChapterConfig(ChapterConfig):
    """Chapter 7, "A good image generator is what you need" (MoCoGAN-HD, Tian et al. 2021)."""

    chapter = "mocogan_hd"
    # data
    size: int = param(32, "frame height and width (paper: 256 for FaceForensics, 128 for Sky)", choices=(32, 64, 128, 256))
    frames: int = param(16, "frames per training clip (paper: 16)", min=4, max=64)
    train_videos: int = param(512, "training clips per world (their frames train the image generators)", min=8)
    # image generator: StyleGAN2 (Karras et al. 2020)
    style_dim: int = param(128, "w dimension (paper: 512)", min=4)
    n_mlp: int = param(4, "mapping-network layers (paper: 8)", min=1, max=8)
    channel_base: int = param(1024, "channels(res) = min(channel_max, channel_base / res) (paper: 32768)", min=8)
    channel_max: int = param(64, "most channels of any resolution (paper: 512)", min=4)
    image_batch: int = param(16, "image GAN batch (paper: 32)", min=2)
    image_steps: int = param(150, "image GAN steps trained live in the chapter", min=1)
    image_lr: float = param(0.0025, "Adam learning rate of G and D (paper: 0.002; StyleGAN2-ADA's 32x32 "
                            "CIFAR-10 setting: 0.0025)", min=1e-6, max=1.0)
    r1_gamma: float = param(0.01, "R1 weight gamma (paper: 10 at 1024x1024 FFHQ; 0.01 at 32x32 CIFAR-10)", min=0.0)
    r1_every: int = param(16, "lazy R1 interval (paper: 16)", min=1)
    pl_weight: float = param(0.0, "path-length weight (paper: 2; 0 at lite: its extra backward pass)", min=0.0)
    pl_every: int = param(4, "lazy path-length interval (paper: 4)", min=1)
    mixing: float = param(0.0, "style-mixing probability (paper: 0.9; 0 in StyleGAN2-ADA's 32x32 setting)",
                          min=0.0, max=1.0)
    ema_kimg: float = param(2.0, "generator EMA half-life in thousands of images (paper: 10)", min=0.01)
    # style-space PCA
    pca_samples: int = param(20000, "mapped codes for the PCA (official code: 100 000)", min=16)
    # motion generator G_M (Sec. 3.1)
    hidden: int = param(128, "LSTM hidden size (paper: 384)", min=2)
    n_pca: int = param(96, "principal components in U (paper: 384 of 512)", min=1)
    noise_dim: int = param(128, "eps_t dimension (paper: 512)", min=1)
    mi_hidden: int = param(128, "hidden units of the MI head H (paper: 512)", min=1)
    mi_input: str = param("h", "what H reads: h (Eq. 3) or hc (official code: [h, c])", choices=("h", "hc"))
    residual_scale: float = param(0.2, "lambda of Eq. 2 in-domain (paper: 0.2)", min=0.0)
    cross_residual_scale: float = param(0.1, "lambda across domains (paper: 'smaller')", min=0.0)
    # discriminators
    dv_base: int = param(16, "D_V first Conv3d width; then x2, x4, x8 (Tab. 6: 64)", min=1)
    dv_scales: int = param(2, "D_V scales (paper: 2)", min=1, max=3)
    di_width: int = param(16, "D_I base width (BigGAN: 64)", min=1)
    proj_dim: int = param(64, "projection head width (paper: 256)", min=2)
    bank_size: int = param(512, "memory bank size (paper: 4096)", min=1)
    temperature: float = param(0.07, "tau of Eq. 6 (paper: 0.07)", min=1e-4)
    momentum: float = param(0.999, "MoCo momentum of D_I's key encoder (official: 0.999)", min=0.0, max=1.0)
    # motion training (Eq. 7)
    motion_batch: int = param(4, "clips per motion step (paper: 16)", min=2)
    motion_steps: int = param(60, "motion steps trained live in the chapter", min=1)
    motion_lr: float = param(1e-4, "Adam learning rate of G_M, D_V, D_I (paper: 1e-4)", min=1e-7, max=1.0)
    g_steps_per_d: int = param(1, "G_M updates per discriminator update (official: 5)", min=1)
    w_contrastive: float = param(2.0, "lambda_contr (official: 2)", min=0.0)
    w_mutual: float = param(1.0, "lambda_m (official: 1)", min=0.0)
    w_match: float = param(1.0, "feature-matching weight (official: 1)", min=0.0)
    video_loss: str = param("ralsgan", "D_V loss: ralsgan + GP (official) or nonsaturating (Eq. 4)",
                            choices=("ralsgan", "nonsaturating"))
    gp_weight: float = param(10.0, "gradient penalty on D_V (official: 10)", min=0.0)
    # shipped checkpoints (trained longer by `python -m vidsynth_lite pretrain mocogan_hd`)
    use_pretrained: bool = param(True, "load the shipped checkpoints after the live runs")
    pretrained_dir: str = param("", "folder of those checkpoints ('': the package's shipped ones; a folder "
                                "written by `pretrain mocogan_hd --folder DIR`, e.g. at full)")
    pretrain_image_steps: int = param(5000, "image GAN steps of the shipped faces generator (0.58 s a "
                                      "step on one Xeon thread: 48 CPU-min)", min=1)
    pretrain_aux_image_steps: int = param(1000, "image GAN steps of the shipped faces_b and sky generators",
                                          min=1)
    pretrain_motion_steps: int = param(200, "motion steps of the shipped motion generators (1.2 s a "
                                       "step on one Xeon thread)", min=1)
    curve_every: int = param(250, "image-generator snapshots for the quality-vs-CPU curve (x ckpt_every)", min=1)
    # evaluation
    eval_videos: int = param(96, "generated and real clips per evaluation (split into draws)", min=4)
    draws: int = param(3, "independent draws per score (mean +- std)", min=1)
    fid_images: int = param(1536, "images per FID-syn set (a multiple of frames x draws)", min=8)
    long_frames: int = param(64, "frames of the long sequences (Sec. 4.4)", min=8)
    interp_factor: int = param(4, "codes per step when interpolating trajectories (Sec. 4.4)", min=2)
    diversity_trials: int = param(10, "content codes in the App. D experiment (paper: 100)", min=2)
    diversity_videos: int = param(16, "videos per content code in App. D", min=2)
    prediction_videos: int = param(24, "sky test clips predicted by inversion (Tab. 3)", min=2)
    inversion_steps: int = param(100, "optimisation steps of Eq. 8", min=1)
    inversion_perceptual: float = param(1.0, "weight of the perceptual term of Eq. 8", min=0.0)
    ckpt_every: int = param(50, "checkpoint period in steps", min=1)

    def validate(self) -> MoCoGANHDChapterConfig:
        image_config(self).validate()
        motion_config(self, cross_domain=False).validate()
        if self.n_pca > self.style_dim:
            raise ValueError(f"n_pca = {self.n_pca} must be <= style_dim = {self.style_dim}")
        for name, value, unit in (("eval_videos", self.eval_videos, self.draws),
                                  ("prediction_videos", self.prediction_videos, self.draws),
                                  ("fid_images", self.fid_images, self.frames * self.draws)):
            if value % unit:
                raise ValueError(f"{name} = {value} must be a multiple of {unit} (draws of equal size)")
        if self.curve_every % self.ckpt_every:
            raise ValueError(f"curve_every = {self.curve_every} must be a multiple of ckpt_every = "
                             f"{self.ckpt_every}")
        if self.long_frames < 2 * self.frames:
            raise ValueError(f"long_frames = {self.long_frames} must be at least 2 x frames = {2 * self.frames}")
        return self


def image_config(cfg: MoCoGANHDChapterConfig) -> StyleGAN2Config:
    return StyleGAN2Config(size=cfg.size, style_dim=cfg.style_dim, n_mlp=cfg.n_mlp, channel_base=cfg.channel_base,
                           channel_max=cfg.channel_max)


def image_recipe(cfg: MoCoGANHDChapterConfig) -> StyleGAN2Training:
    return StyleGAN2Training(batch=cfg.image_batch, lr=cfg.image_lr, r1_gamma=cfg.r1_gamma, r1_every=cfg.r1_every,
                             pl_weight=cfg.pl_weight, pl_every=cfg.pl_every, mixing=cfg.mixing,
                             ema_kimg=cfg.ema_kimg)


def motion_config(cfg: MoCoGANHDChapterConfig, *, cross_domain: bool, residual: bool = True) -> mh.MotionConfig:
    return mh.MotionConfig(style_dim=cfg.style_dim, hidden=cfg.hidden, n_pca=cfg.n_pca, noise_dim=cfg.noise_dim,
                           mi_hidden=cfg.mi_hidden, mi_input=cfg.mi_input, residual=residual,
                           residual_scale=cfg.cross_residual_scale if cross_domain else cfg.residual_scale)


def video_discriminator_config(cfg: MoCoGANHDChapterConfig, *, cross_domain: bool) -> mh.VideoDiscriminatorConfig:
    return mh.VideoDiscriminatorConfig(base_channels=cfg.dv_base, scales=cfg.dv_scales,
                                       pair_first=not cross_domain)


def image_discriminator_config(cfg: MoCoGANHDChapterConfig) -> mh.ImageDiscriminatorConfig:
    return mh.ImageDiscriminatorConfig(width=cfg.di_width, proj_dim=cfg.proj_dim, temperature=cfg.temperature,
                                       bank_size=cfg.bank_size, momentum=cfg.momentum)


# ------------------------------------------------------------------------------------------------- data
def video_set(cfg: MoCoGANHDChapterConfig, world: str, split: str, count: int, *, frames: int | None = None,
              seed_offset: int = 0, cache: bool = False) -> torch.Tensor:
    """``count`` clips ``[N, T, 3, S, S]`` of a world (``seed_offset`` selects a disjoint universe of clips;
    ``cache``: keep the rendered split in the disk cache, uint8)."""
    ds = vl_data.load(world, split, frames=frames or cfg.frames, size=cfg.size, seed=cfg.seed + seed_offset,
                      length=count)
    if cache:
        ds = vl_data.cached(ds, progress=False)
    return torch.stack([ds[i]["video"] for i in range(count)])


def image_set(cfg: MoCoGANHDChapterConfig, world: str, split: str, count: int) -> torch.Tensor:
    """``count`` training images ``[N, 3, S, S]``: frames of ``world``'s clips, or ``faces_b``'s images."""
    if world == "faces_b":
        ds = vl_data.load(world, split, size=cfg.size, seed=cfg.seed, length=count)
        return torch.stack([ds[i]["image"] for i in range(count)])
    clips = -(-count // cfg.frames)
    return video_set(cfg, world, split, clips, cache=split == "train").flatten(0, 1)[:count]   # [N, 3, S, S]


# ------------------------------------------------------------------------------- the image generator
def train_image_generator(cfg: MoCoGANHDChapterConfig, images: torch.Tensor, *, steps: int, run_dir,
                          device=None, progress: bool = True, desc: str = "StyleGAN2",
                          snapshot_every: int | None = None, log_every: int = 10, on_step=None) -> FitResult:
    """StyleGAN2 on ``images [N, 3, S, S]`` with the shared loop (resumable in ``run_dir``): parts G (with its
    EMA) and D; see :mod:`vidsynth_lite.models.stylegan2.training`. ``snapshot_every`` (a multiple of
    ``ckpt_every``) keeps a copy of the EMA generator and the CPU time spent so far in ``run_dir/curve/``, for
    the quality-against-CPU-minutes curve."""
    check_video(images, name="images", rank=4, channels=3, size=cfg.size)   # values too: once, before training
    torch.manual_seed(cfg.seed)
    sizes, recipe = image_config(cfg), image_recipe(cfg)
    G, D = sg.Generator(sizes), sg.Discriminator(sizes)
    opt_g, opt_d = sg_training.optimizers(G, D, recipe)
    parts = {"G": Part(G, opt_g, ema_decay=sg_training.ema_decay(recipe)), "D": Part(D, opt_d)}
    batches = StepBatches(images, recipe.batch, seed=cfg.seed)
    config = {"model": sizes.to_dict(), "recipe": asdict(recipe), "images": list(images.shape)}
    hooks = [_CurveSnapshots(Path(run_dir), snapshot_every, cfg.ckpt_every)] if snapshot_every else []
    return fit_parts(parts, functools.partial(sg_training.train_step, recipe=recipe), batches, steps=steps,
                     run_dir=run_dir, ckpt_every=cfg.ckpt_every, log_every=log_every, config=config,
                     device=device, desc=desc, progress=progress, on_step=_chain(hooks + [on_step]))


def _chain(hooks):
    """One ``on_step`` hook that calls each of ``hooks`` (``None`` entries skipped)."""
    hooks = [h for h in hooks if h is not None]

    def call(step: int, record: dict) -> None:
        for hook in hooks:
            hook(step, record)
    return call


class _CurveSnapshots:
    """``on_step`` hook: every ``every`` steps log the CPU seconds spent so far (carried over a resume; the CPU
    time of steps lost to a kill is not counted) and copy the checkpoint's ``copy`` file (the EMA generator) to
    ``run_dir/curve/``."""

    def __init__(self, run_dir: Path, every: int, ckpt_every: int, copy: str | None = "G.ema.safetensors"):
        import time

        if every % ckpt_every:
            raise ValueError(f"snapshot_every = {every} must be a multiple of ckpt_every = {ckpt_every}")
        self.folder, self.run_dir, self.every, self.copy = run_dir / "curve", run_dir, every, copy
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = self.folder / "cpu.json"
        self.points = json.loads(self.log.read_text()) if self.log.is_file() else []
        self.base = self.points[-1]["cpu_s"] if self.points else 0.0
        self.started = time.process_time()

    def __call__(self, step: int, record: dict) -> None:
        import shutil
        import time

        if step % self.every:
            return
        if self.copy:
            source = self.run_dir / "checkpoints" / f"step_{step:08d}" / self.copy
            shutil.copyfile(source, self.folder / f"step_{step:08d}.safetensors")
        cpu = self.base + time.process_time() - self.started
        self.points = [p for p in self.points if p["step"] < step] + [{"step": step, "cpu_s": round(cpu, 1)}]
        vl_io.write_text(self.log, json.dumps(self.points, indent=1))


def ema_generator(result: FitResult) -> sg.Generator:
    """The EMA of the generator a :func:`train_image_generator` run ends with, frozen, in eval mode."""
    return vl_nn.freeze(result.emas["G"].averaged(result.parts["G"].model))


# --------------------------------------------------------------------------------- the motion generator
VARIANTS = {                       # Tab. 5's ablations: what each switches off
    "full": {},
    "w/o Eq. 2": {"residual": False},
    "w/o D_I": {"image_discriminator": False},
    "w/o L_contr": {"w_contrastive": 0.0},
    "w/o L_m": {"w_mutual": 0.0},
}


def step_settings(cfg: MoCoGANHDChapterConfig, *, variant: str = "full", cross_domain: bool = False,
                  noise: bool = True) -> mh_training.StepSettings:
    flags = {k: v for k, v in VARIANTS[variant].items() if k != "residual"}
    base = {"frames": cfg.frames, "cross_domain": cross_domain, "w_contrastive": cfg.w_contrastive,
            "w_mutual": cfg.w_mutual, "w_match": cfg.w_match, "video_loss": cfg.video_loss,
            "gp_weight": cfg.gp_weight, "g_steps_per_d": cfg.g_steps_per_d, "noise": noise,
            "temperature": cfg.temperature, "momentum": cfg.momentum}
    return mh_training.StepSettings(**{**base, **flags}).validate()


def build_motion_generator(cfg: MoCoGANHDChapterConfig, pca: mh.LatentPCA, *, variant: str = "full",
                           cross_domain: bool = False) -> mh.MotionGenerator:
    residual = VARIANTS[variant].get("residual", True)
    return mh.MotionGenerator(motion_config(cfg, cross_domain=cross_domain, residual=residual), pca)


def train_motion_generator(cfg: MoCoGANHDChapterConfig, image_generator: sg.Generator, pca: mh.LatentPCA,
                           videos: torch.Tensor, *, steps: int, run_dir, variant: str = "full",
                           cross_domain: bool = False, device=None, progress: bool = True,
                           on_step=None) -> FitResult:
    """Eq. 7 with the shared loop: G_M, D_V and D_I train; the image generator is a frozen part."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
    check_video(videos, name="videos", channels=3, frames=cfg.frames, size=cfg.size)   # values: once, here
    torch.manual_seed(cfg.seed)
    settings = step_settings(cfg, variant=variant, cross_domain=cross_domain)
    motion = build_motion_generator(cfg, pca, variant=variant, cross_domain=cross_domain)
    d_v = mh.VideoDiscriminator(video_discriminator_config(cfg, cross_domain=cross_domain))
    d_i = mh_training.ContrastiveDiscriminator(mh.ImageDiscriminator(image_discriminator_config(cfg), cfg.size),
                                               cfg.bank_size, seed=cfg.seed)

    def adam(params):
        return torch.optim.Adam(params, lr=cfg.motion_lr, betas=(0.5, 0.999))

    parts = {"G_img": Part(image_generator), "motion": Part(motion, adam(motion.parameters())),
             "D_V": Part(d_v, adam(d_v.parameters())), "D_I": Part(d_i, adam(d_i.disc.parameters()))}
    batches = StepBatches(videos, cfg.motion_batch, seed=cfg.seed)
    config = {"settings": asdict(settings), "motion": asdict(motion.cfg), "videos": list(videos.shape),
              "D_V": asdict(d_v.cfg), "D_I": asdict(d_i.disc.cfg), "lr": cfg.motion_lr,
              "batch": cfg.motion_batch}
    cpu_log = _CurveSnapshots(Path(run_dir), cfg.ckpt_every, cfg.ckpt_every, copy=None)   # CPU time only
    return fit_parts(parts, functools.partial(mh_training.train_step, settings=settings), batches, steps=steps,
                     run_dir=run_dir, ckpt_every=cfg.ckpt_every, log_every=5, config=config, device=device,
                     desc=f"G_M {variant}" + (" (cross-domain)" if cross_domain else ""), progress=progress,
                     on_step=_chain([cpu_log, on_step]))


# ------------------------------------------------------------------------------------- shipped checkpoints
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained" / "mocogan_hd"
IMAGE_WORLDS = ("faces", "faces_b", "sky")
# stage name -> (kind, world of the image generator, variant, cross-domain)
STAGES = {
    "image_faces": ("image", "faces", None, False),
    "motion_full": ("motion", "faces", "full", False),
    "motion_wo_lm": ("motion", "faces", "w/o L_m", False),
    "motion_wo_eq2": ("motion", "faces", "w/o Eq. 2", False),
    "motion_wo_di": ("motion", "faces", "w/o D_I", False),
    "motion_wo_contr": ("motion", "faces", "w/o L_contr", False),
    "image_faces_b": ("image", "faces_b", None, False),
    "motion_cross": ("motion", "faces_b", "full", True),
    "image_sky": ("image", "sky", None, False),
    "motion_sky": ("motion", "sky", "full", False),
}
PRETRAIN_COMMAND = "python -m vidsynth_lite pretrain mocogan_hd --profile {profile} [--stage NAME ...]"


def pretrained_folder(cfg: MoCoGANHDChapterConfig) -> Path:
    """Where the chapter loads its checkpoints from: ``cfg.pretrained_dir``, or the shipped ones."""
    return Path(cfg.pretrained_dir) if cfg.pretrained_dir else PRETRAINED_DIR


def stage_of(kind: str, world: str, variant: str | None = None, cross_domain: bool = False) -> str:
    for name, spec in STAGES.items():
        if spec == (kind, world, variant, cross_domain):
            return name
    raise KeyError(f"no pretraining stage for {(kind, world, variant, cross_domain)}")


def fingerprint_sample(module: torch.nn.Module, cfg: MoCoGANHDChapterConfig) -> float:
    """One number a checkpoint must reproduce after loading (the test's "recorded metric" at smoke size): the
    mean absolute value of 4 images / 4 trajectories from fixed seeds, without noise."""
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        if isinstance(module, sg.Generator):
            z = torch.randn(4, module.cfg.style_dim, generator=g)
            noise = module.synthesis.make_noise(4, zero=True)
            return float(module.synthesis(module.mapping(z), noise).abs().mean())
        z1 = torch.randn(4, module.cfg.style_dim, generator=g)
        return float(module(z1, 8, generator=g).codes.abs().mean())


def save_pretrained(stage: str, module: torch.nn.Module, cfg: MoCoGANHDChapterConfig, info: dict,
                    folder: Path | None = None) -> Path:
    """Write ``<stage>.safetensors`` (fp16 weights + the model config) and ``<stage>.json`` (how it was made)."""
    folder = Path(folder or PRETRAINED_DIR)
    model_cfg = asdict(module.cfg)
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in module.state_dict().items()}
    info = {**info, "stage": stage, "model": model_cfg, "fingerprint": fingerprint_sample(_roundtrip(module, state),
                                                                                           cfg)}
    path = vl_io.save_weights(folder / f"{stage}.safetensors", state, config={"stage": stage, "model": model_cfg},
                              step=int(info.get("steps", 0)), extra={"profile": cfg.profile})
    vl_io.write_text(folder / f"{stage}.json", json.dumps(info, indent=2, default=str) + "\n")
    return path


def _roundtrip(module: torch.nn.Module, half_state: dict) -> torch.nn.Module:
    """A copy of ``module`` holding the fp16-rounded weights (what a loader will see)."""
    import copy

    twin = copy.deepcopy(module)
    twin.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in half_state.items()})
    return twin.eval()


def load_pretrained(stage: str, module: torch.nn.Module, folder: Path | None = None) -> dict:
    """Load a shipped checkpoint into ``module`` (strictly; its config must equal the module's) -> its info."""
    folder = Path(folder or PRETRAINED_DIR)
    if not (folder / f"{stage}.safetensors").is_file():
        raise FileNotFoundError(f"{stage}: no shipped checkpoint {folder / f'{stage}.safetensors'}; build it with "
                                + PRETRAIN_COMMAND.format(profile="lite").replace("[--stage NAME ...]",
                                                                                  f"--stage {stage}")
                                + ", or run the chapter with use_pretrained false")
    state, meta = vl_io.load_weights(folder / f"{stage}.safetensors")
    want = json.loads(json.dumps(asdict(module.cfg)))
    if meta["config"].get("model") != want:
        diff = {k: (meta["config"]["model"].get(k), v) for k, v in want.items() if meta["config"]["model"].get(k) != v}
        raise vl_io.CheckpointError(f"{stage}: the shipped checkpoint was trained with another configuration "
                                    f"(shipped, current): {diff}; retrain it with "
                                    + PRETRAIN_COMMAND.format(profile=meta["extra"].get("profile", "lite")))
    module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=True)
    return json.loads((folder / f"{stage}.json").read_text())


def _git_commit() -> str:
    import subprocess

    try:
        out = subprocess.run(["git", "-C", str(paths.repo_root()), "rev-parse", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(paths.repo_root()), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return out + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def pretrain(profile: str = "lite", stages: list[str] | None = None, folder: Path | None = None,
             device=None, curves: bool = True) -> list[Path]:
    """Train the shipped checkpoints (resumable: each stage's run lives in ``runs/mocogan_hd-pretrain-<profile>``;
    rerunning continues it, or only rewrites the files when it is complete). Stages run in :data:`STAGES`
    order; a motion stage needs its image stage's file. ``curves``: measure each image stage's FID-syn against
    CPU-minutes (needs the SynVideo feature network; ``False`` leaves the curve for a later call)."""
    import time

    cfg = vl_config.resolve(MoCoGANHDChapterConfig, {"profile": profile}).validate()
    runtime.set_threads()
    runtime.seed_everything(cfg.seed)
    device = device or runtime.device()
    folder = Path(folder or PRETRAINED_DIR)
    root = paths.runs_dir() / f"mocogan_hd-pretrain-{profile}"
    todo = list(STAGES) if not stages else stages
    unknown = [s for s in todo if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; expected some of {list(STAGES)}")
    written = []
    for stage in [s for s in STAGES if s in todo]:
        kind, world, variant, cross = STAGES[stage]
        began, cpu = time.time(), time.process_time()
        if kind == "image":
            images = image_set(cfg, world, "train", cfg.train_videos * cfg.frames)
            steps = cfg.pretrain_image_steps if world == "faces" else cfg.pretrain_aux_image_steps
            result = train_image_generator(cfg, images, steps=steps, run_dir=root / stage, device=device,
                                           desc=stage, snapshot_every=cfg.curve_every)
            module = ema_generator(result)
            extra = {"curve": image_curve(cfg, world, root / stage, device=device) if curves else []}
        else:
            G = sg.Generator(image_config(cfg))
            load_pretrained(stage_of("image", world), G, folder)
            G = vl_nn.freeze(G)
            pca = mh.style_space_pca(G.mapping, cfg.style_dim, samples=cfg.pca_samples, seed=cfg.seed)
            videos = video_set(cfg, "faces" if cross else world, "train", cfg.train_videos, cache=True)
            result = train_motion_generator(cfg, G, pca, videos, steps=cfg.pretrain_motion_steps, run_dir=root / stage,
                                            variant=variant, cross_domain=cross, device=device)
            module, steps = result.parts["motion"].model.eval(), cfg.pretrain_motion_steps
            extra = {}
        info = {"command": PRETRAIN_COMMAND.format(profile=profile), "commit": _git_commit(), "profile": profile,
                "world": world, "variant": variant, "cross_domain": cross, "steps": steps,
                "this_call_wall_s": round(time.time() - began, 1),
                "this_call_cpu_minutes": round((time.process_time() - cpu) / 60, 2),
                "cpu_minutes": round(curve_points(root / stage)[-1]["cpu_s"] / 60, 2),
                "resumed_from": result.resumed_from, "config": cfg.to_dict(),
                "torch_threads": torch.get_num_threads(), **extra}
        written.append(save_pretrained(stage, module.cpu(), cfg, info, folder))
        print(f"{stage}: wrote {written[-1]}")
    return written


def pretrain_main(argv: list[str]) -> int:
    """``python -m vidsynth_lite pretrain mocogan_hd [--profile P] [--stage NAME ...] [--folder DIR]
    [--no-curves]``: parse the arguments, run :func:`pretrain`, print the written files; returns the exit
    status."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vidsynth_lite pretrain mocogan_hd",
                                     description="train chapter 7's checkpoints (resumable)")
    parser.add_argument("--profile", default="lite", choices=("smoke", "lite", "full"))
    parser.add_argument("--stage", action="append", default=None, choices=list(STAGES),
                        help="train only these stages (repeatable; default: all, in order)")
    parser.add_argument("--folder", default=None,
                        help="write the checkpoints here instead of the package's shipped folder (the chapter "
                             "reads them with -p pretrained_dir DIR)")
    parser.add_argument("--no-curves", action="store_true",
                        help="skip the FID-syn-against-CPU-minutes curve of the image stages")
    args = parser.parse_args(argv)
    for path in pretrain(args.profile, stages=args.stage, folder=args.folder, curves=not args.no_curves):
        print(path)
    return 0


# ------------------------------------------------------------------------------------------- evaluation
def pseudo_clips(images: torch.Tensor, frames: int) -> torch.Tensor:
    """Images ``[N, 3, S, S]`` grouped into ``[N // frames, frames, 3, S, S]`` "clips" for the shared
    evaluation's FID-syn, which scores every frame through SynVideo's per-frame appearance stream alone."""
    n = images.shape[0] // frames * frames
    return images[:n].reshape(-1, frames, *images.shape[1:])


def image_quality(real: torch.Tensor, fakes: dict[str, torch.Tensor], reference: torch.Tensor, *, frames: int,
                  draws: int, protocol: dict, device="cpu"):
    """FID-syn of generated images (``{name: [N, 3, S, S]}``) against ``real`` images beside the real-vs-real
    floor (``reference``): :func:`vidsynth_lite.metrics.evaluate` on pseudo-clips, FID-syn only."""
    return vl_metrics.evaluate(
        real=pseudo_clips(real, frames), samples={k: pseudo_clips(v, frames)[:, None] for k, v in fakes.items()},
        cond_frames=0, reference=pseudo_clips(reference, frames), draws=draws,
        skip=("FVD-syn", "KVD-syn", "DIV-syn", "FVD"), device=device,
        protocol={**protocol, "images": f"{real.shape[0]} per side, grouped {frames} to a pseudo-clip (FID-syn "
                  "reads per-frame features only, so the grouping changes nothing)"})


def acd_draws(net, videos: torch.Tensor, draws: int) -> list[float]:
    """ACD-syn per draw: MoCoGAN's average content distance (mean pairwise L2 between the frames of a video,
    averaged over videos) on SynVideo's per-frame features -- which carry the face's identity linearly -- in
    place of the OpenFace embedding; ``videos`` split into ``draws`` disjoint blocks."""
    feats = net.frames(videos)                                            # [N, T, D'] per-frame features
    n = videos.shape[0] // draws
    return [vl_metrics.acd_features(videos[i * n:(i + 1) * n], lambda _, f=feats[i * n:(i + 1) * n]:
                                    f.flatten(0, 1)) for i in range(draws)]


def paired_verdict(a: list[float], b: list[float], *, lower_is_better: bool) -> dict:
    """The shared evaluation's rule for a number computed outside it (ACD-syn, App. D's std): A beats B only
    when the mean paired difference exceeds twice its standard deviation over the draws."""
    import numpy as np

    d = np.asarray(a, float) - np.asarray(b, float)
    std = float(d.std(ddof=1)) if len(d) > 1 else None
    mean = float(d.mean())
    resolved = std is not None and abs(mean) > 2 * std
    a_better = mean < 0 if lower_is_better else mean > 0
    return {"a": float(np.mean(a)), "b": float(np.mean(b)), "difference": mean, "std": std, "draws": len(d),
            "resolved": bool(resolved), "a_better": bool(a_better) if resolved else None}


@torch.no_grad()
def mean_video_spread(G: sg.Generator, M: mh.MotionGenerator, *, trials: int, videos: int, frames: int,
                      seed: int) -> list[float]:
    """App. D: for each of ``trials`` content codes, ``videos`` videos with fresh motion noise (the generator's
    noise off, as the paper), and the per-pixel standard deviation over them of the last frame, averaged over
    pixels (higher: more diverse motion). One value per content code."""
    out = []
    for trial in range(trials):
        inputs = mh.sampling.draw_inputs(G, M, videos, frames, seed=seed + trial, noise=False)
        inputs = mh.sampling.VideoInputs(inputs.content[:1].expand(videos, -1), inputs.motion, inputs.noise)
        last = mh.sampling.render(G, mh.sampling.trajectories(M, inputs), inputs.noise)[:, -1]   # [n, 3, S, S]
        out.append(float(last.std(dim=0).mean()))
    return out


def curve_points(run_dir: Path) -> list[dict]:
    """The snapshots a :func:`train_image_generator` run kept: ``[{"step", "cpu_s", "path"}]``."""
    log = Path(run_dir) / "curve" / "cpu.json"
    if not log.is_file():
        return []
    return [{**p, "path": str(Path(run_dir) / "curve" / f"step_{p['step']:08d}.safetensors")}
            for p in json.loads(log.read_text())]


def image_curve(cfg: MoCoGANHDChapterConfig, world: str, run_dir: Path, device="cpu") -> list[dict]:
    """FID-syn of every snapshot of an image-generator run against ``fid_images`` test images, with the
    CPU minutes spent to reach it: the quality-against-compute curve the chapter plots."""
    real = image_set(cfg, world, "test", cfg.fid_images)
    reference = image_set(cfg, world, "test", 2 * cfg.fid_images)[cfg.fid_images:]
    points = []
    for p in curve_points(run_dir):
        fake = generate_images(load_snapshot(p["path"], cfg), cfg.fid_images, seed=cfg.seed + 1)
        ev = image_quality(real, {"G": fake}, reference, frames=cfg.frames, draws=cfg.draws, device=device,
                           protocol={"world": world, "split": "test", "seed": cfg.seed})
        s = ev.scores["G"]["FID-syn"]
        points.append({"step": p["step"], "cpu_minutes": round(p["cpu_s"] / 60, 2), "fid_syn": s.value,
                       "fid_syn_std": s.std, "floor": s.floor, "protocol": s.protocol})
    return points


@torch.no_grad()
def generate_images(G: sg.Generator, n: int, *, seed: int, batch: int = 256) -> torch.Tensor:
    """``n`` seeded images ``[n, 3, S, S]`` of a generator (noise drawn from the same seed)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, n, batch):
        k = min(batch, n - i)
        z = torch.randn(k, G.cfg.style_dim, generator=g)
        noise = [torch.randn(k, *s, generator=g) for s in G.synthesis.noise_shapes()]
        out.append(G.synthesis(G.mapping(z), noise).clamp(-1, 1))
    return torch.cat(out)


def load_snapshot(path: str | Path, cfg: MoCoGANHDChapterConfig) -> sg.Generator:
    state, _ = vl_io.load_weights(path)
    G = sg.Generator(image_config(cfg))
    G.load_state_dict(state)
    return vl_nn.freeze(G)
