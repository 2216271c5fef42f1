"""Settings of chapter 6 (``notebooks/06_trivd.py``, TrIVD-GAN-FP); profile values in ``configs/trivd/``.

Besides the config, the glue the chapter needs that is not a model, a metric or a loop: the two protocols
(pushbot 1 + 15 like BAIR, actions 5 + 11 like Kinetics), building G and D from the flat settings, one training
run through :func:`vidsynth_lite.train.fit_parts`, and the evaluation-ready generator (EMA weights, standing
statistics).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

import vidsynth_lite as vl
from vidsynth_lite.config import ChapterConfig, param
from vidsynth_lite.models.trivd import DECOMPOSITIONS, Discriminator, Generator, GeneratorConfig, TrIVDConfig
from vidsynth_lite.models.trivd.training import make_step, predict, standing_stats
from vidsynth_lite.nn.recurrent_units import RECURRENT_UNITS
from vidsynth_lite.train import Part

# world -> (conditioning frames, predicted frames): Sec. 4.1 (Kinetics: 5 + 11) and App. C.1 (BAIR: 1 + 15)
PROTOCOLS = {"pushbot": (1, 15), "actions": (5, 11)}
# metrics of the shared evaluation left out: the real I3D needs far more clips than lite affords; KVD-syn and
# FID-syn repeat what FVD-syn says here; PSNR-moving needs motion masks we do not use
EVAL_SKIP = ("FVD", "KVD-syn", "FID-syn", "PSNR-moving")


@dataclass
class TrIVDChapterConfig(ChapterConfig):
    """Chapter 6, "Transformation-based adversarial video prediction" (Luc et al. 2020)."""

    chapter = "trivd"
    worlds: list = param(["pushbot", "actions"], "worlds trained and evaluated; pushbot: 1 + 15 frames (BAIR "  # noqa: RUF009
                         "protocol), actions: 5 + 11 (Kinetics protocol)")
    size: int = param(32, "frame height and width (paper: 64)", choices=(32, 64))
    g_channels: int = param(8, "G's channel multiplier (paper: 48 in Tables 1-2, 120 for the final model)", min=1)
    d_channels: int = param(8, "D's (and E's) channel multiplier (paper: as G on Kinetics; 92 on BAIR)", min=1)
    stage_in: list = param([4, 4, 2], "G's stage input widths, x g_channels (ours: BigGAN-style 8, 8, 4)")  # noqa: RUF009
    stage_out: list = param([4, 2, 1], "G's stage output widths, x g_channels (ours: 8, 4, 2)")  # noqa: RUF009
    d_widths: list = param([1, 2, 4, 8, 16], "D's block widths, x d_channels (BigGAN 64x64 D: 1, 2, 4, 8, 16)")  # noqa: RUF009
    recurrent: str = param("tsru_p", "G's recurrent unit (Sec. 4.4: TSRU_p)", choices=tuple(RECURRENT_UNITS))
    decomposition: str = param("stronger", "D decomposition (Sec. 4.4: DVD-GAN-FP_stronger)",
                               choices=tuple(DECOMPOSITIONS))
    frames_k: int = param(8, "K frames sampled for the frame discriminators (Sec. 4.2: 8)", min=1, max=15)
    train_videos: int = param(512, "training clips per world", min=8, max=10_000_000)
    batch: int = param(4, "batch per D update (one step: 2 D updates + 1 G update; paper: 512)", min=2)
    live_steps: int = param(30, "training steps run live per world", min=1)
    lr_g: float = param(3e-4, "G's Adam learning rate (App. E.2: 1e-4)", min=1e-7, max=1.0)
    lr_d: float = param(3e-4, "D's Adam learning rate (App. E.2: 5e-4)", min=1e-7, max=1.0)
    ortho: float = param(1e-4, "orthogonality penalty weight on G (App. E.2: 1e-4)", min=0.0)
    ema_decay: float = param(0.99, "EMA decay of G's weights (App. E.2: 0.9999, a horizon of ~10k of 700k "
                             "steps; ours ~100 of a few hundred)", min=0.0, max=0.99999)
    ema_start: int = param(100, "step the EMA starts at, a copy of the weights before (App. E.2: 20 000)",
                           min=0)
    standing_batches: int = param(8, "standing statistics: forward passes (App. E.2: 100)", min=1)
    standing_batch: int = param(16, "standing statistics: samples per pass (App. E.2: 256)", min=1)
    truncation: float = param(0.8, "truncation threshold of z for the samples shown (App. D.1: 0.8)", min=0.0)
    test_videos: int = param(64, "test inputs per world for the metrics", min=2, max=100_000)
    samples: int = param(4, "samples per test input (K of best-of-K / mean-of-K, DIV)", min=1, max=100)
    draws: int = param(4, "disjoint draws of the test inputs (mean +- std, paired verdicts)", min=2)
    fig5_samples: list = param([1, 2, 4, 8], "numbers of samples l of Fig. 5's best-of-l SSIM")  # noqa: RUF009
    fig5_videos: int = param(32, "test inputs for Fig. 5 (paper: 256 BAIR test clips)", min=1)
    step_seconds: float = param(3.0, "Table 1: wall time each decomposition's step time is averaged over "
                                "(paper: 30 s)", min=0.0)
    table_batch: int = param(4, "batch per D update of the Table 1 / 2 runs and timed steps (App. E.3 times "
                             "G passes of 8, D passes of 16)", min=2)
    table_channels: int = param(4, "G's and D's channel multiplier in the Table 1 and 2 runs (paper: 48)", min=1)
    table1_budget_s: float = param(60.0, "Table 1: training budget per decomposition in seconds of a step "
                                   "measured in one process (paper: ~103 h, 1M steps for the fastest; lite: "
                                   "sized so 18 runs train in 20 CPU-min)", min=1.0)
    table2_steps: int = param(100, "Table 2: training steps per recurrent unit (paper: 500 000; lite: 14 runs "
                              "in about 20 CPU-min)", min=1)
    table_seeds: list = param([0, 1], "seeds of the Table 1 and 2 runs")  # noqa: RUF009
    run_tables: bool = param(False, "train the Table 1 and 2 runs in the chapter (full); else read the shipped "
                             "results of `python -m vidsynth_lite pretrain trivd`")
    pretrained: bool = param(True, "load the shipped checkpoints (the same recipe trained longer)")
    pretrain_steps: int = param(800, "steps of the shipped checkpoints (`python -m vidsynth_lite pretrain trivd`)",
                                min=1)
    pretrain_eval_every: int = param(200, "evaluation period of the shipped checkpoints' quality curve", min=1)
    ckpt_every: int = param(50, "checkpoint period in steps", min=1)
    bf16: bool = param(False, "bf16 autocast on a GPU")

    def validate(self) -> None:
        from vidsynth_lite.config import ConfigError

        unknown = [w for w in self.worlds if w not in PROTOCOLS]
        if unknown or not self.worlds:
            raise ConfigError(f"worlds must be a non-empty list from {sorted(PROTOCOLS)}, got {self.worlds}")
        stages = len(self.stage_in)
        if stages < 1 or len(self.stage_out) != stages:
            raise ConfigError(f"stage_in {self.stage_in} and stage_out {self.stage_out} must be equally long")
        if self.size % 2 ** stages:
            raise ConfigError(f"size {self.size} must be divisible by 2^{stages} (one upsampling per stage)")
        if self.size // 2 // 2 ** (len(self.d_widths) - 1) < 1:
            raise ConfigError(f"{len(self.d_widths)} D blocks cannot take the {self.size // 2}x{self.size // 2} "
                              "downsampled views; use fewer d_widths")
        for world in self.worlds:
            if self.frames_k > PROTOCOLS[world][1]:
                raise ConfigError(f"frames_k = {self.frames_k} exceeds the {PROTOCOLS[world][1]} predicted "
                                  f"frames of {world}")
        if any(n < 1 for n in self.fig5_samples):
            raise ConfigError(f"fig5_samples must be positive, got {self.fig5_samples}")
        if self.test_videos % self.draws or self.test_videos // self.draws < 2:
            raise ConfigError(f"test_videos = {self.test_videos} must split into draws = {self.draws} equal "
                              "parts of at least 2")


def model_config(cfg: TrIVDChapterConfig, world: str, *, recurrent: str | None = None,
                 decomposition: str | None = None, table: bool = False) -> TrIVDConfig:
    """The model of one world's protocol from the chapter's flat settings. ``recurrent`` / ``decomposition``
    replace the chapter's and ``table=True`` uses ``table_channels`` for G, E and D (Tables 1 and 2)."""
    cond, pred = PROTOCOLS[world]
    g_ch, d_ch = (cfg.table_channels, cfg.table_channels) if table else (cfg.g_channels, cfg.d_channels)
    paper = TrIVDConfig()
    return TrIVDConfig(
        generator=replace(paper.generator, size=cfg.size, cond_frames=cond, pred_frames=pred,
                          channels=g_ch, encoder_channels=d_ch, stages=len(cfg.stage_in),
                          stage_in=tuple(cfg.stage_in), stage_out=tuple(cfg.stage_out),
                          recurrent=recurrent or cfg.recurrent),
        discriminator=replace(paper.discriminator, channels=d_ch, widths=tuple(cfg.d_widths),
                              frames_k=cfg.frames_k, decomposition=decomposition or cfg.decomposition),
        train=replace(paper.train, batch=cfg.table_batch if table else cfg.batch, lr_g=cfg.lr_g, lr_d=cfg.lr_d,
                      ortho=cfg.ortho, ema_decay=cfg.ema_decay, ema_start=cfg.ema_start, standing_batches=cfg.standing_batches,
                      standing_batch=cfg.standing_batch, truncation=cfg.truncation),
    )


def clips(world: str, split: str, *, count: int, size: int, seed: int, start: int = 0) -> torch.Tensor:
    """``count`` clips ``[N, 16, 3, size, size]`` of a world in [-1, 1] (items ``start .. start + count - 1``)."""
    data = vl.data.load(world, split, frames=16, size=size, seed=seed, length=start + count)
    return torch.stack([data[i]["video"] for i in range(start, start + count)])     # [N, T, 3, H, W]


def build(model: TrIVDConfig, seed: int) -> tuple[Generator, Discriminator]:
    """G (with E) and the decomposition's D, initialised from ``seed``."""
    torch.manual_seed(seed)
    g = model.generator
    return Generator(g), Discriminator(model.discriminator, frames=g.frames, cond_frames=g.cond_frames,
                                       size=g.size)


def train(model: TrIVDConfig, train_clips: torch.Tensor, *, steps: int, run_dir, seed: int, ckpt_every: int,
          device=None, bf16: bool = False, desc: str = "TrIVD-GAN-FP", progress: bool = True):
    """One training run through the shared loop: parts G (EMA) and D, Adam with beta1 = 0 (App. E.2), the step
    of :func:`vidsynth_lite.models.trivd.training.make_step`; batches of ``2 x batch`` clips per step (one real
    batch per D update). Resumes from ``run_dir``. Returns the loop's result."""
    t = model.train
    G, D = build(model, seed)
    parts = {"G": Part(G, torch.optim.Adam(G.parameters(), t.lr_g, betas=t.betas), ema_decay=t.ema_decay,
                       ema_start=t.ema_start),
             "D": Part(D, torch.optim.Adam(D.parameters(), t.lr_d, betas=t.betas))}
    batches = vl.train.StepBatches(train_clips, t.d_steps * t.batch, seed=seed)
    return vl.train.fit_parts(parts, make_step(t.d_steps, t.ortho), batches, steps=steps, run_dir=run_dir,
                              ckpt_every=ckpt_every, log_every=1, config={**model.to_dict(), "seed": seed},
                              device=device, bf16=bf16, desc=desc, progress=progress)


def evaluation_generator(result, model: TrIVDConfig, train_clips: torch.Tensor, seed: int) -> Generator:
    """App. E.2: the EMA weights of G with standing statistics, in evaluation mode."""
    G = result.emas["G"].averaged(result.parts["G"].model) if "G" in result.emas else result.parts["G"].model
    return standing_stats(G, train_clips, batches=model.train.standing_batches, batch=model.train.standing_batch,
                          seed=seed)


def full_clips(cond: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """Given frames ``[M, T_c, ...]`` + samples ``[M, K, T_p, ...]`` -> clips ``[M, K, T_c + T_p, ...]``."""
    m, k = predicted.shape[:2]
    return torch.cat([cond[:, None].expand(m, k, *cond.shape[1:]), predicted], 2)


def sample_clips(G, test: torch.Tensor, samples: int, *, seed: int, truncation=None, batch: int = 32) -> torch.Tensor:
    """``samples`` continuations of each test clip's given frames, as whole clips ``[M, K, T, 3, H, W]``."""
    cond = test[:, :G.cfg.cond_frames]
    return full_clips(cond, predict(G, cond, samples, seed=seed, truncation=truncation, batch=batch))


def rank_agreement(times: dict, paper: dict, key: str = "rounds_cpu_s") -> dict:
    """Does our step-time ordering follow the paper's (Table 1, ms)? Spearman's rank correlation between our
    step times and the paper's, once per measurement round (:func:`~vidsynth_lite.chapters.trivd_runs.
    measure_step_times`), then its mean and standard deviation over the rounds. The verdict follows the book's
    rule: a mean correlation beyond twice its spread is resolved (positive: reproduced, negative: not
    reproduced); else not resolved. Returns the verdict, the per-round values, the effect and a text."""
    from vidsynth_lite.reproduce import claims as C

    names = list(paper)
    paper_rank = np.argsort(np.argsort([paper[d]["ms"] for d in names]))
    rounds = len(times[names[0]][key])
    per_round = []
    for r in range(rounds):
        ours_rank = np.argsort(np.argsort([times[d][key][r] for d in names]))
        per_round.append(float(np.corrcoef(ours_rank, paper_rank)[0, 1]))
    mean = float(np.mean(per_round))
    std = float(np.std(per_round, ddof=1)) if rounds > 1 else float("nan")
    if rounds < 2 or not abs(mean) > 2 * std:
        verdict = C.NOT_RESOLVED
    else:
        verdict = C.REPRODUCED if mean > 0 else C.CONTRADICTED
    effect = mean / std if rounds > 1 and std > 0 else None
    text = (f"Spearman rank correlation of our CPU step times with the paper's ms over the {len(names)} "
            f"decompositions: {mean:+.2f} (std {std:.2f} over {rounds} rounds)")
    return {"verdict": verdict, "per_round": per_round, "mean": mean, "std": std, "effect": effect, "text": text}


def best_of_l_ssim(samples: torch.Tensor, truth: torch.Tensor, ls) -> dict:
    """Fig. 5 (SAVP's protocol, App. C.1): for every ``l`` in ``ls``, the best of the first ``l`` samples of each
    input (highest mean SSIM over the predicted frames) and its SSIM. ``samples`` ``[M, L, T_p, 3, H, W]``,
    ``truth`` ``[M, T_p, 3, H, W]`` -> ``{l: {"per_frame": [T_p] list, "mean": float, "per_input": [M]}}``."""
    m, big_l = samples.shape[:2]
    if truth.shape != (m, *samples.shape[2:]):
        raise ValueError(f"truth must be [M, T_p, 3, H, W] = {(m, *samples.shape[2:])}, got {tuple(truth.shape)}")
    if any(not 1 <= n <= big_l for n in ls):
        raise ValueError(f"every l must be in 1..{big_l} (the samples drawn), got {list(ls)}")
    target = truth[:, None].expand_as(samples)                                    # [M, L, T_p, 3, H, W]
    ssim = vl.metrics.ssim(samples.flatten(0, 2), target.flatten(0, 2)).view(*samples.shape[:3])   # [M, L, T_p]
    out = {}
    for n in ls:
        best = ssim[:, :n].mean(2).argmax(1)                                      # [M]: best of the first n
        per_frame = ssim[torch.arange(m), best]                                   # [M, T_p]
        out[n] = {"per_frame": per_frame.mean(0).tolist(), "mean": float(per_frame.mean()),
                  "per_input": per_frame.mean(1)}
    return out


def pretrain(cfg: TrIVDChapterConfig, device=None, parts=("pushbot", "actions", "table1", "table2")) -> dict:
    """``python -m vidsynth_lite pretrain trivd``: the shipped checkpoints and the Table 1 / 2 runs
    (:mod:`vidsynth_lite.chapters.trivd_runs`); resumable. Returns the manifest."""
    from vidsynth_lite.chapters.trivd_runs import pretrain as run_all

    return run_all(cfg, parts=tuple(parts), device=device)


def pretrain_main(argv: list[str]) -> int:
    """``python -m vidsynth_lite pretrain trivd [--profile P] [--parts pushbot actions table1 table2]
    [-p NAME VALUE]...``: resumable (kill it and run the same command again)."""
    import argparse

    import yaml

    parser = argparse.ArgumentParser(prog="python -m vidsynth_lite pretrain trivd")
    parser.add_argument("--profile", default="lite", choices=("smoke", "lite", "full"))
    parser.add_argument("--parts", nargs="+", default=["pushbot", "actions", "table1", "table2"],
                        choices=["pushbot", "actions", "table1", "table2"])
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a chapter parameter (value parsed as YAML)")
    args = parser.parse_args(argv)
    overrides = {"profile": args.profile, **{k: yaml.safe_load(v) for k, v in args.param}}
    cfg = vl.config.resolve(TrIVDChapterConfig, overrides)
    manifest = pretrain(cfg, vl.runtime.start(cfg), parts=args.parts)
    print(json.dumps(manifest.get("part_cpu_minutes", {}), indent=2))
    return 0


# -- the shipped checkpoints and Table 1 / 2 runs ---------------------------------------------------------------
def weights_dir() -> Path:
    """``vidsynth_lite/models/trivd/weights/``: what :func:`pretrain` writes and the chapter loads (shipped with
    the package, beside ``manifest.json``)."""
    from vidsynth_lite.models import trivd as trivd_models

    return Path(trivd_models.__file__).resolve().parent / "weights"


def read_manifest(folder: Path | None = None) -> dict:
    """The shipped files' manifest (command, commit, CPU minutes, curves, metrics); a clear error if absent."""
    path = (folder or weights_dir()) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `python -m vidsynth_lite pretrain trivd` (hours on a "
                                "CPU) or set pretrained = False")
    return json.loads(path.read_text())


def save_generator(path: Path, G: Generator, *, steps: int, extra: dict | None = None) -> Path:
    """G's evaluation weights (EMA, standing statistics) in fp16, its config beside them."""
    from vidsynth_lite.io import save_weights

    state = {k: (v.half() if v.is_floating_point() else v) for k, v in G.state_dict().items()}
    return save_weights(path, state, config={"kind": "trivd-generator", "model": asdict(G.cfg)}, step=steps,
                        extra=extra)


def load_generator(path: Path, device=None, expect: GeneratorConfig | None = None) -> tuple[Generator, dict]:
    """Rebuild a :func:`save_generator` file -> (G in evaluation mode, metadata). With ``expect``, a checkpoint
    whose config differs from it is refused with one message naming the differences."""
    from vidsynth_lite.io import CheckpointError, load_weights

    state, meta = load_weights(path)
    if meta["config"].get("kind") != "trivd-generator":
        raise CheckpointError(f"{path} holds no TrIVD-GAN-FP generator (kind {meta['config'].get('kind')!r})")
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"]["model"].items()}
    gcfg = GeneratorConfig(**fields)
    if expect is not None and gcfg != expect:
        diff = {k: (v, getattr(expect, k)) for k, v in asdict(gcfg).items() if getattr(expect, k) != v}
        raise CheckpointError(f"{path.name} was trained with other settings than this profile's "
                              f"(checkpoint, profile): {diff}; retrain it with `python -m vidsynth_lite pretrain "
                              "trivd` or set pretrained = False")
    G = Generator(gcfg)
    G.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return G.to(device or "cpu").eval(), meta


def load_shipped(world: str, device=None) -> tuple[Generator, dict]:
    """The shipped generator of ``world`` and its manifest entry. The file must hold exactly the model that the
    manifest's profile builds with today's code (a changed recipe must be retrained, not silently loaded)."""
    manifest = read_manifest()
    entry = manifest["worlds"][world]
    cfg = profile_config(manifest["profile"])
    G, _ = load_generator(weights_dir() / entry["file"], device, expect=model_config(cfg, world).generator)
    return G, entry


def profile_config(profile: str) -> TrIVDChapterConfig:
    """The chapter's config at ``profile`` as its profile file says today, whatever ``$VIDSYNTH_PROFILE`` says
    (a smoke run loads the checkpoints trained at ``lite`` and must check them against ``lite``)."""
    import os

    env = os.environ.pop(vl.config.PROFILE_ENV, None)
    try:
        return vl.config.resolve(TrIVDChapterConfig, {"profile": profile})
    finally:
        if env is not None:
            os.environ[vl.config.PROFILE_ENV] = env


def evaluation_from_dict(d: dict) -> vl.metrics.Evaluation:
    """An :class:`~vidsynth_lite.metrics.Evaluation` back from its ``to_dict()`` (shipped Table 1 / 2 runs), so
    that its verdicts are computed here from the stored per-draw values."""
    Score = vl.metrics.Score
    rows = {name: {k: v for k, v in r.items() if k != "metrics"} for name, r in d["rows"].items()}
    scores = {name: {m: Score.from_dict(s) for m, s in r["metrics"].items()} for name, r in d["rows"].items()}
    curves = {name: {k: np.asarray(v) for k, v in c.items()} for name, c in d.get("curves", {}).items()}
    return vl.metrics.Evaluation(rows=rows, scores=scores, curves=curves, skipped=dict(d.get("skipped", {})),
                                 protocol=dict(d["protocol"]))


def motion_fields(kernels: list[torch.Tensor], size: int) -> torch.Tensor:
    """Fig. 3: the flow of every predicted frame, combined over the generator's stages (coarse to fine) and
    brought to the frame size. ``kernels``: per stage ``[M, K, T, k*k, h, w]`` -> ``[M, K, T, 2, size, size]``
    in pixels of the frame (the ``vl.nn.warp`` convention: a frame pixel reads ``p + flow`` of the state)."""
    lead = kernels[0].shape[:3]
    flows = [vl.nn.expected_flow(k.flatten(0, 2)) for k in kernels]            # per stage [N, 2, h, w]
    combined = vl.nn.combine_flows(flows)                                      # [N, 2, h_max, w_max]
    combined = vl.nn.upsample_flow(combined, (size, size))
    return combined.view(*lead, 2, size, size)


__all__ = [
    "EVAL_SKIP",
    "PROTOCOLS",
    "TrIVDChapterConfig",
    "best_of_l_ssim",
    "build",
    "clips",
    "evaluation_from_dict",
    "evaluation_generator",
    "full_clips",
    "load_generator",
    "load_shipped",
    "model_config",
    "motion_fields",
    "pretrain",
    "pretrain_main",
    "rank_agreement",
    "read_manifest",
    "sample_clips",
    "save_generator",
    "train",
    "weights_dir",
]
