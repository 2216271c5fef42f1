"""Checkpoints that carry their own settings: ``save_model`` / ``load_model`` for the three networks, through
:func:`vidsynth_lite.io.save_weights` (safetensors, atomic)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from vidsynth_lite.io import CheckpointError, load_weights, save_weights

from .bottom_prior import BottomPrior
from .config import BottomPriorConfig, TopPriorConfig, VQVAEConfig
from .top_prior import TopPrior
from .vqvae import VideoVQVAE

KINDS = {"vqvae": (VideoVQVAE, VQVAEConfig), "top_prior": (TopPrior, TopPriorConfig),
         "bottom_prior": (BottomPrior, BottomPriorConfig)}


def _kind(model: torch.nn.Module) -> str:
    for name, (cls, _) in KINDS.items():
        if isinstance(model, cls):
            return name
    raise TypeError(f"expected one of {[c.__name__ for c, _ in KINDS.values()]}, got {type(model).__name__}")


def save_model(path: str | Path, model: torch.nn.Module, step: int = 0) -> Path:
    """Write the weights with ``{"kind", "config"}`` beside them."""
    return save_weights(path, model, config={"kind": _kind(model), "model": asdict(model.cfg)}, step=step)


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, int]:
    """Rebuild the network a :func:`save_model` file holds -> ``(model in eval mode, step)``."""
    state, meta = load_weights(path, device)
    kind = meta["config"].get("kind")
    if kind not in KINDS:
        raise CheckpointError(f"{str(path)!r} holds no VQ-VAE chapter model (kind {kind!r}); expected one of "
                              f"{sorted(KINDS)}")
    cls, cfg_cls = KINDS[kind]
    model = cls(cfg_cls(**meta["config"]["model"]))
    model.load_state_dict(state)
    return model.to(device).eval(), meta["step"]


# -- the shipped checkpoint's storage: int8 priors ---------------------------------------------------------------
# Not in the paper: the book ships chapter 3's checkpoint in a file of at most 5 MB, and the lite recipe's three
# networks take 5.6 MB in float16. The two priors' weight matrices and kernels are stored as int8 with one float16
# scale per output channel (symmetric, round to nearest), the VQ-VAE stays float16; the loader multiplies back.
INT8_FORMAT = "int8-symmetric-per-output-channel+float16-scale"
SCALE_SUFFIX = ".int8_scale"          # the scale of tensor "<key>" is stored as "<key>.int8_scale"
_INT8_MAX = 127


def quantize_int8(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-output-channel int8 quantisation of a float tensor with >= 2 dims.

    Slice ``i`` along dim 0 (the output channel of a Linear or Conv weight; the row of an embedding) gets the
    float16 scale ``s_i >= max|w_i| / 127`` (rounded up to the next float16 where float16 rounding fell below it)
    and ``q = round(w / s_i)`` in [-127, 127] (round to nearest), so ``|w - q s_i| <= s_i / 2`` for every element
    (up to float32 rounding). An all-zero slice gets ``s_i = 1`` and ``q = 0``. Returns ``(q int8 [same shape],
    s float16 [shape[0]])``; :func:`dequantize_int8` inverts it.
    """
    if not weight.is_floating_point() or weight.dim() < 2:
        raise ValueError(f"quantize_int8 takes a float tensor with >= 2 dims, got {weight.dtype} "
                         f"{tuple(weight.shape)}")
    w = weight.detach().float()
    amax = w.flatten(1).abs().amax(1)                                        # [C] largest magnitude per channel
    scale = (amax / _INT8_MAX).to(torch.float16)
    scale = torch.where(amax == 0, torch.ones_like(scale), scale.clamp(min=2.0 ** -24))  # no zero scale
    low = scale.float() * _INT8_MAX < amax                                   # float16 rounded the scale down
    scale = torch.where(low, torch.nextafter(scale, torch.full_like(scale, float("inf"))), scale)
    shape = (-1,) + (1,) * (w.dim() - 1)                                     # [C, 1, ...] broadcasts over a slice
    q = torch.round(w / scale.float().view(shape)).clamp(-_INT8_MAX, _INT8_MAX).to(torch.int8)
    return q, scale


def dequantize_int8(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``q * s`` per slice of dim 0, in float32 (exact: an int8 times a float16 fits float32's mantissa)."""
    if q.dtype != torch.int8 or scale.dim() != 1 or scale.shape[0] != q.shape[0]:
        raise ValueError(f"dequantize_int8 takes int8 values [C, ...] and scales [C], got {q.dtype} "
                         f"{tuple(q.shape)} and {tuple(scale.shape)}")
    return q.float() * scale.float().view((-1,) + (1,) * (q.dim() - 1))


def pack_state(state: dict[str, torch.Tensor], quantized: tuple[str, ...]) -> tuple[dict[str, torch.Tensor], dict]:
    """A state dict as the shipped file stores it: float tensors with >= 2 dims whose key starts with one of
    ``quantized`` (``("top.", "bottom.")``: the priors) as int8 plus ``<key>.int8_scale``; every other float
    tensor as float16; integer tensors unchanged. Returns ``(tensors, storage record)``; the record goes into the
    file's metadata and :func:`unpack_state` reads it."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if value.is_floating_point() and value.dim() >= 2 and key.startswith(quantized):
            out[key], out[key + SCALE_SUFFIX] = quantize_int8(value)
        else:
            out[key] = value.half() if value.is_floating_point() else value
    return out, {"format": INT8_FORMAT, "quantized": list(quantized), "scale_suffix": SCALE_SUFFIX,
                 "other_floats": "float16"}


def unpack_state(stored: dict[str, torch.Tensor], storage: dict | None) -> dict[str, torch.Tensor]:
    """The inverse of :func:`pack_state`: int8 tensors dequantized with their scales (float32), the rest as
    stored. ``storage`` is the record :func:`pack_state` returned (``None``: a float16 file from before the
    format, which must hold no int8 tensor)."""
    if storage is None:
        if any(v.dtype == torch.int8 for v in stored.values()):
            raise CheckpointError("the file holds int8 tensors but no storage record saying how to dequantize them")
        return dict(stored)
    if storage.get("format") != INT8_FORMAT:
        raise CheckpointError(f"unknown storage format {storage.get('format')!r}; expected {INT8_FORMAT!r}")
    suffix = storage["scale_suffix"]
    out = {}
    for key, value in stored.items():
        if key.endswith(suffix):
            continue
        if value.dtype == torch.int8:
            if key + suffix not in stored:
                raise CheckpointError(f"int8 tensor {key!r} has no scale {key + suffix!r}")
            out[key] = dequantize_int8(value, stored[key + suffix])
        else:
            out[key] = value
    return out
