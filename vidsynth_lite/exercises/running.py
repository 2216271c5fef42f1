"""Chapter 0 exercises: one training step by hand, a gradient check, a loop that does not learn, a quiz.

The checkers build their own tiny model and clips (a blob gliding over a gradient), so they need nothing from
the chapter and run in about a second on one CPU thread.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from vidsynth_lite.exercises.core import Choice, Exercise, Outcome, Property, register
from vidsynth_lite.exercises.families import Problem, compare

# what would let a student skip the exercise: the book's training package (fit, and the step it runs)
LOOP = ("vidsynth_lite.train",)


class _TwoFramePredictor(nn.Module):
    """Frame t + 1 from frames t - 1 and t: a residual on frame t (chapter 0's TinyPredictor, smaller)."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(6, width, 3, padding=1), nn.GELU(), nn.Conv2d(width, 3, 3, padding=1))

    def forward(self, previous, current):
        return current + self.net(torch.cat([previous, current], dim=1))


def gliding_blobs(n: int, frames: int, size: int, seed: int, dtype=torch.float32, sigma: float = 0.2) -> torch.Tensor:
    """``[n, T, 3, size, size]`` in [-1, 1]: a soft blob moving at constant velocity (wrapping around) over a
    colour gradient; a pure function of ``seed``."""
    g = torch.Generator().manual_seed(seed)
    start = torch.rand(n, 2, generator=g, dtype=torch.float64)                    # [n, 2] in [0, 1)
    velocity = (torch.rand(n, 2, generator=g, dtype=torch.float64) - 0.5) * 0.2   # [n, 2] per frame
    colour = torch.rand(n, 3, generator=g, dtype=torch.float64) * 1.6 - 0.8
    coords = (torch.arange(size, dtype=torch.float64) + 0.5) / size
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")                        # [H, W]
    background = (xx - 0.5) * 0.8                                                  # [H, W]
    t = torch.arange(frames, dtype=torch.float64)
    centre = (start[:, None] + velocity[:, None] * t[None, :, None]) % 1.0        # [n, T, 2]
    dx = (xx - centre[..., 0, None, None] + 0.5) % 1.0 - 0.5                      # [n, T, H, W] on the torus
    dy = (yy - centre[..., 1, None, None] + 0.5) % 1.0 - 0.5
    blob = torch.exp(-(dx**2 + dy**2) / (2 * sigma**2))                          # [n, T, H, W]
    video = background + blob[:, :, None] * (colour[:, None, :, None, None] - background)  # [n, T, 3, H, W]
    return video.clamp(-1, 1).to(dtype)


def _next_frame_terms(model, batch):
    """(loss, {"copy_last_mse": ...}) like the chapter's next_frame_loss, for clips ``[B, T, 3, H, W]``."""
    previous, current, target = batch[:, :-2].flatten(0, 1), batch[:, 1:-1].flatten(0, 1), batch[:, 2:].flatten(0, 1)
    loss = (model(previous, current) - target).pow(2).mean()
    return loss, {"copy_last_mse": (current - target).pow(2).mean().detach()}


def _next_frame_loss_only(model, batch):
    return _next_frame_terms(model, batch)[0]


# ---------------------------------------------------------------------------------------------------------------
# Exercise 0.1 (build): one training step, the body of vl.train.fit's loop
def _train_step_reference(model, optimizer, loss_fn, batch, max_norm):
    out = loss_fn(model, batch)
    loss = out[0] if isinstance(out, tuple) else out
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.detach()


def _without(step: str):
    """The reference step with one of its parts left out (to tell a student which part is missing)."""

    def variant(model, optimizer, loss_fn, batch, max_norm):
        out = loss_fn(model, batch)
        loss = out[0] if isinstance(out, tuple) else out
        if step != "zero_grad":
            optimizer.zero_grad()
        loss.backward()
        if step != "clip":
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        if step != "step":
            optimizer.step()
        return loss.detach()

    return variant


_MISSING = {"zero_grad": "the gradients of the previous step are not cleared (optimizer.zero_grad())",
            "clip": "the gradient norm is not clipped to max_norm",
            "step": "the optimiser never updates the weights (optimizer.step())"}


def _params(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _step_like_reference(student, seed, dtype, clips, max_norm, loss_fn):
    torch.manual_seed(seed)
    start = _TwoFramePredictor().to(dtype)
    videos = gliding_blobs(2 * clips, 5, 8, seed, dtype)                            # two batches
    runs = {}
    for label, step in [("student", student), ("reference", _train_step_reference),
                        *[(k, _without(k)) for k in _MISSING]]:
        model = copy.deepcopy(start)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        losses, params = [], []
        for k in range(2):
            losses.append(step(model, optimizer, loss_fn, videos[k * clips:(k + 1) * clips], max_norm))
            params.append(_params(model))
        runs[label] = (losses, params)
    for k in range(2):
        problem = compare(runs["student"][0][k], runs["reference"][0][k], 1e-6, 1e-5, "the returned loss")
        if problem:
            return f"step {k + 1}: {problem} (return the loss of this batch, computed before the update)"
        if compare(runs["student"][1][k], runs["reference"][1][k], 1e-6, 1e-5) is not None:
            for missing, (_, params) in runs.items():
                if missing in _MISSING and compare(runs["student"][1][k], params[k], 1e-6, 1e-5) is None:
                    return f"after step {k + 1} the weights are where they would be if {_MISSING[missing]}"
            return f"after step {k + 1} the weights differ from the reference step's"
    return None


register(Property(
    name="running.train_step",
    points=2,
    kind="build",
    skill="the five lines every training loop repeats: loss, clear gradients, backward, clip, update",
    make_inputs=lambda g: (int(torch.randint(0, 10_000, (1,), generator=g)), torch.float32, 2,
                           [1.0, 0.01][int(torch.randint(0, 2, (1,), generator=g))], _next_frame_loss_only),
    holds=_step_like_reference,
    claim="two consecutive steps leave the model exactly where the reference step does",
    trials=4,
    edge_cases={"one clip per batch, gradient clipped": lambda: (1, torch.float32, 1, 0.01, _next_frame_loss_only),
                "float64 model": lambda: (2, torch.float64, 2, 0.01, _next_frame_loss_only),
                "loss_fn returns (loss, logs)": lambda: (3, torch.float32, 2, 0.01, _next_frame_terms)},
    reference=_train_step_reference,
    forbid=LOOP,
    hint="the order matters: clear the old gradients, back-propagate, clip, then step; a loss function may "
         "return (loss, logs)"))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 0.2 (understand): a gradient check by central differences
def _autograd_gradient(f, x):
    """The gradient of f at x by autograd, computed in float64, returned in x's dtype."""
    x64 = x.detach().to(torch.float64).requires_grad_(True)
    (gradient,) = torch.autograd.grad(f(x64), x64)
    return gradient.to(x.dtype)


def _smooth_function(g: torch.Generator, shape: tuple[int, ...]):
    """A random smooth scalar function of a tensor of ``shape`` that works in any floating dtype."""
    w = torch.randn(shape, generator=g, dtype=torch.float64)
    c = torch.randn(shape, generator=g, dtype=torch.float64)
    kind = int(torch.randint(0, 3, (1,), generator=g))
    if kind == 0:
        return lambda x: (torch.sin(3 * x) * w.to(x.dtype)).sum()
    if kind == 1:
        return lambda x: 0.5 * ((x - c.to(x.dtype)) ** 2 * w.abs().to(x.dtype)).sum() + torch.tanh(x).sum() ** 2
    return lambda x: torch.logsumexp((x * w.to(x.dtype)).flatten(), 0)


def _gradient_inputs(g: torch.Generator, shape=None):
    if shape is None:
        shape = [(3,), (2, 3), (4, 1)][int(torch.randint(0, 3, (1,), generator=g))]
    return _smooth_function(g, shape), torch.randn(shape, generator=g)


register(Exercise(
    name="running.numerical_gradient",
    points=2,
    kind="understand",
    skill="what a gradient is (a limit of finite differences) and why checking one needs float64",
    reference=_autograd_gradient,
    make_inputs=_gradient_inputs,
    atol=1e-6, rtol=1e-5,
    edge_cases={"a 0-dim scalar": lambda: _gradient_inputs(torch.Generator().manual_seed(1), ()),
                "one element": lambda: _gradient_inputs(torch.Generator().manual_seed(2), (1,))},
    dtypes=(torch.float32, torch.float64),
    check_dtype=True,
    forbid=("torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward", "torch.autograd.functional",
            "torch.func.grad", "torch.func.vjp", "torch.func.jacrev", "torch.func.jacfwd"),
    hint="for each element i: (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), with x cast to float64 first "
         "(in float32, f(x + 1e-6) - f(x - 1e-6) loses most of its digits); return the gradient in x's dtype "
         "and shape",
))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 0.3 (debug): a loop that does not learn, graded on what the repaired loop reaches.
# Measured on this checker's task (60 steps of Adam 1e-2, batches of 8 clips drawn with torch's global generator
# seeded 0, width 16, 8 x 8 frames, one thread): the repaired loop reaches a held-out MSE of 0.39 x the
# copy-last-frame baseline; the stub (both bugs) stays at 1.95 x (it never updates: the untrained residual is
# worse than copying), the stub with only the target fixed at 1.95 x, with only zero_grad moved at 1.00 x (it
# learns to copy the current frame). The goal sits between them.
GOAL_RATIO = 0.6
_TRAIN, _HELD_OUT = (48, 11), (16, 111)          # (clips, seed) of the training and held-out sets


def _train_briefly_outcome(student) -> dict[str, float]:
    torch.manual_seed(0)
    model = _TwoFramePredictor(width=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    videos = gliding_blobs(_TRAIN[0], 6, 8, _TRAIN[1])
    student(model, optimizer, videos, 60)
    held_out = gliding_blobs(_HELD_OUT[0], 6, 8, _HELD_OUT[1])
    with torch.no_grad():
        mse, terms = _next_frame_terms(model, held_out)
    copy_mse = float(terms["copy_last_mse"])
    if not math.isfinite(float(mse)):
        raise Problem(f"the trained model predicts non-finite values (held-out MSE {float(mse)})")
    return {"held-out MSE": float(mse), "copy-last-frame MSE": copy_mse, "ratio": float(mse) / copy_mse}


register(Outcome(
    name="running.train_briefly",
    points=2,
    kind="debug",
    skill="reading a training loop for the two classic bugs: a misaligned target and gradients cleared too late",
    measure=_train_briefly_outcome,
    goal=lambda m: m["ratio"] < GOAL_RATIO,
    goal_text=f"after 60 steps the held-out next-frame MSE is below {GOAL_RATIO} x the copy-last-frame MSE",
    forbid=LOOP,
    hint="which frame is the target of a prediction made from frames t - 1 and t? And what does "
         "optimizer.zero_grad() do to the gradients that loss.backward() just computed?",
))


# ---------------------------------------------------------------------------------------------------------------
# Quiz (closing block)
register(Choice(
    name="running.quiz_resume",
    skill="what a checkpoint period means for the work lost in a crash",
    options=("a", "b", "c", "d"),
    answer_sha256="c9723fde082879ea9b8bbac423ee76a862dba7defec237ce02fefb1b040b2407",
    hint="fit saves a checkpoint after every step that is a multiple of ckpt_every, and resumes from the last one",
))
