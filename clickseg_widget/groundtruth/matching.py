"""Label quality against reference labels, the tutorial's way.

Boxes (the object-detection tutorial's ``compute_iou_bb``): predicted boxes,
most confident first, each take the unmatched reference box they overlap
most; a prediction that overlaps no unmatched reference (IoU 0) scores 0 and
uses up nothing, so a far false positive cannot steal a reference from a
later, good prediction.  Every unmatched reference adds a 0 (a miss); the
image's score is the mean.  Both empty is a perfect 1, one side empty a 0.
Masks: plain mask IoU.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..simulation.metrics import iou as mask_iou
from ..export.coco import mask_bbox
from .outputs import Box

__all__ = ["box_iou", "matched_ious", "image_box_miou", "mask_iou", "mask_boxes"]


def mask_boxes(mask: np.ndarray, class_id: int = 0, confidence: float | None = None) -> list[Box]:
    """The box around a mask's pixels as a one-box list (empty for an empty mask)."""
    if not np.any(mask):
        return []
    left, top, width, height = mask_bbox(mask)
    return [Box(class_id, left, top, width, height, confidence)]


def box_iou(a: Box, b: Box) -> float:
    ax0, ay0, ax1, ay1 = a.xyxy
    bx0, by0, bx1, by1 = b.xyxy
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def _most_confident_first(predicted: Sequence[Box]) -> list[Box]:
    """Descending confidence; ties (and missing confidences, taken as 0) latest box first, as the tutorial's
    reversed ascending sort orders them."""
    ascending = sorted(predicted, key=lambda box: box.confidence if box.confidence is not None else 0.0)
    return ascending[::-1]


def matched_ious(predicted: Sequence[Box], reference: Sequence[Box]) -> list[float]:
    """One IoU per predicted box (greedy, most confident first; 0 for a false positive) plus a 0 per missed reference."""
    unmatched = list(reference)
    scores = []
    for box in _most_confident_first(predicted):
        overlaps = [box_iou(box, ref) for ref in unmatched]
        best = int(np.argmax(overlaps)) if overlaps else -1
        if best < 0 or overlaps[best] <= 0.0:
            scores.append(0.0)  # overlaps nothing left: a false positive that leaves the references to others
            continue
        scores.append(overlaps[best])
        unmatched.pop(best)
    return scores + [0.0] * len(unmatched)


def image_box_miou(predicted: Sequence[Box], reference: Sequence[Box]) -> float:
    if not predicted and not reference:
        return 1.0
    if not predicted or not reference:
        return 0.0
    return float(np.mean(matched_ious(predicted, reference)))
