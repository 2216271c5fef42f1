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
# # 1. Video data
#
# The five papers of this book train and evaluate on BAIR robot pushing, Kinetics-600, UCF-101, AudioSet-Drums,
# Sky time-lapse, Landscape, DTDB, iPER, FaceForensics and VoxCeleb. None of them can be downloaded on the
# machines this book is built on, and a laptop could not train on them anyway. This chapter builds the data the
# rest of the book uses instead:
#
# | world | stands in for | what it keeps | annotations |
# |---|---|---|---|
# | `pushbot` | BAIR robot pushing | a robot arm pushing objects on a table, seen from above; actions and end-effector state; occlusion by the arm; 30-frame clips | `state` (gripper x, y, height), `actions`, `objects` |
# | `sky` | Sky time-lapse, Landscape, DTDB clouds | clouds drifting and changing shape over a static horizon, slow light changes; a known motion direction | `direction`, `speed`, `displacement` |
# | `actions` | Kinetics, UCF-101, Weizmann | 12 classes of motion on real photographs, camera pans | `label`, `position`, `camera` |
# | `drums` | AudioSet-Drums | a drummer whose strikes make sounds, audio aligned with frames | `audio`, `sample_rate`, `hits` |
# | `faces`, `faces_b` | FaceForensics, VoxCeleb; a second image domain | talking, blinking, turning heads with identities; animal-like heads as still images | `identity`, `expression` |
#
# Every world is a `torch.utils.data.Dataset` from one function, `vl.data.load(name, split, frames=, size=,
# seed=)`; every item is a pure function of `(name, split, seed, index)`. Then the chapter loads **real** video
# (a folder of files decoded with PyAV, and BAIR in its converted form) and shows how to cache a generated split.
#
# The first code cell holds the parameters (papermill replaces them; `VIDSYNTH_PROFILE` overrides `profile`).

# %% [markdown] tags=["opening"]
# **You will be able to**
#
# - load any of the book's synthetic worlds, batch it, and say what each stands in for and what it leaves out;
# - explain why an item is a pure function of `(name, split, seed, index)`, and what that buys;
# - draw a shape with a signed distance function and anti-alias it with one clamp;
# - measure how far an image moved with phase correlation, and move one by a fraction of a pixel with the
#   Fourier shift theorem;
# - design motion features that tell classes of motion apart, and judge them by a classifier's held-out accuracy;
# - read real video folders (PyAV) and BAIR with the same item layout, and cache a generated split.
#
# **Prerequisites**: [chapter 0](00_running_the_book.ipynb) (profiles, the runtime report); PyTorch tensors and
# `Dataset`/`DataLoader`; the 2-D discrete Fourier transform (what `torch.fft.fft2` returns; a shift in space
# is a phase ramp in frequency); a logistic-regression classifier (for Exercise 1.4).
#
# **Time**: about 2 hours for a student: 50 to read and run the chapter, 70 for the exercises. The chapter runs
# in a few minutes on a laptop CPU at `lite`; its results cell prints how long it took.
#
# **Core and optional**: core -- "One API for every world", "How the worlds are drawn", the `pushbot` and `sky`
# sections with Exercises 1.1 and 1.2, "How much does each world move?", Exercises 1.3 and 1.4 and the questions.
# Optional -- the other worlds' sections (skim their videos), "How fast are they?", "Real video" and "Caching a
# generated split" (read them when you need real data or long trainings).

# %% tags=["parameters"]
profile = "lite"  # smoke | lite | full  (VIDSYNTH_PROFILE overrides it)
seed = 0  # seed of every random generator (and of the worlds' universes)
size = None  # frame height and width of the worlds shown; None: the profile's value
frames = None  # frames per clip
show = None  # clips shown per world
stats_clips = None  # clips per world for the statistics
label_clips = None  # actions clips counted for the class balance
bench_clips = None  # clips per world timed for the speed table
real_frames = None  # frames read from the real clip
cache_clips = None  # pushbot clips written to the disk cache in the caching demo

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters.video_data import DataConfig
from vidsynth_lite.viz.data import evenly, frame_row

chapter_started = time.perf_counter()
cfg = vl.config.resolve(DataConfig, vl.config.notebook_parameters(globals()))
device = vl.runtime.start(cfg)
results = {}  # numbers for results/data.json

# %% [markdown]
# ## One API for every world
#
# `load` returns a dataset; an item is a dict with `video` -- a float tensor `[T, 3, H, W]` in $[-1, 1]$ -- and
# the world's annotations. A `DataLoader` stacks items into the book's batch layout `[B, T, 3, H, W]`.

# %%
pushbot = vl.data.load("pushbot", "train", frames=cfg.frames, size=cfg.size, seed=cfg.seed)
item = pushbot[0]
for key, value in item.items():
    print(f"{key:8s}", tuple(value.shape), value.dtype)
batch = next(iter(torch.utils.data.DataLoader(pushbot, batch_size=cfg.show)))
print("batch video", tuple(batch["video"].shape))  # [B, T, 3, H, W]

# %% [markdown]
# **Pure functions of the index.** The generator of item $i$ is seeded by a numpy `SeedSequence` whose entropy is
# `(hash(name), split, seed, i)` -- nothing else: not the order of reads, not the worker process, not torch's
# global seed. So item 7 is the same on every machine and in every epoch, and the `test` split (a different
# entropy) never repeats a `train` clip.

# %%
again = vl.data.load("pushbot", "train", frames=cfg.frames, size=cfg.size, seed=cfg.seed)
assert torch.equal(pushbot[7]["video"], again[7]["video"])  # same index -> same clip
test_clip = vl.data.load("pushbot", "test", frames=cfg.frames, size=cfg.size, seed=cfg.seed)[7]["video"]
assert not torch.equal(pushbot[7]["video"], test_clip)      # other split -> other clip
print("deterministic and split-disjoint")

# %% [markdown]
# ## How the worlds are drawn: signed distances
#
# Every shape in every world -- robot links, limbs, drum sticks, objects -- is a *signed distance function*
# $d(p)$: negative inside the shape, positive outside, its magnitude the distance to the outline. A **capsule**
# (a segment $a b$ thickened by $r$) is the workhorse:
#
# $$h = \mathrm{clamp}\!\left(\frac{(p-a)\cdot(b-a)}{\lVert b-a\rVert^2}, 0, 1\right), \qquad
#   d(p) = \lVert p - a - h\,(b-a)\rVert - r .$$
#
# Turning a distance into an **anti-aliased** pixel coverage takes one clamp: with the image $S$ pixels wide and
# coordinates in $[0, 1]$, a distance of one pixel is $1/S$, and $\alpha = \mathrm{clamp}(\tfrac12 - d\,S, 0, 1)$
# ramps from 0 to 1 across one pixel of the outline.
#
# **Exercise 1.1** -- write the capsule's signed distance for many points at once: `points` `[N, 2]`, segment
# ends `a`, `b` `[2]`, a radius; one distance per point, negative inside, in the dtype of `points`. Mind the
# capsule whose ends coincide (a disc). The next cell draws with *your* function.

# %% tags=["exercise"]
def capsule_distance(points, a, b, radius):
    """Signed distance [N] from each point [N, 2] to the capsule a-b of the given radius."""
    return (points - a).norm(dim=-1) - radius  # the distance to a disc at `a`: not a capsule yet


vl.exercises.check("data.capsule_distance", capsule_distance)

# %% tags=["solution", "hide-cell"]
def capsule_distance(points, a, b, radius):
    """Signed distance [N] from each point [N, 2] to the capsule a-b of the given radius."""
    ab = b - a
    h = ((points - a) @ ab / (ab @ ab).clamp_min(1e-12)).clamp(0, 1)  # [N] nearest point's place on a-b
    return (points - a - h[:, None] * ab).norm(dim=-1) - radius


vl.exercises.check("data.capsule_distance", capsule_distance)

# %% [markdown]
# Your distance, turned into coverage for a whole image at once:

# %%
capsule_distance = vl.exercises.use("data.capsule_distance", capsule_distance)  # yours once it passes
S = cfg.size
coords = (torch.arange(S) + 0.5) / S                           # pixel centres in [0, 1]
ys, xs = torch.meshgrid(coords, coords, indexing="ij")         # [S, S] each
points = torch.stack([xs, ys], -1).reshape(-1, 2)              # [S*S, 2]
a, b, r = torch.tensor([0.2, 0.8]), torch.tensor([0.75, 0.3]), 0.06

d = capsule_distance(points, a, b, r)                            # signed distance, [S*S]
alpha = (0.5 - d * S).clamp(0, 1).reshape(S, S)                  # anti-aliased coverage, [S, S]

# the worlds' renderer (NumPy) draws the same coverage
ref = vl.data.render.coverage(vl.data.render.sdf_capsule(xs.numpy(), ys.numpy(), 0.2, 0.8, 0.75, 0.3, r), S)
torch.testing.assert_close(alpha, torch.from_numpy(ref), atol=1e-5, rtol=0)

fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
axes[0].imshow(d.reshape(S, S), cmap="RdBu")
axes[0].set_title("signed distance d")
axes[1].imshow(alpha, cmap="gray")
axes[1].set_title("coverage alpha")
axes[2].imshow(alpha[: S // 3, S // 3 : 2 * S // 3], cmap="gray", interpolation="nearest")
axes[2].set_title("zoom: one-pixel ramp")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# Shading comes from the same distances: a link's brightness follows $\sqrt{-d/r}$ (a cylinder seen from above),
# objects darken within a pixel or two of their outline (a bevel), shadows are the same shapes shifted and
# softened. Textures are *value noise*: random values on a coarse grid, smoothly interpolated by two small matrix
# products; the grid does not depend on the output size, so a scene looks the same at 32, 64, 128 or 256 pixels.
# Everything is evaluated for all $T$ frames at once (per-frame parameters broadcast as `[T, 1, 1]`), which is
# why the worlds render hundreds of frames per second on one core.
#
# ## `pushbot` -- robot pushing (BAIR)
#
# A two-link arm whose base is fixed below the bottom edge moves its gripper along a smooth random path (half of
# the waypoints near an object); when the gripper is lowered (height < 0.35) and touches an object, the object is
# pushed along the contact normal and turns. The arm occludes what it passes over; a raised gripper looks larger
# and casts its shadow further away.

# %%
vl.viz.show_video(batch["video"], fps=8, caption="pushbot: four training clips")

# %% [markdown]
# The annotations drawn over the frames: the gripper's path so far (yellow, filled where it is lowered), the
# objects' paths (white). `state` is in normalised image coordinates, so multiplying by the size gives pixels.

# %%
clip = pushbot[1]
state, objects = clip["state"].numpy(), clip["objects"].numpy()


def draw_pushbot(ax, t, size):
    path = state[: t + 1] * size
    ax.plot(path[:, 0], path[:, 1], color="yellow", lw=1)
    low = state[: t + 1, 2] < 0.35
    ax.scatter(path[low, 0], path[low, 1], s=6, color="yellow")
    for k in range(objects.shape[1]):
        ax.plot(objects[: t + 1, k, 0] * size, objects[: t + 1, k, 1] * size, color="white", lw=1)


frame_row(clip["video"], evenly(cfg.frames, 6), draw_pushbot, "pushbot: gripper (yellow) and object paths")
plt.show()

# %% [markdown]
# **What it does not capture.** BAIR is filmed by a real camera at an angle, with real lighting, a cluttered bin
# and hundreds of object types that deform, tip over and roll; its arm is a 7-DoF Sawyer in 3D. `pushbot` is
# top-down and 2D, its objects are rigid discs and polygons with simple contact, and its "camera" never moves.
# It keeps what the papers use BAIR for: action/state-conditioned, stochastic motion with occlusion.
#
# ## `sky` -- clouds over a landscape (Sky time-lapse, DTDB)
#
# The cloud density is a Gaussian random field with a power-law spectrum, built in the Fourier domain; moving it by
# $(\Delta x, \Delta y)$ is exact at any sub-pixel amount by the shift theorem,
# $\hat f(k) \mapsto \hat f(k)\, e^{-2\pi i (k_x \Delta x + k_y \Delta y)}$. Each frequency also drifts in phase
# slowly, so the clouds change shape while they travel. The hills in front do not move and occlude them.

# %%
sky = vl.data.load("sky", frames=cfg.frames, size=cfg.size, seed=cfg.seed)
vl.viz.show_video([sky[i]["video"] for i in range(cfg.show)], fps=8, caption="sky: clouds drift, hills stay")

# %%
clip = sky[2]
direction, speed = float(clip["direction"]), float(clip["speed"])


def draw_arrow(ax, t, size):
    dx, dy = np.cos(direction), -np.sin(direction)           # image y points down
    ax.arrow(size / 2, size / 4, dx * size / 5, dy * size / 5, color="red", width=size / 60)


frame_row(clip["video"], evenly(cfg.frames, 6), draw_arrow,
          f"sky: direction {np.degrees(direction):.0f} deg, speed {speed * cfg.size:.2f} px/frame")
plt.show()

# %% [markdown]
# Does the picture move the way the annotation says? To check, we need to *measure* how far the clouds moved
# between two frames, without knowing the answer. **Phase correlation** does it with the same shift theorem,
# read backwards. If image $b$ is image $a$ moved by $(\Delta x, \Delta y)$ (with wrap-around), their 2-D
# Fourier transforms differ only by a phase ramp, $B(k) = A(k)\, e^{-2\pi i (k_x \Delta x / W + k_y \Delta y / H)}$.
# The normalised cross-power spectrum keeps only that ramp,
#
# $$R(k) = \frac{B(k)\, \overline{A(k)}}{\lvert B(k)\, \overline{A(k)} \rvert}
#        = e^{-2\pi i (k_x \Delta x / W + k_y \Delta y / H)},$$
#
# and the inverse Fourier transform of a pure phase ramp is a single spike at $(\Delta y, \Delta x)$. Dividing
# by the magnitude is what makes the peak sharp: every frequency votes with the same weight, whatever its
# energy. For two real frames that are *nearly* shifted copies, the spike is blurred but its peak still sits at
# the dominant shift. Indices past the middle of the array are negative shifts ($W - 1$ means $-1$).
#
# **Exercise 1.2** -- write `phase_correlation(a, b)`: the integer shift `(dx, dy)` that moves image `a`
# `[H, W]` onto image `b`, as `torch.tensor([dx, dy])` (floats, x first). The measurement below runs on *your*
# function.

# %% tags=["exercise"]
def phase_correlation(a, b):
    """Integer (dx, dy) moving image a [H, W] onto image b."""
    raise NotImplementedError


vl.exercises.check("data.phase_correlation", phase_correlation)

# %% tags=["solution", "hide-cell"]
def phase_correlation(a, b):
    """Integer (dx, dy) moving image a [H, W] onto image b."""
    cross = torch.fft.fft2(b.double()) * torch.fft.fft2(a.double()).conj()
    peak = torch.fft.ifft2(cross / (cross.abs() + 1e-12)).real  # [H, W], a spike at the shift
    h, w = a.shape
    iy, ix = divmod(int(peak.argmax()), w)
    dx = ix - w if ix >= (w + 1) // 2 else ix  # past the middle: a negative shift
    dy = iy - h if iy >= (h + 1) // 2 else iy
    return torch.tensor([float(dx), float(dy)])


vl.exercises.check("data.phase_correlation", phase_correlation)

# %% [markdown]
# We measure the displacement between frame 0 and frame $L$ of the sky band (above every horizon) and compare it
# with the annotation, $L \cdot$ `speed` $\cdot (\cos d, -\sin d)$. Two details make the measurement work on
# real frames: the sky's vertical brightness gradient does not move, so each row's mean is removed (else it
# would vote for "no shift"); and a Hann window tapers the band's edges, because the Fourier transform treats
# the band as periodic and its top and bottom edges do not match.

# %%
phase_correlation = vl.exercises.use("data.phase_correlation", phase_correlation)  # yours once it passes

lag = min(cfg.frames - 1, 5)                     # short enough that clouds move < half the band
window = torch.outer(torch.hann_window(cfg.size // 2, periodic=False), torch.hann_window(cfg.size, periodic=False))
rows = []
for i in range(cfg.stats_clips):
    it = sky[i]
    band = it["video"].mean(1)[:, : cfg.size // 2]                       # [T, S/2, S] grey sky band
    band = (band - band.mean(-1, keepdim=True)) * window                 # remove the sky gradient, taper edges
    measured = phase_correlation(band[0], band[lag])
    expected = it["displacement"][lag] * cfg.size
    rows.append([*expected.tolist(), *measured.tolist()])
rows = np.array(rows)
error = np.hypot(rows[:, 0] - rows[:, 2], rows[:, 1] - rows[:, 3])
results["sky_displacement_within_1.5px"] = float((error < 1.5).mean())
fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
for k, name in enumerate("xy"):
    axes[k].scatter(rows[:, k], rows[:, k + 2], s=12)
    lim = np.abs(rows).max() + 1
    axes[k].plot([-lim, lim], [-lim, lim], color="grey", lw=0.8)
    axes[k].set(xlabel=f"annotated d{name} (px)", ylabel=f"measured d{name} (px)")
fig.suptitle(f"sky: displacement over {lag} frames, {len(rows)} clips")
fig.tight_layout()
plt.show()
print(f"measured within 1.5 px of the annotation: {results['sky_displacement_within_1.5px']:.0%} of clips")

# %% [markdown]
# The few misses are clips whose clouds are sparse or move nearly vertically, where the static horizon and the
# sky gradient dominate the correlation. **What it does not capture:** real time-lapse has perspective (clouds
# shrink toward the horizon), sun and shadows moving on the ground, trees in the wind, exposure flicker; the
# sky world has one rigid drift direction per clip and 2D clouds.
#
# ## `actions` -- classes of motion (Kinetics, UCF-101)
#
# Twelve classes, six performed by an articulated figure (walk, run, jump, wave, clap, squat) and six by an
# object (spin, bounce, zoom, orbit, swing, shake), on crops of real photographs and textures shipped with
# scikit-image and scikit-learn (astronaut, coffee, a cat, a rocket, coins, brick, grass, a mosaic of
# handwritten digits ...). On 40 % of the clips the camera pans.

# %%
actions = vl.data.load("actions", frames=cfg.frames, size=cfg.size, seed=cfg.seed)
first = {}
i = 0
while len(first) < len(actions.classes) and i < 400:
    it = actions[i]
    first.setdefault(it["label"], it["video"])
    i += 1
labels = sorted(first)
vl.viz.show_video([first[k] for k in labels], fps=8, columns=6,
                 caption="actions: one clip per class, in order " + ", ".join(actions.classes[k] for k in labels))

# %%
tiny = vl.data.load("actions", frames=1, size=32, seed=cfg.seed)      # labels only: render as little as possible
label_counts = np.bincount([tiny[i]["label"] for i in range(cfg.label_clips)], minlength=len(actions.classes))
import pandas as pd
import seaborn as sns

fig, ax = plt.subplots(figsize=(7, 2.6))
sns.barplot(x=list(actions.classes), y=label_counts, ax=ax, color="C0")
ax.axhline(cfg.label_clips / len(actions.classes), color="grey", ls="--", lw=0.8)
ax.set(ylabel="clips", title=f"class balance over the first {cfg.label_clips} training clips")
ax.tick_params(axis="x", rotation=45)
plt.show()

# %% [markdown]
# **What it does not capture:** real actions involve people with clothing, faces, hands and objects; the
# classes in Kinetics are defined by *what* is done (playing guitar), not only by the motion pattern. Here a
# class is a motion pattern, which is what a motion-aware feature network (chapter 2) needs to tell apart.
#
# ## `drums` -- audio and video in step (AudioSet-Drums)
#
# Each strike starts a sound at the first audio sample of the frame on which the stick meets the instrument
# (16 000 Hz, 16 frames per second: 1 000 samples per frame). Each instrument has its own fixed synthesised
# timbre, so the audio carries what was hit and when.

# %%
drums = vl.data.load("drums", frames=cfg.frames, size=cfg.size, seed=cfg.seed)
clip = drums[0]
vl.viz.show_video([drums[i]["video"] for i in range(cfg.show)], fps=drums.fps,
                 caption="drums (sound: play the waveform below)")
from IPython.display import Audio, display

display(Audio(clip["audio"].reshape(-1).numpy(), rate=clip["sample_rate"]))

# %%
times = evenly(cfg.frames, 8)
fig = plt.figure(figsize=(1.6 * len(times), 3.6))
grid = fig.add_gridspec(2, len(times), height_ratios=[1.2, 1])
for j, t in enumerate(times):
    ax = fig.add_subplot(grid[0, j])
    ax.imshow(vl.viz.data.to_image(clip["video"][t]))
    hit = [drums.instruments[k] for k in np.nonzero(clip["hits"][t].numpy())[0]]
    ax.set_title(f"t={t} " + "+".join(hit), fontsize=7)
    ax.axis("off")
ax = fig.add_subplot(grid[1, :])
wave = clip["audio"].reshape(-1).numpy()
spf = clip["audio"].shape[1]
ax.plot(np.arange(len(wave)) / spf, wave, lw=0.4)
for t, k in zip(*np.nonzero(clip["hits"].numpy())):
    ax.axvline(t, color=f"C{k + 1}", lw=0.8, alpha=0.7)
ax.set(xlabel="frame", ylabel="audio", xlim=(0, cfg.frames))
fig.suptitle("drums: frames (struck instruments in the titles) and the waveform under them; lines = strikes")
fig.tight_layout()
plt.show()

# %% [markdown]
# **What it does not capture:** real drum recordings have room acoustics, a kick drum played by foot, cymbals
# that ring for seconds, microphones that also pick up a crowd; and AudioSet's clips are filmed from anywhere.
# The drums world keeps the one property CCVS's audio-conditioned experiment relies on: a sound on the frame of
# each strike.
#
# ## `faces` and `faces_b` -- talking heads and a second domain
#
# A face-like head with an identity (shape, skin, hair style and colour, eye colour, clothes) talks (the mouth
# opens in syllable-like bursts), blinks, smiles and turns. `faces_b` is an image-only second domain of
# animal-like heads, for MoCoGAN-HD's cross-domain experiment (motion learnt on one domain, appearance from
# another).

# %%
faces = vl.data.load("faces", frames=cfg.frames, size=cfg.size, seed=cfg.seed)
clip = faces[0]
vl.viz.show_video([faces[i]["video"] for i in range(cfg.show)], fps=8, caption="faces: talking, blinking, turning")
expr = clip["expression"].numpy()
fig, ax = plt.subplots(figsize=(7, 2.2))
for k, name in enumerate(["mouth", "smile", "blink", "yaw"]):
    ax.plot(expr[:, k], label=name)
ax.set(xlabel="frame", title=f"expression track of clip 0 (identity {clip['identity']})")
ax.legend(ncol=4, fontsize=8)
plt.show()
faces_b = vl.data.load("faces_b", size=cfg.size, seed=cfg.seed)
vl.viz.show_video(torch.stack([faces_b[i]["video"] for i in range(2 * cfg.show)]), fps=1, columns=8,
                 caption="faces_b: the image-only second domain")

# %% [markdown]
# **What they do not capture:** real faces (skin texture, hair strands, teeth, lighting, the identity cues
# face-forgery detectors and FaceForensics' metrics rely on). They keep identity vs. expression: the same
# identity appears in many clips with different motion, which is what motion/content decomposition needs.
#
# ## How much does each world move?
#
# The mean absolute difference between consecutive frames, $\frac{1}{T-1}\sum_t \overline{|x_{t+1} - x_t|}$,
# per clip (values in $[-1, 1]$). The worlds differ on purpose: slow clouds, localised faces, whole-frame pans.

# %%
from vidsynth_lite.data.measure import motion_magnitude

records = []
for name in ["pushbot", "sky", "actions", "drums", "faces"]:
    world = vl.data.load(name, frames=cfg.frames, size=cfg.size, seed=cfg.seed)
    videos = torch.stack([world[i]["video"] for i in range(cfg.stats_clips)])  # [N, T, 3, H, W]
    for value in motion_magnitude(videos).tolist():
        records.append({"world": name, "motion": value})
motion = pd.DataFrame(records)
fig, ax = plt.subplots(figsize=(7, 3))
sns.violinplot(data=motion, x="world", y="motion", ax=ax, cut=0, inner="quartile")
ax.set(ylabel="mean |x[t+1] - x[t]|", title=f"motion magnitude, {cfg.stats_clips} clips per world")
plt.show()
results["motion_median"] = motion.groupby("world")["motion"].median().to_dict()

# %% [markdown]
# ## How fast are they?
#
# Clips per second at this chapter's size, on one thread, measured below on a few clips per world. The numbers
# count the process's own CPU time rather than wall time, so that other programs running on the machine do not
# slow them down; they still depend on the processor, so yours will differ. Rendering costs little next to
# training: a model that takes a second per step reads a clip in a few milliseconds.
# `python benchmarks/bench_data.py` measures the same with more clips and repeats (medians of 5 runs), at 16
# frames of 64 x 64.

# %%
threads_before = torch.get_num_threads()
torch.set_num_threads(1)
speed = {}
for name in ["pushbot", "sky", "actions", "drums", "faces"]:
    world = vl.data.load(name, frames=cfg.frames, size=cfg.size, seed=cfg.seed, length=10_000)
    world[5000]                                                          # warm caches
    started = time.process_time()
    for i in range(cfg.bench_clips):
        world[i + 5001]
    speed[name] = cfg.bench_clips / (time.process_time() - started)
torch.set_num_threads(threads_before)
print(f"clips per CPU-second, 1 thread, {cfg.bench_clips} clips of {cfg.frames} x {cfg.size} x {cfg.size}:")
for name, value in speed.items():
    print(f"  {name:8s} {value:7.1f}")
results["clips_per_s_cpu"] = speed

# %% [markdown]
# ## Real video
#
# When you have the real datasets, the `full` profiles swap the worlds for loaders with the same item layout.
#
# **`vl.data.VideoFolder(root, frames=, stride=, size=, offset=, crop=, labels=)`** scans `root` recursively for
# video files (mp4, avi, mkv, webm, gif, mov ...), decodes them with PyAV, takes `frames` frames every `stride`
# from a random (or centred, or fixed) start, resizes the short side to `size` and crops a square. Files that
# cannot be decoded are skipped with one warning naming them; if none is usable it says so. Layouts:
#
# - UCF-101 (`UCF-101/<Class>/v_<Class>_gXX_cYY.avi`) and Kinetics (`kinetics600/<split>/<class>/<id>.mp4`):
#   `labels=True` takes the class from the first folder level under `root`.
# - Sky time-lapse (`sky_timelapse/sky_train/<clip>/<frames>`, when converted to videos), DTDB, iPER,
#   FaceForensics (`original_sequences/youtube/c23/videos/*.mp4`), VoxCeleb (`id*/<video>/<utterance>.mp4`):
#   `labels=False`, one clip per file.
#
# **`vl.data.BairFolder(root, split, frames=30, size=64)`** reads BAIR in its common converted form:
# `root/<train|test>/<trajectory>/<n>.png` (frames sorted by number) plus `actions.npy` and `states.npy` (or
# `endeffector_positions.npy`) when present.
#
# Here we read real clips that were not made for this book: Debian's `opencv-doc` package ships surveillance
# footage of people walking (`vtest.avi`) and a short film excerpt (`Megamind.avi`).

# %%
from pathlib import Path

opencv_data = Path("/usr/share/doc/opencv-doc/examples/data")
if (opencv_data / "vtest.avi").is_file():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        real = vl.data.VideoFolder(opencv_data, frames=cfg.real_frames, stride=2, size=cfg.size, offset=40)
    print(f"{len(real)} usable videos:", ", ".join(p.name for p in real.files))
    for w in caught:
        print("warning:", w.message)
    clips = [real[i] for i in range(len(real))]
    for c in clips:
        print(f"  {Path(c['path']).name:20s} start frame {c['start']:3d}  video {tuple(c['video'].shape)}")
    vl.viz.show_video([c["video"] for c in clips], fps=5, caption="real clips from opencv-doc (every 2nd frame)")
    results["real_clips"] = len(real)
else:
    print("skipped: Debian's opencv-doc is not installed, so there is no real clip to read "
          "(apt-get install opencv-doc puts them under /usr/share/doc/opencv-doc/examples/data)")

# %% [markdown]
# ## Caching a generated split
#
# Rendering is fast, but a chapter that trains for thousands of steps reads each clip many times.
# `vl.data.cached(world)` renders a split once into `vl.paths.cache_dir()/data/` as `uint8` (a quarter of the
# float size, read back memory-mapped; at most 1/255 of the range away from the rendered clip), keyed by the
# world's parameters and a hash of the generators' source code, written atomically. The second call only opens
# the files.

# %%
world = vl.data.load("pushbot", frames=cfg.frames, size=cfg.size, seed=cfg.seed, length=cfg.cache_clips)
started = time.perf_counter()
stored = vl.data.cached(world, progress=False)
first_call = time.perf_counter() - started
started = time.perf_counter()
stored = vl.data.cached(world, progress=False)
second_call = time.perf_counter() - started
print(f"first call {first_call:.2f} s (renders or finds a cache), second call {second_call * 1000:.1f} ms; "
      f"folder {stored.folder.name}")
assert (stored[1]["video"] - world[1]["video"]).abs().max() <= 1 / 127.5 + 1e-6

# %% [markdown]
# ## Results

# %%
results["chapter_seconds_until_results"] = time.perf_counter() - chapter_started
path = vl.reproduce.write_results(
    "data", cfg.profile, metrics=results,
    protocol={"size": cfg.size, "frames": cfg.frames, "seed": cfg.seed, "stats_clips": cfg.stats_clips,
              "speed": f"clips per CPU-second, 1 thread, {cfg.bench_clips} clips per world",
              "sky_check": f"phase correlation of the top half, frame 0 vs frame {lag}"},
    config=cfg,
)
print(path)
print(f"chapter run time: {time.perf_counter() - chapter_started:.1f} s")

# %%
vl.reproduce.show_run("data")   # profile, run time and machine of this page, read from results/data.json

# %% [markdown]
# ## Exercises
#
# Exercises 1.1 (a capsule's signed distance) and 1.2 (phase correlation) are in the chapter above, where the
# chapter runs on your code. Each exercise cell ends with a checker that says in one line whether your answer
# is right and, if not, why; calling the package's own implementation of the thing asked fails it.
#
# **Exercise 1.3 -- a shift by a fraction of a pixel.** The `sky` world moves its clouds by sub-pixel amounts
# with the shift theorem: multiply the image's Fourier transform by
# $e^{-2\pi i (k_x \Delta x / W + k_y \Delta y / H)}$ and transform back. Write `fourier_shift(image, dx, dy)`
# for an image `[H, W]` (content moves right and down for positive `dx`, `dy`), returning a real image of the
# same shape and dtype. The checker tests two laws rather than one output: an integer shift must equal
# `torch.roll`, and an image made of a few sinusoids must come out *exactly* resampled at $(x - \Delta x,
# y - \Delta y)$ for any fractional shift. Think about which frequencies $k_x$ the FFT's bins stand for.

# %% tags=["exercise"]
def fourier_shift(image, dx, dy):
    """image [H, W] moved by (dx, dy) pixels (any real amounts, wrapping around), same shape and dtype."""
    raise NotImplementedError


vl.exercises.check("data.fourier_shift", fourier_shift)

# %% tags=["solution", "hide-cell"]
def fourier_shift(image, dx, dy):
    """image [H, W] moved by (dx, dy) pixels (any real amounts, wrapping around), same shape and dtype."""
    h, w = image.shape
    ky = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]  # signed: bin h - 1 is frequency -1/h
    kx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    ramp = torch.exp(-2j * torch.pi * (kx * dx + ky * dy))  # [H, W] the shift theorem's phase ramp
    shifted = torch.fft.ifft2(torch.fft.fft2(image.to(torch.float64)) * ramp)
    return shifted.real.to(image.dtype)


vl.exercises.check("data.fourier_shift", fourier_shift)

# %% [markdown]
# **Exercise 1.4 -- motion that tells actions apart.** The `actions` world has twelve classes. How much can be
# told from motion alone, with no appearance at all? Write `motion_features(video)`: for clips
# `[B, T, 3, H, W]`, at most 64 numbers per clip `[B, F]`. The checker renders 240 training and 120 held-out
# clips (8 frames, 32 x 32), fits a logistic regression on your features of the training clips, and grades the
# outcome: at least 50 % of the held-out clips classified correctly (chance is 1 in 12). The stub, the motion
# magnitude of the violin plot above, gets 17 %.

# %% tags=["exercise"]
def motion_features(video):
    """[B, T, 3, H, W] -> [B, F] numbers that describe each clip's motion (F <= 64)."""
    return (video[:, 1:] - video[:, :-1]).abs().mean(dim=(1, 2, 3, 4))[:, None]  # [B, 1]: how much it moves


vl.exercises.check("data.motion_features", motion_features)

# %% tags=["solution", "hide-cell"]
def motion_features(video):
    """[B, T, 3, H, W] -> [B, F] numbers that describe each clip's motion (F <= 64)."""
    change = (video[:, 1:] - video[:, :-1]).mean(2)  # [B, T - 1, H, W] signed change per pixel
    b, t, h, w = change.shape
    grid = change.abs().reshape(b, t, 4, h // 4, 4, w // 4).mean(dim=(3, 5))  # [B, T - 1, 4, 4] where
    weight = change.abs().flatten(2)
    weight = weight / (weight.sum(2, keepdim=True) + 1e-6)  # [B, T - 1, H W] where the change is, per frame
    ys, xs = torch.meshgrid(torch.arange(h, dtype=change.dtype), torch.arange(w, dtype=change.dtype),
                            indexing="ij")
    cy, cx = (weight * ys.flatten()).sum(2), (weight * xs.flatten()).sum(2)  # [B, T - 1] the motion's centre
    return torch.cat([grid.mean(1).flatten(1), grid.std(1).flatten(1),  # where, and how steadily (32)
                      cy, cx, cy.std(1, keepdim=True), cx.std(1, keepdim=True)], 1)  # how it travels (16)


vl.exercises.check("data.motion_features", motion_features)

# %% [markdown]
# **Exercise 1.5 -- open experiments.** Run them, write down what you observe and why, then compare with the
# answer key.
#
# (a) In the `sky` check, increase the lag $L$ (5 at `lite`) to 8, 11 and 15 frames. How does the fraction of
# clips measured within 1.5 px change, and what makes phase correlation fail: the distance travelled, or
# something else? (Compare clips that moved less than 8 px with those that moved more.)
#
# (b) Measure the drummer's strikes from the audio alone (an energy or spectral-flux onset detector) and compare
# them with `hits`. Which strikes are hard to find, and why?

# %% [markdown] tags=["solution", "experiment"]
# **Expected outcomes.**
#
# (a) When this key was written (`lite`: 64 x 64, 48 clips, seed 0), the fraction within 1.5 px was 98 % at lags
# 1 and 3, 90 % at 5, 54 % at 8, 19 % at 11 and 4 % at 15. Distance alone does not explain it: at lag 11, only
# 33 % of the clips that moved *less* than 8 px were measured within 1.5 px. The clouds change shape as they
# travel (every frequency drifts in phase), so frame 0 and frame $L$ stop being shifted copies and the spike
# of the cross-power spectrum spreads out; the static horizon and the removed gradient then win the argmax.
# Displacements beyond half the band (16 px vertically) would also wrap around.
#
# (b) (Reasoned from how the `drums` world makes its sounds; not measured for this key.) Each strike starts a
# sound on the first audio sample of its frame, so an energy rise within that frame's
# 1 000 samples finds most of them; strikes that fall while a previous sound (a cymbal, which decays slowly) is
# still loud are the hard ones: the energy barely rises. A spectral-flux detector (the rise in each frequency
# band, summed) finds more of them than the raw energy does, because a new instrument adds energy at its own
# frequencies.

# %% [markdown]
# ## Check your understanding
#
# Answer each question before opening the answer key. Question 1 is checked here; the others are for you (or
# your class) to discuss.
#
# **Question 1.** Why can item 7 of the `test` split never repeat a `train` clip?
# (a) the test split uses the indices above the training split's length; (b) the split's name is part of the
# entropy that seeds each item; (c) rendered clips are compared and duplicates drawn again; (d) the test split
# renders at another size.

# %% tags=["exercise"]
answer = None  # "a", "b", "c" or "d"
vl.exercises.check("data.quiz_split", answer)

# %% tags=["solution", "hide-cell"]
answer = "b"
vl.exercises.check("data.quiz_split", answer)

# %% [markdown] tags=["solution"]
# **Answer 1: (b).** Item $i$'s generator is seeded by a `SeedSequence` of `(hash(name), split, seed, i)`: a
# different split gives different random numbers for every index, so the two splits are independent draws
# (and index 7 of each is reproducible on every machine, in every epoch, in any worker process).

# %% [markdown]
# **Question 2.** Why draw shapes with signed distances rather than with a mask that is 1 inside and 0 outside?

# %% [markdown] tags=["solution"]
# **Answer 2.** A distance tells *how far* from the outline a pixel is: one clamp, $\mathrm{clamp}(\tfrac12 - dS,
# 0, 1)$, turns it into anti-aliased coverage at any resolution, and the same numbers give shading (a cylinder's
# $\sqrt{-d/r}$), bevels and soft shadows. A 0/1 mask has jagged edges that crawl as a shape moves, which a
# video model would learn as noise.

# %% [markdown]
# **Question 3.** In the `sky` check, what would go wrong without removing each row's mean, and without the
# Hann window?

# %% [markdown] tags=["solution"]
# **Answer 3.** The sky's vertical brightness gradient does not move with the clouds: left in, it is a large
# component that is the same in both frames and pulls the peak toward zero shift. Without the window, the
# Fourier transform sees the band as periodic, so its top and bottom (and left and right) edges make
# discontinuities that do not move either, with the same effect.

# %% [markdown]
# **Question 4.** The split cache stores clips as `uint8`. What does that gain, and what does it cost in
# accuracy?

# %% [markdown] tags=["solution"]
# **Answer 4.** A quarter of the float32 size on disk and in memory (read back memory-mapped, so a split larger
# than memory still works). Each value is rounded to one of 256 levels over $[-1, 1]$, so it is at most half a
# level, $1/255$, away from the rendered value; the chapter's assertion allows one level, $1/127.5$.

# %% [markdown]
# **Question 5.** The worlds stand in for benchmarks a laptop cannot use. Name one property of BAIR that
# `pushbot` keeps and one it leaves out, and say which experiment of a later chapter each matters for.

# %% [markdown] tags=["solution"]
# **Answer 5.** Kept: actions and the end-effector state recorded with every frame, stochastic motion and
# occlusion by the arm -- what action- and state-conditioned prediction (CCVS's control by state) needs. Left
# out: a real camera at an angle, lighting, and hundreds of deformable objects -- what makes BAIR's FVD hard,
# so the book's numbers on `pushbot` are not comparable with the papers' BAIR numbers (chapter 2 explains how
# the book reports them).

# %% [markdown]
# ## Summary
#
# - Five procedural worlds stand in for the papers' benchmarks and keep the structure the papers use: controls
#   and state (`pushbot`), motion direction (`sky`), classes (`actions`), synchronised audio (`drums`), identity
#   vs expression and a second domain (`faces`, `faces_b`).
# - One API, `vl.data.load(name, split, frames=, size=, seed=)`; items are pure functions of
#   `(name, split, seed, index)`; train and test never share a clip.
# - The Fourier shift theorem works both ways: it moves an image by any sub-pixel amount, and phase correlation
#   reads a shift back from two frames -- which is how the chapter checks that the clouds move as annotated.
# - Shapes are signed distances turned into anti-aliased coverage; textures are value noise; clouds move by the
#   Fourier shift theorem. The annotations agree with the pixels, and the tests measure it (gripper at `state`,
#   clouds along `direction`, sounds on strike frames, motion that depends on the label).
# - `VideoFolder` and `BairFolder` read the real datasets with the same item layout; `cached` stores a split.
