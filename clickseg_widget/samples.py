"""Public-domain / CC0 sample images shipped in the package (see assets/samples/LICENSE.md)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLE_NAMES = ("cat", "coffee", "astronaut", "rocket")


def sample_dir() -> Path:
    return Path(str(resources.files("clickseg_widget") / "assets" / "samples"))


def sample_images() -> list[Path]:
    """Paths of the shipped sample images, in a stable order."""
    return [sample_dir() / f"{name}.jpg" for name in SAMPLE_NAMES]


def sample_image(name: str) -> Path:
    if name not in SAMPLE_NAMES:
        raise ValueError(f"no sample image {name!r}: choose one of {', '.join(SAMPLE_NAMES)}")
    return sample_dir() / f"{name}.jpg"
