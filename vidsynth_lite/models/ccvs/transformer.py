"""The transformer T of CCVS and the token streams of its controls (Sec. 3.3, Fig. 2, App. A, App. D).

A video becomes one sequence of tokens (Fig. 2): a **video-level annotation** first (``l_v`` tokens), then, for
each of the ``N`` frames of the window, its **frame-level annotation** (``l_f`` tokens) followed by its ``h w``
frame tokens: ``L = l_v + N (l_f + h w)``. The controls (each optional, any combination):

=====================  ======================  ===============================================================
control                where                   tokens
=====================  ======================  ===============================================================
future prediction      --                      the first frames are given, the rest sampled
state-conditioned      frame level, l_f = 2    the arm's (x, y) per frame, each coordinate quantised to
                                               ``bins`` values (official: 128)
audio-conditioned      frame level, l_f = 16   the drum track's tokens for the frame (sound autoencoder)
point-to-point         video level, l_v = h w  the end frame's tokens, with the *time index of their future
                                               frame* (so one model makes videos of any length, Fig. D4)
class-conditioned      video level, l_v = 1    the class label
=====================  ======================  ===============================================================

All kinds share one vocabulary (frame tokens ``[0, q)``, then annotation values, then class labels), so one
:class:`~vidsynth_lite.nn.GPT` embeds and predicts them; the loss is Eq. 8 over every next token, annotations
included (as in the official code). Positions use the spatio-temporal decomposition (App. A): a slot within the
frame's chunk plus the frame's index in the window (``decomposed=False`` gives one learned vector per index).
At sampling, annotations are given ("not predicted, even for future frames"), frame tokens are drawn with
top-k / top-p / temperature over a sliding window of ``N`` frames, with or without the KV cache
(:func:`vidsynth_lite.nn.sample_chunks`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from vidsynth_lite.checks import InputError
from vidsynth_lite.nn import GPT, GPTConfig, sample_chunks

from .inputs import check_count, check_tokens


@dataclass(frozen=True)
class TokenLayout:
    """Where each kind of token sits, in the sequence and in the vocabulary."""

    frame_tokens: int                 # h * w tokens per frame
    frame_vocab: int                  # q, the autoencoder's codebook size
    window: int                       # N frames in the transformer's window
    frame_annotation: int = 0         # l_f: annotation tokens per frame (state: 2, audio: h_a * w_a)
    annotation_vocab: int = 0         # values an annotation token takes (state bins or audio codes)
    end_frame: bool = False           # point-to-point: the end frame's tokens are the video-level annotation
    classes: int = 0                  # class-conditioned: one label token (0: no label)
    max_end_distance: int = 0         # point-to-point: the farthest end frame (frames after the window start)

    def __post_init__(self):
        if self.end_frame and self.classes:
            raise ValueError("one video-level annotation at a time: the end frame or a class label")
        if self.frame_annotation and not self.annotation_vocab:
            raise ValueError("frame-level annotations need annotation_vocab > 0")
        if self.end_frame and self.max_end_distance < self.window - 1:
            raise ValueError(f"max_end_distance must be >= window - 1 = {self.window - 1}")

    @property
    def chunk_len(self) -> int:
        return self.frame_annotation + self.frame_tokens

    @property
    def prefix_len(self) -> int:
        return self.frame_tokens if self.end_frame else (1 if self.classes else 0)

    @property
    def frames_in_window(self) -> int:
        """Frames of the window besides the video-level annotation (point-to-point keeps one slot for the end)."""
        return self.window - 1 if self.end_frame else self.window

    @property
    def block_size(self) -> int:
        return self.prefix_len + self.frames_in_window * self.chunk_len

    @property
    def vocab_size(self) -> int:
        return self.frame_vocab + self.annotation_vocab + self.classes

    @property
    def n_slots(self) -> int:
        return self.chunk_len + (1 if self.classes else 0)        # the label has a slot of its own

    @property
    def n_times(self) -> int:
        return max(self.window, self.max_end_distance + 1)

    # -- streams ---------------------------------------------------------------------------------------------
    def stream(self, frames: torch.Tensor, annotations: torch.Tensor | None = None,
               end: torch.Tensor | None = None, labels: torch.Tensor | None = None, *,
               values: bool = True) -> torch.Tensor:
        """Tokens of a whole video: ``frames`` [B, T, h w] (ids < q), ``annotations`` [B, T, l_f] (values <
        annotation_vocab), ``end`` [B, h w], ``labels`` [B] -> [B, prefix_len + T chunk_len] in the joint vocabulary.
        Every id is checked against its own vocabulary (``values=False``: the layout only, no host sync).
        """
        n = self.frame_tokens
        check_tokens(frames, "frames", self.frame_vocab, (None, None, n), "[B, T, h w]", values=values)
        b, t, _ = frames.shape
        parts = []
        if self.end_frame:
            if end is None:
                raise InputError(f"end: point-to-point streams need the end frame's tokens [B, {n}]")
            check_tokens(end, "end", self.frame_vocab, (b, n), "[B, h w]", values=values)
            parts.append(end)
        if self.classes:
            if labels is None:
                raise InputError(f"labels: class-conditioned streams need labels [B] in [0, {self.classes})")
            check_tokens(labels, "labels", self.classes, (b,), "[B]", values=values, what="class labels")
            parts.append(self.frame_vocab + self.annotation_vocab + labels[:, None])
        if self.frame_annotation:
            if annotations is None:
                raise InputError(f"annotations: this layout needs annotations [B, T, {self.frame_annotation}]")
            check_tokens(annotations, "annotations", self.annotation_vocab, (b, t, self.frame_annotation),
                         "[B, T, l_f]", values=values, what="annotation values")
        chunk = frames
        if self.frame_annotation:
            chunk = torch.cat([self.frame_vocab + annotations, frames], 2)         # [B, T, l_f + h w]
        parts.append(chunk.reshape(b, -1))
        return torch.cat(parts, 1)

    def frames_of(self, stream: torch.Tensor) -> torch.Tensor:
        """The frame tokens [B, T, h w] of a stream."""
        b = stream.shape[0]
        chunks = stream[:, self.prefix_len:].view(b, -1, self.chunk_len)           # [B, T, chunk]
        return chunks[:, :, self.frame_annotation:]

    def frame_mask(self, frames: int, given: int) -> torch.Tensor:
        """[S] bool: the frame tokens of frames ``given .. frames - 1`` (the ones to sample)."""
        mask = torch.zeros(self.prefix_len + frames * self.chunk_len, dtype=torch.bool)
        for t in range(given, frames):
            start = self.prefix_len + t * self.chunk_len + self.frame_annotation
            mask[start:start + self.frame_tokens] = True
        return mask

    def prefix_positions(self, end_distance: torch.Tensor | None = None):
        """``start -> (slots, times)`` of the video-level tokens. The end frame sits in the frame-token slots
        with time ``end_distance - start`` ([B]: frames from the first frame of the video to the end frame);
        a label has its own slot and time 0."""
        def positions(start: int):
            if self.end_frame:
                slots = torch.arange(self.frame_annotation, self.chunk_len)
                times = (end_distance - start).clamp(0, self.n_times - 1)[:, None].expand(-1, self.frame_tokens)
                return slots.to(times.device), times
            return torch.tensor([self.chunk_len]), torch.tensor([0])
        return positions


def quantize_state(state: torch.Tensor, bins: int) -> torch.Tensor:
    """Arm positions in [0, 1] ``[..., 2]`` -> one token per coordinate in ``[0, bins)`` (uniform bins; values
    outside [0, 1] fall in the end bins). A token builder: the positions must be finite floats (checked)."""
    check_count(bins, "bins", 1)
    if not isinstance(state, torch.Tensor) or not state.is_floating_point() or state.ndim < 1:
        raise InputError(f"state: expected float positions [..., 2] in [0, 1], got "
                         f"{tuple(state.shape) if isinstance(state, torch.Tensor) else type(state).__name__}"
                         f"{f' ({state.dtype})' if isinstance(state, torch.Tensor) else ''}")
    if state.numel() and not bool(torch.isfinite(state).all()):
        raise InputError("state: contains NaN or inf values")
    return (state.clamp(0, 1) * bins).long().clamp_max(bins - 1)


def dequantize_state(tokens: torch.Tensor, bins: int) -> torch.Tensor:
    """Bin centres of :func:`quantize_state`'s tokens (ids checked to lie in ``[0, bins)``)."""
    check_count(bins, "bins", 1)
    check_tokens(tokens, "tokens", bins, (None,) * getattr(tokens, "ndim", 1), "[...]", what="state tokens")
    return (tokens.float() + 0.5) / bins


class CCVSTransformer(nn.Module):
    """T: a GPT over the token layout (see the module docstring)."""

    def __init__(self, layout: TokenLayout, n_layer: int, n_head: int, n_embd: int, dropout: float = 0.0,
                 decomposed: bool = True):
        super().__init__()
        if layout.end_frame and not decomposed:
            raise ValueError("point-to-point needs decomposed positions: the end frame carries a future time index")
        self.layout = layout
        self.arch = {"n_layer": n_layer, "n_head": n_head, "n_embd": n_embd, "dropout": dropout,
                     "decomposed": decomposed}
        self.gpt = GPT(GPTConfig(vocab_size=layout.vocab_size, block_size=layout.block_size, n_layer=n_layer,
                                 n_head=n_head, n_embd=n_embd, dropout=dropout,
                                 n_slots=layout.n_slots if decomposed else layout.block_size,
                                 n_times=layout.n_times if decomposed else 1))
        self.decomposed = decomposed
        self._values_checked = False

    def _check_end_distance(self, end_distance, batch: int, values: bool = False) -> None:
        lay = self.layout
        if not (lay.end_frame and self.decomposed):
            return
        if end_distance is None:
            raise InputError(f"end_distance: point-to-point streams need the end frame's distance from the first "
                             f"frame, [B] in [0, {lay.max_end_distance}]")
        check_tokens(end_distance, "end_distance", lay.max_end_distance + 1, (batch,), "[B]", values=values,
                     what="frame distances")

    def config(self) -> dict:
        return {"layout": asdict(self.layout), **self.arch}

    def positions(self, batch: int, end_distance: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Slots and times ([B, L]) of a whole window that starts at the video's first frame."""
        lay = self.layout
        if not self.decomposed:
            i = torch.arange(lay.block_size)
            return i.expand(batch, -1), torch.zeros_like(i).expand(batch, -1)
        j = torch.arange(lay.frames_in_window * lay.chunk_len)
        slots, times = j % lay.chunk_len, j // lay.chunk_len
        if lay.prefix_len:
            ps, pt = lay.prefix_positions(end_distance)(0)
            slots = torch.cat([ps.expand(batch, -1), slots.expand(batch, -1)], 1)
            times = torch.cat([pt.expand(batch, -1), times.expand(batch, -1)], 1)
        return slots.expand(batch, -1), times.expand(batch, -1)

    def loss(self, stream: torch.Tensor, end_distance: torch.Tensor | None = None) -> torch.Tensor:
        """Eq. 8 on a window stream [B, L] (L = block_size): predict tokens 2..L from tokens 1..L-1.
        Shapes are checked on every call; the token ids on a CPU and on the first call on a GPU (a host sync)."""
        lay = self.layout
        check_tokens(stream, "stream", lay.vocab_size, (None, lay.block_size),
                     f"[B, L = {lay.block_size}] (one training window)",
                     values=stream.device.type == "cpu" or not self._values_checked)
        self._values_checked = True
        b = stream.shape[0]
        self._check_end_distance(end_distance, b)
        slots, times = self.positions(b, end_distance)
        slots, times = slots.to(stream.device), times.to(stream.device)
        _, loss = self.gpt(stream[:, :-1], stream[:, 1:], slots=slots[:, :-1], times=times[:, :-1])
        return loss

    @torch.no_grad()
    def sample(self, stream: torch.Tensor, given_frames: int, *, uniforms: torch.Tensor | None = None,
               generator: torch.Generator | None = None, end_distance: torch.Tensor | None = None,
               temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
               use_cache: bool = True) -> torch.Tensor:
        """Fill the frame tokens of frames ``given_frames ..`` of ``stream`` [B, S] (a whole video's stream, any
        length: the window slides by one frame). Annotations and the video-level tokens must be in ``stream``.
        A public entry: the stream's layout and ids, ``given_frames`` and ``end_distance`` are checked first (the
        ids are read once: a host sync on a GPU, none inside the sampling loop)."""
        lay = self.layout
        check_tokens(stream, "stream", lay.vocab_size, (None, None), "[B, S] (a whole video's stream)")
        b, length = stream.shape
        if length < lay.prefix_len + lay.chunk_len or (length - lay.prefix_len) % lay.chunk_len:
            raise InputError(f"stream: expected {lay.prefix_len} video-level tokens then whole frames of "
                             f"{lay.chunk_len} tokens (at least one), got a length of {length}")
        frames = (length - lay.prefix_len) // lay.chunk_len
        check_count(given_frames, "given_frames", 0, frames, f": frames already in the stream, at most {frames}")
        if given_frames == 0 and not (lay.prefix_len or lay.frame_annotation):
            raise InputError("given_frames: expected at least 1 given frame -- nothing precedes the first frame's "
                             "tokens in this layout (no video-level or frame-level annotation)")
        self._check_end_distance(end_distance, b, values=True)
        if uniforms is not None and tuple(uniforms.shape) != (b, length):
            raise InputError(f"uniforms: expected one draw per stream position [B, S] = [{b}, {length}], got "
                             f"{tuple(uniforms.shape)}")
        to_sample = lay.frame_mask(frames, given_frames).to(stream.device)
        if uniforms is None:
            uniforms = torch.rand(stream.shape, generator=generator, dtype=torch.float64,
                                  device=None if generator is None else generator.device).to(stream.device)
        prefix_positions = lay.prefix_positions(end_distance) if (self.decomposed and lay.prefix_len) else None
        model = self.gpt
        return sample_chunks(model, stream, to_sample, prefix_len=lay.prefix_len, chunk_len=lay.chunk_len,
                             window=lay.frames_in_window, uniforms=uniforms, prefix_positions=prefix_positions,
                             temperature=temperature, top_k=top_k, top_p=top_p, vocab=(0, lay.frame_vocab),
                             use_cache=use_cache, factorised=self.decomposed)
