"""Train with vl.train: chapter 0's tiny predictor (fit), or a tiny two-optimizer GAN (fit_parts).

Used by the kill-and-resume and DDP tests.

usage: python train_tiny.py RUN_DIR STEPS [--gan] [--ckpt-every N] [--seed S] [--sleep SECONDS] [--batch B]
Writes RUN_DIR/final_<part>.safetensors (and final_<part>_ema.safetensors) with the final weights (rank 0).

The GAN exercises everything the loop offers a multi-part method: two D updates per G update (TrIVD-GAN-FP),
a lazy R1 penalty every 3 steps (StyleGAN2), a frozen feature network used in G's loss, per-part gradient
clipping and a scheduler, a late-starting weight EMA of G, and noise drawn from the global RNG (so resuming
must restore it).
"""

import argparse
import os
import time

import torch
import torch.nn.functional as F
from torch import nn

import vidsynth_lite as vl
from vidsynth_lite.chapters.running import TinyPredictor, moving_pattern, next_frame_loss
from vidsynth_lite.train import Part

parser = argparse.ArgumentParser()
parser.add_argument("run_dir")
parser.add_argument("steps", type=int)
parser.add_argument("--gan", action="store_true")
parser.add_argument("--ckpt-every", type=int, default=2)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--batch", type=int, default=8)
args = parser.parse_args()

torch.set_num_threads(1)
vl.runtime.seed_everything(args.seed)


def pause(step, record):
    time.sleep(args.sleep)


common = {"steps": args.steps, "run_dir": args.run_dir, "ckpt_every": args.ckpt_every, "log_every": 1,
          "device": torch.device("cpu"), "progress": False, "on_step": pause if args.sleep else None}

if not args.gan:
    videos = moving_pattern(32, 6, 16, seed=args.seed)              # [32, 6, 3, 16, 16]
    model = TinyPredictor(width=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.7)
    result = vl.train.fit(model, next_frame_loss, vl.train.StepBatches(videos, args.batch, seed=args.seed),
                          optimizer=optimizer, scheduler=scheduler, grad_clip=1.0, ema_decay=0.8, **common)
else:
    Z = 8
    images = moving_pattern(32, 2, 8, seed=args.seed)[:, 0]         # [32, 3, 8, 8]
    G = nn.Sequential(nn.Linear(Z, 3 * 8 * 8), nn.Tanh(), nn.Unflatten(1, (3, 8, 8)))
    D = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Flatten(),
                      nn.Linear(8 * 4 * 4, 1))
    features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))   # frozen
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.0, 0.99))
    parts = {"G": Part(G, opt_g, scheduler=torch.optim.lr_scheduler.StepLR(opt_g, 4, 0.5), ema_decay=0.7,
                       ema_start=3),
             "D": Part(D, opt_d, grad_clip=1.0),
             "features": Part(features)}

    def update_D(state, real):
        with torch.no_grad():
            fake = state["G"](torch.randn(real.shape[0], Z))
        loss = F.softplus(state["D"](fake)).mean() + F.softplus(-state["D"](real)).mean()
        state.update("D", loss)
        return loss

    def gan_step(state, real):
        d_losses = [update_D(state, half) for half in real.chunk(2)]    # two D steps per G step
        if state.every(3):                                                # lazy R1
            x = real.detach().requires_grad_(True)
            grad, = torch.autograd.grad(state["D"](x).sum(), x, create_graph=True)
            state.update("D", 3 * grad.pow(2).flatten(1).sum(1).mean())
        fake = state["G"](torch.randn(real.shape[0], Z))
        matching = (state["features"](fake).mean(0) - state["features"](real).mean(0)).pow(2).mean()
        g_loss = F.softplus(-state["D"](fake)).mean() + matching
        state.update("G", g_loss)
        return {"d_loss": sum(d_losses) / 2, "g_loss": g_loss}

    result = vl.train.fit_parts(parts, gan_step, vl.train.StepBatches(images, args.batch, seed=args.seed),
                                **common)

if int(os.environ.get("RANK", "0")) == 0:
    for name, part in result.parts.items():
        vl.io.save_weights(f"{args.run_dir}/final_{name}.safetensors", part.model, step=result.step)
    for name, ema in result.emas.items():
        vl.io.save_weights(f"{args.run_dir}/final_{name}_ema.safetensors", ema.state_dict(), step=result.step)
