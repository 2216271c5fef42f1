"""SynVideo: shapes, targets, batches as a function of the step (exact resume with train.fit), the shipped file."""

import json

import pytest
import torch

from vidsynth_lite import data
from vidsynth_lite.metrics import effective_dimension
from vidsynth_lite.metrics import syn_video as S
from vidsynth_lite.metrics import syn_video_train as T
from vidsynth_lite.train import fit


@pytest.fixture(scope="module")
def tiny():
    cfg = S.config("smoke")
    sets = {w: T.world_clips(w, "train", cfg, 3) for w in S.WORLDS}
    return cfg, sets


def test_forward_shapes_and_bad_input(tiny):
    cfg, _ = tiny
    m = S.SynVideo(cfg).eval()
    out = m(torch.zeros(2, 16, 3, 32, 32))
    assert out["video_features"].shape == (2, cfg.feature_dim)
    assert out["frame_features"].shape == (2, 16, cfg.frame_dim)
    assert out["order"].shape == (2, 3) and out["action"].shape == (2, 12)
    with pytest.raises(ValueError, match=r"\[B, T, 3, H, W\]"):
        m(torch.zeros(2, 3, 16, 32, 32))


def test_features_of_a_clip_do_not_depend_on_its_batch(tiny):
    cfg, sets = tiny
    m = S.SynVideo(cfg).eval()
    v = sets["pushbot"]["video"].float()
    with torch.no_grad():
        torch.testing.assert_close(m(v)["video_features"][:1], m(v[:1])["video_features"], atol=1e-5, rtol=1e-5)


def test_targets_follow_the_frame_order(tiny):
    _, sets = tiny
    s = sets["sky"]
    fwd, rev = s["clip_targets"][0, 0, :3], s["clip_targets"][0, 1, :3]        # cos, sin, speed
    torch.testing.assert_close(rev[:2], -fwd[:2], atol=1e-5, rtol=1e-4)       # reversed clouds move the other way
    torch.testing.assert_close(rev[2], fwd[2])
    item = data.load("sky", "train", frames=16, size=32, seed=0, length=1)[0]
    d = float(item["direction"])
    torch.testing.assert_close(fwd[:2], torch.tensor([torch.cos(torch.tensor(d)), torch.sin(torch.tensor(d))]),
                               atol=1e-4, rtol=1e-4)
    g = torch.Generator().manual_seed(0)
    b = T.make_batch(sets, {"pushbot": [0], "sky": [1]}, {"pushbot": [1], "sky": [1]}, g)
    assert b["order"].tolist() == [1, 0]                         # reversed pushing is its own class; clouds are not
    torch.testing.assert_close(b["frame_targets"][0], sets["pushbot"]["frame_targets"][0].flip(0))
    push = T.frame_columns("pushbot")
    assert b["frame_mask"][0].equal(push) and not (b["frame_mask"][0] & T.frame_columns("faces")).any()


def test_glow_follows_the_drums_renderer():
    hits = torch.zeros(6, 5).numpy()
    hits[1, 2] = 0.8
    hits[3, 2] = 0.3
    g = T._glow(hits)[:, 2].tolist()
    assert g == pytest.approx([0, 0.8, 0.4, 0.3, 0.15, 0.075])


def test_training_resumes_exactly_with_the_package_loop(tiny, tmp_path):
    """Batches are a function of the step: an interrupted fit continues to the same weights."""
    cfg, sets = tiny

    def run(folder, stop_at=None):
        torch.manual_seed(0)
        model = S.SynVideo(cfg)
        T.set_input_statistics(model, sets)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)

        def on_step(step, record):
            if step == stop_at:
                raise KeyboardInterrupt

        return fit(model, T.loss_fn, T.Batches(sets, cfg), steps=3, optimizer=opt, run_dir=folder,
                   ckpt_every=1, progress=False, on_step=on_step, device=torch.device("cpu")).model

    straight = run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", stop_at=2)
    resumed = run(tmp_path / "b")
    for (k, x), y in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(x, y), k


def test_effective_dimension_closed_form():
    x = torch.randn(4000, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    d = effective_dimension(x * torch.tensor([1.0, 1, 1, 1e-3, 1e-3, 1e-3]))
    assert d["participation_ratio"] == pytest.approx(3.0, rel=0.05) and d["dims_for_90pct"] == 3


@pytest.mark.skipif(not S.SHIPPED.is_file(), reason="shipped weights absent")
def test_shipped_weights_load_and_reproduce_their_recorded_number():
    model, report = S.load_file(S.SHIPPED)
    assert model.cfg == S.config("lite"), "the shipped file is the lite recipe of configs/metrics/syn_video"
    assert S.SHIPPED.stat().st_size < 5 * 2 ** 20
    side = json.loads(S.SHIPPED.with_suffix(".json").read_text())
    assert side["weights_hash"] == report["weights_hash"] == model.hash
    assert side["command"].startswith("python -m vidsynth_lite.metrics.syn_video_train")
    recorded = report["reference"]
    again = T.reference_number(model, n=recorded["n"])
    assert again["value"] == pytest.approx(recorded["value"], rel=1e-4)
    heads = report["heads"]
    assert heads["pushbot"]["forward_reversed_acc"] > 0.5 and heads["actions"]["action_acc"] > 1 / 12


def test_a_damaged_file_is_refused(tmp_path):
    from vidsynth_lite.io import save_weights
    cfg = S.config("smoke")
    m = S.SynVideo(cfg)
    path = tmp_path / "w.safetensors"
    save_weights(path, m, config={k: v for k, v in cfg.__dict__.items()}, extra={"weights_hash": "0" * 16})
    with pytest.raises(ValueError, match="damaged"):
        S.load_file(path)
