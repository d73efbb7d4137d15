"""COCO annotation JSON (RLE segmentation, bbox, area) through pycocotools."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from pycocotools import mask as mask_utils

from ..io.atomic import atomic_write_json
from ..protocol.masks import encode_rle, json_rle, rle_to_mask
from .polygons import mask_to_polygons


def coco_polygons_to_mask(polygons: list[list[float]], height: int, width: int) -> np.ndarray:
    """Rasterise a COCO polygon segmentation (flat ``[x1, y1, ...]`` lists, the object's parts) as COCO does."""
    if any(not isinstance(ring, list) or len(ring) < 6 or len(ring) % 2 for ring in polygons):
        raise ValueError("a COCO polygon is a flat [x1, y1, x2, y2, ...] list of at least 3 points")
    rles = mask_utils.frPyObjects([[float(v) for v in ring] for ring in polygons], height, width)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def segmentation_to_mask(segmentation: Any, height: int, width: int) -> np.ndarray:
    """A COCO annotation's segmentation, RLE or polygons, as a ``height`` x ``width`` mask."""
    if isinstance(segmentation, dict):
        mask = rle_to_mask(segmentation)
    elif isinstance(segmentation, list) and segmentation:
        mask = coco_polygons_to_mask(segmentation, height, width)
    else:
        raise ValueError("segmentation must be an RLE object or a list of polygons")
    if mask.shape != (height, width):
        raise ValueError(f"mask size {mask.shape} differs from its image's {height}x{width}")
    return mask


def mask_to_coco_polygons(mask: np.ndarray, tolerance: float = 1.0) -> list[list[float]]:
    """A mask as COCO polygons: one flat list per outer boundary, its holes kept by keyhole cuts."""
    return [[v for point in polygon.single_ring() for v in point] for polygon in mask_to_polygons(mask, tolerance)]


def mask_bbox(mask: np.ndarray) -> list[float]:
    """``[x, y, width, height]`` of the mask's pixels, COCO's convention."""
    return [float(v) for v in mask_utils.toBbox(encode_rle(mask))]


def coco_annotation(
    mask: np.ndarray, image_id: int, annotation_id: int, category_id: int, **extra: Any
) -> dict[str, Any]:
    """One COCO instance annotation with RLE segmentation, bbox and area (one encode)."""
    rle = encode_rle(mask)
    return {
        "id": int(annotation_id),
        "image_id": int(image_id),
        "category_id": int(category_id),
        "segmentation": json_rle(rle),
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
