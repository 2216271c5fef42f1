# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 0. Running the book
#
# Every chapter of this book is a notebook that runs from top to bottom on a laptop CPU in minutes, and at the
# papers' scale on a GPU through papermill. This chapter shows the machinery every later chapter relies on,
# on the smallest example that exercises all of it:
#
# 1. **parameters and profiles** -- one cell of flat settings, validated into a typed config;
# 2. **the runtime report** -- versions, device, threads, seed, profile, printed at the top of every chapter;
# 3. **a tiny moving pattern** and **a tiny model** that predicts its next frame;
# 4. **training with checkpoints**, interrupted half-way and **resumed exactly**;
# 5. **showing videos** in the page (a playing mp4 and a PNG frame grid);
# 6. **results with their protocol**, written to `results/running.json`.
#
# The first code cell below is tagged `parameters`: papermill replaces its values, and the environment variable
# `VIDSYNTH_PROFILE` overrides `profile` (the test suite sets it to `smoke`). Every value that is `None` takes
# the profile's value from `configs/running/<profile>.yaml`.

# %% tags=["parameters"]
profile = "lite"  # smoke | lite | full  (VIDSYNTH_PROFILE overrides it)
seed = 0  # seed of every random generator
size = None  # frame height and width; None: the profile's value
frames = None  # frames per clip
clips = None  # training clips
batch_size = None  # clips per optimiser step
steps = None  # optimiser steps in total
interrupt_at = None  # step at which the demo run is interrupted
width = None  # channels of the tiny predictor
lr = None  # Adam learning rate
ckpt_every = None  # checkpoint period in steps

# %% [markdown]
# ## Parameters become a validated config
#
# `notebook_parameters(globals())` collects the names the parameters cell (and papermill) defined;
# `resolve` merges them with the profile file and checks every value. A typo such as `stpes = 5`, a value such
# as `steps = "many"` or `profile = "huge"` stops here with one message that names the parameter, the value and
# what is allowed -- before any minute is spent training.

# %%
import time

import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters.running import RunningConfig, TinyPredictor, moving_pattern, next_frame_loss

chapter_started = time.perf_counter()
cfg = vl.config.resolve(RunningConfig, vl.config.notebook_parameters(globals()))
cfg

# %% [markdown]
# Here is what a mistake looks like (the error is caught so that the chapter goes on):

# %%
try:
    vl.config.resolve(RunningConfig, {"profile": cfg.profile, "steps": "many"})
except vl.config.ConfigError as error:
    print("ConfigError:", error)

# %% [markdown]
# ## The runtime report
#
# `vl.runtime.start(cfg)` seeds Python, NumPy and torch, fixes the number of CPU threads (floating-point
# sums depend on it), picks the device (`cuda` > `mps` > `cpu`) and prints what a reader needs to reproduce a
# number. Every chapter starts with it.

# %%
device = vl.runtime.start(cfg)

# %% [markdown]
# ## A tiny moving pattern
#
# A shaded disc glides over a colour gradient and bounces off the borders. Each clip is a tensor
# `[T, 3, H, W]` with values in $[-1, 1]$; a batch is `[B, T, 3, H, W]` -- the convention of the whole book.

# %%
train_videos = moving_pattern(cfg.clips, cfg.frames, cfg.size, seed=cfg.seed)        # [N, T, 3, H, W]
test_videos = moving_pattern(8, cfg.frames, cfg.size, seed=cfg.seed + 10_000)         # disjoint seed
print("train", tuple(train_videos.shape), "test", tuple(test_videos.shape))
assert train_videos.min() >= -1 and train_videos.max() <= 1
vl.viz.show_video(train_videos[:4], fps=6, caption="four training clips of the moving pattern")

# %% [markdown]
# ## A tiny model and its loss
#
# The predictor sees frames $x_{t-1}, x_t$ and outputs $\hat x_{t+1} = x_t + f_\theta(x_{t-1}, x_t)$; the loss
# is the mean squared error $\frac{1}{N}\sum (\hat x_{t+1} - x_{t+1})^2$ over every position. Beside it we log
# the trivial baseline "copy the last frame", so that the number means something.

# %%
def make_model_and_optimizer():
    torch.manual_seed(cfg.seed)
    model = TinyPredictor(cfg.width)
    return model, torch.optim.Adam(model.parameters(), lr=cfg.lr)


batches = vl.train.StepBatches(train_videos, cfg.batch_size, seed=cfg.seed)  # batch = pure function of step
model, optimizer = make_model_and_optimizer()
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")

# %% [markdown]
# ## Train, get interrupted, resume
#
# `vl.train.fit` trains one model; it is the one-part case of `vl.train.fit_parts`, the loop every method of
# the book uses (a GAN passes its generator and discriminator as named parts and a step function that updates
# them in its paper's order). It checkpoints every `ckpt_every` steps (weights in safetensors, optimiser and
# random-generator states in a `weights_only`-safe file, each file checksummed, written atomically), and when
# it is called again with the same `run_dir` it continues from the last checkpoint. We simulate a crash at
# step `interrupt_at`, then call `fit` again.
#
# The run folder is named by everything that changes the result: `vl.config.run_dir(cfg)` hashes every
# resolved parameter and the package's source code, so a changed parameter starts a new run and re-running the
# same configuration resumes.

# %%
import shutil

run_dir = vl.config.run_dir(cfg)
print(run_dir.name)
shutil.rmtree(run_dir, ignore_errors=True)  # start this demonstration from scratch


class SimulatedCrash(RuntimeError):
    pass


def crash_at(step, record):
    if step == cfg.interrupt_at:
        raise SimulatedCrash(f"simulated crash after step {step}")


fit_args = {"steps": cfg.steps, "run_dir": run_dir, "ckpt_every": cfg.ckpt_every, "log_every": 1,
            "grad_clip": 1.0, "ema_decay": 0.9, "config": cfg.to_dict(), "device": device,
            "desc": "tiny predictor"}
try:
    vl.train.fit(model, next_frame_loss, batches, optimizer=optimizer, on_step=crash_at, **fit_args)
except SimulatedCrash as crash:
    print(crash)

# %% [markdown]
# A new process would start with fresh objects; so do we. `fit` finds the checkpoint and goes on from it -- the
# steps between the checkpoint and the crash are simply done again, on the same batches with the same random
# draws.

# %%
model, optimizer = make_model_and_optimizer()
resumed = vl.train.fit(model, next_frame_loss, batches, optimizer=optimizer, **fit_args)
print(f"resumed from step {resumed.resumed_from}, finished at step {resumed.step}")
assert resumed.resumed_from is not None and resumed.resumed_from <= cfg.interrupt_at
assert resumed.step == cfg.steps

# %% [markdown]
# `fit` resumes only the run that was asked for. Called on this folder with another learning rate (or seed,
# width, step count ...), it refuses and names every difference instead of silently continuing the old run:

# %%
other_model, _ = make_model_and_optimizer()
try:
    vl.train.fit(other_model, next_frame_loss, batches, progress=False,
                 optimizer=torch.optim.Adam(other_model.parameters(), lr=cfg.lr / 2),
                 **{**fit_args, "config": {**cfg.to_dict(), "lr": cfg.lr / 2}})
except vl.train.RunMismatchError as refusal:
    print("RunMismatchError:", refusal)

# %% [markdown]
# Is the resumed run *exactly* the run that was never interrupted? We train once more without a crash, in a
# second folder, and compare every weight bit for bit.

# %%
reference_dir = run_dir.with_name(run_dir.name + "-uninterrupted")
shutil.rmtree(reference_dir, ignore_errors=True)
reference_model, reference_optimizer = make_model_and_optimizer()
vl.train.fit(reference_model, next_frame_loss, batches, optimizer=reference_optimizer, progress=False,
             **{**fit_args, "run_dir": reference_dir})
identical = all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                  reference_model.state_dict().values()))
print("resumed weights identical to the uninterrupted run:", identical)
if device.type == "cpu":
    assert identical

# %% [markdown]
# ## The training curve
#
# The loop logged one JSON line per step in `run_dir/metrics.jsonl`.

# %%
import matplotlib.pyplot as plt

log = vl.train.read_log(run_dir)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot([r["step"] for r in log], [r["loss"] for r in log], label="tiny predictor")
ax.plot([r["step"] for r in log], [r["copy_last_mse"] for r in log], label="copy last frame", ls="--")
ax.axvline(cfg.interrupt_at, color="grey", lw=0.8)
ax.set(xlabel="step", ylabel="MSE", yscale="log", title="next-frame prediction (train batches)")
ax.legend()
plt.show()

# %% [markdown]
# ## The result as a video
#
# From the first two frames of each test clip, the model predicts the rest one frame at a time, feeding its own
# predictions back. Top row: the truth; bottom row: the rollout (EMA weights).

# %%
predictor = resumed.ema.averaged(model).to(device)
context = test_videos[:4, :2].to(device)                                     # [4, 2, 3, H, W]
rollout = predictor.rollout(context, horizon=cfg.frames - 2).cpu()           # [4, T, 3, H, W]
vl.viz.show_video(torch.cat([test_videos[:4], rollout]), fps=6, columns=4,
                 caption="top: ground truth; bottom: the tiny predictor's rollout from 2 frames")

# %% [markdown]
# Step through the rollout of the first test clip frame by frame. In JupyterLab the slider redraws the frame; the
# rendered page cannot run Python, so `vl.viz.explore` first draws a static row of evenly spaced frames that
# every reader sees.

# %%
def draw_frame(ax, t):
    pair = torch.cat([test_videos[0, t], rollout[0, t]], dim=2)              # [3, H, 2W]: truth | rollout
    ax.imshow(((pair.permute(1, 2, 0) + 1) / 2).clamp(0, 1).numpy())
    ax.axis("off")


vl.viz.explore(draw_frame, "t", list(range(cfg.frames)))

# %% [markdown]
# ## Results, with their protocol
#
# A number without its protocol is not a result. Every chapter writes `results/<chapter>.json` with the metrics,
# how they were measured, and the environment; the reproduction pages read these files.

# %%
peak_memory_mb = vl.runtime.peak_memory_mb(device)  # this kernel's peak so far
mse_model = (rollout[:, 2:] - test_videos[:4, 2:]).pow(2).mean().item()
mse_copy = (test_videos[:4, 1:2] - test_videos[:4, 2:]).pow(2).mean().item()
path = vl.reproduce.write_results(
    "running", cfg.profile,
    metrics={"rollout_mse": mse_model, "copy_last_frame_mse": mse_copy, "resume_bit_exact": identical,
             "train_seconds": resumed.seconds, "peak_memory_mb": peak_memory_mb,
             "chapter_seconds_until_results": time.perf_counter() - chapter_started},
    protocol={"data": "moving_pattern (test seed = seed + 10000)", "clips": 4, "resolution": cfg.size,
              "frames": cfg.frames, "context_frames": 2, "weights": "EMA (decay 0.9)", "seed": cfg.seed,
              "steps": cfg.steps},
    config=cfg,
)
print(f"chapter run time: {time.perf_counter() - chapter_started:.1f} s, peak memory of this kernel: "
      f"{peak_memory_mb:.0f} MB")

# %% [markdown]
# The results of this run, read back from the file just written, and the run card: the profile it ran at,
# how long it took and the machine, so a reader of the rendered page knows what they are looking at.

# %%
import pandas as pd

stored = vl.reproduce.read_results("running")
pd.DataFrame({"value": stored["metrics"]}).rename_axis("metric")

# %%
vl.reproduce.show_run("running")

# %% [markdown]
# ## Exercises
#
# Each exercise has a stub for you to fill and a checker that compares your function with the package's on
# random inputs. The worked solution follows in a hidden cell (click to reveal it in the book; teachers remove
# cells tagged `solution` before handing a chapter out: `make assignment CHAPTER=00_running_the_book`).
#
# **Exercise 0.1** -- the exponential moving average that `fit(..., ema_decay=...)` keeps of every weight.

# %% tags=["exercise"]
def ema_update(average, value, decay):
    """Return the new moving average after seeing `value`."""
    raise NotImplementedError


vl.exercises.check("running.ema_update", ema_update)

# %% tags=["solution", "hide-cell"]
def ema_update(average, value, decay):
    """Return the new moving average after seeing `value`."""
    return average + (1 - decay) * (value - average)


vl.exercises.check("running.ema_update", ema_update)

# %% [markdown]
# **Exercise 0.2** -- the "copy the last frame" baseline: the mean squared error of predicting every frame by
# the one before it, over clips `[B, T, C, H, W]`.

# %% tags=["exercise"]
def copy_last_mse(video):
    """Mean squared error of predicting frame t + 1 by frame t."""
    raise NotImplementedError


vl.exercises.check("running.copy_last_mse", copy_last_mse)

# %% tags=["solution", "hide-cell"]
def copy_last_mse(video):
    """Mean squared error of predicting frame t + 1 by frame t."""
    previous, following = video[:, :-1], video[:, 1:]  # [B, T - 1, C, H, W] each
    return ((following - previous) ** 2).mean()


vl.exercises.check("running.copy_last_mse", copy_last_mse)

# %% [markdown]
# **Open exercises**
#
# 3. Run this chapter twice with the same seed and compare `results/running.json`: which numbers are identical,
#    and which (timings) are not? Now set `VIDSYNTH_THREADS=1` for one run: what changes, and why?
# 4. Interrupt the run at a step that is *not* a multiple of `ckpt_every`. How many steps are done twice?
# 5. Launch the same training with two processes (`torchrun --nproc_per_node 2`, see `tests/scripts/`) and
#    compare the weights with a single-process run: why are they equal only up to floating-point tolerance?
#
# ## Summary
#
# - A chapter's settings are one `parameters` cell of flat literals; `resolve` validates them against a typed
#   config and the profile files in `configs/<chapter>/`; `VIDSYNTH_PROFILE` overrides the profile.
# - `vl.runtime.start` seeds everything, fixes threads and prints the environment; on a CPU, `smoke` runs are
#   bit-for-bit repeatable.
# - `vl.train.fit` (one model) and `vl.train.fit_parts` (named parts and a step function) are the one training
#   loop: deterministic batches, checksummed checkpoints written atomically in safe formats, exact resume of
#   the same run only (`vl.config.run_dir(cfg)` names a folder per configuration), EMA, NaN guard,
#   JSON-lines log read from the device on logging steps only, DDP under `torchrun`.
# - `vl.viz.show_video` embeds a small mp4 and a PNG frame grid; `vl.reproduce.write_results` stores every number
#   with its protocol.
