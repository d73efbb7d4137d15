"""Browser fixtures: a real JupyterLab server and headless Debian Chromium per test."""
from __future__ import annotations

from pathlib import Path

import pytest

from browser_harness import CHROMIUM, Lab, chromium_page, jupyter_lab


@pytest.fixture
def lab(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    with jupyter_lab(root) as server:
        yield server


@pytest.fixture
def page(lab: Lab):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    with chromium_page() as browser_page:
        yield browser_page
