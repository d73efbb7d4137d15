"""The auto-labeling model of the simulator: prompts, training, threshold.

Protocol for machine labels (what the forecast assumes): a detector-like box
source gives each unlabeled object a box, simulated as the reference mask's
box with each side moved by Gaussian noise of ``box_noise`` x the box's size
(fixed per object); the click model receives the midpoints of that box's
four sides as its extreme points and predicts a mask; its ``score`` is the
label's confidence.  No other reference information reaches the model.
Human labels are the reference masks, optionally degraded (see
``degrade_mask``).  Any ``Segmenter`` works; ClickNet (``torch``) is
fine-tuned on the human labels, GrabCut has nothing to train.
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Callable, Sequence

import cv2
import numpy as np

from ..clicks import Click, ClickKind
from ..simulation.metrics import iou
from ..export.coco import mask_bbox
from ..models.base import Segmenter
from .matching import image_box_miou, mask_boxes

Trainer = Callable[[Segmenter, Sequence[np.ndarray], Sequence[np.ndarray]], list[float]]


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` of a non-empty mask, inclusive pixel edges."""
    if not np.any(mask):
        raise ValueError("the mask is empty: an object needs at least one pixel")
    x, y, width, height = mask_bbox(mask)
    return x, y, x + width - 1, y + height - 1


def detector_box(mask: np.ndarray, noise: float, rng: np.random.Generator) -> tuple[float, float, float, float]:
    """The reference box with each side moved by N(0, noise x side length), kept inside the image."""
    x0, y0, x1, y1 = mask_box(mask)
    return _moved_sides(mask.shape, (x0, y0, x1, y1), noise * (x1 - x0 + 1), noise * (y1 - y0 + 1), rng)


def worker_box(mask: np.ndarray, noise_px: float, rng: np.random.Generator) -> tuple[float, float, float, float]:
    """One worker's box around a mask: each side off by N(0, noise_px) pixels, kept inside the image."""
    return _moved_sides(mask.shape, mask_box(mask), noise_px, noise_px, rng)


def _moved_sides(
    shape: tuple[int, ...], box: tuple[float, float, float, float], sigma_x: float, sigma_y: float, rng: np.random.Generator
) -> tuple[float, float, float, float]:
    height, width = shape[:2]
    x0, y0, x1, y1 = box
    dx0, dx1 = rng.normal(0, sigma_x, 2) if sigma_x > 0 else (0.0, 0.0)
    dy0, dy1 = rng.normal(0, sigma_y, 2) if sigma_y > 0 else (0.0, 0.0)
    x0, x1 = _span(x0 + dx0, x1 + dx1, width)
    y0, y1 = _span(y0 + dy0, y1 + dy1, height)
    return x0, y0, x1, y1


def _span(low: float, high: float, size: int) -> tuple[float, float]:
    """Ordered, inside ``[0, size - 1]`` and at least one pixel apart (the click model needs an area)."""
    low, high = sorted((float(np.clip(low, 0, size - 1)), float(np.clip(high, 0, size - 1))))
    if high - low < 1:
        high = min(size - 1.0, low + 1.0)
        low = high - 1.0
    return low, high


def box_prompts(box: tuple[float, float, float, float]) -> list[Click]:
    """The midpoints of the box's sides as top, left, bottom, right extreme clicks."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return [
        Click(cx, y0, ClickKind.EXTREME),
        Click(x0, cy, ClickKind.EXTREME),
        Click(cx, y1, ClickKind.EXTREME),
        Click(x1, cy, ClickKind.EXTREME),
    ]


def degrade_mask(mask: np.ndarray, noise_px: float, rng: np.random.Generator) -> np.ndarray:
    """Imitate a careless annotator: grow or shrink the mask by |N(0, noise_px)| pixels.

    Keeps at least one pixel so a human label never loses its object.
    """
    if noise_px <= 0:
        return mask.copy()
    radius = int(round(abs(rng.normal(0, noise_px))))
    if radius == 0:
        return mask.copy()
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    operation = cv2.dilate if rng.random() < 0.5 else cv2.erode
    changed = operation(mask.astype(np.uint8), kernel).astype(bool)
    return changed if changed.any() else mask.copy()


def default_trainer(segmenter: Segmenter, epochs: int) -> Trainer | None:
    """ClickNet's ``fine_tune`` for the ``torch`` backend; None (nothing to train) for others."""
    if epochs < 1 or segmenter.name != "torch":
        return None

    def train(model: Segmenter, images: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> list[float]:
        from ..models.clicknet import fine_tune

        tuned = fine_tune(model, list(images), list(masks), epochs=epochs)
        history = tuned.last_fine_tune
        return [float(loss) for loss in history.losses] if history is not None else []

    return train


@dataclass
class MachineLabel:
    mask: np.ndarray
    confidence: float


def predict_label(segmenter: Segmenter, image: np.ndarray, box: tuple[float, float, float, float]) -> MachineLabel:
    prediction = segmenter.predict(image, box_prompts(box))
    return MachineLabel(prediction.mask, float(prediction.score))


def label_iou(task: str, predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mask IoU for segmentation; for bounding boxes the report's box mIoU of the masks' boxes."""
    if task == "bounding_box":
        return image_box_miou(mask_boxes(predicted), mask_boxes(truth))
    return iou(predicted, truth)


def prefix_lower_bounds(ious: Sequence[float], confidence: float | None) -> np.ndarray:
    """Per prefix of ``ious`` (most confident first): its mean IoU, or the one-sided lower bound at ``confidence``.

    The bound is the normal approximation ``mean - z * sd / sqrt(n)``; a single item has no spread to
    estimate, so it never clears a bound.  This is what tells whether a validation set is big enough.
    """
    values = np.asarray(ious, float)
    counts = np.arange(1, len(values) + 1)
    means = np.cumsum(values) / counts
    if confidence is None:
        return means
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    squares = np.cumsum(values**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        variances = np.where(counts > 1, (squares - counts * means**2) / (counts - 1), np.inf)
    spread = np.sqrt(np.maximum(variances, 0) / counts)
    return means - NormalDist().inv_cdf(confidence) * spread


def choose_threshold(
    scores: Sequence[float], ious: Sequence[float], target: float, min_support: int, confidence: float | None = None
) -> float:
    """The lowest confidence whose labels at or above it reach ``target`` mean IoU on validation.

    Takes the largest most-confident prefix (at least ``min_support`` items)
    whose mean IoU reaches the target; with ``confidence`` (e.g. 0.95) the
    prefix's one-sided lower bound must reach it, so a small or noisy
    validation set cannot admit labels whose mean only reached the target by
    chance.  ``inf`` (label nothing) when no prefix does.
    """
    if len(scores) != len(ious):
        raise ValueError("need one IoU per validation score")
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    sorted_scores = np.asarray(scores, float)[order]
    reaches = prefix_lower_bounds(np.asarray(ious, float)[order], confidence) >= target
    minimum = max(1, min_support)
    best = None
    for count in range(minimum, len(order) + 1):
        if reaches[count - 1]:
            best = count
    if best is None:
        return float("inf")
    # ties at the cut-off score would admit items outside the prefix: cut above them
    threshold = sorted_scores[best - 1]
    if best < len(order) and sorted_scores[best] == threshold:
        admitted = sorted_scores >= threshold
        if not reaches[int(admitted.sum()) - 1]:
            above = int((sorted_scores > threshold).sum())
            if above < minimum or not reaches[above - 1]:
                return float("inf")  # the tie cannot be split: no threshold keeps the rules
            return float(np.nextafter(threshold, np.inf))
    return float(threshold)
