"""Turning ancillary information into tokens (CCVS App. A): the position estimator and the sound autoencoder.

- **Position estimator** (App. A): a few downsampling convolutions and a linear layer map the latent features
  ``z = E(x)`` of a frame to the 2D position of the robot's gripper (sigmoid, in [0, 1]), trained by mean squared
  error. The paper trains it on 500 hand-annotated BAIR frames to annotate every video; ``pushbot`` records the
  gripper's position in every frame, so the book trains the estimator on those records and uses it to *read
  back* the trajectory of generated videos (how well a state-conditioned video follows its control).
- **Sound autoencoder** (App. A): the STFT of each frame's slice of the audio track (a log-magnitude
  time-frequency image) is encoded, quantised and decoded like the frames, "without F", to give a few tokens per
  frame (the official drums setting: an 8x2 grid of 1024 codes, 16 tokens per frame).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidsynth_lite.checks import InputError, check_video
from vidsynth_lite.nn import QuantizerOutput, VectorQuantizer

from .inputs import check_shape


class PositionEstimator(nn.Module):
    """Latent features [N, F, h, w] -> gripper position [N, 2] in [0, 1] (App. A)."""

    def __init__(self, code_dim: int, tokens_side: int, hidden: int = 64):
        super().__init__()
        self.arch = {"code_dim": code_dim, "tokens_side": tokens_side, "hidden": hidden}
        layers, side, cin = [], tokens_side, code_dim
        while side > 1:                                           # "a few downsampling convolutional layers"
            layers += [nn.Conv2d(cin, hidden, 3, stride=2, padding=1), nn.LeakyReLU(0.1)]
            side, cin = (side + 1) // 2, hidden
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(cin * side * side, 2)                # "and a fully connected layer"

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """E's latent features ``z`` [N, F, h, w] (before quantisation) -> positions [N, 2]; shape checked."""
        a = self.arch
        check_shape(z, "z", (None, a["code_dim"], a["tokens_side"], a["tokens_side"]), "[N, F, h, w]")
        return torch.sigmoid(self.fc(self.convs(z).flatten(1)))   # [N, 2]


def frame_spectrogram(audio: torch.Tensor, n_fft: int = 128, hop: int = 32, size: tuple = (32, 8)) -> torch.Tensor:
    """Per-frame log-magnitude STFT: ``audio`` [B, T, S] (S samples per video frame) -> [B, T, 1, F', T'] in
    [-1, 1], the STFT of each frame's own slice, resized to ``size`` = (frequency bins, time steps). A token
    builder's first step: the audio must be finite floats with more than ``n_fft // 2`` samples per frame."""
    check_shape(audio, "audio", (None, None, None), "[B, T, S] (S samples per video frame)")
    b, t, s = audio.shape
    if s <= n_fft // 2:
        raise InputError(f"audio: the STFT (n_fft {n_fft}, centred) needs more than {n_fft // 2} samples per video "
                         f"frame, got S = {s} in {tuple(audio.shape)}")
    if audio.numel() and not bool(torch.isfinite(audio).all()):
        raise InputError("audio: contains NaN or inf values")
    window = torch.hann_window(n_fft, device=audio.device)
    spec = torch.stft(audio.reshape(b * t, s), n_fft, hop_length=hop, window=window, center=True,
                      return_complex=True).abs()                           # [B*T, n_fft/2 + 1, frames]
    spec = torch.log1p(50 * spec)                                         # compress the dynamic range
    spec = F.interpolate(spec[:, None], size=size, mode="bilinear", align_corners=False)
    spec = (spec / 4.0).clamp(0, 1) * 2 - 1                                # [-1, 1] (log1p(50 |X|) < ~4 here)
    return spec.view(b, t, 1, *size)


class SoundAutoencoder(nn.Module):
    """Encoder / quantiser / decoder for a frame's spectrogram [N, 1, F', T'] (App. A), no F."""

    def __init__(self, num_codes: int, code_dim: int, hidden: int = 64, downsample: int = 2, seed: int = 0):
        super().__init__()
        enc = [nn.Conv2d(1, hidden, 1), nn.LeakyReLU(0.1)]
        dec = [nn.Conv2d(code_dim, hidden, 3, padding=1), nn.LeakyReLU(0.1)]
        for _ in range(downsample):
            enc += [nn.Conv2d(hidden, hidden, 4, stride=2, padding=1), nn.LeakyReLU(0.1)]
            dec += [nn.ConvTranspose2d(hidden, hidden, 4, stride=2, padding=1), nn.LeakyReLU(0.1)]
        enc += [nn.Conv2d(hidden, code_dim, 3, padding=1)]
        dec += [nn.Conv2d(hidden, 1, 1)]
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)
        self.quantizer = VectorQuantizer(num_codes, code_dim, ema=True, restart_threshold=0.05)
        self.downsample = downsample

    def check_spectrogram(self, spec: torch.Tensor, values: bool = True) -> torch.Tensor:
        """Spectrograms [N, 1, F', T'] with F', T' multiples of ``2^downsample`` and, if ``values``, values in
        [-1, 1] (as :func:`frame_spectrogram` makes them; reading them is a host sync on a GPU)."""
        return check_video(spec, name="spec", rank=4, channels=1, size_multiple=2 ** self.downsample, values=values)

    def encode(self, spec: torch.Tensor) -> QuantizerOutput:
        """Spectrograms [N, 1, F', T'] -> quantiser output (shape checked; :meth:`tokens` checks the values)."""
        self.check_spectrogram(spec, values=False)
        return self.quantizer(self.encoder(spec))

    def forward(self, spec: torch.Tensor) -> tuple[torch.Tensor, QuantizerOutput]:
        quant = self.encode(spec)
        return torch.tanh(self.decoder(quant.z_q)), quant

    @torch.no_grad()
    def tokens(self, spec: torch.Tensor) -> torch.Tensor:
        """Spectrograms [N, 1, F', T'] -> tokens [N, h_a * w_a] (a public entry: values checked)."""
        self.check_spectrogram(spec)
        was = self.training
        self.eval()
        try:
            return self.encode(spec).codes.flatten(1)
        finally:
            self.train(was)
