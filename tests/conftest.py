"""Shared fixtures: paths to the real data, GPU skipping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HASHLIB_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder (../shared/data); tests that need it skip with a reason."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA} (set HASHLIB_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """A per-session cache folder, or HASHLIB_CACHE when set (reuses decoded datasets)."""
    env = os.environ.get("HASHLIB_CACHE")
    if env:
        return Path(env)
    return tmp_path_factory.mktemp("hashlib_cache")
