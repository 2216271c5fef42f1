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
# # 3. Predicting video with a hierarchical VQ-VAE
#
# Walker, Razavi and van den Oord (2021), *Predicting Video with VQVAE*, compress a 256x256x16 video into two
# grids of discrete codes -- a **bottom** layer of 64x64x8 and a **top** layer of 32x32x4, about 1.3% of the
# video's bits -- and predict the future by sampling those codes with autoregressive **PixelCNN priors**: a
# PixelCNN extended into time for the top layer, then a 2D PixelCNN that fills in the bottom layer one time
# slice at a time. Four frames go in, twelve come out.
#
# This chapter builds the pieces in the order of the paper:
#
# 1. the **vector quantiser** (Eq. 1), its straight-through gradient and commitment loss (Eq. 2), and the
#    **EMA codebook update** (Eq. 3) -- each written here in a few lines and checked against the package;
# 2. the **masked convolutions** that make a PixelCNN causal in time and space (Sec. 3.2);
# 3. the **hierarchical video VQ-VAE** (Sec. 3.1, Table 3): training, codebook usage, what the top and the
#    bottom layer carry (the paper's Fig. 2), the compression in bits;
# 4. the **top prior** and the **bottom prior** (Sec. 3.2, Tables 4-8), trained on the codes;
# 5. **prediction**: 12 frames from 4, several samples per input at temperatures 1.0 and 1.2, with a fast
#    (row-cached) sampler checked to give exactly the naive sampler's samples;
# 6. **evaluation** against the ground truth and two baselines, with every number's protocol, beside the
#    paper's Table 2.
#
# At `lite` everything runs at 32x32 on the `pushbot` world (our stand-in for BAIR) with small widths, in a
# few minutes on a 2-core CPU; `full` (`configs/vqvae/full.yaml`) is the paper's configuration for a GPU.

# %% tags=["parameters"]
profile = "lite"  # smoke | lite | full  (VIDSYNTH_PROFILE overrides it)
seed = 0  # seed of every random generator
world = None  # synthetic world: pushbot | actions
size = None  # frame height and width (paper: 256)
frames = None  # frames per clip (paper: 16)
cond_frames = None  # conditioning frames (paper: 4)
train_videos = None  # training clips
test_videos = None  # test inputs for the prediction metrics
samples = None  # samples per test input (K)
sample_batch = None  # test inputs sampled at once
temperatures = None  # sampling temperatures
vq_steps = None  # VQ-VAE optimiser steps
vq_batch = None  # VQ-VAE batch size
vq_lr = None  # VQ-VAE learning rate
top_steps = None  # top prior steps
top_batch = None  # top prior batch size
bottom_steps = None  # bottom prior steps
bottom_batch = None  # bottom prior batch size
prior_lr = None  # priors' learning rate
fvd_videos = None  # videos per set for the real-I3D FVD
naive_videos = None  # videos sampled with the naive sampler (timing + equality check)
ckpt_every = None  # checkpoint period in steps
bf16 = None  # bf16 autocast on a GPU

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

import vidsynth_lite as vl
from vidsynth_lite.chapters.vqvae import VQVAEChapterConfig, model_configs
from vidsynth_lite.models import vqvae as vqm

chapter_started = time.perf_counter()
cfg = vl.config.resolve(VQVAEChapterConfig, vl.config.notebook_parameters(globals()))
device = vl.runtime.start(cfg)
sizes = model_configs(cfg)
run_root = vl.paths.runs_dir() / f"vqvae-{cfg.profile}-{cfg.world}-seed{cfg.seed}"
timings: dict[str, float] = {}


cfg

# %% [markdown]
# ## The data
#
# `pushbot` is our stand-in for the BAIR robot-pushing videos: a gripper pushes objects on a table. Clips are
# `[B, T, C, H, W]` in [-1, 1]; the first `cond_frames` frames are given, the rest are to be predicted.

# %%
t0 = time.perf_counter()
train_set = vl.data.load(cfg.world, "train", frames=cfg.frames, size=cfg.size, seed=cfg.seed,
                         length=cfg.train_videos)
test_set = vl.data.load(cfg.world, "test", frames=cfg.frames, size=cfg.size, seed=cfg.seed,
                        length=2 * cfg.test_videos)    # the second half: a disjoint real set for FVD floors
# lite: the clips fit in memory as one tensor; full: each clip is rendered when a batch needs it (a pure
# function of its index, so batches and resumed runs stay deterministic)
in_memory = cfg.train_videos * cfg.frames * 3 * cfg.size ** 2 * 4 < 2 ** 31
train_source = (torch.stack([train_set[i]["video"] for i in range(len(train_set))])  # [N, T, 3, H, W]
                if in_memory else train_set)
test_videos_t = torch.stack([test_set[i]["video"] for i in range(cfg.test_videos)])   # [M, T, 3, H, W]
floor_videos_t = torch.stack([test_set[i]["video"] for i in range(cfg.test_videos, 2 * cfg.test_videos)])
timings["data_s"] = time.perf_counter() - t0
print(f"train {len(train_source)} clips, test {tuple(test_videos_t.shape)}, "
      f"generated in {timings['data_s']:.1f} s")
vl.viz.show_video(test_videos_t[:4], caption=f"{cfg.world} test clips ({cfg.size}x{cfg.size}, {cfg.frames} frames)")

# %% [markdown]
# ## 1. The vector quantiser (Sec. 2.1)
#
# The encoder's output `z_e(x)` is a grid of `D`-dimensional vectors. Each is replaced by its nearest entry of
# a codebook `e` of `K` vectors:
#
# $$z_q(x) = e_k,\quad k = \operatorname{argmin}_j \lVert z_e(x) - e_j \rVert_2 \qquad (1)$$
#
# We expand the squared distance, $\lVert z\rVert^2 - 2 z\cdot e + \lVert e\rVert^2$, so that one matrix
# product gives all `N x K` distances.

# %%
g = torch.Generator().manual_seed(cfg.seed)
z_e = torch.randn(10, 4, generator=g)        # [N, D]: ten encoder vectors
codebook = torch.randn(6, 4, generator=g)    # [K, D]: six codes


def my_nearest_code(z, e):
    d = z.pow(2).sum(1, keepdim=True) - 2 * z @ e.t() + e.pow(2).sum(1)   # [N, K] squared distances
    return d.argmin(1)                                                    # Eq. 1: [N]


codes = my_nearest_code(z_e, codebook)
assert torch.equal(codes, vl.nn.nearest_code(z_e, codebook))
assert torch.equal(codes, torch.cdist(z_e, codebook).argmin(1))          # and a brute-force check
codes

# %% [markdown]
# The argmin has no gradient. The **straight-through estimator** copies the decoder's gradient at `z_q` onto
# `z_e`: the forward value is `z_q`, the backward pass sees the identity. In code: `z_e + sg[z_q - z_e]`.
# The loss of Eq. 2 then has three terms: reconstruction, the codebook term `||sg[z_e] - e||^2` and the
# commitment term `beta ||z_e - sg[e]||^2` (beta = 0.25, Table 3) that keeps the encoder close to its codes.
# (Eq. 2 in the paper writes `z_q` where it means `z_e` in the last two terms.)

# %%
z = z_e.clone().requires_grad_(True)
e = codebook[my_nearest_code(z_e, codebook)]                 # [N, D] chosen codes
z_q = z + (e - z).detach()                                   # straight-through: value e, gradient to z
commitment = 0.25 * F.mse_loss(z, e.detach())                # beta ||z_e - sg[e]||^2
(z_q.sum() + commitment).backward()
torch.testing.assert_close(z_q, vl.nn.straight_through(z_e, e))
torch.testing.assert_close(z.grad, torch.ones_like(z) + 0.25 * 2 * (z_e - e) / z_e.numel())
print("gradient reaches z_e through the quantiser:", bool(z.grad.abs().sum() > 0))

# %% [markdown]
# ### The EMA codebook update (Eq. 3)
#
# Instead of the codebook term, the paper (following VQ-VAE and VQ-VAE-2) learns the codebook as an
# exponential moving average of the encoder vectors assigned to each code:
#
# $$N_i \leftarrow \gamma N_i + (1-\gamma) n_i,\qquad m_i \leftarrow \gamma m_i + (1-\gamma)\sum_j z_{e,i,j},
# \qquad e_i = m_i / N_i \qquad (3)$$
#
# where `n_i` counts the vectors of the batch that chose code `i`. A code nobody chooses keeps its position
# (both `N_i` and `m_i` decay at the same rate) until its count falls below a threshold; then the package
# **restarts** it at a random encoder vector of the batch (a dead-code restart, not in the paper).

# %%
gamma = 0.99
N_old, m_old = torch.ones(6), codebook.clone()               # N_i = 1, m_i = e_i: the package's start
onehot = F.one_hot(codes, 6).float()                         # [N, K]
n_i = onehot.sum(0)                                          # [K]  vectors per code
sum_z = onehot.t() @ z_e                                     # [K, D] their sum
N_new = gamma * N_old + (1 - gamma) * n_i
m_new = gamma * m_old + (1 - gamma) * sum_z
e_new = m_new / N_new[:, None]

ref = vl.nn.ema_codebook_update(N_old, m_old, n_i, sum_z, gamma, eps=0.0)
for mine, theirs in zip((N_new, m_new, e_new), ref):
    torch.testing.assert_close(mine, theirs)
vq = vl.nn.VectorQuantizer(6, 4, decay=gamma, eps=0.0, init_from_data=False, restart_threshold=0.0)
with torch.no_grad():
    vq.codebook.copy_(codebook)
    vq.embed_sum.copy_(codebook)
vq.train()(z_e)                                               # the module applies the same update
torch.testing.assert_close(vq.codebook, e_new)
print("codes used in this batch:", n_i.tolist())

# %% [markdown]
# ## 2. Masked convolutions: a PixelCNN extended into time (Sec. 3.2)
#
# A PixelCNN predicts each code from the codes before it. The paper orders the latent volume by time, then
# rows, then columns: a position may see **every earlier time step**, and within its own step the rows
# **above** and the positions to the **left** in its row. A convolution obeys this if its kernel is zero at
# every offset `(dt, dy, dx)` that points to a later position. The first layer may not see the position
# itself (mask "A"), later layers may (mask "B"); two stacks -- a *vertical* one that sees only earlier rows
# and a *horizontal* one for the current row -- avoid the blind spot of the original PixelCNN.

# %%
def my_mask_first(kernel):
    """Mask A of a (kt, ky, kx) kernel: earlier time, rows above, or left in the same row."""
    kt, ky, kx = kernel
    m = torch.zeros(kt, ky, kx)
    for i in range(kt):
        for j in range(ky):
            for k in range(kx):
                dt, dy, dx = i - kt // 2, j - ky // 2, k - kx // 2
                m[i, j, k] = float(dt < 0 or (dt == 0 and dy < 0) or (dt == 0 and dy == 0 and dx < 0))
    return m


mask = my_mask_first((3, 3, 3))
assert torch.equal(mask, vl.nn.causal_mask((3, 3, 3), "h_first"))
fig, axes = plt.subplots(1, 3, figsize=(7, 2.4))
for i, ax in enumerate(axes):
    ax.imshow(mask[i], cmap="Greys", vmin=0, vmax=1.5)
    ax.set_title(f"dt = {i - 1}")
    ax.set_xticks([]); ax.set_yticks([])
fig.suptitle("first-layer 3x3x3 mask (black: the kernel may read there)")
plt.show()

# %% [markdown]
# The paper implements most of the 3D stack with **2D convolutions in the x-t and y-t planes**: a kernel of
# shape `(k, k, 1)` is a convolution in the y-t plane, `(k, 1, k)` one in the x-t plane; only the first layer is
# a true 3D convolution. Our `CausalPixelCNN` does exactly that for the top prior, and with `T = 1` and kernels
# `(1, k, k)` it is the 2D PixelCNN of the bottom prior. The test that matters: perturb one input code and
# check that only **later** logits move.

# %%
torch.manual_seed(cfg.seed)
toy = vl.nn.CausalPixelCNN(8, 8, 8, 2, (3, 3, 3), [(3, 3, 1), (3, 1, 3)], (3, 1, 3), attn_every=2, heads=2)
toy.eval()
toy_codes = torch.randint(0, 8, (1, 3, 4, 4))                 # [B, T, H, W]
with torch.no_grad():
    base = toy(toy_codes)                                      # [B, K, T, H, W]
    p = 21                                                     # position (t=1, y=1, x=1) in raster order
    changed = toy_codes.clone()
    changed[0, 1, 1, 1] = (changed[0, 1, 1, 1] + 1) % 8
    moved = (toy(changed) - base).abs().amax(dim=(0, 1)).flatten() > 0   # [T*H*W]
assert not moved[:p + 1].any() and moved[p + 1:].any()
print(f"changing code {p} moves {int(moved.sum())} of the {moved.numel() - p - 1} later logits and none before")

# %% [markdown]
# ## 3. The hierarchical video VQ-VAE (Sec. 3.1, Table 3)
#
# 3D-convolutional encoders take the video down by (2, 4, 4) to the bottom layer and by another (2, 2, 2) to the
# top layer; each layer has its own codebook. The decoder upsamples the top codes with a transposed
# convolution, concatenates them with the bottom codes and decodes both; during training the bottom half of
# that concatenation is zeroed for a random part of the batch so that the top layer stays in use.

# %%
paper = vqm.VQVAEModels()
print("paper (full):", f"{paper.vqvae.size}x{paper.vqvae.size}x{paper.vqvae.frames} ->",
      "bottom", paper.vqvae.bottom_shape, "top", paper.vqvae.top_shape,
      f"codebooks {paper.vqvae.num_codes} x {paper.vqvae.code_dim}")
print(f"this run ({cfg.profile}):", f"{cfg.size}x{cfg.size}x{cfg.frames} ->", "bottom", sizes.vqvae.bottom_shape,
      "top", sizes.vqvae.top_shape, f"codebooks {sizes.vqvae.num_codes} x {sizes.vqvae.code_dim}, "
      f"hidden {sizes.vqvae.hidden}, residual {sizes.vqvae.residual}")
ours_c, paper_c = vqm.compression(sizes.vqvae), vqm.compression(paper.vqvae)
print(f"compression, paper: {paper_c['latent_bits']:,.0f} latent bits / {paper_c['video_bits']:,.0f} video bits "
      f"= {100 * paper_c['ratio']:.2f}% (the paper: 1.3%, 'a greater than 98% reduction')")
print(f"compression, ours:  {ours_c['latent_bits']:,.0f} / {ours_c['video_bits']:,.0f} = {100 * ours_c['ratio']:.2f}%")

# %%
torch.manual_seed(cfg.seed)
vqvae = vqm.VideoVQVAE(sizes.vqvae, seed=cfg.seed)
vq_batches = vl.train.StepBatches(train_source, cfg.vq_batch, seed=cfg.seed, key=None if in_memory else "video")
t0 = time.perf_counter()
vq_fit = vl.train.fit(vqvae, vqm.vqvae_loss, vq_batches, steps=cfg.vq_steps,
                      optimizer=torch.optim.Adam(vqvae.parameters(), lr=cfg.vq_lr), run_dir=run_root / "vqvae",
                      ckpt_every=cfg.ckpt_every, log_every=1, config=sizes.to_dict(), device=device, bf16=cfg.bf16,
                      desc="VQ-VAE")
timings["vqvae_train_s"] = time.perf_counter() - t0
timings["vqvae_peak_mb"] = vl.runtime.peak_memory_mb(device)
vqvae = vq_fit.model.to(device).eval()
print(f"VQ-VAE: {cfg.vq_steps} steps in {timings['vqvae_train_s']:.1f} s"
      + (f" (resumed from step {vq_fit.resumed_from})" if vq_fit.resumed_from else "")
      + f"; peak memory {timings['vqvae_peak_mb']:.0f} MB")

# %% [markdown]
# ### Codebook usage over training
#
# The perplexity `exp(H)` of the code histogram is the number of codes in effective use (at most `K`). Dead
# codes restart at encoder outputs, so usage recovers instead of collapsing.

# %%
log = vl.train.read_log(run_root / "vqvae")
steps_axis = [r["step"] for r in log]
fig, axes = plt.subplots(1, 3, figsize=(12, 3))
axes[0].plot(steps_axis, [r["recon"] for r in log])
axes[0].set_title("reconstruction MSE"); axes[0].set_yscale("log")
for key, label in (("perplexity_bottom", "bottom"), ("perplexity_top", "top")):
    axes[1].plot(steps_axis, [r[key] for r in log], label=label)
    axes[2].plot(steps_axis, [r[key.replace("perplexity", "usage")] for r in log], label=label)
axes[1].axhline(sizes.vqvae.num_codes, color="grey", ls=":", label="K")
axes[1].set_title("perplexity of the batch's codes"); axes[2].set_title("fraction of codes used in the batch")
for ax in axes:
    ax.set_xlabel("step")
axes[1].legend(); plt.tight_layout(); plt.show()
print("dead-code restarts: bottom", int(vqvae.vq_bottom.restarts), " top", int(vqvae.vq_top.restarts))

# %% [markdown]
# ### What the top and the bottom layer carry (the paper's Fig. 2)
#
# We decode a test clip three ways: from both layers (the reconstruction), from the top layer alone (bottom
# masked to zero, as in training), and with the top layer of *another* clip. The paper reports that the top
# layer keeps the global content and the bottom layer adds detail.

# %%
x = test_videos_t[:2].to(device)
with torch.no_grad():
    b_codes, t_codes = vqvae.encode(x)                                    # [2, T/2, H/4, W/4], [2, T/4, H/8, W/8]
    recon = vqvae.decode(b_codes, t_codes).clamp(-1, 1)
    top_only = vqvae.decode(b_codes, t_codes, mask_bottom=True).clamp(-1, 1)
    swapped_top = vqvae.decode(b_codes, t_codes.flip(0)).clamp(-1, 1)   # clip 0's bottom, clip 1's top
fig2 = {name: float(vl.metrics.psnr(v.cpu(), x.cpu()).mean())
        for name, v in (("both layers", recon), ("top only", top_only), ("other clip's top", swapped_top))}
for name, value in fig2.items():
    print(f"PSNR vs the input, {name:>17}: {value:5.2f} dB   (mean over 2 clips x {cfg.frames} frames)")
vl.viz.show_video(torch.stack([x[0], recon[0], top_only[0], swapped_top[0]]).cpu(),
                 caption="input | both layers | top layer only | bottom with the other clip's top")

# %% [markdown]
# ## 4. The priors (Sec. 3.2)
#
# Both priors are trained on **codes**, so we encode the training set once. The latent volumes are assembled
# exactly as at prediction time: the first top slice and the first two bottom slices are the codes of the 4
# conditioning frames encoded on their own; the remaining slices are the codes of the whole clip.

# %%
t0 = time.perf_counter()
volumes = vqm.latent_volumes(vqvae, train_source, cfg.cond_frames, device=device)   # int16 codes on the CPU
timings["encode_train_s"] = time.perf_counter() - t0
print({k: tuple(v.shape) for k, v in volumes.items()}, f"in {timings['encode_train_s']:.1f} s")
code_batches = {name: vl.train.StepBatches(vqm.CodesDataset(volumes), batch, seed=cfg.seed)
                for name, batch in (("top", cfg.top_batch), ("bottom", cfg.bottom_batch))}

# %% [markdown]
# **Top prior** (Tables 4-6): the PixelCNN extended in time models the 3 predicted top slices; its
# conditioning stack sees the top (upsampled) and bottom codes of the 4 conditioning frames, downsampled,
# tiled over time and passed through residual blocks. Gated layers, attention every few layers, dropout.

# %%
def train_prior(name, prior, loss_fn, steps):
    """Train one prior on its code batches with the book's loop; record its time and peak memory."""
    t0 = time.perf_counter()
    fitted = vl.train.fit(prior, loss_fn, code_batches[name], steps=steps,
                          optimizer=torch.optim.Adam(prior.parameters(), lr=cfg.prior_lr),
                          run_dir=run_root / f"{name}_prior", ckpt_every=cfg.ckpt_every, log_every=1,
                          config=sizes.to_dict(), device=device, bf16=cfg.bf16, desc=f"{name} prior")
    timings[f"{name}_train_s"] = time.perf_counter() - t0
    timings[f"{name}_peak_mb"] = vl.runtime.peak_memory_mb(device)
    return fitted.model.to(device).eval()


torch.manual_seed(cfg.seed)
top_prior = train_prior("top", vqm.TopPrior(sizes.top), vqm.top_prior_loss, cfg.top_steps)

# %% [markdown]
# **Bottom prior** (Tables 4, 7, 8): a 2D PixelCNN per bottom time slice `n`, conditioned on slice `n` of the
# top codes upsampled to the bottom grid and on the two previous bottom slices.

# %%
torch.manual_seed(cfg.seed)
bottom_prior = train_prior("bottom", vqm.BottomPrior(sizes.bottom), vqm.bottom_prior_loss, cfg.bottom_steps)

test_volumes = {k: v.to(device) for k, v in
                vqm.latent_volumes(vqvae, test_videos_t, cfg.cond_frames, device=device).items()}  # held out


@torch.no_grad()
def held_out_bits(loss_fn, model):
    """Mean bits per code over the test clips, in chunks of `sample_batch` clips (same codes per clip)."""
    total = 0.0
    for i in range(0, len(test_videos_t), cfg.sample_batch):
        chunk = {k: v[i:i + cfg.sample_batch] for k, v in test_volumes.items()}
        total += loss_fn(model, chunk)[1]["bits_per_code"] * len(chunk["top"])
    return total / len(test_videos_t)


held_out = {"top_prior": held_out_bits(vqm.top_prior_loss, top_prior),
            "bottom_prior": held_out_bits(vqm.bottom_prior_loss, bottom_prior)}
print(f"training: top prior {timings['top_train_s']:.1f} s, bottom prior {timings['bottom_train_s']:.1f} s; "
      f"held-out bits per code (test split, {len(test_videos_t)} clips): top {held_out['top_prior']:.3f}, "
      f"bottom {held_out['bottom_prior']:.3f} (uniform: {math.log2(sizes.vqvae.num_codes):.0f})")

fig, ax = plt.subplots(figsize=(6, 3))
for name in ("top_prior", "bottom_prior"):
    rec = vl.train.read_log(run_root / name)
    ax.plot([r["step"] for r in rec], [r["bits_per_code"] for r in rec], label=name.replace("_", " "))
ax.axhline(math.log2(sizes.vqvae.num_codes), color="grey", ls=":", label="uniform (log2 K)")
ax.set_xlabel("step"); ax.set_ylabel("bits per code (train)"); ax.legend(); plt.show()

# %% [markdown]
# ## 5. Predicting 12 frames from 4
#
# Sampling goes top first (3 slices, in raster order within each), then bottom (slice by slice), then the
# decoder. The **fast sampler** recomputes only the current row at every layer, reading earlier rows from
# per-layer caches and attention keys/values from a KV cache; the **naive sampler** runs the whole network on
# the whole volume for every position. Both draw each code from the same uniform number, so for the same draws
# they must return the same samples -- we check it.

# %%
predictor = vqm.VideoPredictor(vqvae, top_prior, bottom_prior).eval()
# Sampling is a long chain of tiny operations: on a CPU one thread avoids the cost of synchronising threads.
threads = torch.get_num_threads()
if device.type == "cpu":
    torch.set_num_threads(1)
cond = test_videos_t[:, :cfg.cond_frames].to(device)                     # [M, 4, 3, H, W]
future = test_videos_t[:, cfg.cond_frames:]                              # [M, 12, 3, H, W]
predictions = {}
for temperature in cfg.temperatures:
    g = torch.Generator().manual_seed(cfg.seed + 1)
    t0 = time.perf_counter()
    predictions[temperature] = torch.cat([                                # [M, K, T, 3, H, W]
        predictor.predict(cond[i:i + cfg.sample_batch], samples=cfg.samples, temperature=temperature,
                          generator=g).cpu() for i in range(0, len(cond), cfg.sample_batch)])
    timings[f"sample_fast_T{temperature}_s_per_video"] = (time.perf_counter() - t0) / (len(cond) * cfg.samples)
sample_s = timings[f"sample_fast_T{cfg.temperatures[0]}_s_per_video"]
print(f"fast sampler: {sample_s:.3f} s per video (batches of {min(len(cond), cfg.sample_batch) * cfg.samples})")

if cfg.naive_videos:
    n = cfg.naive_videos
    times = {}
    outs = {}
    for fast in (True, False):
        g = torch.Generator().manual_seed(cfg.seed + 2)
        t0 = time.perf_counter()
        outs[fast] = predictor.predict(cond[:n], samples=1, temperature=1.0, generator=g, fast=fast)
        times[fast] = (time.perf_counter() - t0) / n
    assert torch.equal(outs[True], outs[False]), "fast and naive samplers disagree"
    timings["sample_naive_s_per_video"], timings["sample_fast_s_per_video_unbatched"] = times[False], times[True]
    timings["fast_speedup"] = times[False] / times[True]
    print(f"{n} video(s), batch 1: naive {times[False]:.2f} s, fast {times[True]:.2f} s per video -> "
          f"{timings['fast_speedup']:.1f}x faster, identical samples")
torch.set_num_threads(threads)

# %%
shown = min(2, len(cond))
for temperature in cfg.temperatures:
    clips = torch.cat([test_videos_t[:shown, None], predictions[temperature][:shown, :3]], 1)  # [2, 4, T, ...]
    vl.viz.show_video(clips.flatten(0, 1), caption=f"temperature {temperature}: each row of 4 = ground truth, "
                     f"then 3 samples (first {cfg.cond_frames} frames: the VQ-VAE's reconstruction of the input)")

# %% [markdown]
# ## 6. Evaluation
#
# Every method here is evaluated the same way on the same `test_videos` inputs (the test split, seed
# `seed`), on the 12 predicted frames:
#
# - **copy last**: the last conditioning frame repeated -- a floor any predictor must beat on PSNR/SSIM at
#   short horizons;
# - **VQ-VAE ceiling**: the VQ-VAE's reconstruction of the true 16-frame clip -- the best any prior over these
#   codes could do;
# - **VQ-VAE + priors** at each temperature, `K = samples` samples per input: *best-of-K* picks, per input, the
#   sample with the best mean score over the 12 frames; *mean-of-K* averages all samples.

# %%
with torch.no_grad():
    ceiling = torch.cat([vqvae.decode(*vqvae.encode(test_videos_t[i:i + 8].to(device))).clamp(-1, 1).cpu()
                         for i in range(0, len(test_videos_t), 8)])       # [M, T, 3, H, W]
copy_last = test_videos_t[:, cfg.cond_frames - 1:cfg.cond_frames].expand_as(future)  # [M, 12, 3, H, W]


def frame_scores(pred_future):
    """[M, K, 12, 3, H, W] -> PSNR and SSIM per frame [M, K, 12]."""
    target = future[:, None].expand_as(pred_future)
    return vl.metrics.psnr(pred_future, target), vl.metrics.ssim(pred_future, target)


def curves(scores):
    """best-of-K (by mean over time) and mean-of-K per-step curves from [M, K, 12]."""
    best = scores.gather(1, scores.mean(2).argmax(1)[:, None, None].expand(-1, 1, scores.shape[2]))[:, 0]
    return vl.metrics.per_timestep(best, time_dim=-1), vl.metrics.per_timestep(vl.metrics.mean_of_k(scores), -1)


table = {}
per_step = {}
for name, pred in [("copy last", copy_last[:, None]), ("VQ-VAE ceiling", ceiling[:, None, cfg.cond_frames:])]:
    ps, ss = frame_scores(pred)
    per_step[name] = {"psnr": vl.metrics.per_timestep(ps, -1), "ssim": vl.metrics.per_timestep(ss, -1)}
    table[name] = {"psnr": float(ps.mean()), "ssim": float(ss.mean())}
for temperature in cfg.temperatures:
    ps, ss = frame_scores(predictions[temperature][:, :, cfg.cond_frames:])
    (pb, pm), (sb, sm) = curves(ps), curves(ss)
    per_step[f"T={temperature} best-of-K"] = {"psnr": pb, "ssim": sb}
    per_step[f"T={temperature} mean-of-K"] = {"psnr": pm, "ssim": sm}
    table[f"VQ-VAE T={temperature} best-of-{cfg.samples}"] = {"psnr": float(pb.mean()), "ssim": float(sb.mean())}
    table[f"VQ-VAE T={temperature} mean-of-{cfg.samples}"] = {"psnr": float(pm.mean()), "ssim": float(sm.mean())}

fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
steps_t = range(cfg.cond_frames + 1, cfg.frames + 1)
for name, c in per_step.items():
    for ax, key in zip(axes, ("psnr", "ssim")):
        ax.plot(steps_t, c[key], label=name, ls="--" if "mean" in name else "-")
axes[0].set_ylabel("PSNR (dB)"); axes[1].set_ylabel("SSIM")
for ax in axes:
    ax.set_xlabel("frame")
axes[1].legend(fontsize=7); plt.tight_layout(); plt.show()
print(f"PSNR / SSIM over the {cfg.frames - cfg.cond_frames} predicted frames, {len(future)} test inputs "
      f"({cfg.world}, {cfg.size}x{cfg.size}), SSIM: 11x11 Gaussian window sigma 1.5:")
for name, v in table.items():
    print(f"  {name:<28} PSNR {v['psnr']:6.2f} dB   SSIM {v['ssim']:.3f}")

# %% [markdown]
# ### Video-level scores: FVD-syn, FVD vs FVD*, DIV-syn, real-I3D FVD
#
# **FVD-syn** uses the SynI3D feature network that chapter 2 trains on our synthetic worlds (cached after the
# first run), at our resolution; it is *not* comparable with published FVDs. Each predicted clip is the 4 true
# conditioning frames followed by the 12 predicted ones. Following the paper we compare the samples with the
# real clips (**FVD**) and with the VQ-VAE's reconstructions of the real clips (**FVD\***). **DIV-syn** is the
# mean pairwise SynI3D feature distance among the K samples of one input. The **real-I3D FVD** uses the
# Kinetics-400 I3D (the reference FVD network) on `fvd_videos` clips per set, upsampled to 224x224 -- with so
# few clips it is a high-variance, biased estimate, stated as such.

# %%
def as_clips(pred):
    """[M, K, T, ...] -> [M*K, T, ...] with the true conditioning frames (of the first M inputs) in front."""
    clips = pred.clone()
    clips[:, :, :cfg.cond_frames] = test_videos_t[:len(pred), None, :cfg.cond_frames]
    return clips.flatten(0, 1)


def feature_protocol(net, n_real, n_fake, **extra):
    return {"network": net.name, "network_hash": getattr(net, "hash", "?"),
            "preprocessing": getattr(net, "preprocessing", "?"), "clip_length": cfg.frames,
            "resolution": f"{cfg.size}x{cfg.size}", "split": "test", "seed": cfg.seed, "n_real": n_real,
            "n_fake": n_fake, "conditioning": f"{cfg.cond_frames} true frames + predicted frames", **extra}


copy_clips = torch.cat([test_videos_t[:, :cfg.cond_frames], copy_last], 1)   # [M, T, 3, H, W]
fake_sets = {"copy last": copy_clips, "VQ-VAE ceiling": ceiling}
fake_sets.update({f"VQ-VAE T={t}": as_clips(predictions[t]) for t in cfg.temperatures})
video_scores, missing = {name: {} for name in fake_sets}, {}
try:
    t0 = time.perf_counter()
    syn_net = vl.metrics.get_network("syn-i3d", profile=cfg.profile, size=cfg.size, frames=cfg.frames)
    timings["syn_i3d_load_s"] = time.perf_counter() - t0     # trains once (minutes) if chapter 2 has not
    real_f, _ = vl.metrics.extract_features(syn_net, test_videos_t)          # [M, D]
    floor_f, _ = vl.metrics.extract_features(syn_net, floor_videos_t)        # [M, D] disjoint real clips
    recon_f, _ = vl.metrics.extract_features(syn_net, ceiling)               # [M, D]
    for name, clips in fake_sets.items():
        fake_f, _ = vl.metrics.extract_features(syn_net, clips)
        video_scores[name]["FVD-syn"] = vl.metrics.frechet_score(
            real_f, fake_f, floor_f, metric="FVD-syn",
            protocol=feature_protocol(syn_net, len(real_f), len(fake_f)))
        video_scores[name]["FVD*-syn"] = vl.metrics.frechet_score(
            recon_f, fake_f, metric="FVD*-syn",
            protocol=feature_protocol(syn_net, len(recon_f), len(fake_f), reference="VQ-VAE reconstructions"))
        if name.startswith("VQ-VAE T="):
            video_scores[name]["DIV-syn"] = vl.metrics.div(
                torch.as_tensor(fake_f).reshape(len(cond), cfg.samples, -1))   # [M, K, D]
except Exception as error:  # noqa: BLE001 - the chapter goes on and says what is missing
    missing["FVD-syn / DIV-syn"] = f"{type(error).__name__}: {error}"

if cfg.fvd_videos == 0:
    missing["FVD (real I3D)"] = "not computed at this profile (fvd_videos = 0)"
else:
    try:
        n = min(cfg.fvd_videos, len(test_videos_t))
        t0 = time.perf_counter()
        i3d = vl.metrics.get_network("i3d-k400")
        real_f, _ = vl.metrics.extract_features(i3d, test_videos_t[:n])
        for name, clips in [("copy last", copy_clips[:n]),
                            (f"VQ-VAE T={cfg.temperatures[0]}", as_clips(predictions[cfg.temperatures[0]][:n, :1]))]:
            fake_f, _ = vl.metrics.extract_features(i3d, clips)
            video_scores[name]["FVD (real I3D)"] = vl.metrics.frechet_score(
                real_f, fake_f, metric="FVD", protocol=feature_protocol(
                    i3d, n, n, note=f"N = {n}: a high-variance estimate biased upwards; the paper used 39 000"))
        timings["i3d_fvd_s"] = time.perf_counter() - t0
    except Exception as error:  # noqa: BLE001
        missing["FVD (real I3D)"] = f"{type(error).__name__}: {error}"

for name, scores in video_scores.items():
    for metric, s in scores.items():
        if isinstance(s, float):
            print(f"{name:<18} {metric:<15} {s:.4g}   [SynI3D features, {cfg.samples} samples per input]")
        else:
            print(f"{name:<18} {metric:<15} {s.value:.4g}   [{vl.metrics.protocol_line(s.protocol)}]")
for what, why in missing.items():
    print(f"MISSING {what}: {why}")

# %% [markdown]
# ### Beside the paper's Table 2
#
# The paper's numbers are FVD on **Kinetics-600**, real I3D features, 39 000 samples, 2-fold cross-validation,
# 16-frame clips (4 given); ours are on the **pushbot** world at 32x32 with tiny networks trained for minutes.
# They are printed side by side so that the protocols are never confused -- not to be compared as numbers.

# %%
paper_table2 = {"Video Transformer (64x64)": 170.0, "DVD-GAN-FP (64x64)": 69.15, "TrIVD-GAN-FP (64x64)": 25.74,
                "Video VQ-VAE (64x64)": 64.30, "Video VQ-VAE FVD* (64x64)": 54.30,
                "Video VQ-VAE (256x256)": 129.85, "Video VQ-VAE FVD* (256x256)": 82.45}
print("paper, Table 2 -- FVD, Kinetics-600, real I3D, 39k samples:")
for k, v in paper_table2.items():
    print(f"  {k:<30} {v:8.2f}")
ours = video_scores.get(f"VQ-VAE T={cfg.temperatures[0]}", {})
print(f"ours -- {cfg.world} {cfg.size}x{cfg.size}x{cfg.frames}, {cfg.profile}, {len(test_videos_t)} inputs x "
      f"{cfg.samples} samples, T={cfg.temperatures[0]}:")
for metric in ("FVD-syn", "FVD*-syn", "FVD (real I3D)"):
    if metric in ours:
        print(f"  Video VQ-VAE {metric:<17} {float(ours[metric]):8.2f}")
    else:
        print(f"  Video VQ-VAE {metric:<17}  missing: {missing.get(metric, missing.get('FVD-syn / DIV-syn', '?'))}")

# %% [markdown]
# ### Does our run reproduce the paper's claims?

# %%
claims = {}
t_first = f"VQ-VAE T={cfg.temperatures[0]}"
if "FVD-syn" in video_scores.get(t_first, {}):
    fvd_real, fvd_rec = float(video_scores[t_first]["FVD-syn"]), float(video_scores[t_first]["FVD*-syn"])
    claims["FVD* < FVD (Sec. 5.2: samples are closer to the reconstructions than to the real videos)"] = (
        fvd_rec < fvd_real, f"FVD*-syn {fvd_rec:.2f} vs FVD-syn {fvd_real:.2f}")
other_top = fig2["other clip's top"]
claims["top layer keeps the global content (Fig. 2): top-only decoding beats the other clip's top"] = (
    fig2["top only"] > other_top, f"PSNR {fig2['top only']:.2f} dB vs {other_top:.2f} dB")
claims["the bottom layer adds detail (Fig. 2): both layers beat top only"] = (
    fig2["both layers"] > fig2["top only"], f"PSNR {fig2['both layers']:.2f} dB vs {fig2['top only']:.2f} dB")
best_T = max(table[f"VQ-VAE T={t} best-of-{cfg.samples}"]["psnr"] for t in cfg.temperatures)
claims["predictions beat the copy-last baseline on PSNR (not claimed by the paper; a sanity check)"] = (
    best_T > table["copy last"]["psnr"], (f"best-of-K PSNR {best_T:.2f} dB vs copy last "
    f"{table['copy last']['psnr']:.2f} dB; VQ-VAE ceiling {table['VQ-VAE ceiling']['psnr']:.2f} dB"))
claim_records = [
    vl.reproduce.claims.Claim(k, "Walker et al. 2021", "reproduced" if ok else "not reproduced",
                              numbers, cfg.profile) for k, (ok, numbers) in claims.items()]
vl.reproduce.show_claims(claim_records)

# %% [markdown]
# ## Cost of each stage (this machine)
#
# Wall-clock seconds of this run (training, sampling per video, metrics) and the peak memory after each
# training stage. `python benchmarks/bench_vqvae.py --profile lite` measures the same stages as medians of
# repeated runs, in wall and CPU time, and how the fast sampler's speed-up grows with the latent volume.

# %%
timings["chapter_s"] = time.perf_counter() - chapter_started
for k, v in timings.items():
    print(f"  {k:<36} {v:10.3f}")

results = {
    "table": table,
    "per_step": {k: {m: [float(x) for x in c[m]] for m in c} for k, c in per_step.items()},
    "video_scores": {k: {m: (s if isinstance(s, float) else s.to_dict()) for m, s in v.items()}
                     for k, v in video_scores.items()},
    "missing": missing,
    "fig2_psnr": fig2,
    "held_out_bits_per_code": held_out,
    "claims": vl.reproduce.claims.claims_record(claim_records),
    "compression_ratio": ours_c["ratio"],
    "paper_compression_ratio": paper_c["ratio"],
    "paper_table2_fvd": paper_table2,
    "timings": timings,
    "restarts": {"bottom": int(vqvae.vq_bottom.restarts), "top": int(vqvae.vq_top.restarts)},
}
protocol = {"world": cfg.world, "split": "test", "seed": cfg.seed, "size": cfg.size, "frames": cfg.frames,
            "cond_frames": cfg.cond_frames, "test_inputs": len(test_videos_t), "samples_per_input": cfg.samples,
            "temperatures": list(cfg.temperatures), "psnr_ssim": "on the predicted frames, data range 2",
            "models": sizes.to_dict(), "steps": {"vqvae": cfg.vq_steps, "top": cfg.top_steps,
                                                 "bottom": cfg.bottom_steps}}
path = vl.reproduce.write_results("vqvae", cfg.profile, results, protocol, config=cfg)
print("wrote", path)

# %%
vl.reproduce.show_run("vqvae")   # profile, run time and machine of this page

# %% [markdown]
# ## Summary
#
# - A VQ-VAE compresses a clip into a **bottom** grid (T/2, H/4, W/4) and a **top** grid (T/4, H/8, W/8) of codes;
#   at the paper's size that is 1.32% of the bits of the video. The codebooks learn by **EMA** (Eq. 3) with a
#   commitment loss (Eq. 2); dead codes are restarted.
# - A **PixelCNN extended into time** -- masked 2D convolutions in the x-t and y-t planes after one 3D
#   convolution -- models the top codes of the future given the conditioning frames' codes; a **2D PixelCNN**
#   fills in the bottom codes slice by slice, conditioned on a window of top and past bottom slices.
# - Sampling is autoregressive; caching each layer's earlier rows makes it many times faster than recomputing
#   the volume per position, with *identical* samples.
# - At `lite` everything is tiny and trained for minutes. At 32x32 the VQ-VAE's own reconstruction (the
#   ceiling of any prior over its codes) already loses the small objects' detail, so on PSNR/SSIM the samples
#   stay near the ceiling and need not beat copying the last frame; FVD-syn vs FVD*-syn shows the paper's
#   effect that samples are closer to reconstructions than to real clips. The claims cell says plainly which of
#   the paper's observations this run reproduces, with the numbers.
#
# ### Deviations from the paper
#
# - **Data and scale**: `pushbot` at 32x32 (lite) instead of Kinetics-600 at 256x256; widths, depths and steps
#   far below Tables 3-8 (`full` restores them); no human evaluation.
# - **Encoder hierarchy**: the top encoder reads the bottom encoder's features; the bottom codes are not
#   conditioned on the decoded top layer as in VQ-VAE-2 (the paper does not say).
# - **Bottom masking rate** (Sec. 3.1) is not given in the paper; we mask the bottom layer for 25% of a batch.
# - **EMA details**: decay 0.99, Laplace smoothing of the counts and dead-code restarts are ours (the paper gives
#   Eq. 3 only). The codebook starts from encoder outputs of the first batch.
# - **Top prior**: our vertical stack sees earlier time steps and rows above through two masked convolutions
#   (y-t and x-t planes) and a residual connection; the gated layer's "residual units" are the width of the
#   horizontal stack's gate. The conditioning stack averages over time before tiling (identical for 4 frames).
# - **Bottom prior**: past window of 2 bottom slices (Sec. 3.2 text; Table 8 describes 4) reduced by one
#   convolution; its conditioning stack uses (1, 3, 3) residual blocks.
# - **Metrics**: FVD-syn (SynI3D features) instead of FVD on Kinetics; the real-I3D FVD at a tiny N; FVD is
#   computed on clips whose first 4 frames are the true ones.
#
# ## Exercises
#
# Three pieces to write yourself; each `check` compares your function with the package on random inputs.

# %% tags=["exercise"]
def nearest_code(z, e):
    """Eq. 1: z [N, D], codebook e [K, D] -> index of the nearest code [N] (int64)."""
    raise NotImplementedError


vl.exercises.check("vqvae.nearest_code", nearest_code)

# %% tags=["solution", "hide-cell"]
def nearest_code(z, e):
    """Eq. 1: z [N, D], codebook e [K, D] -> index of the nearest code [N] (int64)."""
    d = ((z[:, None, :] - e[None, :, :]) ** 2).sum(-1)     # [N, K]
    return d.argmin(1)


vl.exercises.check("vqvae.nearest_code", nearest_code)

# %% tags=["exercise"]
def ema_update(cluster_size, embed_sum, counts, sums, decay):
    """Eq. 3: return (N, m, e) after one batch with counts n_i [K] and sums [K, D]."""
    raise NotImplementedError


vl.exercises.check("vqvae.ema_update", ema_update)

# %% tags=["solution", "hide-cell"]
def ema_update(cluster_size, embed_sum, counts, sums, decay):
    """Eq. 3: return (N, m, e) after one batch with counts n_i [K] and sums [K, D]."""
    n = decay * cluster_size + (1 - decay) * counts
    m = decay * embed_sum + (1 - decay) * sums
    return n, m, m / n[:, None]


vl.exercises.check("vqvae.ema_update", ema_update)

# %% tags=["exercise"]
def first_layer_mask(kernel):
    """Mask A of a (kt, ky, kx) kernel for the PixelCNN extended into time -> float tensor [kt, ky, kx]."""
    return torch.ones(kernel)          # wrong: sees the present and the future


vl.exercises.check("vqvae.causal_mask", first_layer_mask)

# %% tags=["solution", "hide-cell"]
def first_layer_mask(kernel):
    """Mask A of a (kt, ky, kx) kernel for the PixelCNN extended into time -> float tensor [kt, ky, kx]."""
    kt, ky, kx = kernel
    dt = torch.arange(kt)[:, None, None] - kt // 2
    dy = torch.arange(ky)[None, :, None] - ky // 2
    dx = torch.arange(kx)[None, None, :] - kx // 2
    return ((dt < 0) | ((dt == 0) & (dy < 0)) | ((dt == 0) & (dy == 0) & (dx < 0))).float()


vl.exercises.check("vqvae.causal_mask", first_layer_mask)

# %% [markdown]
# **Open exercises.**
#
# 1. Set the bottom-masking rate to 0 (`vqm.VQVAEConfig.bottom_mask_prob`) and retrain: does the top layer's
#    perplexity or the "top only" PSNR change? The paper says masking keeps the top layer in use.
# 2. Replace the EMA codebook by the plain codebook loss (`ema=False`): compare codebook usage over training.
# 3. Increase the sampling temperature to 1.5 and plot DIV-syn against FVD-syn: where is the trade-off?
# 4. Time the fast sampler against the naive one for growing clip lengths: how does the speed-up scale?
