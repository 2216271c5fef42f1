"""Issue 9 ("Reliability"), case by case: do what the user did and print what the code says, one line per case.

    PYTHONPATH=. VIDSYNTH_THREADS=1 .venv/bin/python reviews/issue9_cases.py      (about a minute on one thread)

Chapter 3's re-run with changed parameters is a notebook run (see reviews/issue9_cases.md for the commands).
Everything is written under a temporary folder.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import vidsynth_lite as vl
from vidsynth_lite.chapters.running import RunningConfig, TinyPredictor, moving_pattern, next_frame_loss
from vidsynth_lite.chapters.vqvae import VQVAEChapterConfig, model_configs
from vidsynth_lite.config import resolve
from vidsynth_lite.data import cache
from vidsynth_lite.models import vqvae as vqm

TMP = Path(tempfile.mkdtemp(prefix="issue9-"))
CLIPS = moving_pattern(16, 5, 16, seed=0)


def show(case: str, call) -> None:
    """Run ``call``; print its error (type and message on one line), or its result and any warning."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = call()
        said = f"OK -> {result!r}"[:160]
        if caught:
            said += f" | warning: {caught[0].message}"
    except Exception as error:  # noqa: BLE001 - printing what the user would see is the point
        said = f"{type(error).__name__}: {error}"
    print(f"{case}: {' '.join(said.split())}")


def folder(name: str) -> Path:
    path = TMP / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def fit(run_dir, steps=4, lr=3e-3, seed=0, width=8):
    torch.manual_seed(0)
    model = TinyPredictor(width)
    return vl.train.fit(model, next_frame_loss, vl.train.StepBatches(CLIPS, 4, seed=seed), steps=steps,
                        optimizer=torch.optim.Adam(model.parameters(), lr=lr), run_dir=run_dir, ckpt_every=2,
                        progress=False)


def resuming() -> None:
    for case, change in [("fit: other lr", {"lr": 5e-4}), ("fit: other seed", {"seed": 1}),
                         ("fit: fewer steps than saved", {"steps": 2}), ("fit: other width", {"width": 16})]:
        run = folder(case.replace(" ", "_").replace(":", ""))
        fit(run, steps=4)
        show(case, lambda run=run, change=change: fit(run, **{"steps": 6, **change}).resumed_from)
    run = folder("same")
    fit(run, steps=4)
    show("fit: same settings, more steps (resumes)", lambda: fit(run, steps=6).resumed_from)


def parameters() -> None:
    def ch3(**values):
        return lambda: resolve(VQVAEChapterConfig, {"profile": "smoke", **values})

    def ch0(**values):
        return lambda: resolve(RunningConfig, {"profile": "lite", **values})

    show("ch3 vq_lr=nan", ch3(vq_lr=float("nan")))
    show("ch3 temperatures=[]", ch3(temperatures=[]))
    show("ch3 temperatures=['hot']", ch3(temperatures=["hot"]))
    show("ch3 temperatures=[-1.0]", lambda: ch3(temperatures=[-1.0])().temperatures)
    show("ch3 frames=9", lambda: ch3(frames=9)().frames)
    show("ch0 interrupt_at=5 < ckpt_every=10", ch0(interrupt_at=5, ckpt_every=10, steps=60))
    show("ch3 seed=2**70", ch3(seed=2**70))
    configs = folder("configs")
    (configs / "running").mkdir(exist_ok=True)
    (configs / "running" / "lite.yaml").write_text("profile: lite\nsteps: [1, 2\n")
    os.environ["VIDSYNTH_CONFIGS"] = str(configs)
    show("malformed profile YAML", ch0())
    os.environ["VIDSYNTH_CONFIGS"] = str(TMP / "nowhere")
    show("VIDSYNTH_CONFIGS -> missing folder", ch0())
    del os.environ["VIDSYNTH_CONFIGS"]
    threads = os.environ.get("VIDSYNTH_THREADS")
    os.environ["VIDSYNTH_THREADS"] = "abc"
    show("VIDSYNTH_THREADS=abc", lambda: vl.runtime.start(resolve(RunningConfig, {"profile": "smoke"})))
    os.environ["VIDSYNTH_THREADS"] = threads or "1"


def atoms(data: bytes) -> list[str]:
    names, i = [], 0
    while i + 8 <= len(data):
        size = int.from_bytes(data[i:i + 4], "big")
        names.append(data[i + 4:i + 8].decode("latin-1"))
        size = int.from_bytes(data[i + 8:i + 16], "big") if size == 1 else size
        if size < 8:
            break
        i += size
    return names


def files() -> None:
    out = folder("videos")
    show("write_video 33x47", lambda: tuple(vl.io.read_video(vl.io.write_video(
        out / "odd.mp4", torch.rand(4, 3, 33, 47) * 2 - 1)).shape))
    show("write_video values in [0, 255]", lambda: vl.io.write_video(out / "u8.mp4", torch.rand(4, 3, 32, 32) * 255))
    show("write_video zero frames", lambda: vl.io.write_video(out / "zero.mp4", torch.zeros(0, 3, 32, 32)))
    print(f"  (files left by the two refused writes: {sorted(p.name for p in out.iterdir() if p.name != 'odd.mp4')})")
    path = vl.io.write_video(out / "fast.mp4", torch.rand(8, 3, 32, 32) * 2 - 1)
    show("write_video +faststart: top-level atoms", lambda: atoms(path.read_bytes()))

    bair = folder("bair") / "train" / "traj_0007"
    bair.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        Image.fromarray(np.zeros((48 if i == 2 else 64, 64, 3), np.uint8)).save(bair / f"{i}.png")
    show("BairFolder frames of mixed sizes", lambda: vl.data.real.BairFolder(bair.parents[1], frames=3)[0])

    root = folder("cache")
    world = vl.data.load("pushbot", "train", frames=4, size=32, length=3, seed=0)

    def damaged(case, damage):
        shutil.rmtree(root, ignore_errors=True)
        entry = cache.cached(world, root=root, progress=False).folder
        damage(entry)
        cache._VERIFIED.clear()                      # as in a new process
        show(case, lambda: len(cache.cached(world, root=root, progress=False)))
        show(case + " (next run)", lambda: len(cache.cached(world, root=root, progress=False)))

    damaged("cache: truncated video.npy", lambda f: (f / "video.npy").write_bytes((f / "video.npy").read_bytes()[:200]))
    damaged("cache: garbage meta.json", lambda f: (f / "meta.json").write_text("}{garbage"))
    shutil.rmtree(root, ignore_errors=True)
    save = np.save

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    np.save = no_space
    try:
        show("cache: full disk", lambda: cache.cached(world, root=root, progress=False))
    finally:
        np.save = save
    print(f"  (left in the cache folder: {sorted(os.listdir(root)) if root.exists() else []})")

    run = folder("ckpt-step")
    fit(run, steps=2)
    weights = vl.train.CheckpointStore(run).latest() / "model.safetensors"
    with safe_open(str(weights), "pt") as handle:
        meta = dict(handle.metadata())
    meta.pop("step")
    save_file(load_file(str(weights)), str(weights), metadata=meta)
    show("checkpoint weights without metadata 'step' (load_weights)", lambda: vl.io.load_weights(weights))
    show("checkpoint weights without metadata 'step' (resume)", lambda: fit(run, steps=4))
    run = folder("ckpt-dir")
    fit(run, steps=2)
    pointer = vl.train.CheckpointStore(run).root / "latest.json"
    pointer.write_text('{"step": 2}')
    show("latest.json without 'dir'", lambda: fit(run, steps=4))
    pointer.unlink()
    show("latest.json deleted as that message advises", lambda: fit(run, steps=4).resumed_from)
    run = folder("ckpt-flip")
    fit(run, steps=2)
    weights = vl.train.CheckpointStore(run).latest() / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    show("checkpoint: one flipped byte in the weights (resume)", lambda: fit(run, steps=4))
    show("checkpoint: one flipped byte in the weights (load_weights)", lambda: vl.io.load_weights(weights))

    results = folder("results")
    show("results_path('vqvae', root)", lambda: str(vl.reproduce.results_path("vqvae", results)))
    show("write_results('../evil', root=...)", lambda: vl.reproduce.write_results(
        "../evil", "smoke", {"a": 1}, {"n": 1}, environment={}, root=results / "r"))
    path = vl.reproduce.write_results("toy", "smoke", {"a": 1.5}, {"n": 3}, environment={}, root=results)
    path.write_text(path.read_text()[:40])
    show("truncated results JSON (read_results)", lambda: vl.reproduce.read_results("toy", results))
    show("truncated results JSON (Reproduction page)", lambda: vl.reproduce.report.overview(results))

    old = os.umask(0o022)
    try:
        modes = folder("umask")
        written = {"results": vl.reproduce.write_results("toy", "smoke", {"a": 1}, {"n": 1}, environment={},
                                                         root=modes),
                   "video": vl.io.write_video(modes / "v.mp4", torch.zeros(2, 3, 16, 16)),
                   "weights": vl.io.save_weights(modes / "w.safetensors", torch.nn.Linear(2, 2))}
    finally:
        os.umask(old)
    show("umask 022: modes of written files", lambda: {k: oct(stat.S_IMODE(v.stat().st_mode)) for k, v in written.items()})


class Pooled:
    """A feature network whose features have one size whatever the clip length (as I3D's time-averaged logits)."""

    name, hash, preprocessing = "syn-pooled", "pooled", "none"

    def __call__(self, videos):
        return videos.mean(dim=(1, 3, 4))                                   # [N, 3]


def models_and_metrics() -> None:
    cfg = resolve(VQVAEChapterConfig, {"profile": "smoke"})
    model = vqm.VideoVQVAE(model_configs(cfg).vqvae)
    t, s = cfg.frames, cfg.size
    show("VideoVQVAE given a 4-D tensor", lambda: model(torch.zeros(2, t, 3, s)))
    show("VideoVQVAE given values in [0, 255] (its loss)", lambda: vqm.vqvae_loss(model, torch.full((1, t, 3, s, s), 200.0)))
    show("TinyPredictor.rollout given values in [0, 255]", lambda: TinyPredictor(4).rollout(
        torch.full((1, 2, 3, 8, 8), 200.0), 3))
    clips = torch.rand(4, 8, 3, 16, 16) * 2 - 1
    nan = clips.masked_fill(clips > 0.99, float("nan"))
    show("fvd: real 8 frames, fake 4 frames", lambda: vl.metrics.fvd(clips, clips[:, :4], network=Pooled()))
    show("fvd: the same, as iterables of batches", lambda: vl.metrics.fvd(
        [clips[:2], clips[2:]], [clips[:2, :4], clips[2:, :4]], network=Pooled()))
    show("fvd: 4 real clips, 2 fake", lambda: vl.metrics.fvd(clips, clips[:2], network=Pooled()))
    show("fvd: fake with NaN", lambda: vl.metrics.fvd(clips, nan, network=Pooled()))
    show("fvd: real in [0, 255]", lambda: vl.metrics.fvd(clips * 127.5 + 127.5, clips, network=Pooled()))
    show("ssim: uint8 frames", lambda: vl.metrics.ssim(clips.to(torch.uint8), clips.to(torch.uint8)))
    show("fvd protocol", lambda: vl.metrics.fvd(clips, clips.flip(0), network=Pooled(), draws=2).protocol)


if __name__ == "__main__":
    try:
        resuming()
        parameters()
        files()
        models_and_metrics()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
