"""Training windows for T (CCVS Sec. 3.3, "Training procedure": "we load a complete sequence (N frames
corresponding to L tokens)"), for each control.

The autoencoder turns every training clip into tokens once (``[N_clips, T, h w]``). An item of
:class:`TokenWindows` is one window stream of ``layout.block_size`` tokens cut from a clip at a position that
is a pure function of ``(seed, index)``, so batches (and resumed runs) are deterministic:

- prediction / state / audio / class: ``N`` consecutive frames (with their annotations, or the clip's label);
- point-to-point: ``N - 1`` consecutive frames starting at ``s`` and the end frame ``s + d``, with ``d`` drawn in
  ``[N - 1, max_end_distance]`` (the official data loader draws the end frame after the window in the same
  way), returned with ``d`` (the end frame's time index).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from vidsynth_lite.checks import InputError

from .inputs import check_count, check_tokens
from .transformer import TokenLayout


class TokenWindows(Dataset):
    """Windows of ``layout`` cut from ``codes`` [N, T, h w] (+ ``annotations`` [N, T, l_f], ``labels`` [N])."""

    def __init__(self, codes: torch.Tensor, layout: TokenLayout, *, annotations: torch.Tensor | None = None,
                 labels: torch.Tensor | None = None, crops_per_clip: int = 8, seed: int = 0):
        # every id is checked here, once (CPU data); items then build their streams without reading values
        check_tokens(codes, "codes", layout.frame_vocab, (None, None, layout.frame_tokens), "[N, T, h w]")
        n, t, _ = codes.shape
        if layout.frame_annotation:
            if annotations is None:
                raise InputError(f"annotations: this layout needs [N, T, {layout.frame_annotation}] per clip")
            check_tokens(annotations, "annotations", layout.annotation_vocab, (n, t, layout.frame_annotation),
                         "[N, T, l_f]", what="annotation values")
        if layout.classes:
            if labels is None:
                raise InputError(f"labels: this layout needs one label per clip, [N] in [0, {layout.classes})")
            check_tokens(labels, "labels", layout.classes, (n,), "[N]", what="class labels")
        check_count(crops_per_clip, "crops_per_clip", 1)
        need = layout.max_end_distance + 1 if layout.end_frame else layout.window
        if t < need:
            raise ValueError(f"clips of {t} frames are too short for this layout (need {need})")
        self.codes, self.layout, self.annotations, self.labels = codes, layout, annotations, labels
        self.crops, self.seed = crops_per_clip, seed

    def __len__(self) -> int:
        return len(self.codes) * self.crops

    def __getitem__(self, index: int) -> dict:
        lay = self.layout
        clip = index % len(self.codes)
        rng = np.random.default_rng([self.seed, int(index)])
        t = self.codes.shape[1]
        kw = {}
        if lay.end_frame:
            d = int(rng.integers(lay.window - 1, lay.max_end_distance + 1))      # end frame d frames after s
            s = int(rng.integers(0, t - d))
            frames = self.codes[clip, s:s + lay.window - 1]
            kw["end"] = self.codes[clip, s + d][None]
            item = {"end_distance": torch.tensor(d)}
        else:
            s = int(rng.integers(0, t - lay.window + 1))
            frames = self.codes[clip, s:s + lay.window]
            item = {}
        if lay.frame_annotation:
            kw["annotations"] = self.annotations[clip, s:s + frames.shape[0]][None]
        if lay.classes:
            kw["labels"] = self.labels[clip][None]
        item["stream"] = lay.stream(frames[None], **kw, values=False)[0]          # ids checked in __init__
        return item
