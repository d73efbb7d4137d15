"""Consolidate several workers' boxes of one object into one label with a confidence.

Ground Truth sends each box task to several workers and its consolidation
merges their boxes into one; the label's confidence says how much the workers
agreed.  Here the consolidated box is the mean of the workers' box edges,
rounded to whole pixels as Ground Truth's box output is, and its confidence
the mean IoU of each worker's box with it: 1.0 when all drew the same box,
lower as they disagree.  One worker has nobody to agree with: confidence 0,
as Ground Truth reports for a single worker.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from .matching import box_iou
from .outputs import Box


def consolidate_boxes(worker_boxes: Sequence[Box]) -> Box:
    """One object's worker boxes -> the consolidated box, confidence = the workers' mean IoU with it."""
    if not worker_boxes:
        raise ValueError("consolidation needs at least one worker's box")
    if len({box.class_id for box in worker_boxes}) > 1:
        raise ValueError("the workers' boxes of one object must share one class: group them by class first")
    edges = np.array([box.xyxy for box in worker_boxes], float).mean(axis=0).round()
    left, top, right, bottom = (float(value) for value in edges)
    merged = Box(worker_boxes[0].class_id, left, top, max(1.0, right - left), max(1.0, bottom - top))
    agreement = float(np.mean([box_iou(box, merged) for box in worker_boxes])) if len(worker_boxes) > 1 else 0.0
    return replace(merged, confidence=agreement)


def box_from_corners(corners: tuple[float, float, float, float], class_id: int = 0) -> Box:
    """``(x0, y0, x1, y1)`` with inclusive pixel edges (``autolabel.mask_box``) -> a whole-pixel left/top/width/height box."""
    x0, y0, x1, y1 = (round(value) for value in corners)
    return Box(class_id, x0, y0, max(1, x1 - x0 + 1), max(1, y1 - y0 + 1))


def box_mask(box: Box, shape: tuple[int, int]) -> np.ndarray:
    """The box's pixels as a mask of ``shape`` (clipped to the image), so a box label travels as a mask."""
    mask = np.zeros(shape, bool)
    left, top = max(0, int(round(box.left))), max(0, int(round(box.top)))
    mask[top : int(round(box.top + box.height)), left : int(round(box.left + box.width))] = True
    if not mask.any():
        raise ValueError(f"box {box.xyxy} lies outside the {shape[1]}x{shape[0]} image")
    return mask
