"""StyleGAN2's layers (Karras et al. 2020, "Analyzing and improving the image quality of StyleGAN").

- **Equalised learning rate** (ProGAN, kept by StyleGAN2): weights are stored as ``N(0, 1) / lr_mul`` and
  multiplied by ``lr_mul / sqrt(fan_in)`` at every call, so Adam's per-parameter step sizes are the same for
  every layer. The mapping network uses ``lr_mul = 0.01`` (StyleGAN Sec. 2, App. C).
- **FIR resampling** with the ``[1, 3, 3, 1]`` binomial filter (StyleGAN2 App. B): 2x upsampling inserts zeros
  and low-pass filters (gain 4); downsampling low-pass filters before a stride-2 convolution.
- **Scaled leaky ReLU**: slope 0.2, output times ``sqrt(2)`` so that the activations keep unit variance.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_GAIN = math.sqrt(2.0)


def scaled_leaky_relu(x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``sqrt(2) * leaky_relu(x + b, 0.2)``; ``bias`` is per channel (dim 1)."""
    if bias is not None:
        x = x + bias.view(1, -1, *([1] * (x.ndim - 2)))
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


def fir_kernel(taps=(1.0, 3.0, 3.0, 1.0)) -> torch.Tensor:
    """The separable 2D low-pass filter ``k k^T / sum`` of a 1D binomial ``k`` -> ``[K, K]`` summing to 1."""
    k = torch.tensor(taps, dtype=torch.float32)
    k2 = k[:, None] * k[None, :]
    return k2 / k2.sum()


def fir_filter(x: torch.Tensor, kernel: torch.Tensor, pad: tuple[int, int]) -> torch.Tensor:
    """Depthwise convolution of ``x [N, C, H, W]`` with ``kernel [K, K]`` after padding ``(before, after)``."""
    c = x.shape[1]
    x = F.pad(x, (pad[0], pad[1], pad[0], pad[1]))
    weight = kernel.flip(0, 1).to(x.dtype)[None, None].expand(c, 1, *kernel.shape)   # [C, 1, K, K]
    return F.conv2d(x, weight, groups=c)


class Upsample(nn.Module):
    """2x FIR upsampling: zero insertion, then the filter with gain 4 (StyleGAN2's ``upfirdn2d(up=2)``)."""

    def __init__(self, taps=(1.0, 3.0, 3.0, 1.0)):
        super().__init__()
        self.register_buffer("kernel", fir_kernel(taps) * 4, persistent=False)
        p = len(taps) - 2
        self.pad = ((p + 1) // 2 + 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        up = x.new_zeros(n, c, h, 2, w, 2)
        up[:, :, :, 0, :, 0] = x
        up = up.reshape(n, c, 2 * h, 2 * w)                               # [N, C, 2H, 2W] zeros between samples
        return fir_filter(up, self.kernel, self.pad)


class Blur(nn.Module):
    """The FIR low-pass filter with explicit padding (used before stride-2 convolutions)."""

    def __init__(self, pad: tuple[int, int], taps=(1.0, 3.0, 3.0, 1.0)):
        super().__init__()
        self.register_buffer("kernel", fir_kernel(taps), persistent=False)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fir_filter(x, self.kernel, self.pad)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate: ``y = x (W * lr_mul / sqrt(in))^T + b * lr_mul``."""

    def __init__(self, in_dim: int, out_dim: int, *, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_dim)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activate:
            return scaled_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class EqualConv2d(nn.Module):
    """Convolution with equalised learning rate (weights times ``1 / sqrt(in * k * k)`` at every call)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, *, stride: int = 1, padding: int = 0,
                 bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale = 1 / math.sqrt(in_ch * kernel * kernel)
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, stride=self.stride, padding=self.padding)


class ConvLayer(nn.Sequential):
    """Discriminator convolution: optional blur + stride-2 downsampling, then the scaled leaky ReLU."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, *, downsample: bool = False, activate: bool = True,
                 bias: bool = True):
        layers: list[nn.Module] = []
        if downsample:
            p = (4 - 2) + (kernel - 1)                      # the filter's length minus the stride, plus k - 1
            layers.append(Blur(((p + 1) // 2, p // 2)))
            layers.append(EqualConv2d(in_ch, out_ch, kernel, stride=2, padding=0, bias=bias and not activate))
        else:
            layers.append(EqualConv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=bias and not activate))
        if activate:
            layers.append(BiasLeakyReLU(out_ch))
        super().__init__(*layers)


class BiasLeakyReLU(nn.Module):
    """A learned per-channel bias followed by the scaled leaky ReLU (StyleGAN2's ``FusedLeakyReLU``)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return scaled_leaky_relu(x, self.bias)


class PixelNorm(nn.Module):
    """Normalise each latent vector to unit root-mean-square (StyleGAN's input of the mapping network)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
