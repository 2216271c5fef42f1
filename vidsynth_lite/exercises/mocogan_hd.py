"""Chapter 7 exercises: MoCoGAN-HD and its StyleGAN2 image generator (Tian et al. 2021; Karras et al. 2020).

- ``modulated_conv`` (build): StyleGAN2 Eqs. 1 and 3 as one grouped convolution; section 1 runs on it.
- ``motion_codes`` (build): the motion generator's roll-out, Eq. 1 (LSTM encoder / decoder) and Eq. 2 (the
  residual step in the PCA span, official form); section 3 runs on it.
- ``max_step`` (understand): the largest distance one step of Eq. 2 can move a code.
- ``frozen_optimizer`` (debug): the official ``toggle_grad`` typo plus a frozen network handed to the
  optimizer; graded on the outcome of three Adam steps (the image generator bit-identical, the motion
  generator moved).
- ``video_noise`` (debug): spatial noise drawn once per video, repeated over its frames in the wrong order.
- ``quiz_pairing`` (quiz): why D_V's first-frame pairing is off across domains.

The references are written here independently of the package (a per-sample loop instead of the grouped
convolution, a loop over videos instead of one batched call, plain ``LSTMCell`` calls instead of
:class:`~vidsynth_lite.models.mocogan_hd.MotionGenerator`), so a solution cannot pass by calling the code it
is meant to rebuild; the package's own implementations are hidden while a student's function runs.

Margins measured when the thresholds were set (``frozen_optimizer``, 3 Adam steps at lr 0.05): the book's
solution leaves 0 image-generator tensors changed and moves all 6 motion-generator tensors; the official stub
changes all 4 image-generator tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.exercises.core import Choice, Exercise, Outcome, register
from vidsynth_lite.exercises.families import Problem

STYLEGAN2 = "vidsynth_lite.models.stylegan2"
MOCOGAN_HD = "vidsynth_lite.models.mocogan_hd"


# --- 7.1 modulated convolution (build) ----------------------------------------------------------------------
def _modulated_conv_reference(x, weight, scales, demodulate):
    """StyleGAN2 Eqs. 1 and 3, one ordinary convolution per sample."""
    out = []
    for n in range(x.shape[0]):
        w = weight * scales[n][None, :, None, None]                       # Eq. 1: w' = s_i w_ijk
        if demodulate:
            w = w / torch.sqrt(w.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)   # Eq. 3
        out.append(F.conv2d(x[n:n + 1], w, padding=weight.shape[-1] // 2))
    return torch.cat(out)


def _modulated_conv_inputs(g: torch.Generator):
    n, cin, cout = int(torch.randint(2, 5, (1,), generator=g)), 4, 5
    k = 3 if bool(torch.rand(1, generator=g) < 0.7) else 1
    return (torch.randn(n, cin, 7, 7, generator=g), torch.randn(cout, cin, k, k, generator=g),
            torch.rand(n, cin, generator=g) * 2 + 0.1, bool(torch.rand(1, generator=g) < 0.7))


def _one_sample_1x1():                    # ToRGB's case: a 1x1 kernel, no demodulation, a batch of one
    g = torch.Generator().manual_seed(1)
    return (torch.randn(1, 6, 5, 5, generator=g), torch.randn(3, 6, 1, 1, generator=g),
            torch.rand(1, 6, generator=g) + 0.5, False)


def _tiny_scales():                       # demodulation must not divide by zero when a style switches off
    g = torch.Generator().manual_seed(2)
    scales = torch.rand(2, 4, generator=g) + 0.5
    scales[1] = 0.0
    return torch.randn(2, 4, 6, 6, generator=g), torch.randn(5, 4, 3, 3, generator=g), scales, True


register(Exercise(
    name="mocogan_hd.modulated_conv",
    kind="build",
    skill="StyleGAN2's per-sample modulated / demodulated kernels as one grouped convolution (Eqs. 1 and 3)",
    forbid=(STYLEGAN2,),
    reference=_modulated_conv_reference,
    make_inputs=_modulated_conv_inputs,
    edge_cases={"one sample, 1x1 kernel, no demodulation": _one_sample_1x1,
                "a style of all zeros": _tiny_scales},
    dtypes=(torch.float32, torch.float64),
    check_dtype=True,
    atol=1e-5, rtol=1e-4,
    hint="scale the kernel by s per *input* channel (dim 1 of [out, in, k, k]); demodulate per *output* "
         "channel over (in, k, k) with + 1e-8 under the square root; one grouped convolution with groups = N "
         "(batch folded into channels), padding k // 2",
))


# --- 7.2 the motion generator's roll-out (build) ------------------------------------------------------------
def _motion_codes_reference(z1, noise, encoder, decoder, to_coeffs, basis, std, lam):
    """Eqs. 1-2 (official form), one video at a time."""
    videos = []
    for b in range(z1.shape[0]):
        h, c = encoder(z1[b:b + 1])                                       # (h_0, c_0) = LSTM_enc(z_1)
        z, codes = z1[b:b + 1], [z1[b:b + 1]]
        for t in range(noise.shape[1]):
            h, c = decoder(noise[b:b + 1, t], (h, c))                     # LSTM_dec(eps_t, (h, c))
            z = z + lam * (std * torch.tanh(to_coeffs(h))) @ basis        # Eq. 2
            codes.append(z)
        videos.append(torch.cat(codes))                                   # [T, D]
    return torch.stack(videos)                                            # [B, T, D]


def _motion_parts(g: torch.Generator, batch: int, frames: int, dtype=torch.float32, lam: float | None = None):
    d, hidden, noise_dim, k = 6, 5, 3, 4
    with torch.random.fork_rng(devices=[]):              # the initial draws leave the global stream alone
        encoder, decoder = nn.LSTMCell(d, hidden), nn.LSTMCell(noise_dim, hidden)
        to_coeffs = nn.Linear(hidden, k)
    with torch.no_grad():
        for module in (encoder, decoder, to_coeffs):
            for p in module.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.6)
    q, _ = torch.linalg.qr(torch.randn(d, k, generator=g, dtype=torch.float64))   # [D, K] orthonormal columns
    lam = float(torch.rand(1, generator=g)) * 0.5 + 0.1 if lam is None else lam
    z1, noise = torch.randn(batch, d, generator=g), torch.randn(batch, frames - 1, noise_dim, generator=g)
    return (z1.to(dtype), noise.to(dtype), encoder.to(dtype), decoder.to(dtype), to_coeffs.to(dtype),
            q.T.contiguous().to(dtype),
            (torch.rand(k, generator=g) + 0.2).to(dtype), lam)


register(Exercise(
    name="mocogan_hd.motion_codes",
    kind="build",
    skill="the motion generator's roll-out: an LSTM encoder / decoder (Eq. 1) and the residual step in the "
          "PCA span (Eq. 2, official tanh and std scaling)",
    forbid=(MOCOGAN_HD,),
    reference=_motion_codes_reference,
    make_inputs=lambda g: _motion_parts(g, int(torch.randint(1, 4, (1,), generator=g)),
                                        int(torch.randint(2, 6, (1,), generator=g))),
    edge_cases={
        "one frame (no step)": lambda: _motion_parts(torch.Generator().manual_seed(3), 2, 1),
        "lam = 0 (the code stands still)": lambda: _motion_parts(torch.Generator().manual_seed(4), 2, 4, lam=0),
        "float64 parts": lambda: _motion_parts(torch.Generator().manual_seed(5), 2, 3, torch.float64),
    },
    check_dtype=True,
    atol=1e-5, rtol=1e-5,
    hint="(h, c) = encoder(z1); then per frame (h, c) = decoder(noise[:, t], (h, c)) and "
         "z = z + lam * (std * tanh(to_coeffs(h))) @ basis; the first code is z1 itself, so T - 1 steps give "
         "T codes [B, T, D]",
))


# --- 7.3 how far can one step go? (understand) --------------------------------------------------------------
def _max_step_reference(std, lam):
    """Eq. 2's step is lam * U^T (std * tanh(.)) with orthonormal rows U: its norm is below lam * ||std||."""
    return lam * torch.linalg.vector_norm(std)


def _max_step_inputs(g: torch.Generator):
    return (torch.rand(int(torch.randint(2, 40, (1,), generator=g)), generator=g) * 3,
            float(torch.rand(1, generator=g)))


register(Exercise(
    name="mocogan_hd.max_step",
    kind="understand",
    skill="reasoning about Eq. 2: |tanh| < 1 and orthonormal rows bound one step by lambda * ||std||",
    reference=_max_step_reference,
    make_inputs=_max_step_inputs,
    edge_cases={"one component": lambda: (torch.tensor([2.0]), 0.2),
                "float64 std": lambda: (torch.tensor([3.0, 4.0], dtype=torch.float64), 0.5)},
    check_dtype=True,
    hint="|tanh| < 1, and the rows of U are orthonormal: ||a U|| = ||a|| for any coefficient row a",
))


# --- 7.4 a frozen generator that still trains (debug, graded on the outcome) --------------------------------
def _toy_generators(seed: int = 0):
    with torch.random.fork_rng(devices=[]):              # the caller's random stream is untouched
        torch.manual_seed(seed)
        image_generator = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 6))      # 4 tensors
        motion_generator = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4),
                                         nn.Linear(4, 4))                                  # 6 tensors
    return image_generator, motion_generator


def _measure_frozen(student) -> dict[str, float]:
    image_generator, motion_generator = _toy_generators()
    image_before = {k: v.clone() for k, v in image_generator.state_dict().items()}
    motion_before = {k: v.clone() for k, v in motion_generator.state_dict().items()}
    optimizer = student(image_generator, motion_generator, 0.05)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise Problem(f"expected a torch optimizer, got {type(optimizer).__name__}")
    g = torch.Generator().manual_seed(0)
    for _ in range(3):                       # a motion step: noise -> codes -> frozen generator -> loss
        frames = image_generator(motion_generator(torch.randn(8, 3, generator=g)))
        loss = (frames - 0.5).pow(2).mean()
        if not loss.requires_grad:
            raise Problem("no gradient reaches the motion generator any more (is it frozen too?)")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    image_params = list(image_generator.parameters())
    return {
        "image-generator tensors changed": sum(not torch.equal(v, image_before[k])
                                               for k, v in image_generator.state_dict().items()),
        "image-generator tensors requiring grad": sum(p.requires_grad for p in image_params),
        "image-generator tensors in the optimizer": sum(id(p) in in_optimizer for p in image_params),
        "motion-generator tensors moved": sum(not torch.equal(v, motion_before[k])
                                              for k, v in motion_generator.state_dict().items()),
    }


register(Outcome(
    name="mocogan_hd.frozen_optimizer",
    kind="debug",
    skill="freezing a pretrained network for real: requires_grad off, out of the optimizer, gradients still "
          "flowing through it (the official toggle_grad typo)",
    forbid=("vidsynth_lite.nn.freeze",),
    measure=_measure_frozen,
    goal=lambda m: (m["image-generator tensors changed"] == 0
                    and m["image-generator tensors requiring grad"] == 0
                    and m["image-generator tensors in the optimizer"] == 0
                    and m["motion-generator tensors moved"] == 6),
    goal_text="after 3 Adam steps on a motion loss through the image generator: 0 of its 4 tensors changed, "
              "none requiring grad, none in the optimizer, and all 6 motion-generator tensors moved",
    hint="print(hasattr(p, 'required_grad')) after the loop: Python happily creates a new attribute; and an "
         "optimizer should only hold what is meant to train",
))


# --- 7.5 noise kept over the frames of a video (debug) ------------------------------------------------------
class _ToySynthesis(nn.Module):
    """A stand-in for StyleGAN2's synthesis network: ``(ws [N, D], noise [N, 1, R, R] maps) -> [N, 3, R, R]``;
    every sample's image depends on its own code and on its own noise maps."""

    def __init__(self, d: int, res: int, g: torch.Generator):
        super().__init__()
        self.res = res
        self.weight = nn.Parameter(torch.randn(d, 3 * res * res, generator=g) * 0.3, requires_grad=False)

    def forward(self, ws: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        if ws.ndim != 2 or any(m.shape[0] != ws.shape[0] for m in noise):
            raise ValueError(f"synthesis: ws [N, D] and noise maps [N, 1, R, R], got {tuple(ws.shape)} and "
                             f"{[tuple(m.shape) for m in noise]}")
        base = torch.tanh(ws @ self.weight.to(ws)).reshape(-1, 3, self.res, self.res)     # [N, 3, R, R]
        detail = sum(F.interpolate(m, size=self.res) for m in noise)                       # [N, 1, R, R]
        return base + 0.5 * detail


def _video_noise_reference(synthesis, ws, noise):
    """Frames ``[B, T, 3, R, R]``: video b's noise maps for every one of its frames, one video at a time."""
    videos = []
    for b in range(ws.shape[0]):
        t = ws.shape[1]
        videos.append(synthesis(ws[b], [m[b:b + 1].expand(t, -1, -1, -1) for m in noise]))   # [T, 3, R, R]
    return torch.stack(videos)


def _video_noise_inputs(g: torch.Generator, batch: int | None = None, frames: int | None = None):
    b = int(torch.randint(2, 5, (1,), generator=g)) if batch is None else batch
    t = int(torch.randint(2, 6, (1,), generator=g)) if frames is None else frames
    d, res = 5, 4
    synthesis = _ToySynthesis(d, res, g)
    maps = [torch.randn(b, 1, r, r, generator=g) for r in (2, 4)]          # one draw per video [B, 1, r, r]
    return synthesis, torch.randn(b, t, d, generator=g), maps


register(Exercise(
    name="mocogan_hd.video_noise",
    kind="debug",
    skill="per-video inputs repeated over frames in the right order: [B, T, ...] flattened is video-major",
    forbid=(f"{STYLEGAN2}.generator.render_frames", f"{MOCOGAN_HD}.sampling"),
    reference=_video_noise_reference,
    make_inputs=_video_noise_inputs,
    edge_cases={"one frame per video": lambda: _video_noise_inputs(torch.Generator().manual_seed(6), 3, 1),
                "one video": lambda: _video_noise_inputs(torch.Generator().manual_seed(7), 1, 4)},
    hint="after ws.reshape(B * T, D), row b * T + t is frame t of video b; which noise row must it get? "
         "compare torch.arange(3).repeat(2) with torch.arange(3).repeat_interleave(2)",
))


# --- the quiz -----------------------------------------------------------------------------------------------
register(Choice(
    name="mocogan_hd.quiz_pairing",
    skill="what D_V's first-frame pairing tells the discriminator, and why it must be off across domains",
    options=("a", "b", "c", "d"),
    answer_sha256="2fc0d349f39a44b831a8b5d795ff7aee0a74769fe2335a4ef720dc308af6d0db",
))
