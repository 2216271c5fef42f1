import math

import numpy as np
import pytest
import torch

from vidsynth_lite import io, viz


def smooth_video(t=10, h=32, w=48):
    """A moving colour gradient: easy for H.264, so the round-trip error measures the codec, not noise."""
    y = torch.linspace(-1, 1, h)[:, None]
    x = torch.linspace(-1, 1, w)[None, :]
    frames = [torch.stack([torch.sin(2 * x + 0.3 * i) * 0.8 + 0 * y, torch.cos(2 * y - 0.2 * i) * 0.8 + 0 * x,
                           (x * y) * 0.8]) for i in range(t)]
    return torch.stack(frames)  # [T, 3, H, W]


def test_video_round_trip_keeps_shape_count_and_pixels(tmp_path):
    video = smooth_video()
    path = io.write_video(tmp_path / "a.mp4", video, fps=10)
    back = io.read_video(path)
    assert back.shape == video.shape and back.dtype == torch.float32
    assert back.min() >= -1 and back.max() <= 1
    error = (back - video).abs().mean().item()
    assert error < 0.03, f"mean abs error {error:.4f} exceeds codec tolerance"  # 0.03 ~ 4 grey levels
    info = io.video_info(path)
    assert (info.frames, info.height, info.width, info.codec) == (10, 32, 48, "h264")
    assert math.isclose(info.fps, 10)


def test_read_video_clip_selection(tmp_path):
    video = smooth_video(t=12)
    path = io.write_video(tmp_path / "b.mp4", video)
    clip = io.read_video(path, start=2, num_frames=4, stride=3)  # frames 2, 5, 8, 11
    full = io.read_video(path)
    assert torch.equal(clip, full[2:12:3])
    with pytest.raises(io.VideoReadError, match="12 frames"):
        io.read_video(path, start=2, num_frames=5, stride=3)


def test_odd_sizes_are_padded_to_even_with_a_warning_naming_both_sizes(tmp_path):
    with pytest.warns(UserWarning, match="frames of 33x47 are written as 34x48"):
        path = io.write_video(tmp_path / "odd.mp4", smooth_video(h=33, w=47))
    back = io.read_video(path)
    assert back.shape[-2:] == (34, 48)
    assert (back[..., :33, :47] - smooth_video(h=33, w=47)).abs().mean() < 0.03


def _atoms(data: bytes) -> list[str]:
    """Top-level MP4 boxes in file order."""
    names, i = [], 0
    while i + 8 <= len(data):
        size = int.from_bytes(data[i:i + 4], "big")
        names.append(data[i + 4:i + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[i + 8:i + 16], "big")
        if size < 8:
            break
        i += size
    return names


def test_moov_atom_comes_before_the_media_data(tmp_path):
    """+faststart: a browser can start playing before the whole file has arrived (file and embedded bytes)."""
    for data in (io.write_video(tmp_path / "f.mp4", smooth_video()).read_bytes(),
                 io.video.encode_mp4(smooth_video())):
        atoms = _atoms(data)
        assert "moov" in atoms and "mdat" in atoms
        assert atoms.index("moov") < atoms.index("mdat"), atoms


@pytest.mark.parametrize("frames, message", [
    (smooth_video() * 127.5 + 127.5, r"must lie in \[-1, 1\], found values in \[25.5, 229.5\].*x / 127.5 - 1"),
    (smooth_video() * 1.5, r"must lie in \[-1, 1\].*clamp"),
    (torch.zeros(0, 3, 8, 8), "at least one frame"),
])
def test_write_video_refuses_out_of_range_values_and_empty_clips_writing_nothing(tmp_path, frames, message):
    with pytest.raises(ValueError, match=message):
        io.write_video(tmp_path / "x.mp4", frames)
    assert not list(tmp_path.iterdir()), "a refused write left a file behind"


def test_grey_frames_become_rgb(tmp_path):
    grey = smooth_video()[:, :1]
    assert io.read_video(io.write_video(tmp_path / "g.mp4", grey)).shape[1] == 3


@pytest.mark.parametrize("bad", [torch.zeros(3, 8, 8), torch.zeros(2, 4, 8, 8), torch.full((2, 3, 8, 8), float("nan"))])
def test_write_video_rejects_bad_frames(tmp_path, bad):
    with pytest.raises(ValueError, match="expected"):
        io.write_video(tmp_path / "x.mp4", bad)
    assert not list(tmp_path.iterdir()), "a failed write left a file behind"


def test_reader_errors_are_clear(tmp_path):
    with pytest.raises(io.VideoReadError, match="not found"):
        io.read_video(tmp_path / "missing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(io.VideoReadError, match="not a readable video|no decodable frame"):
        io.read_video(text)
    good = io.write_video(tmp_path / "good.mp4", smooth_video(t=20))
    data = good.read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(io.VideoReadError, match="truncated|corrupted|not a readable video"):
        io.read_video(truncated)


def test_video_html_embeds_a_capped_mp4_and_grid_has_one_row_per_video():
    batch = torch.rand(3, 6, 3, 16, 16) * 2 - 1
    html = viz.video_html(batch, caption="x < y")
    assert 'src="data:video/mp4;base64,' in html and "x &lt; y" in html
    big = torch.rand(2, 24, 3, 64, 64) * 2 - 1  # noise compresses badly: forces the cap to act
    capped = viz.video_html(big, max_kib=60)
    assert len(capped) < 60 * 1024 * 4 / 3 + 1000
    with pytest.raises(ValueError, match="does not fit"):
        viz.video_html(big, max_kib=1)
    grid = viz.frame_grid(batch, max_frames=4)
    assert grid.dtype == np.uint8 and grid.shape == (3 * 16 + 2 * 2, 4 * 16 + 3 * 2, 3)


def test_weights_round_trip_with_config_and_step(tmp_path):
    model = torch.nn.Linear(3, 2)
    path = io.save_weights(tmp_path / "w.safetensors", model, config={"width": 3}, step=7)
    state, meta = io.load_weights(path)
    assert meta["config"] == {"width": 3} and meta["step"] == 7
    for key, value in model.state_dict().items():
        assert torch.equal(state[key], value)


def test_loader_refuses_non_checkpoints(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(io.CheckpointError, match="not a checkpoint"):
        io.load_weights(junk)
    pickle_file = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, pickle_file)
    with pytest.raises(io.CheckpointError, match="not a checkpoint"):
        io.load_weights(pickle_file)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.ones(2)}, str(foreign))
    with pytest.raises(io.CheckpointError, match="not a vidsynth-lite checkpoint"):
        io.load_weights(foreign)
    with pytest.raises(io.CheckpointError, match="not found"):
        io.load_weights(tmp_path / "absent.safetensors")
    with pytest.raises(io.CheckpointError, match="weights_only"):
        io.load_state(junk)


def test_training_state_refuses_pickled_code(tmp_path):
    path = tmp_path / "state.pt"
    torch.save({"fn": print}, path)  # a pickled callable: weights_only must refuse it
    with pytest.raises(io.CheckpointError, match="weights_only"):
        io.load_state(path)


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "f.txt"
    io.write_text(target, "old")
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_damaged_weight_metadata_or_tensors_raise_checkpoint_errors_naming_the_file(tmp_path):
    from safetensors.torch import save_file

    state = {"w": torch.arange(6.0)}
    no_step = tmp_path / "no_step.safetensors"
    save_file(state, str(no_step), metadata={"format": io.checkpoint.WEIGHTS_FORMAT, "config": "{}"})
    with pytest.raises(io.CheckpointError, match=r"no_step\.safetensors.*damaged metadata.*'step'"):
        io.load_weights(no_step)
    good = io.save_weights(tmp_path / "good.safetensors", state, step=3)
    meta = {"format": io.checkpoint.WEIGHTS_FORMAT, "config": "{}", "step": "3", "extra": "{}",
            "sha256": io.checkpoint.tensor_digest(state)}
    flipped = tmp_path / "flipped.safetensors"
    save_file({"w": torch.arange(6.0) + torch.tensor([0, 0, 0, 1e-6, 0, 0])}, str(flipped), metadata=meta)
    with pytest.raises(io.CheckpointError, match=r"flipped\.safetensors.*SHA-256.*corrupted"):
        io.load_weights(flipped)
    assert io.load_weights(good)[1]["step"] == 3


def test_written_files_honour_the_umask(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        for path in (io.write_text(tmp_path / "a.txt", "x"), io.save_weights(tmp_path / "w.safetensors", {"w": torch.ones(1)}),
                     io.write_video(tmp_path / "v.mp4", smooth_video(t=2))):
            assert path.stat().st_mode & 0o777 == 0o644, path
        os.umask(0o077)
        assert io.write_text(tmp_path / "b.txt", "x").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
