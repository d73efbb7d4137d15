"""Masks as polygons (OpenCV contours), outer boundaries and holes kept apart."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..protocol.masks import as_binary


@dataclass
class Polygon:
    """An outer ring with its holes, as lists of ``(x, y)`` vertices."""

    exterior: list[tuple[float, float]]
    holes: list[list[tuple[float, float]]]

    def single_ring(self) -> list[tuple[float, float]]:
        """The exterior with every hole spliced in through a zero-width cut (a "keyhole").

        COCO and YOLO polygons are filled outlines with no way to say "hole":
        extra rings are unioned.  Walking out to each hole along a cut, around
        it and back keeps the hole when any polygon filler rasterises the ring.
        """
        ring = list(self.exterior)
        for hole in self.holes:
            distances = ((np.array(ring)[:, None, :] - np.array(hole)[None, :, :]) ** 2).sum(-1)
            at_ring, at_hole = np.unravel_index(int(distances.argmin()), distances.shape)
            ring = ring[: at_ring + 1] + hole[at_hole:] + hole[: at_hole + 1] + ring[at_ring:]
        return ring


def mask_to_polygons(mask: np.ndarray, tolerance: float = 1.0, min_area: float = 4.0) -> list[Polygon]:
    """Simplify contours with Douglas-Peucker (``tolerance`` in pixels); tiny specks are dropped."""
    binary = as_binary(mask).astype(np.uint8)
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hierarchy = hierarchy[0]
    polygons: list[Polygon] = []
    for index, contour in enumerate(contours):
        if hierarchy[index][3] != -1 or cv2.contourArea(contour) < min_area:
            continue  # holes are collected under their parent below
        holes = []
        child = hierarchy[index][2]
        while child != -1:
            if cv2.contourArea(contours[child]) >= min_area:
                holes.append(_ring(contours[child], tolerance))
            child = hierarchy[child][0]
        polygons.append(Polygon(_ring(contour, tolerance), holes))
    return polygons


def polygons_to_mask(polygons: list[Polygon], height: int, width: int) -> np.ndarray:
    """Rasterise polygons back, holes cut out: the inverse used to check fidelity."""
    canvas = np.zeros((height, width), np.uint8)
    for polygon in polygons:
        cv2.fillPoly(canvas, [np.round(np.array(polygon.exterior)).astype(np.int32)], 1)
        for hole in polygon.holes:
            # a hole's contour runs on the object pixels around it: cut inside, keep the ring
            ring = np.round(np.array(hole)).astype(np.int32)
            cv2.fillPoly(canvas, [ring], 0)
            cv2.polylines(canvas, [ring], True, 1)
    return canvas.astype(bool)


def _ring(contour: np.ndarray, tolerance: float) -> list[tuple[float, float]]:
    simplified = cv2.approxPolyDP(contour, tolerance, True) if tolerance > 0 else contour
    return [(float(x), float(y)) for x, y in simplified.reshape(-1, 2)]
