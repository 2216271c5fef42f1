"""One clear message per wrong input (vidsynth_lite.checks)."""

import pytest
import torch

from vidsynth_lite.checks import InputError, check_same_clips, check_video


@pytest.mark.parametrize("x, kwargs, words", [
    (torch.zeros(4, 3, 8, 8), {}, ["video", "5 dimensions", "(4, 3, 8, 8)"]),
    (torch.zeros(1, 4, 3, 8, 8, dtype=torch.uint8), {}, ["dtype torch.uint8", "x / 127.5 - 1"]),
    (torch.zeros(1, 4, 1, 8, 8), {}, ["3 channels"]),
    (torch.zeros(1, 9, 3, 8, 8), {"frames_multiple": 4}, ["T = 9", "multiple of 4"]),
    (torch.zeros(1, 4, 3, 12, 8), {"size_multiple": 8}, ["12x8", "multiples of 8"]),
    (torch.full((1, 4, 3, 8, 8), 255.0), {}, ["[-1, 1]", "255", "uint8-range"]),
    (torch.full((1, 4, 3, 8, 8), float("nan")), {}, ["NaN"]),
    (torch.zeros(1, 4, 3, 8, 8), {"size": 16}, ["16x16", "(1, 4, 3, 8, 8)"]),
    ([1, 2], {}, ["float tensor", "list"]),
])
def test_bad_videos_get_one_clear_message(x, kwargs, words):
    with pytest.raises(InputError) as info:
        check_video(x, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_good_video_passes_and_values_can_be_skipped():
    x = torch.rand(2, 8, 3, 16, 16) * 2 - 1
    assert check_video(x, frames_multiple=4, size_multiple=8, size=16) is x
    check_video(x * 100, values=False)                       # shape-only check: no host read
    check_video(torch.zeros(2, 3, 16, 16), rank=4)


def test_sets_of_different_clip_shapes_are_refused():
    with pytest.raises(InputError, match="same"):
        check_same_clips(torch.zeros(2, 8, 3, 8, 8), torch.zeros(2, 16, 3, 8, 8))
