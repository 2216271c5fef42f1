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

# %% [markdown] tags=["opening"]
# **You will be able to**
#
# - run a chapter at a chosen profile, change its parameters, and read the one-line error a wrong value gets;
# - write one training step by hand (loss, clear the gradients, back-propagate, clip, update) and say what
#   `vl.train.fit` adds around it;
# - check a gradient against finite differences, and say why the check needs float64;
# - find the bugs in a training loop that does not learn, from what it measures;
# - interrupt a training run, resume it, and explain why the result equals the uninterrupted run bit for bit.
#
# **Prerequisites**: Python and NumPy; PyTorch tensors, `nn.Module`, `torch.optim` and autograd
# (`loss.backward()`); what a 2-D convolution and the mean squared error are. No earlier chapter.
#
# **Time**: about 90 minutes for a student: 35 to read and run the chapter, 55 for the exercises. The chapter
# itself runs in a minute or two on a laptop CPU at `lite`; its results cell prints how long it took.
#
# **Core and optional**: core -- everything up to "The training curve", Exercises 0.1 to 0.3 and the questions
# at the end. Optional -- the frame explorer, "Results, with their protocol" (worth reading before chapter 2),
# and the open experiments of Exercise 0.4.

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
# ## One training step, by hand
#
# Training repeats one step: compute the loss on a batch; clear the gradients the previous step left in every
# parameter's `.grad` (PyTorch *adds* new gradients to old ones); back-propagate, which fills `.grad` with
# $\partial L / \partial \theta$; clip the gradient's norm, so that one unlucky batch cannot throw the weights
# far; and let the optimiser move the weights. Everything else a training loop does -- choosing the batch,
# logging, saving, resuming -- is bookkeeping around these lines.
#
# **Exercise 0.1** -- write that step. `loss_fn(model, batch)` returns the loss, or `(loss, logs)` like
# `next_frame_loss` here. Clip the global gradient norm to `max_norm` (`torch.nn.utils.clip_grad_norm_`) and
# return the loss of this batch, detached from the graph. The cells after it train the tiny predictor with
# *your* step.

# %% tags=["exercise"]
def train_step(model, optimizer, loss_fn, batch, max_norm):
    """One optimiser step of `model` on `batch`; returns the batch's loss (detached)."""
    raise NotImplementedError


vl.exercises.check("running.train_step", train_step)

# %% tags=["solution", "hide-cell"]
def train_step(model, optimizer, loss_fn, batch, max_norm):
    """One optimiser step of `model` on `batch`; returns the batch's loss (detached)."""
    out = loss_fn(model, batch)
    loss = out[0] if isinstance(out, tuple) else out  # a loss function may also return logs
    optimizer.zero_grad()  # .grad still holds the previous step's gradients
    loss.backward()  # .grad = dL/dtheta for every parameter
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)  # g <- g * min(1, max_norm / |g|)
    optimizer.step()  # Adam: theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)
    return loss.detach()


vl.exercises.check("running.train_step", train_step)

# %% [markdown]
# Your step now trains a fresh predictor for a few steps, on the batches `batches(step)` picks. Then
# `vl.train.fit` trains another fresh predictor for as many steps: the weights must come out equal, because the
# book's loop *is* this step, plus bookkeeping.

# %%
import shutil

train_step = vl.exercises.use("running.train_step", train_step)  # yours once it passes its check
hand_steps = min(5, cfg.steps)
by_hand, hand_optimizer = make_model_and_optimizer()
for step in range(hand_steps):
    loss = train_step(by_hand, hand_optimizer, next_frame_loss, batches(step), max_norm=1.0)
    print(f"step {step + 1}: loss {loss:.5f}")

by_fit, fit_optimizer = make_model_and_optimizer()
hand_dir = vl.paths.runs_dir() / f"running-by-hand-{cfg.profile}"
shutil.rmtree(hand_dir, ignore_errors=True)
vl.train.fit(by_fit, next_frame_loss, batches, steps=hand_steps, optimizer=fit_optimizer, run_dir=hand_dir,
             grad_clip=1.0, device=torch.device("cpu"), progress=False)
largest = max((a - b).abs().max().item()
              for a, b in zip(by_hand.state_dict().values(), by_fit.state_dict().values()))
print(f"largest weight difference, your {hand_steps} steps vs vl.train.fit's: {largest:.1e}")
assert largest < 1e-5

# %% [markdown]
# What `fit` adds is what its keywords say:
#
# | keyword | what it does |
# |---|---|
# | `steps` | total number of steps of the run, counted across interruptions |
# | `grad_clip` | your `max_norm` |
# | `run_dir`, `ckpt_every` | where and how often a checkpoint is written (weights, optimiser state, random generators) |
# | `log_every` | how often a line with the loss and the logged terms goes to `run_dir/metrics.jsonl` |
# | `ema_decay` | keep an exponential moving average of the weights, often a better model than the last weights |
# | `config` | stored beside each checkpoint, so a run says how it was made |
# | `device`, `desc`, `progress` | where to train; the progress bar's label; whether to show it |
# | `on_step` | a function called after each step (below, it simulates a crash) |
#
# And it takes `batches(step)` rather than an iterator: the batch of step $k$ is a pure function of $k$, which
# is what lets a resumed run see exactly the batches the interrupted one would have seen. Methods with several
# networks (a GAN's generator and discriminator) use `vl.train.fit_parts`, where the step function calls
# `state.update(name, loss)` once per network: your five lines, once per part.
#
# ## Is the gradient right? A finite-difference check
#
# `loss.backward()` computes $\partial L / \partial \theta$ with the chain rule, through every operation. A
# gradient can also be *measured*, with no autograd at all, from its definition: for each coordinate $i$,
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + \epsilon e_i) - f(x - \epsilon e_i)}{2 \epsilon},$$
#
# with an error of order $\epsilon^2$ (the central difference cancels the $\epsilon$ term of the Taylor series).
# Comparing the two is how one checks a hand-written backward pass (it is what `torch.autograd.gradcheck` does).
# The catch is the subtraction: $f(x + \epsilon e_i)$ and $f(x - \epsilon e_i)$ share most of their digits,
# and float32 keeps only about seven.
#
# **Exercise 0.2** -- write `numerical_gradient(f, x, eps=1e-6)`: the gradient of a scalar function `f` at `x`
# (any shape, a 0-dim scalar included) by central differences, with the shape and dtype of `x`, accurate to
# about $10^{-6}$ even when `x` is float32. Autograd is switched off while your function runs.

# %% tags=["exercise"]
def numerical_gradient(f, x, eps=1e-6):
    """The gradient of the scalar function f at x by central differences (shape and dtype of x)."""
    raise NotImplementedError


vl.exercises.check("running.numerical_gradient", numerical_gradient)

# %% tags=["solution", "hide-cell"]
def numerical_gradient(f, x, eps=1e-6):
    """The gradient of the scalar function f at x by central differences (shape and dtype of x)."""
    x64 = x.detach().to(torch.float64)  # in float32 the difference below would be mostly rounding
    gradient = torch.zeros(x64.numel(), dtype=torch.float64)  # [N], one entry per coordinate
    for i in range(x64.numel()):
        e_i = torch.zeros(x64.numel(), dtype=torch.float64)
        e_i[i] = eps
        e_i = e_i.reshape(x64.shape)
        gradient[i] = (f(x64 + e_i) - f(x64 - e_i)) / (2 * eps)
    return gradient.reshape(x.shape).to(x.dtype)


vl.exercises.check("running.numerical_gradient", numerical_gradient)

# %% [markdown]
# Now check the gradient the loop follows: the derivative of the predictor's loss with respect to the bias of
# its last convolution, by autograd and by your finite differences, in float64.

# %%
import copy

numerical_gradient = vl.exercises.use("running.numerical_gradient", numerical_gradient)
checked = copy.deepcopy(model).double()  # the fresh predictor, in float64
clip64 = train_videos[:2].double()  # [2, T, 3, H, W]
bias_name = "net.4.bias"  # the last convolution's bias, [3]
bias = dict(checked.named_parameters())[bias_name]


def loss_of_bias(b):
    """The loss as a function of the last bias alone (every other weight held fixed)."""

    def predict(previous, current):
        return torch.func.functional_call(checked, {bias_name: b}, (previous, current))

    return next_frame_loss(predict, clip64)[0]


(by_autograd,) = torch.autograd.grad(loss_of_bias(bias), bias)
with torch.no_grad():  # the other weights need no gradient here
    by_differences = numerical_gradient(loss_of_bias, bias.detach())
relative = ((by_autograd - by_differences).norm() / by_autograd.norm()).item()
print("autograd:          ", by_autograd.numpy())
print("finite differences:", by_differences.numpy())
print(f"relative difference {relative:.1e}")
assert relative < 1e-6

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
# Exercises 0.1 (a training step) and 0.2 (a gradient check) are in the chapter above, where the chapter runs on
# your code. Each exercise cell ends with a checker that says in one line whether your answer is right and, if
# not, why; calling the package's own implementation of the thing asked fails it.
#
# **Exercise 0.3 -- a loop that does not learn.** This loop was written to train the next-frame predictor. It
# runs without an error, yet the model never predicts better than copying the last frame. Find the two bugs and
# fix them. The checker trains a small predictor with your loop for 60 steps and grades the outcome: the
# held-out next-frame error must fall below 0.6 times the copy-last-frame error.

# %% tags=["exercise"]
def train_briefly(model, optimizer, videos, steps):
    """Train `model(previous, current) -> next` on clips `videos` [N, T, 3, H, W] for `steps` steps."""
    for step in range(steps):
        batch = videos[torch.randint(len(videos), (8,))]  # [8, T, 3, H, W]
        previous = batch[:, :-2].flatten(0, 1)  # frames t - 1, [8 (T - 2), 3, H, W]
        current = batch[:, 1:-1].flatten(0, 1)  # frames t
        target = batch[:, 1:-1].flatten(0, 1)
        loss = (model(previous, current) - target).pow(2).mean()
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()


vl.exercises.check("running.train_briefly", train_briefly)

# %% tags=["solution", "hide-cell"]
def train_briefly(model, optimizer, videos, steps):
    """Train `model(previous, current) -> next` on clips `videos` [N, T, 3, H, W] for `steps` steps."""
    for step in range(steps):
        batch = videos[torch.randint(len(videos), (8,))]  # [8, T, 3, H, W]
        previous = batch[:, :-2].flatten(0, 1)  # frames t - 1, [8 (T - 2), 3, H, W]
        current = batch[:, 1:-1].flatten(0, 1)  # frames t
        target = batch[:, 2:].flatten(0, 1)  # frames t + 1 (bug 1: the target was frame t itself)
        loss = (model(previous, current) - target).pow(2).mean()
        optimizer.zero_grad()  # bug 2: called after backward(), it erased the gradients before step()
        loss.backward()
        optimizer.step()


vl.exercises.check("running.train_briefly", train_briefly)

# %% [markdown]
# **Exercise 0.4 -- open experiments.** Run them, write down what you observe and why, then compare with the
# answer key.
#
# (a) Run this chapter twice with the same seed and compare the two `results/running.json`: which numbers are
# identical and which are not? Then run it once with `VIDSYNTH_THREADS=1` and once with `VIDSYNTH_THREADS=2`:
# what changes, and why?
#
# (b) Roll out the test clips with the raw weights (`model`) instead of the EMA weights
# (`resumed.ema.averaged(model)`). Which rollout error is lower, and why might the average of recent weights
# predict better than the last weights?
#
# (c) Launch the same training with two processes (`torchrun --nproc_per_node 2`, see `tests/scripts/`) and
# compare the weights with a single-process run: why are they equal only up to floating-point rounding?

# %% [markdown] tags=["solution", "experiment"]
# **Expected outcomes.**
#
# (a) With the same seed and thread count, every metric computed from the run is identical (`rollout_mse`,
# `copy_last_frame_mse`, `resume_bit_exact`); the times (`train_seconds`, `chapter_seconds_until_results`), the
# peak memory and the `written` stamp are not. With 1 and 2 threads the weights differ: by up to 5e-5 after the
# 60 `lite` steps when this key was written, which moved the rollout error in its sixth digit. A sum split over
# two threads adds its terms in another order, and floating-point addition is not associative; that is why the
# runtime fixes the thread count, and why "bit for bit" is promised on one machine and thread count only.
#
# (b) When this key was written (`lite`, seed 0): EMA weights 0.0216, raw weights 0.0254, copy-last-frame 0.0270.
# The last Adam steps jitter the weights around a good region; averaging the recent weights (decay 0.9: roughly
# the last 10 steps) cancels part of that noise, the way averaging repeated measurements does.
#
# (c) Each process computes the gradient of its half of the batch; DDP averages the halves. The average of two
# half-batch means equals the full-batch mean mathematically, but the sums happen in another order (and the
# all-reduce adds in its own order), so the last bits differ and the differences grow a little with every step.

# %% [markdown]
# ## Check your understanding
#
# Answer each question before opening the answer key. Question 1 is checked here; the others are for you (or
# your class) to discuss.
#
# **Question 1.** A run with `ckpt_every = 10` and `steps = 60` crashes after step 37. You call `fit` again with
# the same `run_dir`. Which steps does it run?
# (a) none: the run is lost; (b) steps 31 to 60, so 31 to 37 twice; (c) steps 1 to 60 again; (d) steps 38 to
# 60 only.

# %% tags=["exercise"]
answer = None  # "a", "b", "c" or "d"
vl.exercises.check("running.quiz_resume", answer)

# %% tags=["solution", "hide-cell"]
answer = "b"
vl.exercises.check("running.quiz_resume", answer)

# %% [markdown] tags=["solution"]
# **Answer 1: (b).** The last checkpoint was written after step 30; `fit` loads it and runs steps 31 to 60.
# Steps 31 to 37 are computed a second time, on the same batches (`batches(step)`) and with the same random
# draws (the generators' states are in the checkpoint), so the final weights equal the uninterrupted run's.

# %% [markdown]
# **Question 2.** Why does the chapter report the copy-last-frame error beside the predictor's?

# %% [markdown] tags=["solution"]
# **Answer 2.** A loss value alone says nothing: 0.02 may be excellent or useless. Copying the last frame is
# what a predictor that learned nothing about motion can do for free, so the model's error means something
# only next to it: below it, the model has learned to move the disc.

# %% [markdown]
# **Question 3.** Besides the weights, what must a checkpoint hold for the resumed run to equal the
# uninterrupted one bit for bit? Say why each is needed.

# %% [markdown] tags=["solution"]
# **Answer 3.** The optimiser's state (Adam's moving averages of the gradient and its square, and its step
# count), or the next update differs; the EMA weights, or the averaged model differs; the random generators'
# states (torch, NumPy, Python), or any random draw after the resume differs; the step number, so that the
# batches (`batches(step)`) and the schedule continue where they stopped.

# %% [markdown]
# **Question 4.** The predictor is trained to predict one frame ahead from true frames, but its rollout feeds
# its own predictions back in. Why is the rollout error larger than the training loss, and how does it grow
# with the horizon?

# %% [markdown] tags=["solution"]
# **Answer 4.** During training the inputs are always true frames; in a rollout, each prediction's error
# becomes part of the next input, which is unlike anything seen in training, so errors compound and the error
# grows with the number of frames predicted (the "exposure bias" of teacher forcing).

# %% [markdown]
# **Question 5.** A parameter that other values depend on (say `steps`, on which `interrupt_at` depends) is
# overridden by papermill. Why must a value derived from it be computed in a cell *after* the parameters cell?

# %% [markdown] tags=["solution"]
# **Answer 5.** Papermill inserts its `injected-parameters` cell *after* the cell tagged `parameters`; a value
# computed inside the parameters cell was computed from the old value and is not recomputed. Deriving it in a
# later cell (here: `resolve(...)`) sees the injected value.

# %% [markdown]
# ## Summary
#
# - One training step is five lines: loss, clear the old gradients, back-propagate, clip, update; a
#   finite-difference check (in float64) tells whether a gradient is right.
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
