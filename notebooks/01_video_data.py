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
# ramps from 0 to 1 across one pixel of the outline. Let us build both for a whole image at once.

# %%
S = cfg.size
coords = (torch.arange(S) + 0.5) / S                           # pixel centres in [0, 1]
ys, xs = torch.meshgrid(coords, coords, indexing="ij")         # [S, S] each
points = torch.stack([xs, ys], -1).reshape(-1, 2)              # [S*S, 2]
a, b, r = torch.tensor([0.2, 0.8]), torch.tensor([0.75, 0.3]), 0.06

ab = b - a
h = (((points - a) * ab).sum(-1) / (ab * ab).sum()).clamp(0, 1)  # projection on the segment, [S*S]
d = (points - a - h[:, None] * ab).norm(dim=-1) - r              # signed distance, [S*S]
alpha = (0.5 - d * S).clamp(0, 1).reshape(S, S)                  # anti-aliased coverage, [S, S]

# the package's versions give the same numbers

torch.testing.assert_close(d, vl.data.measure.capsule_distance(points, a, b, r))
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
# Does the picture move the way the annotation says? We *measure* the displacement between frame 0 and frame
# $L$ of the sky band (above every horizon) with phase correlation (one of this chapter's exercises) and compare it
# with $L \cdot$ `speed` $\cdot (\cos d, -\sin d)$.

# %%
from vidsynth_lite.data.measure import phase_correlation

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
# Clips per second at this chapter's size on one thread, measured here on a few clips. The reference numbers
# come from `python benchmarks/bench_data.py` (16 frames at 64 x 64, one thread, median of 5 runs of 40 clips).
# They were measured on the 2-core build machine while other jobs kept it busy (load average about 4), so wall
# time undercounts what one free core does; the CPU-time column (clips per second of the process's own CPU time)
# is the better estimate:
#
# | world | clips/s (wall, shared machine) | clips/s (CPU time) |
# |---|---|---|
# | pushbot | 81 | 123 |
# | sky | 60 | 104 |
# | actions | 54 | 109 |
# | drums | 83 | 168 |
# | faces | 47 | 70 |
# | faces_b (single images) | 348 | 517 |
#
# The target is at least 100 clips/s for `pushbot` on one core: met in CPU time (107 to 129 clips/s over
# repeated runs at load averages of 4 to 5; 145 clips/s wall when the machine was quieter), not in wall time
# while other jobs share the two cores.

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
print(f"clips/s (CPU time, 1 thread, {cfg.frames} x {cfg.size} x {cfg.size}):")
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
# Here we read a real clip that nobody in this project made: Debian's `opencv-doc` package ships surveillance
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
# ## Summary
#
# - Five procedural worlds stand in for the papers' benchmarks and keep the structure the papers use: controls
#   and state (`pushbot`), motion direction (`sky`), classes (`actions`), synchronised audio (`drums`), identity
#   vs expression and a second domain (`faces`, `faces_b`).
# - One API, `vl.data.load(name, split, frames=, size=, seed=)`; items are pure functions of
#   `(name, split, seed, index)`; train and test never share a clip.
# - Shapes are signed distances turned into anti-aliased coverage; textures are value noise; clouds move by the
#   Fourier shift theorem. The annotations agree with the pixels, and the tests measure it (gripper at `state`,
#   clouds along `direction`, sounds on strike frames, motion that depends on the label).
# - `VideoFolder` and `BairFolder` read the real datasets with the same item layout; `cached` stores a split.
#
# ## Exercises
#
# **Exercise 1.1** -- the motion magnitude used in the violin plot: for clips `[B, T, C, H, W]`, the mean
# absolute difference between consecutive frames, one number per clip.

# %% tags=["exercise"]
def motion_magnitude(video):
    """[B, T, C, H, W] -> [B]: mean |x[t+1] - x[t]| per clip."""
    raise NotImplementedError


vl.exercises.check("data.motion_magnitude", motion_magnitude)

# %% tags=["solution", "hide-cell"]
def motion_magnitude(video):
    """[B, T, C, H, W] -> [B]: mean |x[t+1] - x[t]| per clip."""
    step = video[:, 1:] - video[:, :-1]                     # [B, T - 1, C, H, W]
    return step.abs().flatten(1).mean(1)                    # [B]


vl.exercises.check("data.motion_magnitude", motion_magnitude)

# %% [markdown]
# **Exercise 1.2** -- the capsule distance the worlds draw with: `points [N, 2]`, segment ends `a`, `b` `[2]`,
# radius `r`; negative inside.

# %% tags=["exercise"]
def capsule_distance(points, a, b, radius):
    """Signed distance from each point to the capsule a-b of the given radius."""
    return (points - a).norm(dim=-1) - radius               # distance to a disc at `a`: not yet a capsule


vl.exercises.check("data.capsule_distance", capsule_distance)

# %% tags=["solution", "hide-cell"]
def capsule_distance(points, a, b, radius):
    """Signed distance from each point to the capsule a-b of the given radius."""
    ab = b - a
    h = ((points - a) @ ab / (ab @ ab)).clamp(0, 1)          # [N] position of the nearest point on the segment
    return (points - a - h[:, None] * ab).norm(dim=-1) - radius


vl.exercises.check("data.capsule_distance", capsule_distance)

# %% [markdown]
# **Exercise 1.3** -- phase correlation: the integer shift `(dx, dy)` that moves image `a` `[H, W]` onto image
# `b`. Compute $R = \frac{B \bar A}{|B \bar A|}$ with 2-D FFTs, take the inverse FFT, find its peak, and wrap
# indices past the middle to negative shifts. Return `torch.tensor([dx, dy])` as floats.

# %% tags=["exercise"]
def phase_correlation(a, b):
    """Integer (dx, dy) moving a onto b."""
    raise NotImplementedError


vl.exercises.check("data.phase_correlation", phase_correlation)

# %% tags=["solution", "hide-cell"]
def phase_correlation(a, b):
    """Integer (dx, dy) moving a onto b."""
    cross = torch.fft.fft2(b.double()) * torch.fft.fft2(a.double()).conj()
    peak = torch.fft.ifft2(cross / (cross.abs() + 1e-12)).real      # [H, W], a spike at the shift
    h, w = a.shape
    iy, ix = divmod(int(peak.argmax()), w)
    dx = ix - w if ix >= (w + 1) // 2 else ix
    dy = iy - h if iy >= (h + 1) // 2 else iy
    return torch.tensor([float(dx), float(dy)])


vl.exercises.check("data.phase_correlation", phase_correlation)

# %% [markdown]
# **Open exercises**
#
# 4. Measure the drummer's onsets from the audio alone (an energy or spectral-flux detector) and compare them with
#    `hits`. Which instruments are hard to detect when they follow a crash cymbal, and why?
# 5. Train a linear classifier on the `motion_magnitude` of each `actions` clip and then on a 4 x 4 grid of it.
#    How far above chance (1/12) does each get? Which classes get confused?
# 6. `pushbot` pushes objects only when the gripper is lowered. Estimate from `state` and `objects` how often a
#    clip contains a push, then change the waypoint rule in `pushbot._trajectory` and see how the fraction moves.
# 7. Point `VideoFolder` at a folder of your own phone videos with `labels=True`. What happens with portrait
#    videos (`crop="center"` vs `"random"`)?
