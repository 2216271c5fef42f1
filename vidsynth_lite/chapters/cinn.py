"""Settings and glue of chapter 5 (``notebooks/05_cinn.py``): stochastic image-to-video synthesis with a cINN.

Profile values live in ``configs/cinn/<profile>.yaml``; :func:`model_configs` turns the flat settings into the
model's config dataclasses (:mod:`vidsynth_lite.models.cinn.config`). The glue here: clip tensors with their
control annotations, one training function per network (all through ``vl.train``), the measurements of control
accuracy (where is the gripper, which way do the clouds move), and the ``pretrain`` command that trains the
shipped checkpoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from vidsynth_lite import data as vdata
from vidsynth_lite import io as vio
from vidsynth_lite import paths, train
from vidsynth_lite.config import ChapterConfig, ConfigError, param
from vidsynth_lite.models import cinn as cm
from vidsynth_lite.models.cinn import steps as cs
from vidsynth_lite.models.cinn import tasks as _tasks  # noqa: F401 - cm.tasks.ImageToVideo
from vidsynth_lite.models.cinn.discriminators import TemporalDiscriminator, spatial_discriminator
from vidsynth_lite.nn.perceptual import load_perceptual


@dataclass
class CINNChapterConfig(ChapterConfig):
    """Chapter 5, "Stochastic image-to-video synthesis with a cINN" (Dorkenwald et al. 2021)."""

    chapter = "cinn"
    worlds: list = param(["pushbot", "sky"], "worlds to train on (pushbot: BAIR stand-in; sky: clouds)")  # noqa: RUF009
    size: int = param(32, "frame height and width (paper: 64 for BAIR, 128 for DTDB)", choices=(32, 64, 128))
    frames: int = param(8, "predicted frames x_1..x_T after the start frame x_0 (paper: 16)", choices=(4, 8, 16))
    train_videos: int = param(2000, "training clips per world", min=8, max=10_000_000)
    test_videos: int = param(64, "test start frames per world (M of the evaluation)", min=2, max=100_000)
    samples: int = param(4, "samples per start frame (K; the paper's diversity uses 5)", min=2, max=100)
    z_dim: int = param(64, "d_z, the video representation (paper: 64)", min=2)
    embed_dim: int = param(32, "x_0 embedding: the image autoencoder's code (official BAIR: 64)", min=2)
    enc_channels: list = param([16, 32, 48, 64], "video encoder: stem, then one ResNet stage each")  # noqa: RUF009
    enc_blocks: int = param(1, "basic blocks per encoder stage (ResNet-18: 2)", min=1, max=4)
    dec_channel_factor: int = param(8, "ch_f of the decoder (paper: 64 BAIR, 32 otherwise)", min=1)
    dec_widths: list = param([8, 4, 2, 1], "decoder blocks' widths in units of ch_f (paper: 16,16,8,4,2,1)")  # noqa: RUF009
    dec_start_frames: int = param(1, "time steps of the decoder's first feature map (paper: 1)", min=1)
    spade_hidden: int = param(32, "SPADE's hidden convolution width (official: 128)", min=4)
    x0_skip: bool = param(False, "decoder output = tanh(atanh(x_0) + conv): starts from x_0 (not the paper's; "
                          "a CPU-budget aid)")
    disc_patch_width: int = param(16, "D_S base channels (official: 64)", min=4)
    disc_patch_layers: int = param(2, "D_S stride-2 layers (official: 3)", min=1, max=5)
    disc_temporal_channels: list = param([16, 32, 64], "D_T block widths (official: 64,64,128,256,512)")  # noqa: RUF009
    ae_widths: list = param([16, 32, 64], "image AE stages (stride 2 each)")  # noqa: RUF009
    flows: int = param(12, "cINN blocks n_f (paper: 20)", min=1)
    flow_hidden: int = param(128, "width of each coupling's s and t networks (official: 8 d_z = 512)", min=4)
    flow_depth: int = param(2, "hidden layers of each s / t network (official: 2)", min=0, max=8)
    ae_steps: int = param(600, "image autoencoder steps", min=1)
    ae_batch: int = param(32, "image autoencoder batch (frames)", min=2)
    ae_lr: float = param(1e-3, "image autoencoder Adam learning rate", min=1e-7, max=1.0)
    stage1_steps: int = param(1000, "stage-1 steps (cVAE and both discriminators)", min=1)
    stage1_batch: int = param(8, "stage-1 batch (official BAIR: 10)", min=2)
    stage1_lr: float = param(2e-4, "stage-1 Adam learning rate (paper: 2e-4)", min=1e-7, max=1.0)
    adversarial_from: int = param(500, "stage-1 step from which D_S, D_T train (official: after 1 epoch)", min=0)
    w_perceptual: float = param(0.0, "weight of the perceptual loss (official 30; 0: not used)", min=0.0)
    kl_weight: float = param(1e-5, "beta of the KL term (paper: 1e-5)", min=0.0)
    cinn_steps: int = param(1500, "cINN steps", min=1)
    cinn_batch: int = param(64, "cINN batch (official: 50)", min=2)
    cinn_lr: float = param(5e-4, "cINN Adam learning rate (paper: 1e-5)", min=1e-7, max=1.0)
    leaky_alpha: float = param(0.9, "slope of the invertible leaky ReLU for x < 0 (official: 0.9)", min=0.01,
                               max=1.0)
    ablations: list = param(["no_x0", "no_adain"], "Table-4 ablations trained on pushbot (no_x0, no_adain)")  # noqa: RUF009
    live_stage1_steps: int = param(40, "stage-1 steps the chapter trains live before loading the "
                                   "checkpoint", min=1)
    use_checkpoint: bool = param(True, "load the shipped checkpoint (trained by `python -m vidsynth_lite "
                                 "pretrain cinn`) instead of training every network in the chapter")
    skip_metrics: list = param(["FVD"], "metric families the shared evaluation leaves out (it says so in "  # noqa: RUF009
                               "its table); the real-I3D FVD is left out at every profile here")
    fvd_draws: int = param(3, "independent draws of the samples for FVD-syn mean +- std", min=1, max=20)
    ckpt_every: int = param(250, "checkpoint period in steps", min=1)
    bf16: bool = param(False, "bf16 autocast on a GPU")

    def validate(self) -> None:
        if any(a not in ("no_x0", "no_adain") for a in self.ablations):
            raise ConfigError(f"ablations must be a list of 'no_x0' and 'no_adain', got {self.ablations!r}")
        unknown = [w for w in self.worlds if w not in ("pushbot", "sky")]
        if unknown or not self.worlds:
            raise ConfigError(f"worlds must be a non-empty list of 'pushbot' and 'sky', got {self.worlds!r}")
        model_configs(self, self.worlds[0])                      # the sizes must fit together
        if self.test_videos % self.fvd_draws:
            raise ConfigError(f"test_videos = {self.test_videos} must be divisible by fvd_draws = "
                              f"{self.fvd_draws} (the evaluation splits the inputs into equal draws)")


# --- model sizes ------------------------------------------------------------------------------------------------

def control_bins(world: str) -> tuple[int, ...]:
    return {"pushbot": cm.PUSHBOT_BINS, "sky": cm.SKY_BINS}[world]


def model_configs(cfg: CINNChapterConfig, world: str, *, control: bool = False, use_x0: bool = True,
                  use_adain: bool = True) -> cm.CINNModels:
    """The networks' configs for one world (and one ablation) at the chapter's settings."""
    full = cm.CINNModels()
    try:
        enc = replace(full.encoder, frames=cfg.frames, size=cfg.size, z_dim=cfg.z_dim,
                      channels=tuple(cfg.enc_channels), blocks=cfg.enc_blocks)
        dec = replace(full.decoder, frames=cfg.frames, size=cfg.size, z_dim=cfg.z_dim,
                      channel_factor=cfg.dec_channel_factor, widths=tuple(cfg.dec_widths),
                      start_frames=cfg.dec_start_frames, spade_hidden=cfg.spade_hidden, use_x0=use_x0,
                      use_adain=use_adain, x0_skip=cfg.x0_skip)
        dec.upsampling                                             # noqa: B018 - raises if the sizes cannot fit
        n = len(enc.channels) - 1
        if cfg.size // 2 ** n != enc.head_kernel:
            raise ValueError(f"enc_channels: {n} halvings take size {cfg.size} to {cfg.size // 2 ** n}, the "
                             f"head needs {enc.head_kernel}")
    except ValueError as error:
        raise ConfigError(f"model sizes do not fit: {error}") from error
    disc = replace(full.discriminator, patch_width=cfg.disc_patch_width, patch_layers=cfg.disc_patch_layers,
                   temporal_channels=tuple(cfg.disc_temporal_channels))
    loss = replace(full.loss, lr=cfg.stage1_lr, perceptual=cfg.w_perceptual, kl=cfg.kl_weight)
    ae = replace(full.image_ae, size=cfg.size, z_dim=cfg.embed_dim, widths=tuple(cfg.ae_widths), lr=cfg.ae_lr)
    flow = replace(full.cinn, z_dim=cfg.z_dim, embed_dim=cfg.embed_dim, n_flows=cfg.flows, hidden=cfg.flow_hidden,
                   depth=cfg.flow_depth, leaky_alpha=cfg.leaky_alpha, lr=cfg.cinn_lr,
                   control_bins=control_bins(world) if control else ())
    return cm.CINNModels(encoder=enc, decoder=dec, discriminator=disc, loss=loss, image_ae=ae, cinn=flow)


# --- data -------------------------------------------------------------------------------------------------------

def load_clips(cfg: CINNChapterConfig, world: str, split: str, count: int, offset: int = 0) -> dict:
    """``count`` clips of ``1 + frames`` frames -> ``{"video": [N, 1 + T, 3, H, W], "eta": [N, n_eta], ...}``
    with the control annotation (``pushbot``: last-frame gripper state ``[N, 3]``; ``sky``: direction ``[N]``)."""
    ds = vdata.load(world, split, frames=cfg.frames + 1, size=cfg.size, seed=cfg.seed, length=offset + count)
    items = [ds[i] for i in range(offset, offset + count)]
    video = torch.stack([it["video"] for it in items])                       # [N, 1 + T, 3, H, W]
    if world == "pushbot":
        state = torch.stack([it["state"] for it in items])                   # [N, 1 + T, 3]
        return {"video": video, "state": state, "eta": cm.pushbot_eta(state[:, -1])}
    direction = torch.stack([it["direction"] for it in items])               # [N]
    speed = torch.stack([it["speed"] for it in items])
    return {"video": video, "direction": direction, "speed": speed, "eta": cm.sky_eta(direction)}


class Rows(torch.utils.data.Dataset):
    """A dict of equally long tensors as a map-style dataset (rows as dicts)."""

    def __init__(self, **tensors):
        self.tensors = tensors
        self.n = len(next(iter(tensors.values())))

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {k: v[i] for k, v in self.tensors.items()}


# --- training: each network through vl.train ---------------------------------------------------------------------

def train_image_ae(cfg: CINNChapterConfig, models: cm.CINNModels, clips: dict, run_dir: Path, device=None,
                   steps: int | None = None, progress: bool = True) -> cm.ImageAE:
    """The x_0 embedding: an image AE on single frames of the training clips."""
    torch.manual_seed(cfg.seed)
    frames = clips["video"].flatten(0, 1)                                    # [N * (1 + T), 3, H, W]
    model = cm.ImageAE(models.image_ae)
    opt = torch.optim.Adam(model.parameters(), lr=models.image_ae.lr)
    result = train.fit(model, lambda m, b: cm.image_ae_loss(m, b), train.StepBatches(frames, cfg.ae_batch,
                       seed=cfg.seed), steps=steps or cfg.ae_steps, optimizer=opt, run_dir=run_dir,
                       ckpt_every=cfg.ckpt_every, log_every=10, config=dataclasses.asdict(models.image_ae),
                       device=device, desc="image AE", progress=progress)
    return result.model.eval()


def train_stage1(cfg: CINNChapterConfig, models: cm.CINNModels, clips: dict, run_dir: Path, device=None,
                 steps: int | None = None, perceptual=None, progress: bool = True,
                 snapshots: dict[int, Path] | None = None) -> cm.VideoCVAE:
    """Stage 1: the cVAE with D_S and D_T (Eq. 10-12), Adam (B.2) with exponential decay per epoch.
    ``snapshots`` ``{step: path}`` writes the cVAE as it is after that step (to follow a run's progress)."""
    torch.manual_seed(cfg.seed)
    w = models.loss
    if w.perceptual and perceptual is None:                  # l^phi: LPIPS (AlexNet), the official choice
        lpips_net = load_perceptual("alex", device=device or "cpu")
        perceptual = lambda a, b: lpips_net.lpips(a, b).mean()
    cvae = cm.VideoCVAE(models.encoder, models.decoder)
    d_s, d_t = spatial_discriminator(models.discriminator), TemporalDiscriminator(models.discriminator)
    steps_per_epoch = max(len(clips["video"]) // cfg.stage1_batch, 1)
    gamma = w.lr_decay ** (1 / steps_per_epoch)                              # lr_decay per epoch

    def part(module):
        opt = torch.optim.Adam(module.parameters(), lr=w.lr, betas=tuple(w.betas), weight_decay=w.weight_decay)
        return train.Part(module, opt, scheduler=torch.optim.lr_scheduler.ExponentialLR(opt, gamma))

    parts = {"cvae": part(cvae), "D_T": part(d_t), "D_S": part(d_s)}

    def on_step(step, _record):
        if snapshots and step in snapshots:
            save_stage1(snapshots[step], cvae, step)

    def step(state, batch):
        return cs.stage1_step(state, batch, weights=w, perceptual=perceptual, adversarial_from=cfg.adversarial_from)

    result = train.fit_parts(parts, step, train.StepBatches(Rows(video=clips["video"]), cfg.stage1_batch,
                             seed=cfg.seed), steps=steps or cfg.stage1_steps, run_dir=run_dir,
                             ckpt_every=cfg.ckpt_every, log_every=10, config=models.to_dict(), device=device,
                             bf16=cfg.bf16, desc="stage 1", progress=progress, on_step=on_step)
    return result.parts["cvae"].model.eval()


@torch.no_grad()
def posterior_table(cvae: cm.VideoCVAE, image_ae: cm.ImageAE, clips: dict, control: bool,
                    batch: int = 64) -> dict:
    """The frozen encoder's ``mu, logvar`` and the cINN condition of every clip (computed once; the cINN then
    draws a fresh posterior sample per step)."""
    mus, logvars, conds = [], [], []
    for i in range(0, len(clips["video"]), batch):
        v = clips["video"][i:i + batch]
        mu, logvar = cvae.encoder(v[:, 1:])
        emb = image_ae.embed(v[:, 0])
        conds.append(torch.cat([emb, clips["eta"][i:i + batch]], 1) if control else emb)
        mus.append(mu)
        logvars.append(logvar)
    return {"mu": torch.cat(mus), "logvar": torch.cat(logvars), "cond": torch.cat(conds)}


def train_cinn(cfg: CINNChapterConfig, models: cm.CINNModels, table: dict, run_dir: Path, device=None,
               steps: int | None = None, progress: bool = True, stage1: cm.VideoCVAE | None = None) -> cm.CINN:
    """Stage 2 by Eq. 7 on posterior samples of the frozen stage 1; Adam (official betas (0.9, 0.99), amsgrad)
    with linear decay to zero (B.2). ``stage1`` (the network ``table`` came from) joins the run's identity: a
    run directory of a cINN fitted to another stage 1 is refused instead of resumed."""
    torch.manual_seed(cfg.seed)
    flow = cm.CINN(models.cinn, seed=cfg.seed)
    n = steps or cfg.cinn_steps
    with torch.no_grad():                                                     # ActNorm's data-dependent start
        first = train.StepBatches(Rows(**table), cfg.cinn_batch, seed=cfg.seed)(0)
        flow(cm.reparameterize(first["mu"], first["logvar"]), first["cond"])
    # foreach: one kernel per step over the ~200 small tensors (10% less CPU time here, the same result)
    opt = torch.optim.Adam(flow.parameters(), lr=models.cinn.lr, betas=tuple(models.cinn.betas), amsgrad=True,
                           foreach=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(1 - s / n, 0.0))
    identity = {**dataclasses.asdict(models.cinn),
                "stage1_weights": None if stage1 is None else stage1_weights(stage1)}
    result = train.fit(flow, cs.cinn_step, train.StepBatches(Rows(**table), cfg.cinn_batch, seed=cfg.seed),
                       steps=n, optimizer=opt, scheduler=sched, run_dir=run_dir, ckpt_every=cfg.ckpt_every,
                       log_every=10, config=identity, device=device, desc="cINN", progress=progress)
    return result.model.eval()


def fit_cinn(cfg: CINNChapterConfig, world: str, stage1: cm.VideoCVAE, image_ae: cm.ImageAE, clips: dict,
             run_root: Path, device=None, *, variant: str = "full", control: bool = False,
             official_zero_log_det: bool = False, steps: int | None = None,
             posterior: dict | None = None) -> tuple[cm.CINN, list[dict]]:
    """Train one cINN on ``stage1``'s posterior of ``clips`` (the chapter's stage 2) -> ``(cinn, log)``. Its run
    directory is named by the stage 1's weights, so a rerun after the stage 1 changed trains afresh.
    ``posterior``: ``posterior_table(stage1, image_ae, clips, control=False)`` computed once and shared by the
    cINNs of one stage 1 (encoding every training clip is most of a short cINN run's cost); with ``control`` the
    clips' eta is appended to its condition."""
    models = model_configs(cfg, world, control=control, **VARIANTS[variant])
    models.cinn = replace(models.cinn, official_zero_log_det=official_zero_log_det)
    name = (f"cinn-{world}-{variant}" + ("-control" if control else "") + ("-official" if official_zero_log_det
            else "") + (f"-{steps}" if steps else "") + f"-{stage1_weights(stage1)[:8]}")
    if posterior is None:
        table = posterior_table(stage1, image_ae, clips, control)
    else:
        if len(posterior["mu"]) != len(clips["video"]):
            raise ValueError(f"posterior has {len(posterior['mu'])} rows for {len(clips['video'])} clips")
        cond = torch.cat([posterior["cond"], clips["eta"]], 1) if control else posterior["cond"]   # [N, cond]
        table = {**posterior, "cond": cond}
    flow = train_cinn(cfg, models, table, run_root / name, device, steps=steps, progress=False, stage1=stage1)
    log = [json.loads(line) for line in (run_root / name / "metrics.jsonl").read_text().splitlines() if line]
    return flow, log


# --- checkpoints: a stage-2 file records the stage 1 it was trained on ------------------------------------------

def save_stage1(path, cvae: cm.VideoCVAE, step: int = 0, image_ae: cm.ImageAE | None = None) -> Path:
    """Stage 1 (fp16), and with ``image_ae`` the x_0 embedding's encoder (``image_ae.*``, all the cINN needs)."""
    cfg = {"kind": "stage1", "encoder": dataclasses.asdict(cvae.encoder.cfg),
           "decoder": dataclasses.asdict(cvae.decoder.cfg),
           "image_ae": None if image_ae is None else dataclasses.asdict(image_ae.cfg)}
    state = _half(cvae)
    if image_ae is not None:
        encoder = cm.ImageAE(image_ae.cfg, decoder=False).state_dict()     # the encoder's keys
        state.update({f"image_ae.{k}": v for k, v in _half(image_ae).items() if k in encoder})
    return vio.save_weights(path, state, config=cfg, step=step, extra={"stage1": stage1_fingerprint(cvae),
                                                                       "stage1_weights": stage1_weights(cvae)})


def stage1_fingerprint(cvae: cm.VideoCVAE) -> str:
    """A short hash of the stage 1's configuration."""
    return cm.fingerprint(cm.CINNModels(encoder=cvae.encoder.cfg, decoder=cvae.decoder.cfg))


def stage1_weights(cvae: cm.VideoCVAE) -> str:
    """A short hash of the stage 1's weights as shipped (fp16): two stage 1s of one configuration (a snapshot
    and the final model, two seeds) have different posteriors, and a cINN fits only the one it was trained on."""
    digest = hashlib.sha256()
    for key, value in sorted(_half(cvae).items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def load_stage1(path, device="cpu") -> cm.VideoCVAE:
    state, meta = vio.load_weights(path, device)
    c = meta["config"]
    if c.get("kind") != "stage1":
        raise vio.CheckpointError(f"{str(path)!r} holds no stage-1 cVAE (kind {c.get('kind')!r})")
    cvae = cm.VideoCVAE(_dc(cm.VideoEncoderConfig, c["encoder"]), _dc(cm.VideoDecoderConfig, c["decoder"]))
    cvae.load_state_dict({k: v.float() for k, v in state.items() if not k.startswith("image_ae.")})
    return cvae.to(device).eval()


def load_embedding(path, device="cpu") -> cm.ImageAE:
    """The x_0 embedding's encoder stored beside a stage 1 by :func:`save_stage1`."""
    state, meta = vio.load_weights(path, device)
    c = meta["config"]
    if c.get("kind") != "stage1" or not c.get("image_ae"):
        raise vio.CheckpointError(f"{str(path)!r} holds no x_0 embedding (kind {c.get('kind')!r})")
    ae = cm.ImageAE(_dc(cm.ImageAEConfig, c["image_ae"]), decoder=False)
    ae.load_state_dict({k[9:]: v.float() for k, v in state.items() if k.startswith("image_ae.")})
    return ae.to(device).eval()


def save_stage2(path, flow: cm.CINN, image_ae: cm.ImageAE, stage1: cm.VideoCVAE, step: int = 0) -> Path:
    """The cINN and its x_0 embedding, with the fingerprint of the stage 1 whose posterior it models."""
    state = {**{f"cinn.{k}": v for k, v in _half(flow).items()},
             **{f"image_ae.{k}": v for k, v in _half(image_ae).items()}}
    cfg = {"kind": "stage2", "cinn": dataclasses.asdict(flow.cfg), "image_ae": dataclasses.asdict(image_ae.cfg)}
    return vio.save_weights(path, state, config=cfg, step=step, extra={"stage1": stage1_fingerprint(stage1),
                                                                      "stage1_weights": stage1_weights(stage1)})


def load_stage2(path, stage1: cm.VideoCVAE, device="cpu") -> tuple[cm.CINN, cm.ImageAE]:
    """Load a cINN for ``stage1``; refuses one trained on the posterior of a stage 1 of another configuration."""
    state, meta = vio.load_weights(path, device)
    c = meta["config"]
    if c.get("kind") != "stage2":
        raise vio.CheckpointError(f"{str(path)!r} holds no stage-2 cINN (kind {c.get('kind')!r})")
    want, got = meta["extra"].get("stage1"), stage1_fingerprint(stage1)
    if want != got:
        raise vio.CheckpointError(f"{str(path)!r} was trained on a stage 1 of another configuration "
                                  f"(fingerprint {want}, this stage 1: {got}); its residuals mean nothing here")
    want, got = meta["extra"].get("stage1_weights"), stage1_weights(stage1)
    if want != got:
        raise vio.CheckpointError(f"{str(path)!r} was trained on a stage 1 of this configuration but other weights "
                                  f"(weights {want}, this stage 1: {got}); its residuals mean nothing here")
    flow = cm.CINN(_dc(cm.CINNConfig, c["cinn"]))
    ae_state = {k[9:]: v.float() for k, v in state.items() if k.startswith("image_ae.")}
    ae = cm.ImageAE(_dc(cm.ImageAEConfig, c["image_ae"]), decoder="from_z.weight" in ae_state)
    flow.load_state_dict({k[5:]: v.float() for k, v in state.items() if k.startswith("cinn.")})
    ae.load_state_dict(ae_state)
    return flow.to(device).eval(), ae.to(device).eval()


def _dc(cls, values: dict):
    """Rebuild a config dataclass from its JSON form (lists back to tuples)."""
    fields = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in fields})


# --- measurements of control (the world's own annotations as ground truth) ----------------------------------------

GRIPPER_CAP = torch.tensor([0.97, 0.82, 0.12]) * 2 - 1                      # pushbot's cap colour in [-1, 1]


def locate_gripper(frames: torch.Tensor, top: int = 1) -> torch.Tensor:
    """Gripper position ``[N, 2]`` (x, y in [0, 1], image coordinates) in frames ``[N, 3, H, W]``: the centroid of
    the ``top`` pixels (default: the one pixel) closest in colour to the gripper's yellow cap, which pushbot draws exactly at ``state``."""
    _n, _, h, w = frames.shape
    dist = (frames - GRIPPER_CAP.to(frames)[None, :, None, None]).pow(2).sum(1).flatten(1)   # [N, H*W]
    idx = dist.topk(top, dim=1, largest=False).indices                      # [N, top]
    ys, xs = (idx // w).float(), (idx % w).float()
    return torch.stack([(xs.mean(1) + 0.5) / w, (ys.mean(1) + 0.5) / h], 1)


def sky_motion(clip: torch.Tensor, lag: int | None = None) -> torch.Tensor:
    """Measured cloud displacement ``(dx, dy)`` in pixels per frame for clips ``[N, 1 + T, 3, H, W]``: phase
    correlation (``vl.data.measure``) of the grey sky band (top half, above every horizon) between frame 0 and
    frame ``lag`` (default: three quarters of the clip; on real 32x32 clips of 9 frames that lag gives a median
    angular error of 6 degrees), detrended by row and tapered, divided by ``lag``."""
    _n, t, _, h, w = clip.shape
    lag = max(1, 3 * (t - 1) // 4) if lag is None else lag
    band = clip.mean(2)[:, :, : h // 2]                                      # [N, T, H/2, W]
    band = band - band.mean(-1, keepdim=True)
    window = torch.outer(torch.hann_window(h // 2, periodic=False), torch.hann_window(w, periodic=False))
    out = [vdata.measure.phase_correlation(b[0] * window, b[lag] * window) / lag for b in band]
    return torch.stack(out)


def angle_error(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Absolute angular difference in radians, wrapped to [0, pi]."""
    return (torch.remainder(a - b + math.pi, 2 * math.pi) - math.pi).abs()


def direction_of(motion: torch.Tensor) -> torch.Tensor:
    """The sky world's convention: radians counter-clockwise from "moving right", image y pointing down."""
    return torch.atan2(-motion[:, 1], motion[:, 0])


# --- diagnostics: what stage 1's z holds, and paired verdicts ----------------------------------------------------

@torch.no_grad()
def stage1_diagnostics(cvae: cm.VideoCVAE, clips: dict, generator: torch.Generator | None = None) -> dict:
    """Is the video code ``z`` informative? Mean L1 of the decoder's output against the true frames when it is
    fed the clip's own posterior mean, another clip's (the batch rolled by one), ``z = 0``, a draw of the prior
    N(0, I), and the *copy x_0* baseline, over all pixels and over the pixels that move (more than 0.05 from
    x_0, max over channels). A ``z`` that carries the motion beats the other clip's on the moving pixels."""
    video = clips["video"]                                                    # [N, 1 + T, 3, H, W]
    x0, truth = video[:, 0], video[:, 1:]
    moving = ((truth - video[:, :1]).abs().amax(2, keepdim=True) > 0.05).expand_as(truth)
    mu, logvar = cvae.encoder(truth)
    fed = {"own z": mu, "another clip's z": mu.roll(1, 0), "z = 0": torch.zeros_like(mu),
           "prior z": torch.randn(mu.shape, generator=generator)}
    outs = {name: cvae.decoder(x0 if cvae.decoder.cfg.use_x0 else None, z) for name, z in fed.items()}
    outs["copy x_0"] = video[:, :1].expand_as(truth)
    err = {name: (o - truth).abs() for name, o in outs.items()}
    return {"l1": {k: e.mean().item() for k, e in err.items()},
            "l1_moving": {k: e[moving].mean().item() for k, e in err.items()},
            "moving_share": moving.float().mean().item(),
            "posterior_sigma": (0.5 * logvar).exp().mean().item(),
            "z_spread": mu.std(0).mean().item()}


@torch.no_grad()
def control_probe(cvae: cm.VideoCVAE, train_clips: dict, test_clips: dict, world: str, ridge: float = 1.0) -> dict:
    """Does ``z`` encode the control factor? A linear (ridge) probe from the posterior mean to it, fitted on
    the training clips and scored on the test clips, beside predicting the training mean. ``pushbot``: the
    gripper's (x, y) in the last frame, error in pixels; ``sky``: the direction as (cos, sin), error in degrees
    (predicting a constant is 90 degrees off on average)."""
    def target(c):
        if world == "pushbot":
            return c["state"][:, -1, :2]                                       # [N, 2] in [0, 1]
        return torch.stack([c["direction"].cos(), c["direction"].sin()], 1)   # [N, 2]

    def error(pred, c):
        if world == "pushbot":
            return (pred - target(c)).norm(dim=1).mean().item() * c["video"].shape[-1]
        return math.degrees(angle_error(torch.atan2(pred[:, 1], pred[:, 0]), c["direction"]).mean().item())

    a, b = cvae.encoder(train_clips["video"][:, 1:])[0], cvae.encoder(test_clips["video"][:, 1:])[0]
    mean, std = a.mean(0), a.std(0) + 1e-6
    design = lambda m: torch.cat([(m - mean) / std, torch.ones(len(m), 1)], 1)   # [N, d_z + 1]
    x = design(a)
    weights = torch.linalg.solve(x.T @ x + ridge * torch.eye(x.shape[1]), x.T @ target(train_clips))
    constant = target(train_clips).mean(0, keepdim=True).expand(len(b), -1)
    unit = "px" if world == "pushbot" else "deg"
    return {"probe": error(design(b) @ weights, test_clips), "constant": error(constant, test_clips),
            "unit": unit, "train_clips": len(a), "test_clips": len(b)}


def paired(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str, unit: str) -> dict:
    """Per-input errors ``a``, ``b`` ``[M]`` (lower is better), paired: "A beats B" only when the mean
    difference exceeds twice its standard error over the M inputs; otherwise not resolved."""
    diff = (a - b).double()
    mean, se = diff.mean().item(), (diff.std() / math.sqrt(len(diff))).item()
    resolved = abs(mean) > 2 * se
    text = (f"{name_a} {a.mean().item():.3g} {unit} vs {name_b} {b.mean().item():.3g} {unit} "
            f"(difference {mean:+.3g} +- {se:.2g} s.e. over {len(diff)} inputs)")
    a_se = (a.double().std() / math.sqrt(len(a))).item()
    return {"a": a.mean().item(), "b": b.mean().item(), "difference": mean, "se": se, "resolved": resolved,
            "a_better": (mean < 0) if resolved else None, "a_se": a_se, "text": text}


def claim_from_paired(claim: str, source: str, p: dict, *, profile: str, tolerance: float | None = None,
                      extra: str = ""):
    """A :class:`~vidsynth_lite.reproduce.claims.Claim` from :func:`paired`, where A is the row the paper says
    is better (lower error). With ``tolerance`` the claim also needs A's mean error below it (e.g. "the end
    position is within two bins of the request"), judged with A's own standard error:

    - reproduced: A beats B, resolved, and A's error + 2 s.e. < tolerance;
    - not reproduced: B beats A, resolved, or A's error - 2 s.e. > tolerance (resolved miss);
    - not resolved at this N: otherwise.
    """
    from vidsynth_lite.reproduce import claims as rc

    near = tolerance is None or p["a"] + 2 * p["a_se"] < tolerance
    far = tolerance is not None and p["a"] - 2 * p["a_se"] > tolerance
    if p["resolved"] and p["a_better"] and near:
        verdict = rc.REPRODUCED
    elif (p["resolved"] and not p["a_better"]) or far:
        verdict = rc.CONTRADICTED
    else:
        verdict = rc.NOT_RESOLVED
    numbers = p["text"]
    if tolerance is not None:
        numbers += f"; A's error {p['a']:.3g} +- {p['a_se']:.2g} s.e. against the tolerance {tolerance:.3g}"
    numbers += f"; {extra}" if extra else ""
    effect = p["difference"] / p["se"] if p["se"] > 0 else None
    return rc.Claim(claim, source, verdict, numbers, profile, effect)


# --- the shipped checkpoint -----------------------------------------------------------------------------------------

def checkpoint_dir() -> Path:
    return paths.repo_root() / "checkpoints" / "cinn"


VARIANTS = {"full": {}, "no_x0": {"use_x0": False}, "no_adain": {"use_adain": False}}


def checkpoint_path(world: str, variant: str = "full", root: Path | None = None) -> Path:
    """``checkpoints/cinn/<world>-<variant>.safetensors``: a stage 1 and its x_0 embedding's encoder (fp16)."""
    return (checkpoint_dir() if root is None else Path(root)) / f"{world}-{variant}.safetensors"


def _half(module: torch.nn.Module) -> dict:
    return {k: (v.half() if v.is_floating_point() else v) for k, v in module.state_dict().items()}


def pretrain(cfg: CINNChapterConfig, device=None, progress: bool = True, log=print,
             out_dir: Path | None = None) -> dict:
    """Train every stage 1 the chapter evaluates and write each with its x_0 embedding (fp16) to ``out_dir``
    (default ``checkpoints/cinn/``). The cINNs are not shipped: small and fast, they train in the chapter.

    Per world: the image AE, then the full stage 1; on ``pushbot`` also the Table-4 ablations in
    ``cfg.ablations``, each trained for as many steps as the full model. Every run lives in
    ``runs/cinn-pretrain-*`` and resumes where it stopped; rerunning the command after an interruption finishes
    the job. Returns the CPU seconds of each piece (also in ``logs/cpu_seconds.json``).
    """
    import contextlib
    import time

    root = paths.runs_dir() / f"cinn-pretrain-{cfg.profile}-seed{cfg.seed}"
    out = checkpoint_dir() if out_dir is None else Path(out_dir)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def timed(name):
        t0 = time.process_time()
        yield
        seconds[name] = time.process_time() - t0
        log(f"{name}: {seconds[name]:.0f} CPU-s")

    # every world's full model first, then the ablations (a run cut short still has the chapter's core)
    plan = [(w, "full") for w in cfg.worlds] + [("pushbot", v) for v in cfg.ablations if "pushbot" in cfg.worlds]
    clips, aes = {}, {}
    for world, variant in plan:
        if world not in clips:
            with timed(f"{world} data"):
                clips[world] = load_clips(cfg, world, "train", cfg.train_videos)
            with timed(f"{world} image AE"):
                aes[world] = train_image_ae(cfg, model_configs(cfg, world), clips[world], root / f"{world}-ae",
                                            device, progress=progress)
        with timed(f"{world} {variant} stage 1"):
            cvae = train_stage1(cfg, model_configs(cfg, world, **VARIANTS[variant]), clips[world],
                                root / f"{world}-{variant}-stage1", device, progress=progress)
        save_stage1(checkpoint_path(world, variant, out), cvae, cfg.stage1_steps, image_ae=aes[world])
        log_file = root / f"{world}-{variant}-stage1" / "metrics.jsonl"       # the training curve ships too
        (out / "logs" / f"{world}-{variant}-stage1.jsonl").write_text(log_file.read_text())
    (out / "logs" / "cpu_seconds.json").write_text(json.dumps(seconds, indent=1))
    write_recorded_metrics(cfg, out)
    return seconds


def load_models(world: str, variant: str = "full", *, root: Path | None = None,
                device="cpu") -> tuple[cm.VideoCVAE, cm.ImageAE]:
    """The stage 1 and x_0 embedding of one trained variant (from ``root``, default the shipped checkpoint
    folder); a missing file says which command writes it."""
    path = checkpoint_path(world, variant, root)
    if not path.is_file():
        raise vio.CheckpointError(f"{path} is missing: run `python -m vidsynth_lite pretrain cinn --profile "
                                  "lite` (see checkpoints/cinn/README.md) or set use_checkpoint = False")
    return load_stage1(path, device), load_embedding(path, device)


@torch.no_grad()
def recorded_metrics(cfg: CINNChapterConfig, world: str, variant: str = "full", root: Path | None = None,
                     clips: int = 8) -> dict:
    """Two numbers the shipped checkpoint is checked against (``tests/test_cinn_checkpoint.py``): the stage
    1's test L1 reconstruction error (posterior mean) on the first ``clips`` test clips, and the mean norm of
    their x_0 embeddings."""
    cvae, ae = load_models(world, variant, root=root)
    test = load_clips(cfg, world, "test", clips)
    mu, _ = cvae.encoder(test["video"][:, 1:])
    l1 = (cvae.decoder(test["video"][:, 0], mu) - test["video"][:, 1:]).abs().mean().item()
    embed = ae.embed(test["video"][:, 0]).norm(dim=1).mean().item()
    return {"world": world, "variant": variant, "clips": clips, "test_l1": l1, "embedding_norm": embed}


def write_recorded_metrics(cfg: CINNChapterConfig, root: Path | None = None) -> dict:
    out = checkpoint_dir() if root is None else Path(root)
    record = {f"{w}-{v}": recorded_metrics(cfg, w, v, out) for w, v in
              [(w, "full") for w in cfg.worlds] + [("pushbot", v) for v in cfg.ablations if "pushbot" in cfg.worlds]}
    (out / "logs" / "recorded_metrics.json").write_text(json.dumps(record, indent=1))
    return record


def pretrain_main(argv: list[str]) -> int:
    """``python -m vidsynth_lite pretrain cinn [--profile P]``: train and write the shipped stage 1s (resumable:
    rerun the same command after an interruption). Prints the CPU seconds of each piece."""
    import argparse

    from vidsynth_lite import config, runtime

    parser = argparse.ArgumentParser(prog="python -m vidsynth_lite pretrain cinn",
                                     description=pretrain.__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="lite", choices=("smoke", "lite", "full"),
                        help="configs/cinn/<profile>.yaml (default: lite, the shipped checkpoint)")
    parser.add_argument("--out", default=None, help="output folder (default: checkpoints/cinn/)")
    args = parser.parse_args(argv)
    cfg = config.resolve(CINNChapterConfig, {"profile": args.profile})
    cfg.validate()
    seconds = pretrain(cfg, runtime.start(cfg), out_dir=None if args.out is None else Path(args.out))
    print(json.dumps(seconds, indent=2))
    return 0
