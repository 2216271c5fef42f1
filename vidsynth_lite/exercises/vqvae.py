"""Chapter 3 exercises (Walker et al. 2021): the quantiser step the chapter runs on, a causal mask for another
raster order, a masked convolution whose prior learns "too well", and a quiz on sampling temperature.

The references are written here, independently of ``vidsynth_lite.nn`` (float64 distances, a lexicographic rule
for the masks); the package's quantiser and masked-convolution modules are hidden while a student's function
runs, so ``return vl.nn.nearest_code(...)`` or ``vl.nn.causal_mask(...)`` fails the exercise.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vidsynth_lite.exercises.core import Choice, Exercise, Outcome, Property, register
from vidsynth_lite.exercises.families import Problem

QUANTIZER = ("vidsynth_lite.nn.vector_quantizer",)   # nearest_code, straight_through, VectorQuantizer, ...
MASKS = ("vidsynth_lite.nn.masked_conv",)            # causal_mask, allowed, MaskedConv3d


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3.1 (build): the quantiser step of Eqs. 1-2 -- nearest code, straight-through value, commitment loss.
# Graded as a law rather than a value: the codes must be nearest (within float rounding of a tie), the forward
# value the chosen codes, and the gradients those of Eq. 2 with the straight-through estimator: dL/dz = the
# decoder's gradient + 2 beta (z - e_k) / (N D), and none into the codebook (the EMA of Eq. 3 moves it).
def _quantize_reference(z, e, beta):
    """The book's answer, used by ``vl.exercises.use`` until the student's passes: ``(z_q, codes, commitment)``."""
    d = ((z.detach()[:, None, :] - e.detach()[None, :, :]) ** 2).sum(-1)    # [N, K] squared distances
    codes = d.argmin(1)                                                      # Eq. 1
    chosen = e.detach()[codes]                                               # [N, D]
    return z + (chosen - z).detach(), codes, beta * ((z - chosen) ** 2).mean()


def _quantize_inputs(g: torch.Generator, n: int | None = None, k: int | None = None, d: int | None = None,
                     dtype=torch.float32):
    n = int(torch.randint(1, 40, (1,), generator=g)) if n is None else n
    k = int(torch.randint(1, 12, (1,), generator=g)) if k is None else k
    d = int(torch.randint(1, 6, (1,), generator=g)) if d is None else d
    beta = float(torch.rand(1, generator=g)) * 0.5 + 0.1
    return (torch.randn(n, d, generator=g, dtype=dtype), torch.randn(k, d, generator=g, dtype=dtype), beta)


def _quantize_holds(student, z, e, beta) -> str | None:
    z = z.clone().requires_grad_(True)
    e = e.clone().requires_grad_(True)
    out = student(z, e, beta)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        return "expected (z_q, codes, commitment)"
    z_q, codes, commitment = out
    n, d = z.shape
    if not isinstance(z_q, torch.Tensor) or z_q.shape != z.shape or z_q.dtype != z.dtype:
        return f"z_q: expected a {z.dtype} tensor of shape {tuple(z.shape)}"
    if not isinstance(codes, torch.Tensor) or codes.shape != (n,) or codes.dtype != torch.int64:
        return f"codes: expected an int64 tensor of shape ({n},)"
    if not isinstance(commitment, torch.Tensor) or commitment.dim() != 0:
        return "commitment: expected a 0-dim tensor (the mean over all N x D entries)"
    dist = ((z.detach().double()[:, None] - e.detach().double()[None]) ** 2).sum(-1)      # [N, K]
    best = dist.min(1).values
    picked = dist.gather(1, codes.clamp(0, len(e) - 1)[:, None])[:, 0]
    if bool((codes < 0).any() or (codes >= len(e)).any()) or bool((picked > best + 1e-5 * (1 + best)).any()):
        return "codes: not the nearest codebook entries (Eq. 1)"
    chosen = e.detach()[codes]
    if not torch.allclose(z_q.detach(), chosen, atol=1e-6, rtol=1e-5):
        return "z_q: its value must be the chosen codes e_k (forward pass of the straight-through estimator)"
    want = beta * ((z.detach().double() - chosen.double()) ** 2).mean()
    if not torch.allclose(commitment.detach().double(), want, atol=1e-6, rtol=1e-5):
        return "commitment: expected beta * mean((z - e_k)^2) over all N x D entries (Eq. 2's last term)"
    upstream = torch.randn(z.shape, generator=torch.Generator().manual_seed(n), dtype=z.dtype)
    ((z_q * upstream).sum() + commitment).backward()
    if z.grad is None:
        return "no gradient reaches z: the argmin has none, copy the decoder's gradient straight through"
    grad_want = upstream.double() + 2 * beta * (z.detach().double() - chosen.double()) / (n * d)
    if not torch.allclose(z.grad.double(), grad_want, atol=1e-5, rtol=1e-4):
        return ("the gradient at z is not the decoder's gradient plus the commitment term's 2 beta (z - e_k) / ND "
                "(did the commitment term or the straight-through path get a stop-gradient in the wrong place?)")
    if e.grad is not None and bool(e.grad.abs().max() > 0):
        return "the codebook gets a gradient: with the EMA update (Eq. 3) e must appear only under sg[.]"
    return None


register(Property(
    name="vqvae.quantize",
    points=2,
    kind="build",
    skill="the vector-quantisation step: nearest code (Eq. 1), straight-through gradient, commitment loss (Eq. 2)",
    make_inputs=_quantize_inputs,
    holds=_quantize_holds,
    claim="codes are nearest, z_q equals them, and the gradients are Eq. 2's with the straight-through estimator",
    edge_cases={"one vector (N = 1)": lambda: _quantize_inputs(torch.Generator().manual_seed(1), n=1),
                "one code (K = 1)": lambda: _quantize_inputs(torch.Generator().manual_seed(2), k=1),
                "float64": lambda: _quantize_inputs(torch.Generator().manual_seed(3), dtype=torch.float64)},
    reference=_quantize_reference,
    forbid=QUANTIZER,
    hint="distances [N, K] from ||z||^2 - 2 z.e + ||e||^2 (or broadcasting), argmin over dim 1; "
         "z_q = z + (e_k - z).detach(); commitment = beta * ((z - e_k.detach()) ** 2).mean()",
))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3.2 (understand): the first-layer (mask "A") and later-layer (mask "B") causal masks for *any* raster
# order of the three axes -- the chapter shows only time, then rows, then columns. A position is earlier when its
# offset, read in the order's priority, is lexicographically negative.
AXES = "tyx"


def _order_mask_reference(kernel, order, include_centre):
    """Independent of vidsynth_lite.nn: for each offset, the first non-zero component in ``order`` decides."""
    offsets = torch.stack(torch.meshgrid(*[torch.arange(k) - k // 2 for k in kernel], indexing="ij"))  # [3, kt, ky, kx]
    ranked = [offsets[AXES.index(axis)] for axis in order]
    earlier = torch.zeros(kernel, dtype=torch.bool)
    decided = torch.zeros(kernel, dtype=torch.bool)
    for component in ranked:                         # lexicographic: the first non-zero offset decides
        earlier |= ~decided & (component < 0)
        decided |= component != 0
    if include_centre:
        earlier |= ~decided                          # the all-zero offset: the position itself
    return earlier.float()


def _order_inputs(g: torch.Generator):
    kernel = tuple(int(v) * 2 + 1 for v in torch.randint(0, 3, (3,), generator=g))
    orders = ["tyx", "txy", "ytx", "yxt", "xty", "xyt"]
    return kernel, orders[int(torch.randint(0, 6, (1,), generator=g))], bool(torch.randint(0, 2, (1,), generator=g))


register(Exercise(
    name="vqvae.order_mask",
    points=2,
    kind="understand",
    skill="what 'causal' means for a PixelCNN: the mask of any raster order, with and without the centre",
    reference=_order_mask_reference,
    make_inputs=_order_inputs,
    atol=0, rtol=0,
    trials=12,
    edge_cases={"a 1x1x1 kernel, mask A (sees nothing)": lambda: ((1, 1, 1), "tyx", False),
                "a 1x1x1 kernel, mask B (sees itself)": lambda: ((1, 1, 1), "tyx", True),
                "columns before rows (order txy)": lambda: ((3, 5, 5), "txy", False),
                "time last (order yxt)": lambda: ((5, 3, 3), "yxt", True)},
    check_dtype=True,
    forbid=MASKS,
    hint="offsets d = index - k // 2 per axis; walk the axes in `order`: the first non-zero offset decides -- "
         "negative means earlier (allowed), positive later (masked); an all-zero offset is the centre, allowed "
         "only when include_centre. Return float32 [kt, ky, kx]",
))


# ---------------------------------------------------------------------------------------------------------------
# Exercise 3.3 (debug): a masked 3D convolution for the top prior's first layer. A one-layer prior built on the
# stub's version learns i.i.d. random codes "too well" (it reads the code it predicts) and reads the next frame.
# Graded on outcomes: (1) a causality probe -- change one code and no logit at that position or before it (in
# raster order) may move; (2) a one-layer prior trained on i.i.d. uniform codes cannot beat their entropy on
# held-out codes (no causal model can); (3) the same prior trained on clips whose every frame repeats the one
# before must learn them (a mask that sees nothing passes (1) and (2) but not this).
# Measured with this checker (K = 4 codes, 2 bits; volumes [T 4, H 5, W 5], 3x3x3 kernel, 120 Adam steps, seed 0):
# the repaired convolution: leak 0, i.i.d. bits 2.04, repeated-frame bits 0.01; the stub: leak 5.0, i.i.d. bits
# 0.01, repeated 0.01; only the time sign fixed (still reads the centre): leak 5.0, i.i.d. 0.01; only the centre
# fixed (still reads the next frame): leak 4.2, i.i.d. 2.04 -- the loss on i.i.d. codes cannot see a future leak,
# the probe does; an all-zero mask: leak 0, i.i.d. 2.00, repeated 2.00.
DEBUG_CODES, DEBUG_SHAPE, DEBUG_STEPS = 4, (4, 5, 5), 120
IID_MIN_BITS = 0.95 * math.log2(DEBUG_CODES)        # a causal prior cannot go below the entropy (2 bits)
REPEAT_MAX_BITS = 0.5 * math.log2(DEBUG_CODES)      # frames after the first are copies: a causal prior learns it


def _one_hot(codes):                                 # [B, T, H, W] int -> [B, K, T, H, W]
    return F.one_hot(codes, DEBUG_CODES).permute(0, 4, 1, 2, 3).float()


def _logits(conv, codes, weight, bias):
    out = conv(_one_hot(codes), weight, bias)
    if not isinstance(out, torch.Tensor) or out.shape != (codes.shape[0], DEBUG_CODES, *codes.shape[1:]):
        raise Problem(f"expected logits [B, K, T, H, W] = {(codes.shape[0], DEBUG_CODES, *codes.shape[1:])}, got "
                      f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
    return out


def _held_out_bits(conv, train, test, steps: int = DEBUG_STEPS) -> float:
    """Train a one-layer prior (the student's convolution, a 3x3x3 kernel) on ``train``; bits per code on ``test``
    at the positions after the first frame."""
    g = torch.Generator().manual_seed(0)
    weight = (torch.randn(DEBUG_CODES, DEBUG_CODES, 3, 3, 3, generator=g) * 0.1).requires_grad_(True)
    bias = torch.zeros(DEBUG_CODES, requires_grad=True)
    opt = torch.optim.Adam([weight, bias], lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(_logits(conv, train, weight, bias), train).backward()
        opt.step()
    with torch.no_grad():
        nll = F.cross_entropy(_logits(conv, test, weight, bias), test, reduction="none")   # [B, T, H, W] nats
    return float(nll[:, 1:].mean()) / math.log(2)


def _measure_conv(conv) -> dict[str, float]:
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(DEBUG_CODES, DEBUG_CODES, 3, 3, 3, generator=g)
    bias = torch.zeros(DEBUG_CODES)
    codes = torch.randint(0, DEBUG_CODES, (1, *DEBUG_SHAPE), generator=g)
    base = _logits(conv, codes, weight, bias).detach()
    leak = 0.0
    t_n, h_n, w_n = DEBUG_SHAPE
    for p in range(0, t_n * h_n * w_n, 7):                                   # probe positions in raster order
        t, y, x = p // (h_n * w_n), p // w_n % h_n, p % w_n
        changed = codes.clone()
        changed[0, t, y, x] = (changed[0, t, y, x] + 1) % DEBUG_CODES
        moved = (_logits(conv, changed, weight, bias).detach() - base).abs().amax(1).flatten()   # [T*H*W]
        leak = max(leak, float(moved[: p + 1].max()))
    iid = torch.randint(0, DEBUG_CODES, (64, *DEBUG_SHAPE), generator=g)
    first = torch.randint(0, DEBUG_CODES, (64, 1, *DEBUG_SHAPE[1:]), generator=g)
    repeated = first.expand(-1, DEBUG_SHAPE[0], -1, -1).contiguous()        # every frame repeats the first
    return {"leak (largest change of an earlier logit)": leak,
            "i.i.d. codes: held-out bits per code": _held_out_bits(conv, iid[:32], iid[32:]),
            "repeated frames: held-out bits per code": _held_out_bits(conv, repeated[:32], repeated[32:])}


def _conv_goal(m: dict[str, float]) -> bool:
    leak, iid, repeated = m.values()
    return leak == 0.0 and iid >= IID_MIN_BITS and repeated <= REPEAT_MAX_BITS


register(Outcome(
    name="vqvae.masked_conv",
    points=2,
    kind="debug",
    skill="recognising an autoregressive model that reads what it predicts: a loss that is too good, a probe",
    measure=_measure_conv,
    goal=_conv_goal,
    goal_text=f"no earlier logit moves when a code changes; a one-layer prior on i.i.d. codes stays at >= "
              f"{IID_MIN_BITS:.2f} bits per code (their entropy is {math.log2(DEBUG_CODES):.0f}); on clips of "
              f"repeated frames it reaches <= {REPEAT_MAX_BITS:.2f} bits",
    forbid=MASKS,
    hint="print the mask for a 3x3x3 kernel, one time slice at a time: which slice is the past, which the "
         "future? Does the centre (the code being predicted) get a 1?",
))


# ---------------------------------------------------------------------------------------------------------------
# Quiz (closing block)
register(Choice(
    name="vqvae.quiz_temperature",
    skill="what sampling temperature does to the prior's distribution, and why 1.0 is the model's own",
    options=("a", "b", "c", "d"),
    answer_sha256="82e17e21b05500f551f4f9f3a16aa162f96608f12535fc2fd6167fbc4f4a9dd2",
    hint="write softmax(l / T) for two logits and let T grow",
))
