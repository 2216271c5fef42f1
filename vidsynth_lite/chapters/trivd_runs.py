"""The long runs behind chapter 6 (TrIVD-GAN-FP): ``python -m vidsynth_lite pretrain trivd``.

What a 2-core CPU cannot do in the chapter's minutes, this command does in hours, resumably (every run is a
:func:`vidsynth_lite.train.fit_parts` run folder under ``runs/trivd-pretrain/``; kill it and call it again):

- ``pushbot`` / ``actions``: the chapter's recipe (profile ``lite``) trained longer, evaluated every
  ``eval_every`` steps through the shared evaluation (the quality-vs-CPU-minutes curve), saved as fp16
  safetensors of the evaluation generator (EMA weights, standing statistics);
- ``table1``: the nine decompositions of Table 1 at a fixed budget of CPU seconds of a step, each run's step
  budget = budget / its step time measured in one process (the paper's protocol, Sec. 4.2), per seed;
- ``table2``: the seven recurrent units of Table 2 at a fixed number of steps with DVD-GAN-FP_faster (Sec. 4.3).

Everything lands in ``vidsynth_lite/models/trivd/weights/`` with ``manifest.json`` (command, commit, CPU
minutes, curves, step times, every evaluation with its per-draw values), which the chapter reads.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path

import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters.trivd import (
    EVAL_SKIP,
    PROTOCOLS,
    TrIVDChapterConfig,
    build,
    clips,
    evaluation_generator,
    load_generator,
    model_config,
    read_manifest,
    sample_clips,
    save_generator,
    train,
    weights_dir,
)
from vidsynth_lite.io.atomic import write_text
from vidsynth_lite.models.trivd import DECOMPOSITIONS
from vidsynth_lite.models.trivd.training import predict, time_steps
from vidsynth_lite.nn.recurrent_units import RECURRENT_UNITS

TABLE_WORLD = "actions"          # the paper's Tables 1 and 2 are on Kinetics: our stand-in, 5 + 11 frames
TABLE2_DECOMPOSITION = "faster"  # Sec. 4.3: "we use the fastest of our discriminator decompositions"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def evaluate_rows(rows: dict[str, torch.Tensor], test, reference, cond_frames: int, *, draws: int, world: str,
                  seed: int) -> vl.metrics.Evaluation:
    """The shared evaluation of several generators' samples on one world's test clips."""
    return vl.metrics.evaluate(real=test, samples=rows, cond_frames=cond_frames, reference=reference,
                               draws=draws, skip=EVAL_SKIP,
                               protocol={"world": world, "split": "test", "seed": seed})


def nonfinite(G) -> list[str]:
    """Names of ``G``'s parameters and buffers (weights, standing statistics) that hold NaN or inf. A generator
    whose activations blow up leaves inf in its standing statistics once they are stored in float16. It
    happened to the lite pushbot run before EMA.averaged re-estimated spectral norm's ``u, v``: last-stage
    batch-norm inputs ~1e7 at 400 steps, ~1e11 at 800; the check keeps such a snapshot from being shipped."""
    return [n for n, v in G.state_dict().items() if v.is_floating_point() and not torch.isfinite(v).all()]


def check_psnr(G, test: torch.Tensor) -> float:
    """A number the test suite recomputes from the shipped file: mean PSNR of the predicted frames of the first
    4 test clips with z = 0 (deterministic)."""
    c = G.cfg.cond_frames
    pred = predict(G, test[:4, :c], 1, truncation=0.0)[:, 0]                  # [4, T_p, 3, H, W]
    return float(vl.metrics.psnr(pred, test[:4, c:]).mean())


def measure_step_times(cfg: TrIVDChapterConfig, world: str, decompositions, *, batch: int, seconds: float,
                       rounds: int, device=None, min_steps: int = 2) -> dict:
    """Table 1's step time (App. E.3) of each decomposition with the same generator (``table_channels``),
    interleaved in ``rounds`` so that a change of the machine's load hits all alike. Per decomposition: the
    median wall and CPU seconds per step, the median of each round (for paired comparisons) and the count.
    Each round runs at least ``min_steps`` steps per decomposition."""
    device = device or torch.device("cpu")
    setups = {}
    for d in decompositions:
        model = model_config(cfg, world, decomposition=d, table=True)
        G, D = build(model, seed=cfg.seed)
        G, D = G.to(device).train(), D.to(device).train()
        t = model.train
        gen = torch.Generator().manual_seed(cfg.seed)
        real = (torch.rand(t.d_steps * batch, 16, 3, cfg.size, cfg.size, generator=gen) * 2 - 1).to(device)
        setups[d] = (G, D, torch.optim.Adam(G.parameters(), t.lr_g, betas=t.betas),
                     torch.optim.Adam(D.parameters(), t.lr_d, betas=t.betas), real, t)
    for G, D, og, od, real, t in setups.values():                              # one warm-up step each
        time_steps(G, D, og, od, real, seconds=0.0, d_steps=t.d_steps, ortho=t.ortho, min_steps=1)
    per_round = {d: {"wall": [], "cpu": []} for d in decompositions}
    every = {d: {"wall": [], "cpu": []} for d in decompositions}
    for _ in range(rounds):
        for d, (G, D, og, od, real, t) in setups.items():
            got = time_steps(G, D, og, od, real, seconds=seconds / rounds, d_steps=t.d_steps, ortho=t.ortho,
                             min_steps=min_steps)
            for key in ("wall", "cpu"):
                per_round[d][key].append(statistics.median(got[key]))
                every[d][key] += got[key]
    return {d: {"wall_s": statistics.median(every[d]["wall"]), "cpu_s": statistics.median(every[d]["cpu"]),
                "rounds_wall_s": per_round[d]["wall"], "rounds_cpu_s": per_round[d]["cpu"],
                "steps_timed": len(every[d]["wall"])} for d in decompositions}


def trained_generator(model, train_clips, *, steps: int, run_dir: Path, seed: int, cfg, device=None,
                      progress: bool = True, desc: str = "TrIVD-GAN-FP") -> Path:
    """Train (or resume) one run to ``steps`` and keep its evaluation generator (EMA weights, standing
    statistics) as ``run_dir/eval-<steps>.safetensors`` with the run's CPU minutes; an existing file is
    reused. Training needs no feature network: evaluation is a separate pass."""
    path = run_dir / f"eval-{steps}.safetensors"
    if path.is_file():
        return path
    c0 = time.process_time()
    result = train(model, train_clips, steps=steps, run_dir=run_dir, seed=seed, ckpt_every=cfg.ckpt_every,
                   device=device, desc=desc, progress=progress)
    cpu = time.process_time() - c0
    earlier = sorted(run_dir.glob("eval-*.safetensors"), key=lambda p: int(p.stem.split("-")[1]))
    before = load_generator(earlier[-1])[1]["extra"]["cpu_minutes"] if earlier else 0.0
    G = evaluation_generator(result, model, train_clips, seed).cpu()
    return save_generator(path, G, steps=steps, extra={"cpu_minutes": before + cpu / 60, "seed": seed})


class _Data:
    """A world's train, test and reference clips at the chapter's settings."""

    def __init__(self, cfg, world: str):
        self.world, self.cond = world, PROTOCOLS[world][0]
        self.train = clips(world, "train", count=cfg.train_videos, size=cfg.size, seed=cfg.seed)
        self.test = clips(world, "test", count=cfg.test_videos, size=cfg.size, seed=cfg.seed)
        self.reference = clips(world, "test", count=cfg.test_videos, size=cfg.size, seed=cfg.seed,
                               start=cfg.test_videos)


def _evaluate_files(files: dict[str, Path], data: _Data, cfg, draws: int):
    rows = {name: sample_clips(load_generator(path)[0], data.test, 1, seed=cfg.seed)
            for name, path in files.items()}
    return evaluate_rows(rows, data.test, data.reference, data.cond, draws=draws, world=data.world,
                         seed=cfg.seed)


def pretrain_world(cfg, world: str, *, runs: Path, out: Path, draws: int, evaluate: bool = True,
                   device=None, progress: bool = True) -> dict:
    """The chapter's recipe on one world trained to ``cfg.pretrain_steps``, keeping the evaluation generator
    every ``cfg.pretrain_eval_every`` steps; then (``evaluate``) the quality curve through the shared
    evaluation."""
    data, model = _Data(cfg, world), model_config(cfg, world)
    steps, every = cfg.pretrain_steps, cfg.pretrain_eval_every
    files = {t: trained_generator(model, data.train, steps=t, run_dir=runs / world, seed=cfg.seed, cfg=cfg,
                                  device=device, progress=progress, desc=f"{world} to {t}")
             for t in sorted({*range(every, steps, every), steps})}
    loaded = {t: load_generator(path) for t, path in files.items()}          # (G, metadata) per snapshot
    broken = {t: nonfinite(G) for t, (G, _) in loaded.items()}
    usable = [t for t in files if not broken[t]]
    if not usable:
        raise RuntimeError(f"{world}: every snapshot's evaluation generator holds NaN or inf (at {steps} steps: "
                           f"{', '.join(broken[steps][:3])}); there is nothing to ship")
    shipped = usable[-1]               # the last snapshot whose weights and standing statistics are finite
    final, meta = loaded[shipped]
    name = f"{world}.safetensors"
    entry = {"file": name, "world": world, "steps": shipped, "trained_steps": steps,
             "cpu_minutes": meta["extra"]["cpu_minutes"], "check_psnr_z0_first4": check_psnr(final, data.test),
             "model": model.to_dict(),
             "diverged": {str(t): names[:4] for t, names in broken.items() if names}}
    save_generator(out / name, final, steps=shipped, extra={"world": world, **meta["extra"]})
    if not evaluate:
        return entry
    curve = []
    for t, path in files.items():
        point = {"steps": t, "cpu_minutes": loaded[t][1]["extra"]["cpu_minutes"]}
        if broken[t]:                  # no scores: its samples are NaN; the curve says where training diverged
            curve.append({**point, "diverged": broken[t][:4]})
            continue
        ev = _evaluate_files({"TrIVD-GAN-FP": path}, data, cfg, draws)
        for metric in ("FVD-syn", "SSIM mean-of-K", "PSNR mean-of-K"):
            score = ev.scores["TrIVD-GAN-FP"][metric]
            point[metric] = {"value": score.value, "std": score.std}
            point[f"copy last {metric}"] = ev.scores["copy last frame"][metric].value
        curve.append(point)
        print(f"[pretrain trivd] {world} step {t}: {json.dumps(point)}", flush=True)
    return {**entry, "curve": curve, "evaluation": ev.to_dict()}


def table1(cfg, *, runs: Path, draws: int, seconds: float, rounds: int, evaluate: bool = True, device=None,
           progress=True) -> dict:
    """Table 1 at a fixed budget: each decomposition's steps = ``table1_budget_s`` / its CPU step time (the step
    times are measured once and kept in ``runs/table1/step_times.json``, so a resumed run keeps its budgets)."""
    data = _Data(cfg, TABLE_WORLD)
    timing_file = runs / "table1" / "step_times.json"
    if timing_file.is_file():
        times = json.loads(timing_file.read_text())
    else:
        times = measure_step_times(cfg, TABLE_WORLD, list(DECOMPOSITIONS), batch=cfg.table_batch,
                                   seconds=seconds, rounds=rounds, device=device)
        timing_file.parent.mkdir(parents=True, exist_ok=True)
        write_text(timing_file, json.dumps(times, indent=1))
    budget = {d: max(1, round(cfg.table1_budget_s / times[d]["cpu_s"])) for d in DECOMPOSITIONS}
    files = {}
    for seed in cfg.table_seeds:
        for d in DECOMPOSITIONS:
            model = model_config(cfg, TABLE_WORLD, decomposition=d, table=True)
            files[f"{d} seed {seed}"] = trained_generator(
                model, data.train, steps=budget[d], run_dir=runs / "table1" / f"{d}-seed{seed}", seed=seed,
                cfg=cfg, device=device, progress=progress, desc=f"Table 1 {d} seed {seed}")
    entry = {"world": TABLE_WORLD, "step_times": times, "steps": budget, "budget_cpu_s": cfg.table1_budget_s,
             "cpu_minutes": {k: load_generator(p)[1]["extra"]["cpu_minutes"] for k, p in files.items()},
             "channels": cfg.table_channels, "batch": cfg.table_batch, "seeds": list(cfg.table_seeds)}
    if evaluate:
        entry["evaluation"] = _evaluate_files(files, data, cfg, draws).to_dict()
    return entry


def table2(cfg, *, runs: Path, draws: int, evaluate: bool = True, device=None, progress=True) -> dict:
    """Table 2: every recurrent unit, DVD-GAN-FP_faster, ``table2_steps`` steps, per seed."""
    data = _Data(cfg, TABLE_WORLD)
    files = {}
    for seed in cfg.table_seeds:
        for unit in RECURRENT_UNITS:
            model = model_config(cfg, TABLE_WORLD, recurrent=unit, decomposition=TABLE2_DECOMPOSITION, table=True)
            files[f"{unit} seed {seed}"] = trained_generator(
                model, data.train, steps=cfg.table2_steps, run_dir=runs / "table2" / f"{unit}-seed{seed}",
                seed=seed, cfg=cfg, device=device, progress=progress, desc=f"Table 2 {unit} seed {seed}")
    entry = {"world": TABLE_WORLD, "decomposition": TABLE2_DECOMPOSITION, "steps": cfg.table2_steps,
             "cpu_minutes": {k: load_generator(p)[1]["extra"]["cpu_minutes"] for k, p in files.items()},
             "channels": cfg.table_channels, "batch": cfg.table_batch, "seeds": list(cfg.table_seeds)}
    if evaluate:
        entry["evaluation"] = _evaluate_files(files, data, cfg, draws).to_dict()
    return entry


def pretrain(cfg: TrIVDChapterConfig, *, parts=("pushbot", "actions", "table1", "table2"), evaluate: bool = True,
             step_seconds: float = 10.0, rounds: int = 3, out_dir: Path | None = None,
             runs_dir: Path | None = None, device=None, progress: bool = True) -> dict:
    """Run ``parts`` and merge what they produce into ``manifest.json`` (parts not run keep their entries):
    the worlds to ``cfg.pretrain_steps`` with an evaluation every ``cfg.pretrain_eval_every`` steps, then the
    Table 1 and 2 runs. Each part records the command and commit that made it (``made_by``); the manifest is
    re-read just before each write, so two calls running different parts side by side keep each other's."""
    profile, draws = cfg.profile, cfg.draws
    vl.runtime.set_threads()        # VIDSYNTH_THREADS: spinning idle threads inflate CPU time on a busy machine
    vl.runtime.seed_everything(cfg.seed)
    out = out_dir or weights_dir()
    runs = runs_dir or vl.paths.runs_dir() / f"trivd-pretrain-{profile}"
    out.mkdir(parents=True, exist_ok=True)
    made_by = {"command": f"python -m vidsynth_lite pretrain trivd --profile {profile} --parts {' '.join(parts)}",
               "commit": _commit()}
    header = {"chapter": "trivd", "profile": profile, "config": cfg.to_dict(), **made_by,
              "environment": vl.runtime.environment(device or torch.device("cpu"))}
    manifest = {}
    for part in parts:
        c0 = time.process_time()
        if part in PROTOCOLS:
            entry = pretrain_world(cfg, part, runs=runs, out=out, draws=draws, evaluate=evaluate, device=device,
                                   progress=progress)
        elif part == "table1":
            entry = table1(cfg, runs=runs, draws=draws, seconds=step_seconds, rounds=rounds, evaluate=evaluate,
                           device=device, progress=progress)
        elif part == "table2":
            entry = table2(cfg, runs=runs, draws=draws, evaluate=evaluate, device=device, progress=progress)
        else:
            raise ValueError(f"unknown part {part!r}; expected {sorted(PROTOCOLS)} + ['table1', 'table2']")
        try:
            manifest = read_manifest(out)           # as it is now: another call may have written meanwhile
        except FileNotFoundError:
            manifest = {}
        manifest.pop("parts_run", None)             # older manifests: one list for the whole file
        manifest.update(header)
        if part in PROTOCOLS:
            manifest.setdefault("worlds", {})[part] = entry
        else:
            manifest[part] = entry
        manifest.setdefault("part_cpu_minutes", {})[part] = (time.process_time() - c0) / 60
        manifest.setdefault("made_by", {})[part] = made_by
        write_text(out / "manifest.json", json.dumps(manifest, indent=1, default=float))
    return manifest
