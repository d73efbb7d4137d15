"""YOLO segmentation labels: one text file per image, one line per object part.

Each line is ``<class index> x1 y1 x2 y2 ...`` with coordinates divided by
the image's width and height (Ultralytics' segment format).  The format has
no holes, so each outer boundary becomes one polygon with its holes spliced
in by keyhole cuts.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .polygons import mask_to_polygons


def yolo_segmentation_text(
    masks: Sequence[np.ndarray], class_ids: Sequence[int], tolerance: float = 1.0
) -> str:
    """The label file of one image: ``class_ids`` are 0-based indices into the dataset's class list."""
    if len(masks) != len(class_ids):
        raise ValueError(f"got {len(masks)} masks but {len(class_ids)} class ids: give one class per mask")
    lines = []
    for mask, class_id in zip(masks, class_ids):
        height, width = np.asarray(mask).shape
        for polygon in mask_to_polygons(mask, tolerance):
            points = " ".join(f"{x / width:.6f} {y / height:.6f}" for x, y in polygon.single_ring())
            lines.append(f"{int(class_id)} {points}")
    return "".join(line + "\n" for line in lines)


def yolo_dataset_yaml(class_names: Sequence[str]) -> str:
    """The ``data.yaml`` naming the classes in index order (quoted: class names are user text)."""
    names = "".join(f"  {index}: {_quoted(name)}\n" for index, name in enumerate(class_names))
    return f"path: .\ntrain: images\nval: images\nnames:\n{names}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
