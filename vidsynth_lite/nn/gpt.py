"""A small GPT with a key/value cache and factorised positions (after Karpathy's nanoGPT ``model.py``).

The model is nanoGPT's decoder-only transformer: token embedding + position embedding, ``n_layer`` pre-norm
blocks (causal multi-head self-attention, then a 4x MLP with GELU), a final LayerNorm and a linear head tied to
the token embedding. ``forward(idx, targets) -> (logits, loss)`` and ``generate()`` keep nanoGPT's contract.

Two additions, both general:

- **Factorised positions.** A sequence made of fixed-size chunks (the frames of a video, each a grid of tokens plus
  its annotations) gets ``slot_emb[slot] + time_emb[time]`` instead of one learned vector per index: a "spatial"
  embedding shared by all chunks plus a per-chunk "temporal" one (CCVS, App. A, "spatio-temporal decomposition of
  the positional embeddings"; Table 2 row "Dec."). By default ``slot = i % n_slots`` and ``time = i // n_slots``;
  a caller may pass its own ``slots`` / ``times`` (CCVS puts the end frame of a point-to-point video *first* in the
  sequence, with the time index of its future frame). ``n_slots = block_size, n_times = 1`` is plain nanoGPT.
- **A key/value cache** (:class:`KVCache`): ``forward(new_idx, cache=cache)`` appends the new tokens' keys and
  values to the cache and attends the new queries to everything cached, so sampling costs one token's work per
  token instead of a pass over the whole prefix. Cached and uncached forward passes give the same logits (to float
  rounding); ``tests/test_nn_gpt.py`` checks it, and that sampled tokens are identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .logit_sampling import sample_from_logits


@dataclass
class GPTConfig:
    vocab_size: int = 1024       # number of token ids (every vocabulary of the sequence, concatenated)
    block_size: int = 1024       # longest sequence the model attends over (the window)
    n_layer: int = 24
    n_head: int = 16
    n_embd: int = 1024
    dropout: float = 0.0
    bias: bool = True            # biases in Linear and LayerNorm layers (nanoGPT's switch)
    n_slots: int | None = None   # positions within a chunk; None: block_size (one embedding per index)
    n_times: int = 1             # chunks per window (the temporal embedding's size)

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.n_slots is None:
            self.n_slots = self.block_size


class KVCache:
    """Keys and values of every layer for the tokens seen so far: ``[B, n_head, max_len, head_dim]`` each.

    ``length`` counts the cached tokens; ``reset()`` empties the cache (a sliding window that moves the positions
    of every token must start again: the positions enter the keys and values through the embeddings).
    """

    def __init__(self, cfg: GPTConfig, batch: int, max_len: int | None = None, device=None,
                 dtype: torch.dtype = torch.float32):
        self.max_len = max_len or cfg.block_size
        shape = (batch, cfg.n_head, self.max_len, cfg.n_embd // cfg.n_head)
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.n_layer)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(cfg.n_layer)]
        self.length = 0

    def reset(self) -> None:
        self.length = 0

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new keys/values ``[B, h, T, d]`` of ``layer`` after the cached ones; return all of them."""
        start, end = self.length, self.length + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KV cache holds {self.max_len} tokens; cannot append {k.shape[2]} after {start}")
        self.k[layer][:, :, start:end] = k
        self.v[layer][:, :, start:end] = v
        return self.k[layer][:, :, :end], self.v[layer][:, :, :end]


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)   # q, k, v of all heads at once
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.attn_dropout = cfg.dropout
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)                                   # 3 x [B, T, C]
        q, k, v = (a.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for a in (q, k, v))  # [B, h, T, d]
        past = 0
        if cache is not None:
            past = cache.length
            k, v = cache.append(layer, k, v)                                       # [B, h, past + T, d]
        dropout = self.attn_dropout if self.training else 0.0
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=True)
        else:
            # query i (absolute index past + i) may see keys 0 .. past + i
            allowed = (torch.arange(past + t, device=x.device)[None, :]
                       <= past + torch.arange(t, device=x.device)[:, None])       # [T, past + T]
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=dropout)
        y = y.transpose(1, 2).contiguous().view(b, t, c)                          # [B, T, C]
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.transformer = nn.ModuleDict({
            "wte": nn.Embedding(cfg.vocab_size, cfg.n_embd),
            "slot_emb": nn.Embedding(cfg.n_slots, cfg.n_embd),      # position within a chunk ("spatial")
            "time_emb": nn.Embedding(cfg.n_times, cfg.n_embd),      # index of the chunk in the window ("temporal")
            "drop": nn.Dropout(cfg.dropout),
            "h": nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)]),
            "ln_f": nn.LayerNorm(cfg.n_embd, bias=cfg.bias),
        })
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight                  # weight tying (nanoGPT)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():                            # GPT-2's scaled residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def default_positions(self, start: int, length: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(slots, times)`` of indices ``start .. start + length - 1``: ``i % n_slots`` and ``i // n_slots``."""
        i = torch.arange(start, start + length, device=device)
        return i % self.cfg.n_slots, i // self.cfg.n_slots

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, slots: torch.Tensor | None = None,
                times: torch.Tensor | None = None, cache: KVCache | None = None,
                all_logits: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``idx`` [B, T] token ids -> ``(logits, loss)``.

        ``targets`` [B, T] (``-1``: ignored) gives the cross-entropy loss and logits at every position; without
        targets only the last position's logits ``[B, 1, V]`` are computed (nanoGPT's inference shortcut) unless
        ``all_logits``. ``slots`` / ``times`` ([T] or [B, T]) override the default positions. With ``cache``, the
        tokens continue the cached sequence (their default positions start at ``cache.length``).
        """
        t = idx.shape[1]
        past = cache.length if cache is not None else 0
        if past + t > self.cfg.block_size:
            raise ValueError(f"cannot attend over {past + t} tokens; block_size is {self.cfg.block_size}")
        if slots is None or times is None:
            d_slots, d_times = self.default_positions(past, t, idx.device)
            slots = d_slots if slots is None else slots
            times = d_times if times is None else times
        tr = self.transformer
        x = tr.wte(idx) + tr.slot_emb(slots) + tr.time_emb(times)                 # [B, T, C]
        x = tr.drop(x)
        for layer, block in enumerate(tr.h):
            x = block(x, cache, layer)
        if cache is not None:
            cache.length = past + t
        x = tr.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)                                               # [B, T, V]
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
            return logits, loss
        return (self.lm_head(x) if all_logits else self.lm_head(x[:, [-1], :])), None

    def new_cache(self, batch: int, max_len: int | None = None) -> KVCache:
        p = self.lm_head.weight
        return KVCache(self.cfg, batch, max_len, device=p.device, dtype=p.dtype)

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, generator: torch.Generator | None = None,
                 use_cache: bool = True) -> torch.Tensor:
        """nanoGPT's ``generate``: append ``max_new_tokens`` sampled tokens to ``idx`` [B, T] (within block_size).

        With ``use_cache`` each new token costs one token's forward pass; without, the whole sequence is run again
        for every token (what the official CCVS code does). Both draw through
        :func:`~vidsynth_lite.nn.logit_sampling.sample_from_logits` with the same uniforms, so they return the same tokens.
        """
        if idx.shape[1] + max_new_tokens > self.cfg.block_size:
            raise ValueError(f"{idx.shape[1]} + {max_new_tokens} tokens exceed block_size {self.cfg.block_size}; "
                             "use vidsynth_lite.nn.sample_chunks for a sliding window")
        uniforms = torch.rand(idx.shape[0], max_new_tokens, generator=generator, dtype=torch.float64,
                              device=None if generator is None else generator.device)
        cache = self.new_cache(idx.shape[0]) if use_cache else None
        feed = idx
        for i in range(max_new_tokens):
            logits, _ = self(feed if use_cache else idx, cache=cache)
            nxt = sample_from_logits(logits[:, -1], temperature, top_k, top_p, uniforms[:, i])   # [B]
            idx = torch.cat([idx, nxt[:, None]], dim=1)
            feed = nxt[:, None]
        return idx
