"""Simulated user clicks from a ground-truth mask, the standard protocol.

Extreme points are the object's topmost, leftmost, bottommost and rightmost
pixels; a box start is the ground truth's bounding box (two corner clicks).  Each corrective click goes to the interior-most point of the largest
error (L2 distance transform of the padded error region, already-clicked
pixels excluded); it is positive when the missed region is deeper than the
spurious one.  ``mode="boundary"`` instead places the click on the true
object boundary nearest that point, as the original few-click tool's
annotators did.  ``jitter`` (pixels, Gaussian) imitates imprecise users.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..clicks import Click, ClickKind

MODES = ("standard", "boundary")
STARTS = ("extreme", "box")


class Clicker:
    def __init__(
        self,
        truth: np.ndarray,
        ignore: np.ndarray | None = None,
        mode: str = "standard",
        jitter: float = 0.0,
        seed: int = 0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown click mode {mode!r}: use one of {', '.join(MODES)}")
        self.truth = truth.astype(bool)
        if not self.truth.any():
            raise ValueError("the ground-truth mask is empty: there is no object to click")
        self.ignore = np.zeros_like(self.truth) if ignore is None else ignore.astype(bool)
        self.mode = mode
        self.jitter = float(jitter)
        self.rng = np.random.default_rng(seed)
        self.clicked = np.zeros_like(self.truth)
        self._boundary: np.ndarray | None = None

    def extreme_clicks(self) -> list[Click]:
        """Top, left, bottom, right: the middle pixel of each extreme row/column."""
        ys, xs = np.nonzero(self.truth)
        picks = []
        for coords, other, pick_max in ((ys, xs, False), (xs, ys, False), (ys, xs, True), (xs, ys, True)):
            edge = coords.max() if pick_max else coords.min()
            along = np.sort(other[coords == edge])
            middle = along[len(along) // 2]
            picks.append((middle, edge) if coords is ys else (edge, middle))
        clicks = []
        for x, y in picks:
            x, y = self._jittered(float(x), float(y), region=None)
            self.clicked[int(y), int(x)] = True
            clicks.append(Click(x, y, ClickKind.EXTREME))
        return clicks

    def box_clicks(self) -> list[Click]:
        """The ground truth's tight bounding box as two ``BOX`` corner clicks (top-left, bottom-right pixels)."""
        ys, xs = np.nonzero(self.truth)
        corners = ((float(xs.min()), float(ys.min())), (float(xs.max()), float(ys.max())))
        clicks = [Click(*self._jittered(x, y, region=None), ClickKind.BOX) for x, y in corners]
        if abs(clicks[0].x - clicks[1].x) < 1 or abs(clicks[0].y - clicks[1].y) < 1:
            # a one-pixel-wide object: its box needs some area to be a prompt
            clicks[1] = Click(min(clicks[0].x + 1, self.truth.shape[1] - 1), min(clicks[0].y + 1, self.truth.shape[0] - 1), ClickKind.BOX)
        return clicks

    def prompt_clicks(self, start: str) -> list[Click]:
        """The clicks that start the object: ``"extreme"`` points or a ``"box"``."""
        if start not in STARTS:
            raise ValueError(f"unknown start {start!r}: use one of {', '.join(STARTS)}")
        return self.extreme_clicks() if start == "extreme" else self.box_clicks()

    def next_click(self, prediction: np.ndarray) -> Click | None:
        """The next corrective click for ``prediction``, or None when nothing is wrong."""
        prediction = prediction.astype(bool)
        valid = ~self.ignore
        missed = self.truth & ~prediction & valid
        spurious = prediction & ~self.truth & valid
        missed_depth = _depth(missed) * ~self.clicked
        spurious_depth = _depth(spurious) * ~self.clicked
        if missed_depth.max() <= 0 and spurious_depth.max() <= 0:
            return None
        positive = missed_depth.max() > spurious_depth.max()
        depth = missed_depth if positive else spurious_depth
        y, x = (int(v) for v in np.unravel_index(int(np.argmax(depth)), depth.shape))
        region = missed if positive else spurious
        if self.mode == "boundary":
            self.clicked[y, x] = True  # else an unfixed error would snap to the same boundary click again
            x, y = self._nearest_boundary(x, y)
            kind = ClickKind.BOUNDARY
        else:
            kind = ClickKind.POSITIVE if positive else ClickKind.NEGATIVE
        fx, fy = self._jittered(float(x), float(y), region=None if kind is ClickKind.BOUNDARY else region)
        self.clicked[int(fy), int(fx)] = True
        return Click(fx, fy, kind)

    def _nearest_boundary(self, x: int, y: int) -> tuple[int, int]:
        if self._boundary is None:
            mask = self.truth.astype(np.uint8)
            eroded = cv2.erode(mask, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
            self._boundary = np.argwhere(mask > eroded)
        distances = (self._boundary[:, 0] - y) ** 2 + (self._boundary[:, 1] - x) ** 2
        by, bx = self._boundary[int(np.argmin(distances))]
        return int(bx), int(by)

    def _jittered(self, x: float, y: float, region: np.ndarray | None) -> tuple[float, float]:
        if self.jitter <= 0:
            return x, y
        height, width = self.truth.shape
        for _ in range(10):
            jx = float(np.clip(x + self.rng.normal(0, self.jitter), 0, width - 1))
            jy = float(np.clip(y + self.rng.normal(0, self.jitter), 0, height - 1))
            if region is None or region[int(jy), int(jx)]:
                return jx, jy
        return x, y


def _depth(region: np.ndarray) -> np.ndarray:
    """Distance of each region pixel to the region's edge, the image border counting as edge."""
    padded = np.pad(region, 1).astype(np.uint8)
    return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
