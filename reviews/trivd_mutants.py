"""Usage: PYTHONPATH=. python reviews/trivd_mutants.py MUTANT

MUTANT: repeat | bn_before_score | wrong_axis | frame_major | frozen_g_trains.

Apply one known GAN reimplementation bug to the package (in this process only) and run the test meant to
catch it: each must FAIL."""
import sys

import pytest
import torch

from vidsynth_lite.models.trivd import discriminators as dm
from vidsynth_lite.models.trivd import layers
from vidsynth_lite.models.trivd import training as tr

which = sys.argv[1]

if which == "repeat":          # bug 1: per-sample gain spread over frames with repeat (batch-major)
    orig = layers.FrameBatchNorm.forward

    def forward(self, x, y=None):
        bt, c, h, w = x.shape
        b = bt // self.frames
        x_hat = self.norm(x.reshape(b, self.frames * c, h, w)).view(bt, c, h, w)
        if not self.conditional:
            return orig(self, x, y)
        gain = 1 + self.gain(y).repeat(self.frames, 1).view(bt, c, 1, 1)
        offset = self.bias(y).repeat(self.frames, 1).view(bt, c, 1, 1)
        return x_hat * gain + offset
    layers.FrameBatchNorm.forward = forward
    test = "tests/test_trivd_models.py::test_each_sample_keeps_its_own_latent_across_its_frames"
elif which == "bn_before_score":   # bug 2: batch norm right before the final linear
    orig_init = dm.SubDiscriminator.__init__

    def init(self, kind, cfg):
        orig_init(self, kind, cfg)
        self.net.blocks.append(torch.nn.BatchNorm2d(cfg.channels * cfg.widths[-1]))
    dm.SubDiscriminator.__init__ = init
    test = "tests/test_trivd_models.py::test_discriminators_have_no_norm_before_their_score_and_their_scores_vary"
elif which == "wrong_axis":     # bug 3: Eq. 15 over the joint batch, then split
    def forward(self, *groups, generator=None):
        sizes = [len(g) for g in groups]
        video = torch.cat(groups, 0)
        out = [{} for _ in groups]
        for kind, sub in self.subs.items():
            r_x, r_xy = sub.scalars(self.view(kind, video, generator))
            o = layers.mixed_projection(r_x, r_xy)              # mixes real and fake samples
            for g, part in enumerate(o.split(sizes, 1)):          # the b' axis, not the batch axis
                out[g][kind] = part
        return out
    dm.Discriminator.forward = forward
    test = "tests/test_trivd_models.py::test_real_scores_do_not_depend_on_the_generated_group"
elif which == "frame_major":    # bug 3b: per-sample scalars read frame-major
    orig_scalars = dm.SubDiscriminator.scalars

    def scalars(self, view):
        r_x, r_xy = orig_scalars(self, view)
        b, t = r_x.shape
        return r_x.reshape(t, b).t().contiguous(), r_xy.reshape(t, b).t().contiguous()
    dm.SubDiscriminator.scalars = scalars
    test = "tests/test_trivd_models.py::test_per_sample_scalars_follow_their_own_sample"
elif which == "frozen_g_trains":  # bug 4: the D update also steps G (fake not detached, G in the D optimiser)
    def d_loss(G, D, real):
        fake = tr.generate_clip(G, real)
        scores_real, scores_fake = D(real, fake)
        return sum(tr.geometric_hinge_d_loss(scores_real[k], scores_fake[k]) for k in scores_real)
    tr.d_loss = d_loss
    test = "tests/test_trivd_models.py::test_d_update_leaves_g_alone_and_g_update_reaches_g"
else:
    raise SystemExit(f"unknown mutant {which}")
code = pytest.main(["-q", "-x", "-p", "no:cacheprovider", test])
print(f"MUTANT {which}: test exit code {code} -> {'CAUGHT' if code == 1 else 'NOT CAUGHT'}")
