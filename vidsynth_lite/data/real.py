"""Loaders for real video data: any folder of video files (UCF-101, Kinetics, Sky time-lapse, ...) and BAIR robot
pushing in its common converted form (one folder of PNG frames per trajectory).

Both return ``torch.utils.data.Dataset`` items shaped like the synthetic worlds' (``video`` ``[T, 3, H, W]``
float32 in [-1, 1] plus annotations), so a chapter's ``full`` profile can swap a world for the real benchmark.

Expected layouts (written out in chapter 1):

- UCF-101 / Kinetics / any labelled set: ``root/<class name>/<clip>.avi|mp4|mkv|webm|gif`` (any depth below
  the class folder); ``labels=True`` turns the first folder level into ``label`` (classes sorted by name).
- Sky time-lapse, FaceForensics, VoxCeleb, iPER, DTDB: ``root/**/<clip>.<ext>`` (unlabelled, ``labels=False``).
- BAIR (converted): ``root/<split>/<trajectory>/<frame>.png`` with frames numbered ``0.png, 1.png, ...`` (any
  name with one integer in it sorts numerically; ``.jpg`` frames work too), and optionally ``actions.npy`` ``[T, A]`` and ``states.npy``
  (or ``endeffector_positions.npy``) ``[T, S]`` in the trajectory folder.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from vidsynth_lite.io.video import VideoReadError, count_frames, decode_frames

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".gif", ".mov", ".m4v", ".mpg", ".mpeg")


def _probe(path: Path) -> int:
    """Number of frames in ``path``'s first video stream; raises ``VideoReadError`` if it cannot be decoded."""
    n = count_frames(path)      # from packets: cheap
    decode_frames(path, 0, 1)   # one frame must decode
    return n


def _resize_crop(frames: np.ndarray, size: int, crop_yx: tuple[float, float]) -> torch.Tensor:
    """``[T, H, W, 3]`` uint8 -> ``[T, 3, size, size]`` float in [-1, 1]: short side to ``size`` (area/antialiased
    resampling), then a square crop whose top-left is at fraction ``crop_yx`` of the free room."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()   # [T, 3, H, W]
    h, w = x.shape[-2:]
    s = size / min(h, w)
    nh, nw = max(size, round(h * s)), max(size, round(w * s))
    if (nh, nw) != (h, w):
        x = torch.nn.functional.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
    y0 = round(crop_yx[0] * (nh - size))
    x0 = round(crop_yx[1] * (nw - size))
    x = x[:, :, y0:y0 + size, x0:x0 + size]                                          # [T, 3, size, size]
    return (x / 127.5 - 1.0).clamp_(-1, 1).contiguous()


class VideoFolder(Dataset):
    """Every video file under ``root`` (recursively), one clip per file and item.

    Args:
        root: folder to scan (recursively) for files ending in ``extensions``.
        frames: frames per clip; ``stride``: take every ``stride``-th frame (the clip spans
            ``(frames - 1) * stride + 1`` source frames).
        size: output side; frames are resized so the short side is ``size``, then cropped square.
        offset: ``"random"`` (a start frame drawn per item from ``seed``, ``index`` and ``epoch`` -- call
            ``set_epoch`` to draw new ones), ``"center"``, or an int (the start frame, clamped to what fits).
        crop: ``"center"`` or ``"random"`` (drawn like the offset).
        labels: take ``label`` from the first folder level under ``root`` (UCF-101 / Kinetics layout).

    Files that cannot be opened or decoded, or that are shorter than one clip, are skipped with one warning that
    lists them; if no file is usable, ``ValueError`` says what was scanned.
    Items: ``video`` ``[frames, 3, size, size]``, ``start`` (first source frame), ``index``, and ``label``.
    """

    def __init__(self, root, *, frames: int = 16, stride: int = 1, size: int = 64, offset="random",
                 crop: str = "center", labels: bool = False, seed: int = 0, extensions=VIDEO_EXTENSIONS):
        root = Path(root)
        if not root.is_dir():
            raise ValueError(f"VideoFolder root {str(root)!r} is not a folder; expected a folder of video files")
        for name, value in (("frames", frames), ("stride", stride), ("size", size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not (offset in ("random", "center") or (isinstance(offset, int) and not isinstance(offset, bool)
                                                    and offset >= 0)):
            raise ValueError(f"offset must be 'random', 'center' or a frame index >= 0, got {offset!r}")
        if crop not in ("center", "random"):
            raise ValueError(f"crop must be 'center' or 'random', got {crop!r}")
        self.root, self.frames, self.stride, self.size = root, frames, stride, size
        self.offset, self.crop, self.seed, self.epoch = offset, crop, int(seed), 0
        exts = tuple(e.lower() for e in extensions)
        candidates = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts)
        span = (frames - 1) * stride + 1
        self.files: list[Path] = []
        self.lengths: list[int] = []
        bad, short = [], []
        for p in candidates:
            try:
                n = _probe(p)
            except VideoReadError as error:
                bad.append(f"{p.relative_to(root)} ({str(error).split('(', 1)[-1].rstrip(')')})")
                continue
            if n < span:
                short.append(f"{p.relative_to(root)} ({n} frames < {span})")
                continue
            self.files.append(p)
            self.lengths.append(n)
        if bad or short:
            lines = [f"unreadable: {b}" for b in bad] + [f"too short: {s}" for s in short]
            warnings.warn(f"VideoFolder skipped {len(lines)} of {len(candidates)} files under {str(root)!r}:\n  "
                          + "\n  ".join(lines), stacklevel=2)
        if not self.files:
            raise ValueError(f"no usable video under {str(root)!r}: {len(candidates)} files with extensions "
                             f"{list(exts)} found, {len(bad)} unreadable, {len(short)} shorter than {span} frames")
        self.labels = labels
        if labels:
            rel = [p.relative_to(root).parts for p in self.files]
            if any(len(r) < 2 for r in rel):
                raise ValueError("labels=True needs the layout root/<class>/<clip>; some videos sit directly in root")
            self.classes = sorted({r[0] for r in rel})
            self.targets = [self.classes.index(r[0]) for r in rel]

    def set_epoch(self, epoch: int) -> None:
        """Draw new random offsets and crops (items stay a pure function of ``(seed, index, epoch)``)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict:
        index = int(index)
        if not 0 <= index < len(self.files):
            raise IndexError(f"index {index} out of range for {len(self.files)} videos")
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, index, self.epoch]))
        room = self.lengths[index] - ((self.frames - 1) * self.stride + 1)
        if self.offset == "random":
            start = int(rng.integers(0, room + 1))
        elif self.offset == "center":
            start = room // 2
        else:
            start = min(int(self.offset), room)
        crop = tuple(rng.random(2)) if self.crop == "random" else (0.5, 0.5)
        raw = decode_frames(self.files[index], start, self.frames, self.stride)  # [T, H, W, 3] uint8
        item = {"video": _resize_crop(raw, self.size, crop), "start": start, "index": index,
                "path": str(self.files[index])}
        if self.labels:
            item["label"] = self.targets[index]
        return item


def _frame_number(path: Path) -> int:
    digits = re.findall(r"\d+", path.stem)
    if not digits:
        raise ValueError(f"BAIR frame {str(path)!r} has no frame number in its name")
    return int(digits[-1])


class BairFolder(Dataset):
    """BAIR robot pushing converted to PNG folders: ``root/<split>/<trajectory>/<n>.png`` (+ actions, states).

    ``frames`` first frames of each trajectory (BAIR has 30; the papers use 16 or 30), resized to ``size``.
    Items: ``video`` ``[frames, 3, size, size]``, and ``actions`` / ``state`` tensors when the trajectory folder
    holds ``actions.npy`` / ``states.npy`` (or ``endeffector_positions.npy``), cut to the same frames.
    """

    def __init__(self, root, split: str = "train", *, frames: int = 30, size: int = 64):
        base = Path(root) / split
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if not base.is_dir():
            raise ValueError(f"BAIR folder {str(base)!r} not found; expected root/{split}/<trajectory>/<n>.png")
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
            raise ValueError(f"frames must be a positive int, got {frames!r}")
        self.frames, self.size = frames, size
        self.trajectories = []
        skipped = []
        for d in sorted(p for p in base.iterdir() if p.is_dir()):
            pngs = sorted([*d.glob("*.png"), *d.glob("*.jpg")], key=_frame_number)
            if len(pngs) >= frames:
                self.trajectories.append((d, pngs[:frames]))
            else:
                skipped.append(f"{d.name} ({len(pngs)} frames)")
        if skipped:
            warnings.warn(f"BairFolder skipped {len(skipped)} trajectories shorter than {frames} frames: "
                          + ", ".join(skipped), stacklevel=2)
        if not self.trajectories:
            raise ValueError(f"no trajectory with >= {frames} PNG frames under {str(base)!r}")

    def __len__(self) -> int:
        return len(self.trajectories)

    def __getitem__(self, index: int) -> dict:
        from PIL import Image
        folder, pngs = self.trajectories[int(index)]
        images = []
        for p in pngs:
            try:
                with Image.open(p) as image:
                    images.append(np.asarray(image.convert("RGB")))
            except OSError as error:
                raise VideoReadError(f"BAIR trajectory {folder.name!r}: frame {str(p)!r} cannot be read "
                                     f"({type(error).__name__}: {error})") from error
            if images[-1].shape != images[0].shape:
                h0, w0 = images[0].shape[:2]
                h, w = images[-1].shape[:2]
                raise VideoReadError(f"BAIR trajectory {folder.name!r}: frame {str(p)!r} is {h}x{w} but "
                                     f"{pngs[0].name} is {h0}x{w0}; every frame of a trajectory must have the "
                                     "same size")
        raw = np.stack(images)                                                     # [T, H, W, 3]
        item = {"video": _resize_crop(raw, self.size, (0.5, 0.5)), "index": int(index)}
        for key, names in (("actions", ("actions.npy",)), ("state", ("states.npy", "endeffector_positions.npy"))):
            for name in names:
                if (folder / name).is_file():
                    arr = np.load(folder / name, allow_pickle=False)
                    item[key] = torch.from_numpy(np.asarray(arr[: self.frames], np.float32))
                    break
        return item
