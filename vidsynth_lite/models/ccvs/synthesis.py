"""Decoding frames one at a time with the "shift-and-add" context S (CCVS Fig. 1, Sec. 3.1 (b), App. A).

Given the quantised features ``z_t`` of every frame (from the real video, or predicted by T), frames are decoded
in order. The context holds the encoder features of the last ``context`` frames: it starts with the conditioning
frames, and after each new frame ``x_hat_t = D(z_t | context)`` the frame is encoded again, ``E(x_hat_t)``, and
its features are appended on the right while the oldest fall off the left ("iteratively fill the sequence up to
some predefined capacity, then shift to the left"). This is the second autoregression of the "doubly
autoregressive" model; the transformer (the first) runs once, before.

In training (the temporal discriminator's clips, App. A) the same loop runs with gradients, kept only through
the context features of the immediately preceding frame ("to avoid excessive memory consumption").
"""

from __future__ import annotations

import torch

from .autoencoder import Autoencoder
from .transformer import CCVSTransformer


def decode_video(ae: Autoencoder, z_q: torch.Tensor, first: torch.Tensor, context: int,
                 grad_previous_only: bool = True, extra_context: list[torch.Tensor] | None = None
                 ) -> torch.Tensor:
    """Decode frames ``m .. T-1`` of a clip.

    ``z_q`` [B, T, F, h, w]: quantised features of every frame (those of the first ``m`` are not used);
    ``first`` [B, m, 3, H, W]: the ``m`` given frames, which start the context and are returned as they are
    (``m = 0``: the first frame is decoded from its tokens alone);
    ``context``: how many past frames F may use (0: decode every frame on its own, no F);
    ``extra_context``: encoder features of a fixed extra context frame (e.g. the end frame of a point-to-point
    video), used at every step in addition to the sliding ones.
    Returns the clip [B, T, 3, H, W].
    """
    b, t = z_q.shape[:2]
    m = first.shape[1]
    if not 0 <= m <= t:
        raise ValueError(f"need 0 <= given frames ({m}) <= frames ({t})")
    if context < 0:
        raise ValueError(f"context must be >= 0, got {context}")
    frames = [first[:, i] for i in range(m)]
    window: list[list[torch.Tensor]] = []
    if context > 0 and m > 0:
        _, feats = ae.encoder(first.flatten(0, 1))                               # E on the given frames
        window = [[f.view(b, m, *f.shape[1:])[:, i] for f in feats] for i in range(m)][-context:]
    for i in range(m, t):
        contexts = list(window) + ([extra_context] if extra_context is not None else [])
        x_hat, _ = ae.decode(z_q[:, i], contexts)                                # D(z_t | context), F inside
        frames.append(x_hat)
        if context > 0 and i < t - 1:
            if grad_previous_only:
                window = [[f.detach() for f in feats] for feats in window]
            _, new = ae.encoder(x_hat)                                           # S: encode the new frame ...
            window = (window + [new])[-context:]                                 # ... shift and add
    return torch.stack(frames, 1)                                                # [B, T, 3, H, W]


@torch.no_grad()
def reconstruct_video(ae: Autoencoder, video: torch.Tensor, context: int, given: int = 1,
                      fixed_tokens: bool = False) -> torch.Tensor:
    """Table 1 "Reconstruction": decode a real clip [B, T, 3, H, W] from its own tokens and its first ``given``
    frames, with ``context`` frames of context. ``fixed_tokens``: use the first frame's tokens for every frame
    (App. B, Table B1 "Fixed"), showing how much of the motion comes from ``z_s``."""
    b, t = video.shape[:2]
    quant, _, _ = ae.encode(video.flatten(0, 1))
    z_q = quant.z_q.view(b, t, *quant.z_q.shape[1:])                              # [B, T, F, h, w]
    if fixed_tokens:
        z_q = z_q[:, :1].expand_as(z_q)
    return decode_video(ae, z_q, video[:, :given], context)


@torch.no_grad()
def synthesize(ae: Autoencoder, transformer: CCVSTransformer, given: torch.Tensor, frames: int, *, samples: int = 1,
               context: int = 4, annotations: torch.Tensor | None = None, labels: torch.Tensor | None = None,
               end_frame: torch.Tensor | None = None, top_k: int | None = None, top_p: float | None = None,
               temperature: float = 1.0, generator: torch.Generator | None = None, use_cache: bool = True
               ) -> torch.Tensor:
    """Doubly autoregressive synthesis (Fig. 1): T predicts every future frame's tokens once (sliding window,
    top-k), then D decodes them frame by frame with the shift-and-add context S and F.

    ``given`` [B, m, 3, H, W] (``m`` may be 0 for class-conditioned generation from the label alone);
    ``annotations`` [B, frames, l_f] (state / audio tokens for every frame, given); ``labels`` [B];
    ``end_frame`` [B, 3, H, W] for point-to-point: the video's last frame (frame ``frames - 1``), used as the
    video-level annotation and, as in the official code, as an extra context frame of F.
    Returns ``samples`` videos per input: [B, K, frames, 3, H, W].
    """
    lay = transformer.layout
    b, m = given.shape[:2]
    k = samples
    hw = lay.frame_tokens
    side = round(hw ** 0.5)
    body = frames - 1 if lay.end_frame else frames                             # frames in the token stream
    codes = torch.zeros(b, body, hw, dtype=torch.long, device=given.device)
    if m:
        codes[:, :m] = ae.tokens(given.flatten(0, 1)).view(b, m, hw)
    kw = {}
    if lay.frame_annotation:
        kw["annotations"] = annotations[:, :body]
    if lay.classes:
        kw["labels"] = labels
    end_distance = None
    if lay.end_frame:
        kw["end"] = ae.tokens(end_frame).view(b, hw)
        end_distance = torch.full((b * k,), frames - 1, device=given.device)
    stream = lay.stream(codes, **kw).repeat_interleave(k, 0)                  # [B*K, S]
    stream = transformer.sample(stream, m, generator=generator, end_distance=end_distance, top_k=top_k,
                                top_p=top_p, temperature=temperature, use_cache=use_cache)
    tokens = lay.frames_of(stream).reshape(b * k * body, side, side)          # [B*K*T', h, w]
    z_q = ae.quantizer.lookup(tokens).view(b * k, body, -1, side, side)       # [B*K, T', F, h, w]
    first = given.repeat_interleave(k, 0)
    extra = None
    if lay.end_frame and context > 0:
        _, extra = ae.encoder(end_frame.repeat_interleave(k, 0))
    video = decode_video(ae, z_q, first, context, extra_context=extra)        # [B*K, T', 3, H, W]
    if lay.end_frame:
        video = torch.cat([video, end_frame.repeat_interleave(k, 0)[:, None]], 1)
    return video.view(b, k, frames, *video.shape[2:])
