"""Brush and eraser strokes: the touch-up of a mask for the last pixels no model gets right."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..clicks import Click


@dataclass(frozen=True)
class Stroke:
    """A brush (``erase=False``) or eraser path in image pixels, made on the mask of ``clicks``."""

    points: tuple[tuple[float, float], ...]
    radius: float
    erase: bool
    clicks: tuple[Click, ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a stroke needs at least one point")
        if not self.radius > 0:
            raise ValueError(f"brush radius {self.radius} must be positive")

    def apply(self, mask: np.ndarray) -> np.ndarray:
        """A copy of ``mask`` with the stroke painted in (brush) or cut out (eraser)."""
        painted = np.zeros(mask.shape, np.uint8)
        points = [(int(round(x)), int(round(y))) for x, y in self.points]
        radius = max(1, int(round(self.radius)))
        for point in points:
            cv2.circle(painted, point, radius, 1, -1)
        for start, end in zip(points, points[1:]):
            cv2.line(painted, start, end, 1, 2 * radius)
        edited = mask.copy()
        edited[painted > 0] = not self.erase
        return edited


def apply_strokes(mask: np.ndarray, strokes: list[Stroke], clicks: tuple[Click, ...]) -> np.ndarray:
    """``mask`` (the model's for ``clicks``) with the strokes made on it, in order."""
    for stroke in strokes:
        if stroke.clicks == clicks:
            mask = stroke.apply(mask)
    return mask
