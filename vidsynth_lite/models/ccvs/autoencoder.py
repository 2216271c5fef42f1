"""The context-aware autoencoder of CCVS: encoder E, quantizer Q / U, decoder D linked to E by F
(Sec. 3.1-3.2, App. A, Fig. A1-(1)).

- **E** maps a frame ``[N, 3, H, W]`` through K resolution levels (a 1x1 convolution at full resolution, then
  K - 1 residual blocks that halve the resolution) to ``z`` ``[N, F, h, w]``, keeping each level's features
  ``e^k`` for F. Residual block (App. A): two 3x3 convolutions with LeakyReLU and a 1x1 convolution on the skip
  path, resolution changed by 2.
- **Q** replaces each ``z_ij`` by its nearest codebook entry (tokens ``[N, h, w]``); **U** looks tokens up. We use
  the package's :class:`~vidsynth_lite.nn.VectorQuantizer` with a codebook learnt by gradient (Eq. 3, not EMA)
  and the straight-through estimator (App. A "Quantizer"). Codes unused for many batches restart at random
  encoder outputs (``restart_below``; not in the paper: without it the gradient-learnt codebook of our short
  runs collapses to a handful of codes within tens of steps).
- **D** goes the other way, low to high resolution; after its sub-module at level k it calls F to fuse the
  context frames' ``e_c^k`` into ``d_s^k`` (Eq. 1 / Eq. 9). Without context (or with ``flow=False``) D is a plain
  decoder (Table 1, rows with "Ctxt. 0").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.checks import InputError, check_video
from vidsynth_lite.nn import QuantizerOutput, VectorQuantizer

from .config import AutoencoderConfig
from .flow import FlowModule, FlowTrace
from .inputs import check_shape, check_tokens


class ResBlock(nn.Module):
    """App. A: conv3x3 -> LeakyReLU -> conv3x3 -> LeakyReLU, plus a 1x1 convolution on the skip path; the
    resolution is halved (``"down"``, average pooling) or doubled (``"up"``, nearest neighbour)."""

    def __init__(self, cin: int, cout: int, resample: str):
        super().__init__()
        if resample not in ("down", "up"):
            raise ValueError(f"resample must be 'down' or 'up', got {resample!r}")
        self.resample = resample
        self.conv1 = nn.Conv2d(cin, cin, 3, padding=1)
        self.conv2 = nn.Conv2d(cin, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1, bias=False)

    def _resize(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2) if self.resample == "down" else F.interpolate(x, scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.resample == "up":
            x = self._resize(x)
        h = F.leaky_relu(self.conv1(x), 0.1)
        h = F.leaky_relu(self.conv2(h), 0.1)
        skip = self.skip(x)
        if self.resample == "down":
            h, skip = self._resize(h), self._resize(skip)
        return (h + skip) / math.sqrt(2)


class Encoder(nn.Module):
    """E: frames [N, 3, H, W] -> (z [N, F, h, w], features e^k per level, coarse (k=1) to fine (k=K))."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        fine_to_coarse = list(reversed(cfg.widths))
        self.stem = nn.Sequential(nn.Conv2d(cfg.channels, fine_to_coarse[0], 1), nn.LeakyReLU(0.1))
        self.blocks = nn.ModuleList([ResBlock(fine_to_coarse[i], fine_to_coarse[i + 1], "down")
                                     for i in range(cfg.levels - 1)])
        self.to_z = nn.Conv2d(fine_to_coarse[-1], cfg.code_dim, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = self.stem(x)
        feats = [h]                                                               # level K (full resolution)
        for block in self.blocks:
            h = block(h)
            feats.append(h)
        return self.to_z(h), feats[::-1]                                          # coarse to fine


class Decoder(nn.Module):
    """D with F: quantised z [N, F, h, w] and, per context frame, its encoder features -> frame [N, 3, H, W]."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        w = cfg.widths                                                            # coarse (k=1) to fine (k=K)
        self.from_z = nn.Sequential(nn.Conv2d(cfg.code_dim, w[0], 1), nn.LeakyReLU(0.1))
        self.blocks = nn.ModuleList([ResBlock(w[k], w[k + 1], "up") for k in range(cfg.levels - 1)])
        self.to_rgb = nn.Conv2d(w[-1], cfg.channels, 1)
        self.flow = (FlowModule(cfg.widths, cfg.radius, cfg.flow_hidden, cfg.proj_min, cfg.warp_fraction)
                     if cfg.flow else None)

    def forward(self, z_q: torch.Tensor, contexts: list[list[torch.Tensor]] | None = None
                ) -> tuple[torch.Tensor, FlowTrace]:
        """``contexts``: one list of encoder features (coarse to fine) per context frame, each [N, C_k, H_k, W_k];
        None or [] decodes without context. Returns the frame and F's trace (empty without context)."""
        trace = FlowTrace([], [], [])
        use_flow = self.flow is not None and bool(contexts)
        d = self.from_z(z_q)                                                      # d_s^1 [N, C_1, h, w]
        prev = None
        for k in range(len(self.blocks) + 1):
            if k > 0:
                d = self.blocks[k - 1](d)                                         # (a) one decoding sub-module
            if use_flow:                                                          # (b) F, (c) Eq. 1 / Eq. 9
                d, prev = self.flow.step(k, d, [feats[k] for feats in contexts], prev, trace)
        return self.to_rgb(d), trace


@dataclass
class AutoencoderOutput:
    recon: torch.Tensor                  # [N, 3, H, W]
    quant: QuantizerOutput               # z_q (straight-through), codes [N, h, w], Eq. 3 loss as printed
    z: torch.Tensor                      # encoder output before quantisation [N, F, h, w]
    feats: list[torch.Tensor]            # E's features of the input frames, coarse to fine
    trace: FlowTrace                     # F's flows and masks per level


class Autoencoder(nn.Module):
    """E, Q/U, D and F of CCVS. Frames in [-1, 1]; one call works on a batch of frames ``[N, 3, H, W]``."""

    def __init__(self, cfg: AutoencoderConfig):
        super().__init__()
        if len(cfg.widths) != cfg.levels:
            raise ValueError(f"widths must give one width per level ({cfg.levels}), got {cfg.widths}")
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.quantizer = VectorQuantizer(cfg.num_codes, cfg.code_dim, beta=cfg.beta, ema=False,
                                         restart_threshold=0.0)
        self.decoder = Decoder(cfg)
        self.register_buffer("code_use", torch.ones(cfg.num_codes))            # moving average of uses per batch
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))
        self._values_checked = False

    def check_frames(self, x: torch.Tensor, values: bool = True, name: str = "frames") -> torch.Tensor:
        """``x`` must be float frames ``[N, C, S, S]`` with S = ``cfg.size`` (a multiple of the downsampling
        ``2^(K-1)``) and, if ``values``, finite values in [-1, 1] (reading them is a host sync on a GPU)."""
        down = 2 ** (self.cfg.levels - 1)
        check_video(x, name=name, rank=4, channels=self.cfg.channels, size_multiple=down, values=values)
        if tuple(x.shape[-2:]) != (self.cfg.size, self.cfg.size):
            raise InputError(f"{name}: this autoencoder takes frames [N, {self.cfg.channels}, {self.cfg.size}, "
                             f"{self.cfg.size}] (the size it was built for), got {tuple(x.shape)}")
        return x

    def check_latents(self, z_q: torch.Tensor, name: str = "z_q") -> torch.Tensor:
        """Quantised features ``[N, F, h, w]`` of this autoencoder (shape only)."""
        s = self.cfg.tokens_side
        return check_shape(z_q, name, (None, self.cfg.code_dim, s, s), "[N, F, h, w]")

    def check_contexts(self, contexts, batch: int, name: str = "contexts") -> None:
        """Context features: one list per context frame of E's ``K`` feature maps, coarse to fine, each
        ``[N, C_k, S_k, S_k]`` (shape only)."""
        if contexts is None:
            return
        if not isinstance(contexts, (list, tuple)):
            raise InputError(f"{name}: expected a list (one entry per context frame) of lists of E's "
                             f"{self.cfg.levels} feature maps, got {type(contexts).__name__}")
        for i, feats in enumerate(contexts):
            if not isinstance(feats, (list, tuple)) or len(feats) != self.cfg.levels:
                got = len(feats) if isinstance(feats, (list, tuple)) else type(feats).__name__
                raise InputError(f"{name}[{i}]: expected E's {self.cfg.levels} feature maps (coarse to fine, "
                                 f"as Autoencoder.encode returns them), got {got}")
            for k, (f, c, side) in enumerate(zip(feats, self.cfg.widths, self.cfg.level_sizes)):
                check_shape(f, f"{name}[{i}][{k}]", (batch, c, side, side), "[N, C_k, S_k, S_k]")

    def encode(self, x: torch.Tensor) -> tuple[QuantizerOutput, torch.Tensor, list[torch.Tensor]]:
        """E then Q: frames [N, 3, H, W] -> (quantiser output, z, features e^k). Checks the shape only (it runs
        inside training steps); :meth:`tokens` and :meth:`forward` check the values too."""
        self.check_frames(x, values=False)
        z, feats = self.encoder(x)
        quant = self.quantizer(z)
        if self.training and self.cfg.restart_below > 0:
            self._restart_dead_codes(z, quant.codes)
        return quant, z, feats

    @torch.no_grad()
    def _restart_dead_codes(self, z: torch.Tensor, codes: torch.Tensor, decay: float = 0.8) -> None:
        """Codes whose moving-average count per batch is below ``restart_below`` times the mean count per code
        move to random rows of ``z`` (drawn by the global generator: a training checkpoint saves its state, so
        resuming is exact)."""
        counts = torch.bincount(codes.flatten(), minlength=self.cfg.num_codes).to(self.code_use.dtype)
        self.code_use.mul_(decay).add_((1 - decay) * counts / counts.mean())   # in units of the mean use
        dead = self.code_use < self.cfg.restart_below                           # [K] bool
        rows = z.detach().movedim(1, -1).reshape(-1, z.shape[1])                # [N, F]
        pick = rows[torch.randint(0, rows.shape[0], (self.cfg.num_codes,), device=rows.device)]
        book = self.quantizer.codebook
        book.data.copy_(torch.where(dead[:, None], pick.to(book.dtype), book.data))
        self.code_use.copy_(torch.where(dead, torch.ones_like(self.code_use), self.code_use))
        self.restarts += dead.sum()

    def decode(self, z_q: torch.Tensor, contexts: list[list[torch.Tensor]] | None = None
               ) -> tuple[torch.Tensor, FlowTrace]:
        """D (with F when ``contexts`` are given): ``z_q`` [N, F, h, w] -> frames [N, 3, H, W] (shapes checked)."""
        self.check_latents(z_q)
        self.check_contexts(contexts, z_q.shape[0])
        return self.decoder(z_q, contexts)

    def decode_tokens(self, codes: torch.Tensor, contexts: list[list[torch.Tensor]] | None = None
                      ) -> tuple[torch.Tensor, FlowTrace]:
        """U then D: tokens [N, h, w] -> frames [N, 3, H, W]. A public entry: the ids are checked to lie in
        ``[0, num_codes)`` (a host sync on a GPU)."""
        s = self.cfg.tokens_side
        check_tokens(codes, "codes", self.cfg.num_codes, (None, s, s), "[N, h, w]")
        return self.decode(self.quantizer.lookup(codes), contexts)

    @torch.no_grad()
    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Frames [N, 3, H, W] in [-1, 1] -> tokens [N, h, w] (eval mode: the codebook is not touched). A public
        entry: the values are checked (a host sync on a GPU)."""
        self.check_frames(x)
        was = self.training
        self.eval()
        try:
            return self.encode(x)[0].codes
        finally:
            self.train(was)

    def forward(self, x: torch.Tensor, contexts: list[list[torch.Tensor]] | None = None) -> AutoencoderOutput:
        """Encode ``x``, quantise, decode with the given context features (see :meth:`Decoder.forward`). The values
        of ``x`` are checked on a CPU and on the first call on a GPU (later calls: the shape only, no host sync)."""
        self.check_frames(x, values=x.device.type == "cpu" or not self._values_checked)
        self._values_checked = True
        quant, z, feats = self.encode(x)
        recon, trace = self.decode(quant.z_q, contexts)
        return AutoencoderOutput(recon=recon, quant=quant, z=z, feats=feats, trace=trace)
