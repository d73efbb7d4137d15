"""Shared fixtures: the benchmark data lives in ../shared/data beside the repo."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CLICKSEG_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))  # ../shared/data


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "grabcut").is_dir():
        pytest.fail(f"benchmark data not found at {SHARED_DATA}: place ../shared beside the repo or set CLICKSEG_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def grabcut_dir(shared_data: Path) -> Path:
    return shared_data / "grabcut"
