"""Shared fixtures: the benchmark data lives in ../shared/data beside the repo."""
from __future__ import annotations

import os
import struct
import zlib
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


def _with_header_size(png: bytes, width: int, height: int) -> bytes:
    """A real PNG whose IHDR claims another size, as a decompression bomb's header does."""
    ihdr = bytearray(png[8:33])  # length, type, 13 data bytes, crc
    ihdr[8:16] = struct.pack(">II", width, height)
    ihdr[21:25] = struct.pack(">I", zlib.crc32(bytes(ihdr[4:21])))
    return png[:8] + bytes(ihdr) + png[33:]


@pytest.fixture(scope="session")
def with_header_size():
    return _with_header_size
