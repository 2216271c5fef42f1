"""Training SynVideo on the five worlds with the package's loop, and measuring what it learnt.

Rebuild the shipped network (about an hour on one CPU thread)::

    python -m vidsynth_lite.metrics.syn_video_train --profile lite \\
        --out vidsynth_lite/metrics/weights/syn_video.safetensors

It writes the weights (safetensors, with the config and the report in its metadata) and, beside them,
``syn_video.json``: the command, the commit, the held-out accuracy per head, the effective dimension of the
features per world, the training time, and one recorded FVD-syn that ``tests/test_metrics_syn_video.py``
recomputes from the loaded file.

What is trained (targets in :mod:`vidsynth_lite.metrics.syn_video`): each batch holds ``batch_per_world`` clips
of every world; each clip is shown in original order, reversed or shuffled (a random non-identity permutation),
chosen by a generator seeded with the step, so that a batch is a pure function of the step and ``fit`` resumes
exactly. Training clips are rendered once (``n_train`` per world, the train split); held-out clips are the test
split (for ``faces``: later clips of the train split, whose identities the identity head knows).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vidsynth_lite.metrics.frechet import effective_dimension
from vidsynth_lite.metrics.syn_video import (
    CLIP_SLICES,
    CLIP_TARGET_DIM,
    CLIP_TARGETS,
    FRAME_SLICES,
    FRAME_TARGET_DIM,
    FRAME_TARGETS,
    IRREVERSIBLE,
    ORDER_NAMES,
    THUMB,
    WORLDS,
    SynVideo,
    SynVideoConfig,
    weights_hash,
)

# ------------------------------------------------------------------------------------------------ data


def _glow(hits: np.ndarray) -> np.ndarray:
    """The drums world's flash of each instrument: ``g_t = max(g_{t-1} / 2, hits_t)`` (``[T, 5]``)."""
    out, g = np.zeros_like(hits), np.zeros(hits.shape[1], hits.dtype)
    for t in range(hits.shape[0]):
        g = np.maximum(g * 0.5, hits[t])
        out[t] = g
    return out


def _frame_targets(world: str, item: dict, frames: int) -> np.ndarray:
    """Per-frame regression targets ``[T, FRAME_TARGET_DIM]`` (zeros outside the world's columns)."""
    out = np.zeros((frames, FRAME_TARGET_DIM), np.float32)
    if world == "pushbot":
        objects = item["objects"].numpy()                                  # [T, K, 2]
        order = np.argsort(objects[..., 0], axis=1)                        # objects have no visible index:
        objects = np.take_along_axis(objects, order[..., None], axis=1)   # name them left to right
        where = np.concatenate([item["state"].numpy(), objects.reshape(frames, -1)], 1)
        out[:, FRAME_SLICES["pushbot_where"]] = where                      # [T, 3 + 3 x 2]
    elif world == "actions":
        out[:, FRAME_SLICES["actions_where"]] = item["position"].numpy()
    elif world == "faces":
        out[:, FRAME_SLICES["faces_expression"]] = item["expression"].numpy()
    elif world == "drums":
        out[:, FRAME_SLICES["drums_glow"]] = _glow(item["hits"].numpy())
    return out


def _clip_targets(world: str, item: dict, reverse: bool) -> np.ndarray:
    """Clip regression targets ``[CLIP_TARGET_DIM]`` of the clip played forward or reversed."""
    out = np.zeros(CLIP_TARGET_DIM, np.float32)

    def track(key):
        x = item[key].numpy().astype(np.float64)
        return x[::-1] if reverse else x

    if world == "sky":
        disp = track("displacement")                                       # [T, 2], image coordinates
        v = (disp[-1] - disp[0]) / (len(disp) - 1)                         # per-frame displacement
        speed = float(np.hypot(*v))
        out[CLIP_SLICES["sky_motion"]] = [v[0] / speed, -v[1] / speed, speed]   # cos d, sin d (y up), speed
    elif world == "pushbot":
        state, objects = track("state"), track("objects")                  # [T, 3], [T, K, 2]
        path = np.linalg.norm(np.diff(objects, axis=0), axis=-1).sum()
        out[CLIP_SLICES["pushbot_motion"]] = [*(state[-1] - state[0]), path]
    elif world == "actions":
        cam = track("camera")
        out[CLIP_SLICES["actions_camera"]] = cam[-1] - cam[0]
    elif world == "drums":
        out[CLIP_SLICES["drums_strikes"]] = item["hits"].numpy().sum(0)
    elif world == "faces":
        out[CLIP_SLICES["faces_motion"]] = np.abs(np.diff(track("expression"), axis=0)).mean(0)
    return out


def world_clips(world: str, split: str, cfg: SynVideoConfig, n: int, start: int = 0) -> dict[str, torch.Tensor]:
    """``n`` clips of ``world`` (items ``start .. start + n``) with every target SynVideo is trained on."""
    from vidsynth_lite import data
    options = {"identities": cfg.face_identities} if world == "faces" else {}
    ds = data.load(world, split, frames=cfg.frames, size=cfg.size, seed=cfg.seed, length=start + n, **options)
    items = [ds[i] for i in range(start, start + n)]
    return {
        "video": torch.stack([it["video"] for it in items]).half(),                       # [n, T, 3, H, W]
        "frame_targets": torch.from_numpy(np.stack([_frame_targets(world, it, cfg.frames) for it in items])),
        "clip_targets": torch.from_numpy(np.stack([np.stack([_clip_targets(world, it, False),
                                                             _clip_targets(world, it, True)]) for it in items])),
        "identity": torch.tensor([int(it["identity"]) if world == "faces" else -1 for it in items]),
        "action": torch.tensor([int(it["label"]) if world == "actions" else -1 for it in items]),
    }


def _columns(table: dict, slices: dict, world: str, width: int) -> torch.Tensor:
    mask = torch.zeros(width, dtype=torch.bool)
    for name, (w, _) in table.items():
        if w == world:
            mask[slices[name]] = True
    return mask


def frame_columns(world: str) -> torch.Tensor:
    return _columns(FRAME_TARGETS, FRAME_SLICES, world, FRAME_TARGET_DIM)


def clip_columns(world: str) -> torch.Tensor:
    return _columns(CLIP_TARGETS, CLIP_SLICES, world, CLIP_TARGET_DIM)


def permutation(frames: int, kind: int, generator: torch.Generator) -> torch.Tensor:
    """Frame order of transform ``kind``: 0 original, 1 reversed, 2 a random non-identity permutation."""
    if kind == 0:
        return torch.arange(frames)
    if kind == 1:
        return torch.arange(frames - 1, -1, -1)
    while True:
        perm = torch.randperm(frames, generator=generator)
        if not torch.equal(perm, torch.arange(frames)):
            return perm


def make_batch(sets: dict[str, dict], picks: dict[str, list[int]], kinds: dict[str, list[int]],
               generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Stack the picked clips of every world, reordered by their transform, with targets and masks."""
    rows = {k: [] for k in ("video", "frame_targets", "frame_mask", "clip_targets", "clip_mask", "identity",
                            "action", "order")}
    for world, idx in picks.items():
        src = sets[world]
        fcols, ccols = frame_columns(world), clip_columns(world)
        for i, kind in zip(idx, kinds[world]):
            perm = permutation(src["video"].shape[1], kind, generator)
            rows["video"].append(src["video"][i][perm].float())
            rows["frame_targets"].append(src["frame_targets"][i][perm])
            rows["frame_mask"].append(fcols)
            rows["clip_targets"].append(src["clip_targets"][i][min(kind, 1)])
            rows["clip_mask"].append(ccols & (kind != 2))                   # motion is undefined when shuffled
            rows["identity"].append(src["identity"][i])
            rows["action"].append(src["action"][i] if kind != 2 else torch.tensor(-1))
            # reversible worlds: a reversed clip is another valid clip of the world
            rows["order"].append(torch.tensor(kind if (world in IRREVERSIBLE or kind != 1) else 0))
    return {k: torch.stack(v) for k, v in rows.items()}


class Batches:
    """``batches(step)``: ``batch_per_world`` clips of each world, order transforms seeded by the step."""

    def __init__(self, sets: dict[str, dict], cfg: SynVideoConfig):
        self.sets, self.cfg = sets, cfg

    def _order(self, w: int, epoch: int, n: int) -> torch.Tensor:
        return torch.randperm(n, generator=torch.Generator().manual_seed(self.cfg.seed * 7919 + 31 * w + epoch))

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + step)
        picks, kinds = {}, {}
        b = self.cfg.batch_per_world
        for w, world in enumerate(WORLDS):
            n = self.sets[world]["video"].shape[0]
            positions = range(step * b, (step + 1) * b)
            picks[world] = [int(self._order(w, p // n, n)[p % n]) for p in positions]
            u = torch.rand(b, generator=g)
            kinds[world] = [0 if x < 0.4 else (1 if x < 0.7 else 2) for x in u.tolist()]
        return make_batch(self.sets, picks, kinds, g)


# ------------------------------------------------------------------------------------------------ loss

ORDER_WEIGHT = 2.0        # the arrow of time of pushing is subtle at 32 x 32: its head weighs twice

def thumbnail(model: SynVideo, video: torch.Tensor) -> torch.Tensor:
    """The standardised 4x4 colour thumbnail of every frame: ``[B, T, 3, H, W] -> [B, T, 48]``."""
    b, t = video.shape[:2]
    x = (video - model.rgb_mean.view(1, 1, 3, 1, 1)) / model.rgb_std.view(1, 1, 3, 1, 1)
    return F.adaptive_avg_pool2d(x.flatten(0, 1), THUMB).reshape(b, t, -1)   # [B, T, 3 * 4 * 4]


def _masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(pred.dtype)
    return ((pred - target) ** 2 * mask).sum() / mask.sum().clamp(min=1)


def loss_fn(model: SynVideo, batch: dict[str, torch.Tensor]):
    """Sum of the heads' losses (regressions on standardised targets): ``(loss, logged terms)``."""
    net = getattr(model, "module", model)                                # under DDP the buffers sit on .module
    out = model(batch["video"])
    t = batch["video"].shape[1]
    thumb = F.mse_loss(out["thumb"], thumbnail(net, batch["video"]))
    ft = (batch["frame_targets"] - net.frame_target_mean) / net.frame_target_std     # [B, T, F]
    frame = _masked_mse(out["frame_targets"], ft, batch["frame_mask"][:, None].expand_as(ft))
    ct = (batch["clip_targets"] - net.clip_target_mean) / net.clip_target_std         # [B, C]
    clip = _masked_mse(out["clip_targets"], ct, batch["clip_mask"])
    zero = out["order"].sum() * 0
    faces = batch["identity"] >= 0
    identity = (F.cross_entropy(out["identity"][faces].flatten(0, 1), batch["identity"][faces].repeat_interleave(t))
                if faces.any() else zero)
    labelled = batch["action"] >= 0
    action = F.cross_entropy(out["action"][labelled], batch["action"][labelled]) if labelled.any() else zero
    order = F.cross_entropy(out["order"], batch["order"])
    loss = thumb + frame + 0.5 * identity + clip + action + ORDER_WEIGHT * order
    logs = {"thumb": thumb, "frame": frame, "identity": identity, "clip": clip, "action": action, "order": order}
    return loss, {k: v.detach() for k, v in logs.items()}


# ------------------------------------------------------------------------------------------------ statistics

def set_input_statistics(model: SynVideo, sets: dict[str, dict]) -> None:
    """Fixed input and target standardisation from the training clips (every world weighs the same)."""
    means, sq, dsq = [], [], []
    for s in sets.values():
        v = s["video"][:256].float()                                          # [n, T, 3, H, W]
        means.append(v.mean(dim=(0, 1, 3, 4)))
        sq.append(v.pow(2).mean(dim=(0, 1, 3, 4)))
        dsq.append((v[:, 1:] - v[:, :-1]).pow(2).mean(dim=(0, 1, 3, 4)))
    mean = torch.stack(means).mean(0)
    model.rgb_mean.copy_(mean)
    model.rgb_std.copy_((torch.stack(sq).mean(0) - mean ** 2).sqrt())
    model.diff_std.copy_(torch.stack(dsq).mean(0).sqrt())
    for key, width, buf_mean, buf_std, cols in (
            ("frame_targets", FRAME_TARGET_DIM, model.frame_target_mean, model.frame_target_std, frame_columns),
            ("clip_targets", CLIP_TARGET_DIM, model.clip_target_mean, model.clip_target_std, clip_columns)):
        m, sd = torch.zeros(width), torch.ones(width)
        for world, s in sets.items():
            c = cols(world)
            if c.any():
                x = s[key].reshape(-1, width)[:, c].double()                  # every row of this world
                m[c] = x.mean(0).float()
                sd[c] = x.std(0).clamp(min=1e-6).float()
        buf_mean.copy_(m)
        buf_std.copy_(sd)


@torch.no_grad()
def _outputs(model: SynVideo, video: torch.Tensor, batch_size: int = 64) -> dict[str, torch.Tensor]:
    model.eval()
    outs = [model(video[i:i + batch_size].float()) for i in range(0, video.shape[0], batch_size)]
    return {k: torch.cat([o[k] for o in outs]) for k in outs[0]}


@torch.no_grad()
def set_feature_scales(model: SynVideo, sets: dict[str, dict], n: int = 256) -> None:
    """Scale each feature block to unit mean variance per dimension on training clips of every world."""
    model.feature_scale.fill_(1.0)
    outs = [_outputs(model, s["video"][:n]) for s in sets.values()]
    fd = model.cfg.frame_dim
    video = torch.cat([o["video_features"] for o in outs]).double()          # [5n, clip_dim + frame_dim]
    frames = torch.cat([o["frame_features"].flatten(0, 1) for o in outs]).double()   # [5nT, frame_dim]
    s_m = video[:, :-fd].var(0).mean().rsqrt()
    s_a = video[:, -fd:].var(0).mean().rsqrt()
    s_f = frames.var(0).mean().rsqrt()
    model.feature_scale.copy_(torch.stack([s_m, s_a, s_f]).float())


def _r2(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Coefficient of determination, averaged over target columns: ``1 - SSE / SST``."""
    pred, target = pred.double(), target.double()
    sse = ((pred - target) ** 2).sum(0)
    sst = ((target - target.mean(0)) ** 2).sum(0).clamp(min=1e-12)
    return float((1 - sse / sst).mean())


@torch.no_grad()
def held_out_report(model: SynVideo, held: dict[str, dict], seed: int = 1) -> dict:
    """Held-out accuracy per head and world, and the effective dimension of the features per world.

    Regression heads: R^2 (1 = perfect, 0 = predicting the mean). Classification heads: top-1 accuracy beside
    chance. Order: ``shuffle_acc`` tells shuffled from original clips (chance 0.5); ``forward_reversed_acc``
    (irreversible worlds) tells an original clip from the same clip reversed (chance 0.5).
    """
    report: dict = {"heads": {}, "effective_dimension": {}, "chance": {}}
    heads, dims = report["heads"], report["effective_dimension"]
    g = torch.Generator().manual_seed(seed)
    for world, s in held.items():
        video = s["video"]
        t = video.shape[1]
        out = _outputs(model, video)
        r = heads.setdefault(world, {})
        r["thumbnail_r2"] = _r2(out["thumb"].flatten(0, 1), thumbnail(model, video.float()).flatten(0, 1))
        ft = (s["frame_targets"] - model.frame_target_mean) / model.frame_target_std
        for name, (w, _) in FRAME_TARGETS.items():
            if w == world:
                sl = FRAME_SLICES[name]
                r[f"{name}_r2"] = _r2(out["frame_targets"][..., sl].flatten(0, 1), ft[..., sl].flatten(0, 1))
        ct = (s["clip_targets"][:, 0] - model.clip_target_mean) / model.clip_target_std
        for name, (w, _) in CLIP_TARGETS.items():
            if w == world:
                sl = CLIP_SLICES[name]
                r[f"{name}_r2"] = _r2(out["clip_targets"][:, sl], ct[:, sl])
        if world == "sky":
            pred = out["clip_targets"][:, CLIP_SLICES["sky_motion"]] * model.clip_target_std[:3] \
                + model.clip_target_mean[:3]
            true = s["clip_targets"][:, 0, :3]
            err = torch.atan2(pred[:, 1], pred[:, 0]) - torch.atan2(true[:, 1], true[:, 0])
            err = torch.remainder(err + math.pi, 2 * math.pi) - math.pi
            r["sky_direction_acc_22.5deg"] = float((err.abs() < math.pi / 8).double().mean())
            report["chance"]["sky_direction_acc_22.5deg"] = 0.125
        if world == "faces":
            r["identity_acc"] = float((out["identity"].mean(1).argmax(1) == s["identity"]).double().mean())
            report["chance"]["identity_acc"] = 1 / model.cfg.face_identities
        if world == "actions":
            r["action_acc"] = float((out["action"].argmax(1) == s["action"]).double().mean())
            report["chance"]["action_acc"] = 1 / 12
        shuffled = torch.stack([v[permutation(t, 2, g)] for v in video])
        o_sh = _outputs(model, shuffled)["order"]
        shuffled_id = ORDER_NAMES.index("shuffled")
        r["shuffle_acc"] = 0.5 * float((out["order"].argmax(1) != shuffled_id).double().mean()
                                       + (o_sh.argmax(1) == shuffled_id).double().mean())
        if world in IRREVERSIBLE:
            o_rev = _outputs(model, video.flip(1))["order"]
            r["forward_reversed_acc"] = 0.5 * float((out["order"][:, 0] > out["order"][:, 1]).double().mean()
                                                    + (o_rev[:, 1] > o_rev[:, 0]).double().mean())
        dims[world] = {"video": effective_dimension(out["video_features"]),
                       "frame": effective_dimension(out["frame_features"].flatten(0, 1))}
    report["chance"].update({"shuffle_acc": 0.5, "forward_reversed_acc": 0.5, "r2": 0.0})
    return report


# ------------------------------------------------------------------------------------------------ train

def load_sets(cfg: SynVideoConfig, progress: bool = True) -> tuple[dict, dict]:
    """Training clips (train split) and held-out clips of every world."""
    train, held = {}, {}
    for world in WORLDS:
        t0 = time.perf_counter()
        train[world] = world_clips(world, "train", cfg, cfg.n_train)
        if world == "faces":                 # the identity head knows the train split's identities only
            held[world] = world_clips(world, "train", cfg, cfg.n_test, start=cfg.n_train)
        else:
            held[world] = world_clips(world, "test", cfg, cfg.n_test)
        if progress:
            print(f"  {world}: {cfg.n_train} + {cfg.n_test} clips in {time.perf_counter() - t0:.1f} s", flush=True)
    return train, held


def train(cfg: SynVideoConfig, run_dir: str | Path, *, progress: bool = True,
          device: torch.device | str | None = None) -> tuple[SynVideo, dict]:
    """Train with ``vidsynth_lite.train.fit`` (checkpointed in ``run_dir``, resumable); returns the model in eval
    mode with its feature scales set, and the report (held-out heads, effective dimensions, time)."""
    from vidsynth_lite import runtime
    from vidsynth_lite.train import fit, read_log
    began = time.perf_counter()
    runtime.seed_everything(cfg.seed)
    train_sets, held = load_sets(cfg, progress)
    data_s = time.perf_counter() - began
    model = SynVideo(cfg)
    set_input_statistics(model, train_sets)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

    def schedule(step: int) -> float:                                         # linear warm-up, cosine decay
        if step < cfg.warmup:
            return (step + 1) / cfg.warmup
        return 0.5 * (1 + math.cos(math.pi * (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    dev = torch.device(device) if device is not None else torch.device("cpu")
    result = fit(model, loss_fn, Batches(train_sets, cfg), steps=cfg.steps, optimizer=opt, run_dir=run_dir,
                 scheduler=sched, grad_clip=5.0, ckpt_every=max(1, min(200, cfg.steps)),
                 log_every=max(1, min(20, cfg.steps)), config=dataclasses.asdict(cfg), device=dev,
                 desc="SynVideo", progress=progress)
    model = result.model.cpu().eval()
    set_feature_scales(model, train_sets)
    report = held_out_report(model, held)
    report.update({"config": dataclasses.asdict(cfg), "train_seconds": round(time.perf_counter() - began, 1),
                   "data_seconds": round(data_s, 1), "threads": torch.get_num_threads(),
                   "train_device": dev.type, "parameters": sum(p.numel() for p in model.parameters()),
                   "log": read_log(run_dir), "weights_hash": weights_hash(model)})
    model.requires_grad_(False)
    return model, report


def reference_number(model: SynVideo, n: int = 32) -> dict:
    """One recorded number the shipped file must reproduce: FVD-syn between pushbot test clips 0..n and n..2n."""
    from vidsynth_lite import data
    from vidsynth_lite.metrics.frechet import frechet_distance_from_features
    cfg = model.cfg
    ds = data.load("pushbot", "test", frames=cfg.frames, size=cfg.size, seed=0, length=2 * n)
    v = torch.stack([ds[i]["video"] for i in range(2 * n)])
    f = _outputs(model, v)["video_features"].double()
    return {"what": f"FVD-syn, pushbot test clips 0..{n} vs {n}..{2 * n} (seed 0, {cfg.frames}x{cfg.size}x"
                    f"{cfg.size})", "n": n, "value": frechet_distance_from_features(f[:n], f[n:])}


def train_and_save(cfg: SynVideoConfig, path: str | Path, *, profile: str = "custom", progress: bool = True,
                   device: torch.device | str | None = None, command: str | None = None) -> dict:
    """Train (resumably, under ``runs/``), then write the weights and the report atomically to ``path``."""
    from vidsynth_lite import paths
    from vidsynth_lite.io import save_weights
    from vidsynth_lite.metrics.syn_video import config_key
    run_dir = paths.runs_dir() / f"syn_video-{config_key(cfg)}"
    commit = _commit()                                  # the code that trains, read before training starts
    model, report = train(cfg, run_dir, progress=progress, device=device)
    report.update({"profile": profile, "reference": reference_number(model), "commit": commit,
                   "command": command or f"python -m vidsynth_lite.metrics.syn_video_train --profile {profile} "
                                         f"--out {path}"})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_weights(path, model, config=dataclasses.asdict(cfg), step=cfg.steps, extra=report)
    return report


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", ":/vidsynth_lite"], capture_output=True, check=False,
                               text=True, cwd=Path(__file__).resolve().parent).stdout.strip()
        return out.stdout.strip() + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def main(argv=None) -> dict:
    from vidsynth_lite import runtime
    from vidsynth_lite.io import atomic
    from vidsynth_lite.metrics.syn_video import config
    p = argparse.ArgumentParser(description="Train SynVideo and write its weights and report.")
    p.add_argument("--profile", default="lite", help="configs/metrics/syn_video/<profile>.yaml")
    p.add_argument("--out", required=True, help="weights file (.safetensors); the report goes beside it (.json)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    runtime.set_threads(args.threads)
    cfg = config(args.profile)
    command = (f"python -m vidsynth_lite.metrics.syn_video_train --profile {args.profile} --out {args.out}"
               + (f" --threads {args.threads}" if args.threads else ""))
    report = train_and_save(cfg, args.out, profile=args.profile, device=args.device, command=command)
    summary = {k: v for k, v in report.items() if k != "log"}
    summary["log"] = report["log"][-3:]
    atomic.write_text(Path(args.out).with_suffix(".json"), json.dumps(summary, indent=1, sort_keys=True) + "\n")
    print(json.dumps({k: summary[k] for k in ("heads", "effective_dimension", "train_seconds", "reference")},
                     indent=1))
    return report


if __name__ == "__main__":
    main()
