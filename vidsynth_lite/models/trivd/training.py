"""Training and sampling TrIVD-GAN-FP (App. E.1-E.3, App. D.1).

One training step (App. E.1, E.3): two D updates, each on its own real batch and a freshly generated one
(scored in one pass of batch 2B), then one G update on a third generated batch (three G passes, two D passes of
2B and one of B). Losses: the geometric hinge loss averaged over every discriminator output (Eqs. 13-14),
summed over the sub-discriminators; G also pays the orthogonality penalty (1e-4, App. E.2). Adam with
beta1 = 0 (App. E.2) is the caller's optimiser.

:func:`d_loss` and :func:`g_loss` compute the losses; :func:`make_step` wraps them into a step function for
:func:`vidsynth_lite.train.fit_parts`, and :func:`time_steps` runs them with plain optimisers to measure
Table 1's step time. :func:`predict` samples with truncation (App. D.1) after :func:`standing_stats` (App. E.2).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from vidsynth_lite.nn.gan_losses import geometric_hinge_d_loss, geometric_hinge_g_loss
from vidsynth_lite.nn.normalization import standing_statistics
from vidsynth_lite.nn.regularizers import orthogonal_regularization

from .discriminators import Discriminator
from .generator import Generator, sample_z


def _video(batch) -> torch.Tensor:
    return batch["video"] if isinstance(batch, dict) else batch


def generate_clip(G: Generator, real: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
    """The generated clip for ``real``'s conditioning frames: ``[cond; G(cond, z)]`` ``[B, T, 3, H, W]``."""
    cond = real[:, :G.cfg.cond_frames]
    z = sample_z(len(real), G.cfg.z_dim, device=real.device) if z is None else z
    return torch.cat([cond, G(cond, z)], 1)


def d_loss(G: Generator, D: Discriminator, real: torch.Tensor) -> torch.Tensor:
    """Eq. 13 summed over the sub-discriminators: ``mean relu(1 - D(x)) + mean relu(1 + D(G(z)))``."""
    with torch.no_grad():                                   # no graph through G in the D update
        fake = generate_clip(G, real)
    scores_real, scores_fake = D(real, fake)                # one pass of batch 2B, split per group
    return sum(geometric_hinge_d_loss(scores_real[k], scores_fake[k]) for k in scores_real)


def g_loss(G: Generator, D: Discriminator, real: torch.Tensor, ortho: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 14 summed over the sub-discriminators, plus ``ortho`` x the orthogonality penalty -> (loss, adv)."""
    (scores_fake,) = D(generate_clip(G, real))
    adversarial = sum(geometric_hinge_g_loss(s) for s in scores_fake.values())
    return adversarial + ortho * orthogonal_regularization(G), adversarial


def make_step(d_steps: int = 2, ortho: float = 1e-4) -> Callable:
    """The step function for ``fit_parts`` with parts ``"G"`` and ``"D"``: the batch ``[d_steps * B, T, 3, H, W]``
    gives one real batch per D update; the G update takes the conditioning frames of the last one."""

    def step(state, batch):
        halves = _video(batch).chunk(d_steps, 0)
        for real in halves:                                 # App. E.1: two D updates per G update
            loss_d = d_loss(state["G"], state["D"], real)
            state.update("D", loss_d)
        loss_g, adversarial = g_loss(state["G"], state["D"], halves[-1], ortho)
        state.update("G", loss_g)
        return {"d_loss": loss_d.detach(), "g_adv": adversarial.detach()}

    return step


def time_steps(G: Generator, D: Discriminator, opt_g, opt_d, real: torch.Tensor, *, seconds: float,
               d_steps: int = 2, ortho: float = 1e-4, min_steps: int = 2) -> dict[str, list[float]]:
    """Table 1's measurement (App. E.3): run whole training steps (``d_steps`` D updates + one G update, plain
    optimisers) on ``real`` ``[d_steps * B, T, 3, H, W]`` for ``seconds`` of wall time (and at least
    ``min_steps``). Returns the ``"wall"`` and the ``"cpu"`` seconds (this process's CPU time: what a free
    machine would take when other processes share this one) of each step; no data loading inside."""
    times: dict[str, list[float]] = {"wall": [], "cpu": []}
    began = time.perf_counter()
    halves = real.chunk(d_steps, 0)
    while len(times["wall"]) < min_steps or time.perf_counter() - began < seconds:
        t0, c0 = time.perf_counter(), time.process_time()
        for r in halves:
            opt_d.zero_grad(set_to_none=True)
            d_loss(G, D, r).backward()
            opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        loss, _ = g_loss(G, D, halves[-1], ortho)
        loss.backward(inputs=[p for p in G.parameters() if p.requires_grad])
        opt_g.step()
        if real.device.type == "cuda":
            torch.cuda.synchronize(real.device)
        times["wall"].append(time.perf_counter() - t0)
        times["cpu"].append(time.process_time() - c0)
    return times


@torch.no_grad()
def standing_stats(G: Generator, cond_source: torch.Tensor, *, batches: int, batch: int, seed: int = 0) -> Generator:
    """App. E.2: G's batch-norm statistics averaged over ``batches`` forward passes of ``batch`` samples, each
    conditioned on frames drawn from ``cond_source`` ``[N, >= T_c, 3, H, W]`` (training clips) with fresh z."""
    g = torch.Generator().manual_seed(seed)
    dev = next(G.parameters()).device

    def one_pass(_):
        idx = torch.randint(0, len(cond_source), (batch,), generator=g)
        cond = cond_source[idx, :G.cfg.cond_frames].to(dev)
        G(cond, sample_z(batch, G.cfg.z_dim, generator=g).to(dev))

    return standing_statistics(G, one_pass, batches=batches)


@torch.no_grad()
def predict(G: Generator, cond: torch.Tensor, samples: int, *, truncation: float | None = None,
            seed: int = 0, batch: int = 16, keep_kernels: bool = False):
    """``samples`` continuations of each conditioning clip ``[M, T_c, 3, H, W]`` -> ``[M, K, T_p, 3, H, W]``.

    G is used as it is (call it on the EMA weights after :func:`standing_stats`, in eval mode). ``truncation``:
    App. D.1's truncation trick (None: z ~ N(0, I)). ``keep_kernels``: also return the warping weights per stage,
    ``[M, K, T_p, k*k, h, w]`` each (warping units only).
    """
    from vidsynth_lite.checks import check_video

    check_video(cond, name="conditioning frames", frames=G.cfg.cond_frames, size=G.cfg.size)
    dev = next(G.parameters()).device
    g = torch.Generator().manual_seed(seed)
    m = len(cond)
    flat = cond.repeat_interleave(samples, 0)                                    # [M*K, T_c, 3, H, W] sample-major
    z = sample_z(m * samples, G.cfg.z_dim, truncation=truncation, generator=g)
    videos, kernels = [], []
    for i in range(0, m * samples, batch):
        out = G.run(flat[i:i + batch].to(dev), z[i:i + batch].to(dev), keep_kernels=keep_kernels)
        videos.append(out.video.cpu())
        if keep_kernels and out.kernels:
            kernels.append([k.cpu() for k in out.kernels])
    video = torch.cat(videos).view(m, samples, *videos[0].shape[1:])           # [M, K, T_p, 3, H, W]
    if not keep_kernels:
        return video
    per_stage = [torch.cat([k[s] for k in kernels]).view(m, samples, *kernels[0][s].shape[1:])
                 for s in range(len(kernels[0]))] if kernels else []
    return video, per_stage
