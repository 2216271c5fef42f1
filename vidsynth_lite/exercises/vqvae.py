"""Chapter 3 exercises: the pieces of the video VQ-VAE (Walker et al. 2021)."""

import torch

from vidsynth_lite.exercises.core import Exercise, register
from vidsynth_lite.nn import causal_mask, ema_codebook_update, nearest_code


def _ema_reference(cluster_size, embed_sum, counts, sums, decay):
    return ema_codebook_update(cluster_size, embed_sum, counts, sums, decay, eps=0.0)


def _ema_inputs(g: torch.Generator):
    k, d = 6, 3
    return (torch.rand(k, generator=g) + 0.5, torch.randn(k, d, generator=g),
            torch.randint(0, 5, (k,), generator=g).float(), torch.randn(k, d, generator=g),
            float(torch.rand(1, generator=g)) * 0.98)


def _mask_inputs(g: torch.Generator):
    kt, ky, kx = (int(v) * 2 + 1 for v in torch.randint(0, 3, (3,), generator=g))
    return ((kt, ky, kx),)


register(Exercise(
    name="vqvae.nearest_code",
    reference=nearest_code,
    make_inputs=lambda g: (torch.randn(40, 4, generator=g), torch.randn(9, 4, generator=g)),
    atol=0, rtol=0,
    hint="Eq. 1: squared distances [N, K] to every code, then argmin over the codes (dim 1)",
))

register(Exercise(
    name="vqvae.ema_update",
    reference=_ema_reference,
    make_inputs=_ema_inputs,
    hint="Eq. 3: N = decay N + (1 - decay) n;  m = decay m + (1 - decay) sum z;  e = m / N (return N, m, e)",
))

register(Exercise(
    name="vqvae.causal_mask",
    reference=lambda kernel: causal_mask(kernel, "h_first"),
    make_inputs=_mask_inputs,
    hint="offsets d = index - k // 2; keep earlier time steps, rows above in the same step, and positions "
         "to the left in the same row (never the centre)",
))
