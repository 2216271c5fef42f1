"""Sampling a long chunked token stream with a GPT over a sliding window, with or without a key/value cache.

The stream is a **prefix** (``prefix_len`` tokens that stay in the window, e.g. a video-level annotation) followed
by **chunks** of ``chunk_len`` tokens (e.g. one video frame: its frame-level annotation tokens, then its grid of
frame tokens). Some positions are given (conditioning frames, annotations), the others are sampled in order. The
model sees the prefix and at most ``window`` chunks; when a position lies in chunk ``t >= window`` the window
slides by one chunk (CCVS Sec. 3.3: "we predict [sequences] of arbitrary length by using a temporal sliding
window"; the official code slides by one frame).

Positions: a chunk token at offset ``j`` of chunk ``t`` gets ``slot = j`` and ``time = t - start`` (``start``: the
window's first chunk), so every token's time index changes when the window slides (``factorised=False``: its
index in the window, which changes too). Prefix positions come from
``prefix_positions(start) -> (slots, times)``, which lets a caller move them with the window (CCVS's point-to-point
end frame carries the time index of its future frame, Fig. D4).

Two strategies, the same tokens:

- ``use_cache=False``: for every sampled token, run the model over the whole window up to that token (the official
  CCVS code's strategy: ``L`` passes of up to ``L`` tokens to fill a window of ``L`` tokens);
- ``use_cache=True``: keep a :class:`~vidsynth_lite.nn.gpt.KVCache` and feed only the tokens not yet seen. A slide
  moves every time index, hence every key and value, so the cache is emptied and the new window is run once
  ("prefill"); then one token at a time again.

Every sampled position ``p`` draws with the uniform ``uniforms[:, p]`` through
:func:`~vidsynth_lite.nn.logit_sampling.sample_from_logits`: both strategies return identical tokens for the same
uniforms (``tests/test_nn_gpt.py``, across slides included).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .gpt import GPT
from .logit_sampling import sample_from_logits


def _positions(model: GPT, start: int, lo: int, hi: int, prefix_len: int, chunk_len: int,
               prefix_positions: Callable[[int], tuple[torch.Tensor, torch.Tensor]] | None, factorised: bool,
               device) -> tuple[torch.Tensor, torch.Tensor]:
    """Slots and times (``[n]`` or ``[B, n]``) of stream indices ``lo .. hi - 1``, all inside the prefix or all
    inside the chunks, for a window whose first chunk is ``start``."""
    if not factorised:                                                         # index in the window, time 0
        i = torch.arange(lo, hi, device=device)
        i = torch.where(i < prefix_len, i, i - start * chunk_len)
        return i, torch.zeros_like(i)
    if hi <= prefix_len:
        if prefix_positions is None:
            slots, times = model.default_positions(0, prefix_len, device)
        else:
            slots, times = prefix_positions(start)
        return slots[..., lo:hi], times[..., lo:hi]
    j = torch.arange(lo - prefix_len, hi - prefix_len, device=device)           # offset in the chunk stream
    return j % chunk_len, j // chunk_len - start


@torch.no_grad()
def sample_chunks(model: GPT, tokens: torch.Tensor, to_sample: torch.Tensor, *, prefix_len: int, chunk_len: int,
                  window: int, uniforms: torch.Tensor,
                  prefix_positions: Callable[[int], tuple[torch.Tensor, torch.Tensor]] | None = None,
                  temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                  vocab: tuple[int, int] | None = None, use_cache: bool = True,
                  factorised: bool = True) -> torch.Tensor:
    """Fill the positions of ``tokens`` [B, S] marked by ``to_sample`` [S] (bool) and return the completed stream.

    ``S = prefix_len + n_chunks * chunk_len``. ``uniforms`` [B, S] (in [0, 1)) decide the draws. ``vocab = (lo,
    hi)`` restricts sampled tokens to ids ``lo .. hi - 1`` (e.g. frame tokens, when annotations share the
    vocabulary). The window (prefix + ``window`` chunks) must fit in ``model.cfg.block_size``.
    ``factorised=False``: positions are plain indices in the window (slot = index, time = 0), for a GPT with
    one position embedding per index.
    """
    b, s = tokens.shape
    if (s - prefix_len) % chunk_len or s < prefix_len:
        raise ValueError(f"stream of {s} tokens is not a prefix of {prefix_len} + whole chunks of {chunk_len}")
    if to_sample.shape != (s,) or uniforms.shape != (b, s):
        raise ValueError(f"expected to_sample [{s}] and uniforms [{b}, {s}], got {tuple(to_sample.shape)} and "
                         f"{tuple(uniforms.shape)}")
    if prefix_len + window * chunk_len > model.cfg.block_size:
        raise ValueError(f"window of {prefix_len} + {window} x {chunk_len} tokens exceeds block_size "
                         f"{model.cfg.block_size}")
    positions = torch.nonzero(to_sample).flatten().tolist()
    if positions and positions[0] == 0:
        raise ValueError("the first token of the stream cannot be sampled: nothing precedes it")
    tokens = tokens.clone()
    cache = model.new_cache(b) if use_cache else None
    start_of_cache, fed = -1, 0                  # window start the cache was built for; stream tokens fed to it
    for p in positions:
        chunk = (p - prefix_len) // chunk_len if p >= prefix_len else 0
        start = max(0, chunk - window + 1)       # first chunk of the window that holds position p
        first = prefix_len + start * chunk_len   # stream index of that chunk's first token
        # the window's tokens before p: the prefix, then stream indices first .. p - 1
        if use_cache and start == start_of_cache:
            lo = fed                             # feed only what the cache has not seen
        else:
            if cache is not None:
                cache.reset()
            lo = 0
            start_of_cache = start
        ranges = ([(lo, min(p, prefix_len))] if lo < prefix_len else []) + [(max(lo, first), p)]
        ranges = [(i, j) for i, j in ranges if j > i]
        ids = torch.cat([tokens[:, i:j] for i, j in ranges], 1)                 # the tokens to feed
        pos = [_positions(model, start, i, j, prefix_len, chunk_len, prefix_positions, factorised, tokens.device)
               for i, j in ranges]
        batched = any(x.dim() == 2 for pair in pos for x in pair)
        slots, times = (torch.cat([x.expand(b, -1) if batched else x for x in parts], -1) for parts in zip(*pos))
        logits, _ = model(ids, slots=slots, times=times, cache=cache)
        logits = logits[:, -1]                                                     # [B, V]
        if vocab is not None:
            keep = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
            keep[vocab[0]:vocab[1]] = True
            logits = logits.masked_fill(~keep, float("-inf"))
        tokens[:, p] = sample_from_logits(logits, temperature, top_k, top_p, uniforms[:, p])
        fed = p                                  # the cache now holds the window's tokens before p
    return tokens
