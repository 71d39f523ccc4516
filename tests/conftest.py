"""Test tiers and shared fixtures. The folder of a test decides its tier marker (see tests/README.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import repo_package

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BODYRIG_SHARED", REPO.parent / "shared"))
_TIERS = {"unit", "blender", "e2e", "real_blender"}

# Tests must not write into the user's cache: keep built assets inside the repo-local test cache.
os.environ.setdefault("BODYRIG_CACHE", str(REPO / ".venv" / "bodyrig-cache"))
# The Blender layer is imported as the package `bodyrig` (the repository root), as Blender imports the extension.
repo_package.install()


def pytest_collection_modifyitems(config, items):
    cuda = None
    for item in items:
        parts = Path(str(item.fspath)).relative_to(REPO).parts
        for tier in _TIERS.intersection(parts):
            item.add_marker(getattr(pytest.mark, tier))
        if "cuda" in item.keywords:
            if cuda is None:
                import torch

                cuda = torch.cuda.is_available()
            if not cuda:
                item.add_marker(pytest.mark.skip(reason="no CUDA device"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (design, golden vectors, photos): tests using it skip where it is absent on a user's machine,
    and fail in CI (CI=true), where a missing checkout must not pass silently."""
    if not SHARED.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"../shared ({SHARED}) is missing in CI: the golden-vector tests cannot run")
        pytest.skip("../shared is absent on this machine")
    return SHARED


@pytest.fixture(scope="session")
def golden_dir(shared_dir) -> Path:
    return shared_dir / "golden"


@pytest.fixture(scope="session")
def photos_dir(shared_dir) -> Path:
    return shared_dir / "data" / "photos"


@pytest.fixture(scope="session")
def tiny_data():
    from inference.body import tiny_model

    return tiny_model()
