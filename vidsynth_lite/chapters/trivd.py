"""Settings of chapter 6 (``notebooks/06_trivd.py``, TrIVD-GAN-FP); profile values in ``configs/trivd/``.

Besides the config, the glue the chapter needs that is not a model, a metric or a loop: the two protocols
(pushbot 1 + 15 like BAIR, actions 5 + 11 like Kinetics), building G and D from the flat settings, one training
run through :func:`vidsynth_lite.train.fit_parts`, and the evaluation-ready generator (EMA weights, standing
statistics).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

import vidsynth_lite as vl
from vidsynth_lite.config import ChapterConfig, param
from vidsynth_lite.models.trivd import DECOMPOSITIONS, Discriminator, Generator, TrIVDConfig
from vidsynth_lite.models.trivd.training import make_step, standing_stats
from vidsynth_lite.nn.recurrent_units import RECURRENT_UNITS

# world -> (conditioning frames, predicted frames): Sec. 4.1 (Kinetics: 5 + 11) and App. C.1 (BAIR: 1 + 15)
PROTOCOLS = {"pushbot": (1, 15), "actions": (5, 11)}


@dataclass
class TrIVDChapterConfig(ChapterConfig):
    """Chapter 6, "Transformation-based adversarial video prediction" (Luc et al. 2020)."""

    chapter = "trivd"
    worlds: list = param(["pushbot", "actions"], "worlds trained and evaluated; pushbot: 1 + 15 frames (BAIR "  # noqa: RUF009
                         "protocol), actions: 5 + 11 (Kinetics protocol)")
    size: int = param(32, "frame height and width (paper: 64)", choices=(16, 32, 64))
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
    batch: int = param(8, "batch per D update (one step: 2 D updates + 1 G update; paper: 512)", min=2)
    live_steps: int = param(60, "training steps run live per world (0: none)", min=0)
    lr_g: float = param(1e-4, "G's Adam learning rate (App. E.2: 1e-4)", min=1e-7, max=1.0)
    lr_d: float = param(4e-4, "D's Adam learning rate (App. E.2: 5e-4)", min=1e-7, max=1.0)
    ortho: float = param(1e-4, "orthogonality penalty weight on G (App. E.2: 1e-4)", min=0.0)
    ema_decay: float = param(0.999, "EMA decay of G's weights (App. E.2: 0.9999)", min=0.0, max=0.99999)
    ema_start: int = param(0, "step the EMA starts at (App. E.2: 20 000 of 700 000)", min=0)
    standing_batches: int = param(8, "standing statistics: forward passes (App. E.2: 100)", min=1)
    standing_batch: int = param(16, "standing statistics: samples per pass (App. E.2: 256)", min=1)
    truncation: float = param(0.8, "truncation threshold of z for the samples shown (App. D.1: 0.8)", min=0.0)
    test_videos: int = param(64, "test inputs per world for the metrics", min=2, max=100_000)
    samples: int = param(4, "samples per test input (K of best-of-K / mean-of-K, DIV)", min=1, max=100)
    fig5_samples: list = param([1, 2, 4, 8], "numbers of samples l of Fig. 5's best-of-l SSIM")  # noqa: RUF009
    fig5_videos: int = param(32, "test inputs for Fig. 5 (paper: 256 BAIR test clips)", min=1)
    step_seconds: float = param(3.0, "Table 1: wall time each decomposition's step time is averaged over "
                                "(paper: 30 s)", min=0.0)
    step_batch: int = param(8, "Table 1: batch of the timed steps (App. E.3: G passes of 8, D passes of 16)",
                            min=2)
    table_channels: int = param(8, "G's and D's channel multiplier in the Table 1 and 2 runs (paper: 48)", min=1)
    table1_budget_s: float = param(600.0, "Table 1: training budget per decomposition in seconds of a step "
                                   "measured in one process (paper: ~103 h, 1M steps for the fastest)", min=1.0)
    table2_steps: int = param(300, "Table 2: training steps per recurrent unit (paper: 500 000)", min=1)
    table_seeds: list = param([0, 1], "seeds of the Table 1 and 2 runs")  # noqa: RUF009
    run_tables: bool = param(False, "train the Table 1 and 2 runs in the chapter (full); else read the shipped "
                             "results of `python -m vidsynth_lite pretrain trivd`")
    pretrained: bool = param(True, "load the shipped checkpoints (the same recipe trained longer)")
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
        train=replace(paper.train, batch=cfg.batch, lr_g=cfg.lr_g, lr_d=cfg.lr_d, ortho=cfg.ortho,
                      ema_decay=cfg.ema_decay, ema_start=cfg.ema_start, standing_batches=cfg.standing_batches,
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
    from vidsynth_lite.train import Part  # TODO(trivd): top-level once the loop's fit_parts is on main

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


__all__ = ["PROTOCOLS", "TrIVDChapterConfig", "build", "clips", "evaluation_generator", "model_config", "train"]
