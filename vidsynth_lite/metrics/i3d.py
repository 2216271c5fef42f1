"""The Inflated 3D ConvNet (I3D) of Carreira & Zisserman 2017 (Inception-v1 inflated to 3D), in plain torch.nn.

This is the network the FVD reference code (Unterthiner et al. 2018) calls through tf.hub
("i3d-kinetics-400/1"): its 400 Kinetics logits, averaged over time, are the FVD features. To reproduce the
TensorFlow/Sonnet original exactly:

- every convolution and max-pooling uses TensorFlow's "SAME" padding: output size ``ceil(in / stride)``, total
  padding ``max((out - 1) * stride + k - in, 0)`` split with the smaller half *before* (asymmetric for even
  totals), zeros for convolutions and -inf for max-pooling (padding never wins a max);
- convolutions have no bias and are followed by batch norm without scale (Sonnet v1: ``eps = 1e-3``, only a
  learnt offset ``beta``), then ReLU;
- the head average-pools with a (2, 7, 7) window, stride 1, "VALID", applies a 1x1x1 convolution with bias
  (400 outputs), squeezes space and averages the logits over the remaining time steps.

Input: ``[B, 3, T, 224, 224]`` in [-1, 1], RGB, T >= 9 (the head needs two time steps after the 8x temporal
reduction). :mod:`vidsynth_lite.metrics.i3d_weights` loads the Kinetics-400 weights;
:func:`vidsynth_lite.metrics.preprocess.i3d_preprocess` prepares videos the way the reference code does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3

# (branch_0 1x1, branch_1 1x1, branch_1 3x3, branch_2 1x1, branch_2 3x3, branch_3 pool-proj 1x1)
INCEPTION_CHANNELS = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME": (before, after) padding of one axis so that ``out = ceil(size / stride)``."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel, stride, value: float = 0.0) -> torch.Tensor:
    """Pad ``[B, C, T, H, W]`` for a "SAME" window ``kernel`` (kt, kh, kw) with ``stride``."""
    pads = []
    for size, k, s in reversed(list(zip(x.shape[2:], kernel, stride))):  # F.pad wants the last axis first
        pads.extend(same_padding(size, k, s))
    if not any(pads):
        return x
    return F.pad(x, pads, value=value)


class MaxPoolSame(nn.Module):
    def __init__(self, kernel, stride):
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x):
        return F.max_pool3d(pad_same(x, self.kernel, self.stride, value=float("-inf")), self.kernel, self.stride)


class Unit3D(nn.Module):
    """Conv3d ("SAME", no bias) -> BatchNorm (offset only, eps 1e-3) -> ReLU; Sonnet's ``Unit3D``."""

    def __init__(self, cin: int, cout: int, kernel=(1, 1, 1), stride=(1, 1, 1)):
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)
        self.conv = nn.Conv3d(cin, cout, self.kernel, self.stride, bias=False)
        self.bn = nn.BatchNorm3d(cout, eps=BN_EPS, affine=False)
        self.beta = nn.Parameter(torch.zeros(cout))     # Sonnet BatchNorm(create_scale=False): offset only

    def forward(self, x):
        x = self.conv(pad_same(x, self.kernel, self.stride))
        x = self.bn(x) + self.beta.view(1, -1, 1, 1, 1)
        return F.relu(x)


class InceptionBlock(nn.Module):
    """Four parallel branches concatenated on channels (Inception-v1, inflated)."""

    def __init__(self, cin: int, ch):
        super().__init__()
        self.branch_0 = Unit3D(cin, ch[0])
        self.branch_1a = Unit3D(cin, ch[1])
        self.branch_1b = Unit3D(ch[1], ch[2], (3, 3, 3))
        self.branch_2a = Unit3D(cin, ch[3])
        self.branch_2b = Unit3D(ch[3], ch[4], (3, 3, 3))
        self.branch_3_pool = MaxPoolSame((3, 3, 3), (1, 1, 1))
        self.branch_3b = Unit3D(cin, ch[5])
        self.out_channels = ch[0] + ch[2] + ch[4] + ch[5]

    def forward(self, x):
        return torch.cat([
            self.branch_0(x),
            self.branch_1b(self.branch_1a(x)),
            self.branch_2b(self.branch_2a(x)),
            self.branch_3b(self.branch_3_pool(x)),
        ], dim=1)


class InceptionI3d(nn.Module):
    """I3D for Kinetics-400. ``forward(x [B, 3, T, 224, 224]) -> logits [B, 400]`` (averaged over time)."""

    def __init__(self, num_classes: int = 400):
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPoolSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPoolSame((1, 3, 3), (1, 2, 2))
        cin = 192
        blocks = {}
        for name, ch in INCEPTION_CHANNELS.items():
            blocks[name] = InceptionBlock(cin, ch)
            cin = blocks[name].out_channels
        self.Mixed_3b, self.Mixed_3c = blocks["Mixed_3b"], blocks["Mixed_3c"]
        self.MaxPool3d_4a_3x3 = MaxPoolSame((3, 3, 3), (2, 2, 2))
        self.Mixed_4b, self.Mixed_4c, self.Mixed_4d = blocks["Mixed_4b"], blocks["Mixed_4c"], blocks["Mixed_4d"]
        self.Mixed_4e, self.Mixed_4f = blocks["Mixed_4e"], blocks["Mixed_4f"]
        self.MaxPool3d_5a_2x2 = MaxPoolSame((2, 2, 2), (2, 2, 2))
        self.Mixed_5b, self.Mixed_5c = blocks["Mixed_5b"], blocks["Mixed_5c"]
        self.logits = nn.Conv3d(1024, num_classes, 1, bias=True)   # "Logits/Conv3d_0c_1x1"
        self.eval()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Mixed_5c activations ``[B, 1024, T', 7, 7]``."""
        if x.ndim != 5 or x.shape[1] != 3:
            raise ValueError(f"I3D expects [B, 3, T, H, W], got {tuple(x.shape)}")
        if x.shape[2] < 9:
            raise ValueError(f"I3D needs at least 9 frames (its head pools 2 steps after 8x temporal "
                             f"reduction), got T={x.shape[2]}")
        for name in ("Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3",
                     "Mixed_3b", "Mixed_3c", "MaxPool3d_4a_3x3", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e",
                     "Mixed_4f", "MaxPool3d_5a_2x2", "Mixed_5b", "Mixed_5c"):
            x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)                                   # [B, 1024, T', 7, 7] for 224 x 224 input
        h = F.avg_pool3d(h, (2, 7, 7), stride=1)                # "VALID": [B, 1024, T'-1, 1, 1]
        logits = self.logits(h)                                 # [B, 400, T'-1, 1, 1]
        return logits.flatten(2).mean(2)                        # squeeze space, average over time: [B, 400]
