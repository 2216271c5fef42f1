"""SynVideo: the book's feature network for video metrics; it sees appearance, motion and time.

Why a second network after SynI3D (issue 15): SynI3D, trained on ``sky`` and ``actions`` only with a difference
stream multiplied by 8, scored noise constant over time, a colour shift and a blur at its real-vs-real floor,
could not tell forward from reversed, and had about 4 effective feature dimensions on ``pushbot``. SynVideo is
trained on every world the chapters evaluate (``pushbot``, ``sky``, ``actions``, ``drums``, ``faces``) with
targets that need

- **appearance** ("what is where"), from each frame alone: a 4x4 colour thumbnail of the frame (every world), the
  gripper and object positions (``pushbot``), the actor's position (``actions``), the expression (``faces``),
  which drum glows (``drums``), the face's identity (``faces``);
- **motion** ("how things move"), from the clip: cloud direction and speed (``sky``), the gripper's displacement
  and how far the objects travel (``pushbot``), the camera pan (``actions``), the strikes per instrument
  (``drums``), how much the face moves (``faces``), the action class (``actions``);
- **time** ("which way time runs"): original / reversed / shuffled frame order. Pushing and drumming are not
  reversible, so there "reversed" is a class of its own; in the reversible worlds (drifting clouds, most actions,
  faces) a reversed clip is another valid clip and is labelled "original" (its motion targets follow the new
  order: a reversed sky clip moves the other way).

Architecture (one forward pass, read top to bottom in :meth:`SynVideo.forward`):

1. inputs are standardised with fixed statistics of the training clips: each RGB channel by its mean and standard
   deviation, the temporal difference ``x_t - x_{t-1}`` by the standard deviation of the differences (the
   difference stream is *normalised*, not multiplied by a gain);
2. an **appearance stream**: a 2D CNN applied to every frame alone (stride 2, 2, 1, 2 to 4x4), then a linear
   layer over the 4x4 map (so the feature keeps *where*): the per-frame feature ``a_t`` (``frame_dim``);
3. a **motion stream**: a 2D CNN on each frame's ``[x_t, d_t]`` to an 8x8 map;
4. a **temporal trunk**: the two 8x8 maps concatenated and processed by (2+1)D and 3D convolutions that stride
   over time, globally average pooled: the clip feature ``m`` (``clip_dim``);
5. the **video feature** (FVD-syn, KVD-syn) is ``[m, mean_t a_t]``, each block scaled by one number fitted
   after training so that both blocks have unit mean variance per dimension on the training clips (motion and
   appearance weigh the same in a Frechet distance); the **frame feature** (FID-syn) is ``a_t``, scaled alike.

Batch norm everywhere, so a clip's features (eval mode) never depend on the rest of its batch. Linear heads on
``[m, mean_t a_t]`` (clip targets) and on ``a_t`` (frame targets) force the features to carry each target
linearly, which is what a Gaussian (Frechet) comparison can see.

Training (:mod:`vidsynth_lite.metrics.syn_video_train`) uses the package's loop ``vidsynth_lite.train.fit``.
A trained ``lite`` network ships with the package (``metrics/weights/syn_video.safetensors``, with the command,
commit and held-out numbers beside it in ``syn_video.json``); :func:`load` returns it, or trains and caches another
profile. Scores on it are named ``FVD-syn``, ``KVD-syn``, ``FID-syn``, ``DIV-syn``; their protocol names the
network (``syn-video``) and its hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from vidsynth_lite.metrics.preprocess import batched_outputs

NAME = "syn-video"
WORLDS = ("pushbot", "sky", "actions", "drums", "faces")
IRREVERSIBLE = ("pushbot", "drums")          # worlds where "reversed" is its own order class
ORDER_NAMES = ("original", "reversed", "shuffled")
N_ACTIONS = 12
THUMB = 4                                    # the colour thumbnail is THUMB x THUMB x 3 per frame

# Per-frame regression targets (from a_t): name -> (world, width). Their columns are concatenated in this order.
FRAME_TARGETS = {"pushbot_where": ("pushbot", 9),    # gripper x, y, height; 3 object centres, left to right
                 "actions_where": ("actions", 2),    # actor centre (x, y)
                 "faces_expression": ("faces", 4),   # mouth, smile, blink, yaw
                 "drums_glow": ("drums", 5)}         # flash of each instrument (decays by half per frame)
# Clip regression targets (from the clip feature): name -> (world, width).
CLIP_TARGETS = {"sky_motion": ("sky", 3),            # cos, sin of the direction; speed
                "pushbot_motion": ("pushbot", 4),    # gripper displacement (x, y, height); object path length
                "actions_camera": ("actions", 2),    # camera displacement over the clip (x, y)
                "drums_strikes": ("drums", 5),       # strike velocity summed per instrument
                "faces_motion": ("faces", 4)}        # mean |change| per frame of each expression channel


def _slices(table: dict) -> dict[str, slice]:
    out, start = {}, 0
    for name, (_, width) in table.items():
        out[name] = slice(start, start + width)
        start += width
    return out


FRAME_SLICES, CLIP_SLICES = _slices(FRAME_TARGETS), _slices(CLIP_TARGETS)
FRAME_TARGET_DIM = sum(w for _, w in FRAME_TARGETS.values())
CLIP_TARGET_DIM = sum(w for _, w in CLIP_TARGETS.values())


@dataclasses.dataclass(frozen=True)
class SynVideoConfig:
    """Everything that determines the trained weights. Values live in ``configs/metrics/syn_video/<profile>.yaml``."""

    size: int                 # square resolution of the training clips
    frames: int               # clip length of the training clips
    width: int                # channels of the first convolution (the streams use width and 2 x width)
    frame_dim: int            # per-frame appearance feature (FID-syn)
    clip_dim: int             # temporal-trunk feature; the video feature has clip_dim + frame_dim dimensions
    n_train: int              # training clips per world
    n_test: int               # held-out clips per world
    face_identities: int      # identities of the faces world used in training (the identity head's classes)
    steps: int                # optimiser steps
    batch_per_world: int      # clips of each world in every batch
    lr: float                 # AdamW peak learning rate (linear warm-up, cosine decay)
    warmup: int               # warm-up steps
    weight_decay: float
    seed: int

    @property
    def feature_dim(self) -> int:
        return self.clip_dim + self.frame_dim


def _conv2d(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


def _conv3d(cin: int, cout: int, kernel, stride) -> nn.Sequential:
    pad = tuple(k // 2 for k in kernel)
    return nn.Sequential(nn.Conv3d(cin, cout, kernel, stride, pad, bias=False), nn.BatchNorm3d(cout), nn.ReLU())


class SynVideo(nn.Module):
    """``forward(x [B, T, 3, H, W] in [-1, 1]) -> dict`` of features and head outputs (see the module docstring)."""

    def __init__(self, cfg: SynVideoConfig):
        super().__init__()
        self.cfg = cfg
        w, fd, cd = cfg.width, cfg.frame_dim, cfg.clip_dim
        # fixed input statistics of the training clips (set by the trainer before training)
        self.register_buffer("rgb_mean", torch.zeros(3))
        self.register_buffer("rgb_std", torch.ones(3))
        self.register_buffer("diff_std", torch.ones(3))
        # one scale per feature block (set after training): video = [m * s0, mean a * s1], frame = a * s2
        self.register_buffer("feature_scale", torch.ones(3))
        # standardisation of the regression targets (set by the trainer)
        self.register_buffer("frame_target_mean", torch.zeros(FRAME_TARGET_DIM))
        self.register_buffer("frame_target_std", torch.ones(FRAME_TARGET_DIM))
        self.register_buffer("clip_target_mean", torch.zeros(CLIP_TARGET_DIM))
        self.register_buffer("clip_target_std", torch.ones(CLIP_TARGET_DIM))

        self.appearance = nn.Sequential(_conv2d(3, w, 2), _conv2d(w, 2 * w, 2), _conv2d(2 * w, 2 * w, 1))
        self.appearance_down = _conv2d(2 * w, 2 * w, 2)
        self.frame_fc = nn.Linear(2 * w * 16, fd)
        self.motion = nn.Sequential(_conv2d(6, w, 2), _conv2d(w, 2 * w, 2))
        self.temporal = nn.Sequential(
            _conv3d(4 * w, 4 * w, (1, 3, 3), (1, 2, 2)),       # space: 8x8 -> 4x4
            _conv3d(4 * w, 4 * w, (3, 1, 1), (1, 1, 1)),       # time
            _conv3d(4 * w, cd, (3, 3, 3), (2, 2, 2)),          # space-time: T/2 x 2 x 2
            _conv3d(cd, cd, (3, 1, 1), (2, 1, 1)))             # time: T/4
        zd = cd + fd
        self.frame_head = nn.Linear(fd, 3 * THUMB * THUMB + FRAME_TARGET_DIM)
        self.identity_head = nn.Linear(fd, cfg.face_identities)
        self.clip_head = nn.Linear(zd, CLIP_TARGET_DIM)
        self.action_head = nn.Linear(zd, N_ACTIONS)
        self.order_head = nn.Linear(zd, len(ORDER_NAMES))

    def _streams(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [B, T, 3, H, W]`` -> per-frame features ``a [B, T, frame_dim]`` and clip feature ``m [B, clip_dim]``."""
        b, t = x.shape[:2]
        mean, std = self.rgb_mean.view(1, 1, 3, 1, 1), self.rgb_std.view(1, 1, 3, 1, 1)
        xn = (x - mean) / std                                                # standardised RGB [B, T, 3, H, W]
        diff = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], 1)  # d_0 = 0, d_t = x_t - x_{t-1}
        dn = diff / self.diff_std.view(1, 1, 3, 1, 1)                        # normalised difference stream
        app8 = self.appearance(xn.flatten(0, 1))                             # [B*T, 2w, H/4, W/4]
        a = self.frame_fc(self.appearance_down(app8).flatten(1))            # [B*T, 2w * 16] -> [B*T, frame_dim]
        mot8 = self.motion(torch.cat([xn, dn], 2).flatten(0, 1))            # [B*T, 2w, H/4, W/4]
        fused = torch.cat([app8, mot8], 1)                                   # [B*T, 4w, H/4, W/4]
        fused = fused.view(b, t, *fused.shape[1:]).transpose(1, 2)          # [B, 4w, T, H/4, W/4]
        m = self.temporal(fused).mean(dim=(2, 3, 4))                         # [B, clip_dim]
        return a.view(b, t, -1), m

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.ndim != 5 or x.shape[2] != 3:
            raise ValueError(f"SynVideo expects [B, T, 3, H, W], got {tuple(x.shape)}")
        a, m = self._streams(x)                                               # [B, T, fd], [B, cd]
        z = torch.cat([m, a.mean(1)], 1)                                      # [B, cd + fd]
        frame_out = self.frame_head(a)                                        # [B, T, 48 + frame targets]
        s = self.feature_scale
        return {"video_features": torch.cat([m * s[0], a.mean(1) * s[1]], 1),   # FVD-syn features [B, D]
                "frame_features": a * s[2],                                   # FID-syn features [B, T, fd]
                "thumb": frame_out[..., :3 * THUMB * THUMB],                  # [B, T, 48]
                "frame_targets": frame_out[..., 3 * THUMB * THUMB:],          # [B, T, FRAME_TARGET_DIM]
                "identity": self.identity_head(a),                            # [B, T, identities]
                "clip_targets": self.clip_head(z),                            # [B, CLIP_TARGET_DIM]
                "action": self.action_head(z),                                # [B, 12]
                "order": self.order_head(z)}                                  # [B, 3]


# ------------------------------------------------------------------------------------------------ identity

def weights_hash(model: nn.Module) -> str:
    """SHA-256 (first 16 hex digits) of every tensor of the state dict, in key order: names these weights."""
    h = hashlib.sha256()
    for key, value in model.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def config_key(cfg: SynVideoConfig) -> str:
    """Hash of the config and of the code that trains it (this file, the trainer, the worlds' sources)."""
    import inspect

    from vidsynth_lite import data
    from vidsynth_lite.metrics import syn_video_train
    key = {"config": dataclasses.asdict(cfg),
           "source": hashlib.sha256((inspect.getsource(inspect.getmodule(SynVideo))
                                     + inspect.getsource(syn_video_train)).encode()).hexdigest(),
           "worlds": {w: hashlib.sha256(inspect.getsource(type(data.load(w, "test", size=32, length=1)))
                                        .encode()).hexdigest()[:16] for w in WORLDS}}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------ loading

SHIPPED = Path(__file__).resolve().parent / "weights" / "syn_video.safetensors"
_LOADED: dict[str, tuple[SynVideo, dict]] = {}


def config(profile: str = "lite", **overrides) -> SynVideoConfig:
    """The ``SynVideoConfig`` of ``profile`` (``configs/metrics/syn_video/<profile>.yaml``) with overrides."""
    from vidsynth_lite.metrics.network_profiles import network_profile
    return network_profile(SynVideoConfig, "syn_video", profile, **overrides)


def load_file(path: str | Path) -> tuple[SynVideo, dict]:
    """A SynVideo saved by the trainer: ``(model in eval mode, report)``; the report says how it was made."""
    from vidsynth_lite.io import load_weights
    state, meta = load_weights(path)
    cfg = SynVideoConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta["config"].items()})
    model = SynVideo(cfg)
    model.load_state_dict(state)
    model.eval().requires_grad_(False)
    report = meta["extra"]
    model.hash = weights_hash(model)
    if report.get("weights_hash") not in (None, model.hash):
        raise ValueError(f"{path}: the weights' hash {model.hash} differs from the recorded "
                         f"{report['weights_hash']}: the file is damaged or was changed after training")
    return model, report


def load(profile: str = "lite", *, retrain: bool = False, progress: bool = True,
         train_device: torch.device | str | None = None, **overrides) -> tuple[SynVideo, dict]:
    """The SynVideo of ``profile``: the shipped weights when their config is this profile's, else cached or trained.

    Returns ``(model, report)``; the report holds the config, the held-out accuracy per head, the effective
    dimension per world, the training time and the command that rebuilds it.
    """
    cfg = config(profile, **overrides)
    if not retrain and SHIPPED.is_file():
        model, report = _LOADED.get(str(SHIPPED)) or load_file(SHIPPED)
        if model.cfg == cfg:
            _LOADED[str(SHIPPED)] = (model, report)
            return model, report
    from vidsynth_lite import paths
    path = paths.cache_dir() / "syn_video" / f"{config_key(cfg)}.safetensors"
    if not retrain and path.is_file():
        if str(path) not in _LOADED:
            _LOADED[str(path)] = load_file(path)
        return _LOADED[str(path)]
    from vidsynth_lite.metrics.syn_video_train import train_and_save
    train_and_save(cfg, path, profile=profile, progress=progress, device=train_device)
    _LOADED[str(path)] = load_file(path)
    return _LOADED[str(path)]


class SynVideoFeatures:
    """Feature network for the metrics: video features ``[N, D]`` (FVD-syn) and frame features (FID-syn).

    ``__call__(videos [N, T, 3, H, W] in [-1, 1]) -> [N, clip_dim + frame_dim]``;
    ``frames(videos) -> [N, T, frame_dim]``; ``both(videos)`` returns the two from one pass. Clips at another
    resolution are resized (bilinear, antialiased) to the training size, which the protocol states.
    """

    name = NAME

    def __init__(self, model: SynVideo, device: torch.device | str = "cpu", batch_size: int = 64):
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.size = model.cfg.size
        self.dim = model.cfg.feature_dim
        self.frame_dim = model.cfg.frame_dim
        self.hash = getattr(model, "hash", None) or weights_hash(model)
        self.preprocessing = (f"values in [-1, 1], resized to {self.size}x{self.size} if needed (bilinear, "
                              f"antialias); trained on {model.cfg.frames}-frame clips of "
                              f"{', '.join(WORLDS)}; video features: {model.cfg.clip_dim}-d temporal trunk + "
                              f"{model.cfg.frame_dim}-d mean appearance, each block scaled to unit mean variance")

    def outputs(self, videos: torch.Tensor) -> dict[str, torch.Tensor]:
        return batched_outputs(self.model, videos, size=self.size, batch_size=self.batch_size, device=self.device)

    def both(self, videos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.outputs(videos)
        return out["video_features"], out["frame_features"]

    def __call__(self, videos: torch.Tensor) -> torch.Tensor:
        return self.outputs(videos)["video_features"]

    def frames(self, videos: torch.Tensor) -> torch.Tensor:
        return self.outputs(videos)["frame_features"]

    def probs(self, videos: torch.Tensor) -> torch.Tensor:
        """Action-class softmax (for ``IS-syn``)."""
        return self.outputs(videos)["action"].softmax(-1)


def features(profile: str = "lite", device: torch.device | str = "cpu", **kwargs) -> SynVideoFeatures:
    """``SynVideoFeatures`` of :func:`load` (the shipped network at ``lite``)."""
    model, _ = load(profile, **kwargs)
    return SynVideoFeatures(model, device=device)
