"""COCO RLE and COCO annotation JSON through pycocotools."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from pycocotools import mask as mask_utils

from ..io.atomic import atomic_write_json
from .png import as_binary


def _encode(mask: np.ndarray) -> dict[str, Any]:
    return mask_utils.encode(np.asfortranarray(as_binary(mask).astype(np.uint8)))


def _json_rle(rle: dict[str, Any]) -> dict[str, Any]:
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """Compressed COCO RLE with ``counts`` as a str (JSON-ready)."""
    return _json_rle(_encode(mask))


def rle_to_mask(rle: dict[str, Any]) -> np.ndarray:
    """Decode compressed (str/bytes counts) or uncompressed (list counts) COCO RLE."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError("an RLE must be an object with 'size' [height, width] and 'counts'")
    size = list(rle["size"])
    if len(size) != 2 or any(not isinstance(v, int) or v < 0 for v in size):
        raise ValueError(f"RLE size {size!r} must be [height, width] with non-negative integers")
    counts = rle["counts"]
    if isinstance(counts, list):
        if sum(counts) != size[0] * size[1]:
            raise ValueError(f"uncompressed RLE counts sum to {sum(counts)}, not {size[0]}x{size[1]}")
        encoded = mask_utils.frPyObjects({"size": size, "counts": counts}, *size)
    elif isinstance(counts, (str, bytes)):
        encoded = {"size": size, "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    else:
        raise ValueError("RLE counts must be a string (compressed) or a list of integers")
    try:
        decoded = mask_utils.decode(encoded)
    except Exception as err:  # pycocotools raises bare errors on corrupt counts
        raise ValueError(f"RLE counts do not decode for size {size}: {err}") from None
    return decoded.astype(bool)


def mask_bbox(mask: np.ndarray) -> list[float]:
    """``[x, y, width, height]`` of the mask's pixels, COCO's convention."""
    return [float(v) for v in mask_utils.toBbox(_encode(mask))]


def coco_annotation(
    mask: np.ndarray, image_id: int, annotation_id: int, category_id: int, **extra: Any
) -> dict[str, Any]:
    """One COCO instance annotation with RLE segmentation, bbox and area (one encode)."""
    rle = _encode(mask)
    return {
        "id": int(annotation_id),
        "image_id": int(image_id),
        "category_id": int(category_id),
        "segmentation": _json_rle(rle),
        "area": int(mask_utils.area(rle)),
        "bbox": [float(v) for v in mask_utils.toBbox(rle)],
        "iscrowd": 0,
        **extra,
    }


@dataclass
class CocoDataset:
    """Builds a COCO JSON (images, categories, annotations) one object at a time."""

    categories: Sequence[str]
    images: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(set(self.categories)) != len(self.categories):
            raise ValueError(f"class names must be unique, got {list(self.categories)}")
        self.categories = list(self.categories)

    def category_id(self, name: str) -> int:
        if name not in self.categories:
            raise ValueError(f"unknown class {name!r}: the dataset's classes are {self.categories}")
        return self.categories.index(name) + 1

    def add_image(self, file_name: str, width: int, height: int, image_id: int | None = None) -> int:
        image_id = image_id if image_id is not None else len(self.images) + 1
        self.images.append({"id": image_id, "file_name": file_name, "width": int(width), "height": int(height)})
        return image_id

    def add_annotation(self, image_id: int, mask: np.ndarray, category: str, **extra: Any) -> dict[str, Any]:
        image = next((im for im in self.images if im["id"] == image_id), None)
        if image is None:
            raise ValueError(f"image id {image_id} was not added to this dataset")
        if mask.shape != (image["height"], image["width"]):
            raise ValueError(
                f"mask shape {mask.shape} does not match image {image['file_name']} "
                f"({image['height']}x{image['width']})"
            )
        next_id = max((a["id"] for a in self.annotations), default=0) + 1
        annotation = coco_annotation(mask, image_id, next_id, self.category_id(category), **extra)
        self.annotations.append(annotation)
        return annotation

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": list(self.images),
            "annotations": list(self.annotations),
            "categories": [{"id": i + 1, "name": name} for i, name in enumerate(self.categories)],
        }

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_json(path, self.to_dict())
