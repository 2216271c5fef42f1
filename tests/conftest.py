"""Shared test settings: results and runs go to temporary folders; one thread for repeatable floats."""

from __future__ import annotations

import pathlib

import pytest
import torch

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDSYNTH_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("VIDSYNTH_RUNS", str(tmp_path / "runs"))
    yield


@pytest.fixture
def repo() -> pathlib.Path:
    return REPO


def pytest_configure(config):
    torch.set_num_threads(1)
