"""The chapter-3 networks' sizes at the smoke profile, shared by the tests of chapter 3."""

import pytest

from vidsynth_lite.chapters.vqvae import VQVAEChapterConfig, model_configs
from vidsynth_lite.config import resolve


def smoke_sizes():
    """The three networks' sizes at the chapter's smoke profile (configs/vqvae/smoke.yaml)."""
    with pytest.MonkeyPatch.context() as env:
        env.delenv("VIDSYNTH_PROFILE", raising=False)
        return model_configs(resolve(VQVAEChapterConfig, {"profile": "smoke"}))
