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

from vidsynth_lite.checks import InputError, check_video

from .autoencoder import Autoencoder
from .inputs import check_count, check_shape, check_tokens
from .transformer import CCVSTransformer, TokenLayout


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
    Returns the clip [B, T, 3, H, W]. Shapes are checked, values are not (this runs inside training steps; the
    public entries :func:`reconstruct_video` and :func:`synthesize` check them).
    """
    a = ae.cfg
    check_shape(z_q, "z_q", (None, None, a.code_dim, a.tokens_side, a.tokens_side), "[B, T, F, h, w]")
    b, t = z_q.shape[:2]
    check_video(first, name="first", channels=a.channels, size=a.size, values=False)
    if first.shape[0] != b:
        raise InputError(f"first: expected the given frames of the same {b} clips as z_q [B, m, 3, H, W], "
                         f"got {tuple(first.shape)}")
    m = first.shape[1]
    check_count(m, "first (given frames m)", 0, t, f": at most the clip's {t} frames")
    check_count(context, "context", 0)
    if extra_context is not None:
        ae.check_contexts([extra_context], b, name="extra_context")
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
    (App. B, Table B1 "Fixed"), showing how much of the motion comes from ``z_s``. A public entry: ``video`` is
    checked, values included (a host sync on a GPU)."""
    check_video(video, name="video", channels=ae.cfg.channels, size=ae.cfg.size,
                size_multiple=2 ** (ae.cfg.levels - 1))
    b, t = video.shape[:2]
    check_count(given, "given", 0, t, f": the real frames that start the decoding, at most the clip's {t}")
    check_count(context, "context", 0)
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

    A public entry: every input is checked before anything runs, values included (``given``, ``end_frame`` in
    [-1, 1]; annotation and label ids in their vocabularies: host syncs on a GPU, once per call).
    """
    lay = transformer.layout
    _check_synthesis_inputs(ae, lay, given, frames, samples, context, annotations, labels, end_frame)
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


def _check_synthesis_inputs(ae: Autoencoder, lay: TokenLayout, given, frames, samples, context, annotations, labels,
                            end_frame) -> None:
    """One clear error for each input :func:`synthesize` cannot take (see its docstring)."""
    a = ae.cfg
    if lay.frame_tokens != a.tokens_side ** 2 or lay.frame_vocab != a.num_codes:
        raise InputError(f"transformer and autoencoder disagree: the layout expects {lay.frame_tokens} tokens per "
                         f"frame from a codebook of {lay.frame_vocab}, the autoencoder makes {a.tokens_side ** 2} "
                         f"from {a.num_codes}")
    check_video(given, name="given", channels=a.channels, size=a.size, size_multiple=2 ** (a.levels - 1))
    b, m = given.shape[:2]
    check_count(samples, "samples", 1)
    check_count(context, "context", 0)
    check_count(frames, "frames", 2 if lay.end_frame else 1, why=" (point-to-point: the end frame is one of them)"
                if lay.end_frame else "")
    body = frames - 1 if lay.end_frame else frames                               # frames in the token stream
    if m > body:
        raise InputError(f"given: {m} frames given but the video has {body} frames before "
                         f"{'its end frame' if lay.end_frame else 'its end'} (frames = {frames})")
    if m == 0 and not (lay.prefix_len or lay.frame_annotation):
        raise InputError("given: expected at least 1 frame [B, m >= 1, 3, H, W] -- this transformer has no "
                         "video-level or frame-level annotation to start from (only class-conditioned, "
                         "point-to-point or annotated layouts can start from nothing)")
    if lay.frame_annotation:
        if annotations is None:
            raise InputError(f"annotations: this layout needs {lay.frame_annotation} annotation tokens per frame, "
                             f"[B, frames, {lay.frame_annotation}]")
        check_tokens(annotations, "annotations", lay.annotation_vocab, (b, None, lay.frame_annotation),
                     "[B, frames, l_f]", what="annotation values")
        if annotations.shape[1] < body:
            raise InputError(f"annotations: expected one entry per frame of the stream, [B, >= {body}, "
                             f"{lay.frame_annotation}], got {tuple(annotations.shape)}")
    if lay.classes:
        if labels is None:
            raise InputError(f"labels: this layout is class-conditioned, expected labels [B] in [0, {lay.classes})")
        check_tokens(labels, "labels", lay.classes, (b,), "[B]", what="class labels")
    if lay.end_frame:
        if end_frame is None:
            raise InputError("end_frame: point-to-point synthesis needs the end frame [B, 3, H, W]")
        check_video(end_frame, name="end_frame", rank=4, channels=a.channels, size=a.size)
        if end_frame.shape[0] != b:
            raise InputError(f"end_frame: expected one end frame per input, [{b}, 3, H, W], got "
                             f"{tuple(end_frame.shape)}")
        if frames - 1 > lay.max_end_distance:
            raise InputError(f"frames: point-to-point videos of this transformer reach at most "
                             f"{lay.max_end_distance + 1} frames (max_end_distance {lay.max_end_distance}), "
                             f"got frames = {frames}")
