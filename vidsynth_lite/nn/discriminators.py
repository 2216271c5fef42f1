"""Discriminator building blocks for images (2D) and videos (3D): BigGAN residual blocks, PatchGAN, a score head.

The contract
------------
* Inputs are channels-first: images ``[N, C, H, W]``, videos ``[B, C, T, H, W]`` (``video.transpose(1, 2)`` of
  the package's ``[B, T, C, H, W]``). ``dims=2`` or ``dims=3`` picks 2D or 3D convolutions.
* A discriminator returns **raw scores** for the losses of :mod:`vidsynth_lite.nn.gan_losses`: one per sample
  (:class:`ResidualDiscriminator` on images), one per sample and frame, or a patch map
  (:class:`PatchDiscriminator`). ``forward_features`` gives the intermediate activations (feature matching).
* ``spectral=True`` spectrally normalises every convolution and linear layer
  (:mod:`vidsynth_lite.nn.spectral`).
* No normalisation layer sits directly before the layer that produces the scores:
  :func:`assert_no_norm_before_score` checks any discriminator for that bug (below).

=============================  ================================================================================
module                         paper / used by
=============================  ================================================================================
:class:`DBlock`                BigGAN D residual block (Brock et al. 2019, Fig. 15c): DVD-GAN-FP / TrIVD-GAN-FP
                               (App. A: 2D blocks, the first two 3D in the video discriminators), MoCoGAN-HD's
                               image discriminator (BigGAN D without attention), cINN's 3D-ResNet temporal D;
                               with ``negative_slope=0.2, skip_gain=2**-0.5`` the residual blocks of the
                               StyleGAN2-like discriminators of CCVS (App. A) -- without StyleGAN2's blur
                               filters, minibatch-stddev layer and equalised learning rate
:class:`ResidualDiscriminator` BigGAN / DVD-GAN discriminator: DBlocks, ReLU, sum over space, linear score
:class:`PatchDiscriminator`    PatchGAN (Isola et al. 2017; pix2pixHD): cINN's static D (supp. B.1), MoCoGAN-HD's
                               3D video discriminator (App. A.2.1, Tab. 6)
:class:`ScoreHead`             ReLU -> sum over space -> linear: the BigGAN / DVD-GAN output layer
=============================  ================================================================================

Two reimplementation bugs these helpers prevent
-----------------------------------------------
* A batch or instance norm right before the final linear layer (with only pooling / flattening between
  them) makes the discriminator's output constant: instance norm zeroes the spatial mean, so ``sum -> linear``
  returns the bias; batch norm fixes the *batch* mean of the scores to a constant, so a D fed real and fake in
  separate batches cannot score reals higher on average. :func:`assert_no_norm_before_score` finds it.
* Scoring real and fake in one pass (one batch-norm / one kernel launch) and splitting the scores along the
  wrong axis: :func:`score_real_and_fake` concatenates and splits along the batch axis only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .frames import fold_frames, unfold_frames
from .spectral import spectral_norm

__all__ = ["DBlock", "PatchDiscriminator", "ResidualDiscriminator", "ScoreHead", "assert_no_norm_before_score",
           "score_real_and_fake"]


def _conv(dims: int, in_ch: int, out_ch: int, kernel: int, *, stride: int = 1, padding: int = 0,
          spectral: bool = False, bias: bool = True) -> nn.Module:
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 (images) or 3 (videos), got {dims}")
    conv = (nn.Conv2d if dims == 2 else nn.Conv3d)(in_ch, out_ch, kernel, stride=stride, padding=padding, bias=bias)
    return spectral_norm(conv) if spectral else conv


def _pool(x: torch.Tensor, kernel: Sequence[int] | int | None) -> torch.Tensor:
    if kernel is None:
        return x
    return F.avg_pool2d(x, kernel) if x.dim() == 4 else F.avg_pool3d(x, kernel)


class DBlock(nn.Module):
    """BigGAN discriminator residual block, 2D or 3D (Brock et al. 2019, Fig. 15c; DVD-GAN-FP)::

        main:     [act] -> conv3x3 -> act -> conv3x3 -> avgpool
        shortcut: conv1x1 (if channels change or the block pools) and avgpool (pool first when not preactivated)
        out = skip_gain * (main + shortcut)

    ``preactivation=False`` for the first block (its input is the image itself). ``pool``: the average-pooling
    kernel (``2`` halves every axis; ``(1, 2, 2)`` keeps a video's time axis; ``None`` keeps the size).
    ``negative_slope=0`` gives ReLU (BigGAN); ``0.2`` a leaky ReLU (StyleGAN2).
    """

    def __init__(self, in_channels: int, out_channels: int, *, dims: int = 2, pool: Sequence[int] | int | None = 2,
                 preactivation: bool = True, spectral: bool = True, negative_slope: float = 0.0,
                 skip_gain: float = 1.0):
        super().__init__()
        self.dims, self.pool, self.preactivation = dims, pool, preactivation
        self.negative_slope, self.skip_gain = negative_slope, skip_gain
        self.conv1 = _conv(dims, in_channels, out_channels, 3, padding=1, spectral=spectral)
        self.conv2 = _conv(dims, out_channels, out_channels, 3, padding=1, spectral=spectral)
        learnable = in_channels != out_channels or pool is not None
        self.shortcut = _conv(dims, in_channels, out_channels, 1, spectral=spectral) if learnable else None

    def _act(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, self.negative_slope) if self.negative_slope else F.relu(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dims + 2:
            raise ValueError(f"DBlock(dims={self.dims}): expected a [N, C, {'T, ' if self.dims == 3 else ''}H, W] "
                             f"input, got {tuple(x.shape)}")
        h = self._act(x) if self.preactivation else x
        h = self.conv2(self._act(self.conv1(h)))
        h = _pool(h, self.pool)
        skip = x
        if self.preactivation:                                   # conv then pool (cheaper at low resolution)
            skip = self.shortcut(skip) if self.shortcut is not None else skip
            skip = _pool(skip, self.pool)
        else:                                                    # first block: pool the image, then conv
            skip = _pool(skip, self.pool)
            skip = self.shortcut(skip) if self.shortcut is not None else skip
        return self.skip_gain * (h + skip)


class ScoreHead(nn.Module):
    """``ReLU -> sum over every spatial (and time) axis -> linear``: one score per row (BigGAN / DVD-GAN-FP App. A:
    "the final block is followed by a ReLU activation. Features are then summed across the spatial dimensions,
    and passed to the projection head"). ``forward(features [N, C, *spatial]) -> [N]``; ``pooled(...)`` gives
    the summed features ``[N, C]`` for a projection head."""

    def __init__(self, in_channels: int, *, spectral: bool = True):
        super().__init__()
        linear = nn.Linear(in_channels, 1)
        self.linear = spectral_norm(linear) if spectral else linear

    def pooled(self, features: torch.Tensor) -> torch.Tensor:
        return F.relu(features).flatten(2).sum(-1)               # [N, C]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(self.pooled(features)).squeeze(-1)    # [N]


class ResidualDiscriminator(nn.Module):
    """A BigGAN / DVD-GAN-FP discriminator: ``DBlock``s (all but the last pool by 2), then :class:`ScoreHead`.

    Images ``[N, C, H, W]`` -> scores ``[N]``. With ``blocks_3d = k > 0`` (DVD-GAN-FP's spatio-temporal
    discriminator: "all convolutions in the first two residual blocks are replaced with 3D convolutions") the
    input is a video ``[B, C, T, H, W]``; after the k 3D blocks (pooling ``pool_3d``) its ``T'`` remaining
    frames are folded into the batch, the 2D blocks run per frame and the output is ``[B, T']`` (one score per
    sample and remaining frame; average them, or feed ``forward_features`` to a projection head).

    ``channels``: output channels of each block (DVD-GAN-FP: five blocks, ``ch * (2, 4, 8, 16, 16)``).
    """

    def __init__(self, in_channels: int, channels: Sequence[int] = (64, 128, 256, 512, 512), *, blocks_3d: int = 0,
                 pool_3d: Sequence[int] | int = 2, spectral: bool = True, negative_slope: float = 0.0,
                 skip_gain: float = 1.0):
        super().__init__()
        if not channels or not 0 <= blocks_3d <= len(channels):
            raise ValueError(f"ResidualDiscriminator: need 1+ blocks and 0 <= blocks_3d <= {len(channels)}, got "
                             f"{len(channels)} blocks, blocks_3d={blocks_3d}")
        self.blocks_3d = blocks_3d
        blocks, previous = [], in_channels
        for index, width in enumerate(channels):
            last = index == len(channels) - 1
            is_3d = index < blocks_3d
            pool = None if last else (pool_3d if is_3d else 2)
            blocks.append(DBlock(previous, width, dims=3 if is_3d else 2, pool=pool, preactivation=index > 0,
                                 spectral=spectral, negative_slope=negative_slope, skip_gain=skip_gain))
            previous = width
        self.blocks = nn.ModuleList(blocks)
        self.head = ScoreHead(previous, spectral=spectral)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, int | None]:
        """The last block's features ``[N', C, h, w]`` and the number of frames folded into ``N'`` (or None)."""
        expected = 5 if self.blocks_3d else 4
        if x.dim() != expected:
            raise ValueError(f"ResidualDiscriminator(blocks_3d={self.blocks_3d}): expected a "
                             f"{'[B, C, T, H, W] video' if self.blocks_3d else '[N, C, H, W] image batch'}, got "
                             f"{tuple(x.shape)}")
        frames = None
        for index, block in enumerate(self.blocks):
            if self.blocks_3d and index == self.blocks_3d:
                frames = x.shape[2]
                x = fold_frames(x.transpose(1, 2))               # [B, T', C, h, w] -> [B * T', C, h, w]
            x = block(x)
        if self.blocks_3d == len(self.blocks):                   # every block 3D: score per remaining frame
            frames = x.shape[2]
            x = fold_frames(x.transpose(1, 2))
        return x, frames

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, frames = self.forward_features(x)
        scores = self.head(features)                             # [N'] = [B * T'] or [N]
        return scores if frames is None else unfold_frames(scores, frames)   # [B, T']


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017), 2D or 3D: a score per overlapping patch, ``[N, 1, (T',) H', W']``::

        conv4 s2 -> lrelu(0.2);  (n_layers - 1) x [conv4 s2 -> norm -> lrelu];  conv4 s1 -> norm -> lrelu;  conv4 s1

    Channels ``base, 2 base, 4 base, 8 base`` (capped at ``8 base``). MoCoGAN-HD App. A.2.1, Tab. 6 is
    ``dims=3, base=64, n_layers=3, norm="instance"`` (kernels 4x4x4, strides 2, 2, 2, 1, 1); cINN's static
    discriminator is the 2D version. ``norm``: ``"instance"``, ``"batch"`` or ``"none"`` (then use
    ``spectral=True``). ``forward_features`` returns every layer's output, the score map last.
    """

    def __init__(self, in_channels: int, *, dims: int = 2, base_channels: int = 64, n_layers: int = 3,
                 norm: str = "instance", spectral: bool = False, padding: int = 1):
        super().__init__()
        if norm not in ("instance", "batch", "none"):
            raise ValueError(f"PatchDiscriminator: norm must be 'instance', 'batch' or 'none', got {norm!r}")
        if n_layers < 1:
            raise ValueError(f"PatchDiscriminator: n_layers must be >= 1, got {n_layers}")
        self.dims = dims

        def norm_layer(ch: int) -> list[nn.Module]:
            if norm == "none":
                return []
            if norm == "batch":
                return [(nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d)(ch)]
            return [(nn.InstanceNorm2d if dims == 2 else nn.InstanceNorm3d)(ch)]

        def conv(i: int, o: int, stride: int) -> nn.Module:
            return _conv(dims, i, o, 4, stride=stride, padding=padding, spectral=spectral)

        layers = [nn.Sequential(conv(in_channels, base_channels, 2), nn.LeakyReLU(0.2))]
        width = base_channels
        for n in range(1, n_layers):
            previous, width = width, min(base_channels * 2 ** n, base_channels * 8)
            layers.append(nn.Sequential(conv(previous, width, 2), *norm_layer(width), nn.LeakyReLU(0.2)))
        previous, width = width, min(base_channels * 2 ** n_layers, base_channels * 8)
        layers.append(nn.Sequential(conv(previous, width, 1), *norm_layer(width), nn.LeakyReLU(0.2)))
        layers.append(nn.Sequential(conv(width, 1, 1)))
        self.layers = nn.ModuleList(layers)

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.dim() != self.dims + 2:
            raise ValueError(f"PatchDiscriminator(dims={self.dims}): expected a "
                             f"[N, C, {'T, ' if self.dims == 3 else ''}H, W] input, got {tuple(x.shape)}")
        outputs = []
        for layer in self.layers:
            x = layer(x)
            outputs.append(x)
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[-1]


# -- guards against two reimplementation bugs ---------------------------------------------------------------
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm)
_TRANSPARENT = (nn.Identity, nn.Flatten, nn.Unflatten, nn.Dropout, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
                nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)


def assert_no_norm_before_score(discriminator: nn.Module, example: torch.Tensor) -> None:
    """Raise if a batch / instance / group norm feeds the score layer through linear, parameter-free ops only.

    Runs ``discriminator(example)`` once with hooks on its leaf modules, takes the last module with parameters
    that ran (the score layer) and walks back over the modules that ran before it, skipping pooling, flattening,
    dropout and identities (linear, so they keep the constant-output problem described in the module
    docstring). Reaching a normalisation layer raises ``ValueError`` naming it; an activation or another
    parametrised layer in between ends the walk (then the scores can vary). Functional calls made inside a
    module's ``forward`` are invisible to the hooks, which is why :class:`ScoreHead`'s ``F.relu`` is not an
    issue: the walk stops at the layer that produced its input.
    """
    order: list[tuple[str, nn.Module]] = []
    units = {module: name for name, module in discriminator.named_modules()   # leaves, a parametrized conv
             if "parametrizations" not in name.split(".")                     # (spectral norm) counting as one
             and not [c for n, c in module.named_children() if n != "parametrizations"]}
    handles = [m.register_forward_hook(lambda mod, _inp, _out: order.append((units[mod], mod))) for m in units]
    was_training = discriminator.training
    try:
        with torch.no_grad():
            discriminator.eval()
            discriminator(example)
    finally:
        discriminator.train(was_training)
        for handle in handles:
            handle.remove()
    scored = [i for i, (_, m) in enumerate(order) if any(True for _ in m.parameters()) and not isinstance(m, _NORMS)]
    if not scored:
        raise ValueError("assert_no_norm_before_score: the discriminator ran no layer with parameters")
    last = scored[-1]
    culprit = None
    for name, module in reversed(order[:last]):
        if not isinstance(module, _TRANSPARENT):
            culprit = (name, module) if isinstance(module, _NORMS) else None
            break
    if culprit is not None:
        raise ValueError(f"discriminator bug: {type(culprit[1]).__name__} '{culprit[0]}' feeds the score layer "
                         f"'{order[last][0]}' with only linear, parameter-free layers in between; its scores are "
                         "constant (instance/group norm) or have a constant batch mean (batch norm). Put a "
                         "nonlinearity between them, or drop the norm.")


def score_real_and_fake(discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                        fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Score ``real`` and ``fake`` in one forward pass and split the scores back along the **batch** axis.

    One pass halves kernel launches; the split must be along axis 0, where the two batches were
    concatenated (``scores.chunk(2, dim=-1)`` on a ``[2B, T]`` or patch output silently mixes real and fake).
    With batch norm in the discriminator, one pass also normalises real and fake with shared statistics,
    which changes the model: use two calls then.
    """
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(f"score_real_and_fake: real {tuple(real.shape)} and fake {tuple(fake.shape)} differ "
                         "beyond the batch axis")
    scores = discriminator(torch.cat((real, fake), dim=0))       # [B_real + B_fake, ...]
    if scores.shape[0] != real.shape[0] + fake.shape[0]:
        raise ValueError(f"score_real_and_fake: the discriminator returned {tuple(scores.shape)}; its first axis "
                         f"must be the batch ({real.shape[0]} + {fake.shape[0]})")
    return scores[: real.shape[0]], scores[real.shape[0]:]
