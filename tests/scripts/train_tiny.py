"""Train the tiny predictor of chapter 0 with vl.train.fit (used by the kill-and-resume and DDP tests).

usage: python train_tiny.py RUN_DIR STEPS [--ckpt-every N] [--seed S] [--sleep SECONDS] [--batch B]
Writes RUN_DIR/final.safetensors with the final weights (rank 0).
"""

import argparse
import time

import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters.running import TinyPredictor, moving_pattern, next_frame_loss

parser = argparse.ArgumentParser()
parser.add_argument("run_dir")
parser.add_argument("steps", type=int)
parser.add_argument("--ckpt-every", type=int, default=2)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--batch", type=int, default=8)
args = parser.parse_args()

torch.set_num_threads(1)
vl.runtime.seed_everything(args.seed)
videos = moving_pattern(32, 6, 16, seed=args.seed)              # [32, 6, 3, 16, 16]
model = TinyPredictor(width=8)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.7)


def pause(step, record):
    time.sleep(args.sleep)


result = vl.train.fit(model, next_frame_loss, vl.train.StepBatches(videos, args.batch, seed=args.seed),
                      steps=args.steps, optimizer=optimizer, scheduler=scheduler, run_dir=args.run_dir,
                      ckpt_every=args.ckpt_every, log_every=1, grad_clip=1.0, ema_decay=0.8,
                      device=torch.device("cpu"), progress=False, on_step=pause if args.sleep else None)
rank = int(__import__("os").environ.get("RANK", "0"))
if rank == 0:
    vl.io.save_weights(f"{args.run_dir}/final.safetensors", model, step=result.step)
    vl.io.save_weights(f"{args.run_dir}/final_ema.safetensors", result.ema.state_dict(), step=result.step)
