"""Benchmark folders: ``images/`` and ``masks/`` matched by file stem.

A mask stem may add a suffix for further objects of one image
(``cat.png``, ``cat_1.png``).  GrabCut's 128 band is "ignore"; palette masks
(DAVIS) count every non-zero pixel as the object.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..io.images import IMAGE_SUFFIXES

IGNORE_VALUE = 128


@dataclass(frozen=True)
class Sample:
    """One object of a benchmark: its image, mask file and a name for reports."""

    name: str
    image_path: Path
    mask_path: Path


def benchmark_root(start: str | Path | None = None) -> Path:
    """Where the benchmark sets live: ``$CLICKSEG_SHARED_DATA``, else the nearest ``shared/data`` up from ``start``.

    The repository's convention is ``../shared/data`` beside the checkout; notebooks and scripts run
    from sub-folders, so we look upwards instead of assuming one working directory.
    """
    configured = os.environ.get("CLICKSEG_SHARED_DATA")
    if configured:
        return Path(configured)
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "shared" / "data"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "benchmark data not found: put the shared/ folder beside the repository or set CLICKSEG_SHARED_DATA"
    )


def load_samples(root: str | Path, limit: int | None = None) -> list[Sample]:
    """List the objects of a dataset folder, sorted by name for reproducible runs."""
    root = Path(root)
    images_dir, masks_dir = root / "images", root / "masks"
    if not images_dir.is_dir() or not masks_dir.is_dir():
        raise FileNotFoundError(f"{root} must hold an images/ and a masks/ folder (see ../shared/data/README.md)")
    images = {p.stem: p for p in sorted(images_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    samples = []
    for mask_path in sorted(masks_dir.iterdir()):
        if mask_path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        stem = mask_path.stem
        image_path = images.get(stem)
        if image_path is None and "_" in stem:
            image_path = images.get(stem.rsplit("_", 1)[0])
        if image_path is None:
            raise FileNotFoundError(f"mask {mask_path.name} has no image with the stem {stem!r} in {images_dir}")
        samples.append(Sample(stem, image_path, mask_path))
    if not samples:
        raise FileNotFoundError(f"{masks_dir} holds no masks")
    return samples if limit is None else samples[:limit]


DEVELOPMENT_BENCHMARK = "grabcut"
# Sets whose numbers must keep meaning something: never in a training pool.
HELD_OUT = {DEVELOPMENT_BENCHMARK: "the development benchmark", "ecssd": "a validation set", "pennfudan": "a validation set"}


def check_trainable(folder: str | Path) -> None:
    """Refuse to train on the development benchmark or a validation set: their numbers would stop meaning anything."""
    name = Path(folder).resolve().name
    if name in HELD_OUT:
        raise ValueError(
            f"{name} is {HELD_OUT[name]}, for evaluation only: never train on it "
            "(use coco_mval, davis345, the public training sets or your own labels)"
        )


def load_mask(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(object, ignore)`` boolean maps for a ground-truth mask file."""
    with Image.open(path) as img:
        palette = img.mode == "P"
        values = np.asarray(img if palette else img.convert("L"))
    if palette:
        return values > 0, np.zeros(values.shape, bool)
    ignore = values == IGNORE_VALUE
    return (values > IGNORE_VALUE), ignore
