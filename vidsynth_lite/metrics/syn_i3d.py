"""SynI3D: a small inflated 3D CNN trained in the book on the synthetic worlds, used as an in-domain feature network.

Why: the Kinetics-400 I3D has never seen our worlds (its features for drifting clouds are a few "sky" logits), so
FVD on it is blunt in-domain. Like the cINN paper's DTFVD (an I3D trained on DTDB), SynI3D is trained on the
domain, with heads that cannot be solved from a single frame, so its features must see motion:

- ``sky`` clips: regress the cloud motion direction (as ``(cos d, sin d)``) and speed;
- ``actions`` clips: classify the action (12 classes); its softmax gives ``IS-syn``;
- every clip is shown in original, reversed or shuffled frame order and a head classifies which (a reversed
  ``sky`` clip moves the other way: its direction label is ``d + pi``).

Architecture: "inflated" 3x3x3 convolutions throughout (I3D's 3D kernels, at toy width). I3D is two-stream
(RGB and optical flow); our cheap second stream is the temporal difference ``x_t - x_{t-1}`` (times 8, the first
one zero), stacked with RGB as 6 input channels, because the clouds' motion (a fraction of a pixel per frame at
32 x 32) is otherwise too faint for a small net to pick up in minutes. Then a stem that halves space, three stride-2 stages with GroupNorm (so a clip's features never depend on the rest of its batch), global
average pooling to a ``8 * width``-d feature (the FVD-syn feature), and four linear heads.

Training uses the package's loop (``vidsynth_lite.train.fit``: checkpointed under ``runs/``, resumable), seeded and
deterministic on the CPU (fixed data items; each step's batch and order transforms are a function of the step);
the weights are cached under ``cache_dir()/syn_i3d/<hash>.safetensors`` where the hash covers the training
config, this file's source, the data package's world sources and the package version. ``load_or_train(...)``
is what chapters call. Scores on it are named ``FVD-syn``, ``KVD-syn``, ``IS-syn``, ``DIV-syn`` and are never
compared with the papers' FVD.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.metrics.preprocess import batched_outputs

ORDER_NAMES = ("original", "reversed", "shuffled")
DIFF_GAIN = 8.0
SPEED_MEAN, SPEED_STD = 0.018, 0.007      # sky world: speed ~ U(0.006, 0.03) image widths per frame


@dataclasses.dataclass(frozen=True)
class SynI3DConfig:
    """Everything that determines the trained weights (the cache key hashes it). Values per profile live in
    ``configs/metrics/syn_i3d/<profile>.yaml`` (read by :func:`resolve_config`)."""

    size: int                 # square resolution of the training clips
    frames: int               # clip length
    width: int                # channels of the first stage (feature dim = 8 * width)
    n_train: int              # training clips per world
    n_test: int               # held-out clips per world (test split)
    steps: int
    batch_size: int           # half sky, half actions
    lr: float
    seed: int

    @property
    def feature_dim(self) -> int:
        return 8 * self.width


class _Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, 3, stride, 1, bias=False)
        self.norm1 = nn.GroupNorm(4, cout)
        self.conv2 = nn.Conv3d(cout, cout, 3, 1, 1, bias=False)
        self.norm2 = nn.GroupNorm(4, cout)
        self.skip = nn.Conv3d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        h = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(h)) + self.skip(x))


class SynI3D(nn.Module):
    """``forward(x [B, T, 3, H, W] in [-1, 1]) -> dict(features, direction, speed, action, order)``."""

    def __init__(self, width: int = 16, n_actions: int = 12):
        super().__init__()
        w = width
        self.stem = nn.Sequential(nn.Conv3d(6, w, (3, 3, 3), (1, 2, 2), 1, bias=False), nn.GroupNorm(4, w),
                                  nn.ReLU())
        self.stages = nn.Sequential(_Block(w, 2 * w, (2, 2, 2)), _Block(2 * w, 4 * w, (2, 2, 2)),
                                    _Block(4 * w, 8 * w, (2, 2, 2)))
        self.direction = nn.Linear(8 * w, 2)       # (cos d, sin d)
        self.speed = nn.Linear(8 * w, 1)           # standardised speed
        self.action = nn.Linear(8 * w, n_actions)
        self.order = nn.Linear(8 * w, len(ORDER_NAMES))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5 or x.shape[2] != 3:
            raise ValueError(f"SynI3D expects [B, T, 3, H, W], got {tuple(x.shape)}")
        diff = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], 1)  # [B, T, 3, H, W]
        x = torch.cat([x, DIFF_GAIN * diff], 2)                  # RGB + difference stream: [B, T, 6, H, W]
        h = self.stages(self.stem(x.transpose(1, 2)))          # [B, 8w, T/8, H/16, W/16]
        return h.mean(dim=(2, 3, 4))                            # global average pool: [B, 8w]

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.features(x)
        return {"features": f, "direction": self.direction(f), "speed": self.speed(f).squeeze(-1),
                "action": self.action(f), "order": self.order(f)}


# ------------------------------------------------------------------------------------------------ data

def reorder(video: torch.Tensor, kind: int, generator: torch.Generator) -> torch.Tensor:
    """Apply order transform ``kind`` (0 original, 1 reversed, 2 shuffled: a random non-identity permutation)."""
    t = video.shape[0]
    if kind == 0:
        return video
    if kind == 1:
        return video.flip(0)
    while True:
        perm = torch.randperm(t, generator=generator)
        if not torch.equal(perm, torch.arange(t)):
            return video[perm]


def _world_tensors(name: str, split: str, n: int, cfg: SynI3DConfig) -> dict[str, torch.Tensor]:
    from vidsynth_lite import data
    ds = data.load(name, split, frames=cfg.frames, size=cfg.size, seed=cfg.seed, length=n)
    items = [ds[i] for i in range(n)]
    out = {"video": torch.stack([it["video"] for it in items])}              # [N, T, 3, H, W]
    if name == "sky":
        out["direction"] = torch.tensor([float(it["direction"]) for it in items])
        out["speed"] = torch.tensor([float(it["speed"]) for it in items])
    else:
        out["label"] = torch.tensor([int(it["label"]) for it in items])
    return out


def _make_batch(sky, act, idx_s, idx_a, g: torch.Generator):
    """Videos ``[B, T, 3, H, W]`` with order transforms and masked targets for every head."""
    vids, order, cos_sin, speed, sky_mask, label, act_mask = [], [], [], [], [], [], []
    for src, idx, is_sky in ((sky, idx_s, True), (act, idx_a, False)):
        for i in idx.tolist():
            kind = int(torch.randint(0, 3, (1,), generator=g))
            vids.append(reorder(src["video"][i], kind, g))
            order.append(kind)
            if is_sky:
                d = float(src["direction"][i]) + (math.pi if kind == 1 else 0.0)
                cos_sin.append([math.cos(d), math.sin(d)])
                speed.append((float(src["speed"][i]) - SPEED_MEAN) / SPEED_STD)
                sky_mask.append(kind != 2)                      # direction is defined for non-shuffled clips
                label.append(0)
                act_mask.append(False)
            else:
                cos_sin.append([0.0, 0.0])
                speed.append(0.0)
                sky_mask.append(False)
                label.append(int(src["label"][i]))
                act_mask.append(kind == 0)                      # the action is labelled on original order
    return (torch.stack(vids), torch.tensor(order), torch.tensor(cos_sin), torch.tensor(speed),
            torch.tensor(sky_mask), torch.tensor(label), torch.tensor(act_mask))


def _losses(out, order, cos_sin, speed, sky_mask, label, act_mask):
    loss_order = F.cross_entropy(out["order"], order)
    zero = out["order"].sum() * 0
    loss_dir = F.mse_loss(out["direction"][sky_mask], cos_sin[sky_mask]) if sky_mask.any() else zero
    loss_speed = F.mse_loss(out["speed"][sky_mask], speed[sky_mask]) if sky_mask.any() else zero
    loss_act = F.cross_entropy(out["action"][act_mask], label[act_mask]) if act_mask.any() else zero
    return loss_order + loss_dir + 0.5 * loss_speed + loss_act


# ------------------------------------------------------------------------------------------------ train / eval

@torch.no_grad()
def evaluate(model: SynI3D, sky, act, seed: int = 1, batch_size: int = 32,
             device: torch.device | str = "cpu") -> dict[str, float]:
    """Held-out accuracy per head (a fixed, seeded order transform per clip).

    direction: angular error < 22.5 deg (original/reversed sky clips); speed: relative error < 25 %;
    action: top-1 over 12 classes; order: 3-way (original / reversed / shuffled) on both worlds.
    """
    model.eval()
    g = torch.Generator().manual_seed(seed)
    b = _make_batch(sky, act, torch.arange(sky["video"].shape[0]), torch.arange(act["video"].shape[0]), g)
    vids, order, cos_sin, speed, sky_mask, label, act_mask = b
    outs = [model(vids[i:i + batch_size].to(device)) for i in range(0, vids.shape[0], batch_size)]
    out = {k: torch.cat([o[k].float().cpu() for o in outs]) for k in outs[0]}
    ang_pred = torch.atan2(out["direction"][:, 1], out["direction"][:, 0])
    ang_true = torch.atan2(cos_sin[:, 1], cos_sin[:, 0])
    err = torch.remainder(ang_pred - ang_true + math.pi, 2 * math.pi) - math.pi
    sp_pred = out["speed"] * SPEED_STD + SPEED_MEAN
    sp_true = speed * SPEED_STD + SPEED_MEAN
    return {
        "direction_acc_22.5deg": float((err.abs()[sky_mask] < math.pi / 8).float().mean()),
        "speed_acc_25pct": float(((sp_pred - sp_true).abs() / sp_true < 0.25)[sky_mask].float().mean()),
        "action_acc": float((out["action"].argmax(1) == label)[act_mask].float().mean()),
        "order_acc": float((out["order"].argmax(1) == order).float().mean()),
        "chance": {"direction": 0.125, "speed": "~0.3", "action": 1 / 12, "order": 1 / 3},
    }


class _Batches:
    """``batches(step)``: half ``sky``, half ``actions`` clips, order transforms seeded by the step (exact resume)."""

    def __init__(self, sky, act, cfg: SynI3DConfig):
        self.sky, self.act, self.cfg = sky, act, cfg

    def __call__(self, step: int):
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + step)
        half = self.cfg.batch_size // 2
        idx_s = torch.randint(0, self.cfg.n_train, (half,), generator=g)
        idx_a = torch.randint(0, self.cfg.n_train, (half,), generator=g)
        return _make_batch(self.sky, self.act, idx_s, idx_a, g)


def _loss_fn(model, batch):
    return _losses(model(batch[0]), *batch[1:])


def train(cfg: SynI3DConfig, progress: bool = True, device: torch.device | str = "cpu",
          run_dir: str | Path | None = None) -> tuple[SynI3D, dict]:
    """Train with the package's loop (``vidsynth_lite.train.fit``: checkpointed in ``run_dir``, resumable);
    returns the model in eval mode and a report with the held-out accuracy per head."""
    import tempfile

    from vidsynth_lite.train import fit, read_log
    t0 = time.perf_counter()
    sky = _world_tensors("sky", "train", cfg.n_train, cfg)
    act = _world_tensors("actions", "train", cfg.n_train, cfg)
    t_data = time.perf_counter() - t0
    torch.manual_seed(cfg.seed)
    model = SynI3D(cfg.width)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = None                               # tiny runs (tests, smoke: < 10 steps) keep a constant rate
    if cfg.steps >= 10:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(run_dir) if run_dir is not None else Path(tmp)
        result = fit(model, _loss_fn, _Batches(sky, act, cfg), steps=cfg.steps, optimizer=opt, run_dir=folder,
                     scheduler=sched, ckpt_every=max(1, min(200, cfg.steps)), log_every=1,
                     config=dataclasses.asdict(cfg), device=torch.device(device), desc="SynI3D", progress=progress)
        losses = [r["loss"] for r in read_log(folder)]
    model = result.model
    t_train = time.perf_counter() - t0 - t_data
    sky_t = _world_tensors("sky", "test", cfg.n_test, cfg)
    act_t = _world_tensors("actions", "test", cfg.n_test, cfg)
    report = {"held_out": evaluate(model, sky_t, act_t, device=device), "train_seconds": round(t_train, 1),
              "data_seconds": round(t_data, 1), "final_loss": sum(losses[-20:]) / len(losses[-20:]),
              "threads": torch.get_num_threads()}
    model.eval()
    return model, report


def code_version() -> str:
    """Hash of the code that defines the weights: this file, the worlds' sources, the package version."""
    import vidsynth_lite
    from vidsynth_lite import data
    h = hashlib.sha256(inspect.getsource(inspect.getmodule(SynI3D)).encode())
    for name in ("sky", "actions"):
        h.update(inspect.getsource(inspect.getmodule(data.WORLDS[name])).encode())
    h.update(inspect.getsource(inspect.getmodule(data.WORLDS["sky"].__mro__[1])).encode())  # World base
    h.update(vidsynth_lite.__version__.encode())
    return h.hexdigest()


def config_hash(cfg: SynI3DConfig, train_device: str = "cpu") -> str:
    """16 hex digits of SHA-256 over the config, :func:`code_version` and (if not the CPU) the training device."""
    key = {"config": dataclasses.asdict(cfg), "code": code_version()}
    if train_device != "cpu":
        key["train_device"] = train_device
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def cache_path(cfg: SynI3DConfig, train_device: str = "cpu") -> Path:
    from vidsynth_lite import paths
    return paths.cache_dir() / "syn_i3d" / f"{config_hash(cfg, train_device)}.safetensors"


def resolve_config(profile: str = "lite", **overrides) -> SynI3DConfig:
    """The config of ``profile`` from ``configs/metrics/syn_i3d/<profile>.yaml``, with ``overrides``."""
    from vidsynth_lite.metrics.network_profiles import network_profile
    return network_profile(SynI3DConfig, "syn_i3d", profile, **overrides)


_LOADED: dict[str, tuple[SynI3D, dict]] = {}


def load_or_train(profile: str = "lite", *, size: int | None = None, frames: int | None = None,
                  seed: int | None = None, retrain: bool = False, progress: bool = True,
                  return_report: bool = False, train_device: torch.device | str | None = None, **overrides):
    """The SynI3D for ``(profile, size, frames, seed)``: loaded from the cache, or trained once and cached.

    Other chapters call ``load_or_train(profile, size=..., frames=...)`` to get the feature network that
    matches their clips. With ``return_report=True`` returns ``(model, report)`` where the report holds the
    config, its hash, the held-out accuracy per head and the training time. ``train_device`` (default: the
    CPU, single-threaded, bit-repeatable) lets ``full`` runs train on a GPU; the model is returned on the CPU.
    """
    from vidsynth_lite.io import load_weights, save_weights
    cfg = resolve_config(profile, size=size, frames=frames, seed=seed, **overrides)
    dev_type = torch.device(train_device or "cpu").type
    path = cache_path(cfg, dev_type)
    key = str(path)
    if not retrain and key in _LOADED:
        model, report = _LOADED[key]
    elif not retrain and path.is_file():
        state, meta = load_weights(path)
        model = SynI3D(cfg.width)
        model.load_state_dict(state)
        model.eval().requires_grad_(False)
        report = meta["extra"]
    else:
        from vidsynth_lite import paths
        model, report = train(cfg, progress=progress, device=train_device or "cpu",
                              run_dir=paths.runs_dir() / f"syn_i3d-{config_hash(cfg, dev_type)}")
        model = model.cpu()
        report = {**report, "config": dataclasses.asdict(cfg), "hash": config_hash(cfg, dev_type),
                  "profile": profile, "train_device": dev_type}
        path.parent.mkdir(parents=True, exist_ok=True)
        save_weights(path, model, config=dataclasses.asdict(cfg), step=cfg.steps, extra=report)
        model.requires_grad_(False)
    model.cfg = cfg
    model.hash = config_hash(cfg, dev_type)
    _LOADED[key] = (model, report)
    return (model, report) if return_report else model


class SynI3DFeatures:
    """Feature network wrapper: ``[N, T, 3, H, W]`` in [-1, 1] -> SynI3D pooled features ``[N, 8 * width]``.

    Clips at another resolution are resized (bilinear, antialiased) to the training size; that is stated in the
    protocol's ``preprocessing``.
    """

    name = "syn-i3d"

    def __init__(self, model: SynI3D, device: torch.device | str = "cpu", batch_size: int = 32):
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.size = model.cfg.size
        self.dim = model.cfg.feature_dim
        self.hash = model.hash
        self.preprocessing = (f"values in [-1, 1], resized to {self.size}x{self.size} if needed "
                              f"(bilinear, antialias), trained on {model.cfg.frames}-frame clips; "
                              f"features: global-average-pooled {self.dim}-d")

    def outputs(self, videos: torch.Tensor) -> dict[str, torch.Tensor]:
        return batched_outputs(self.model, videos, size=self.size, batch_size=self.batch_size, device=self.device)

    def __call__(self, videos: torch.Tensor) -> torch.Tensor:
        return self.outputs(videos)["features"]

    def probs(self, videos: torch.Tensor) -> torch.Tensor:
        """Action-class softmax (for ``IS-syn``)."""
        return self.outputs(videos)["action"].softmax(-1)
