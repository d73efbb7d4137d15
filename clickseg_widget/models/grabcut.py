"""Classical baseline: OpenCV GrabCut driven by the clicks.

The extreme points give the box (and, being on the object, foreground seeds);
a box start gives the box alone, GrabCut's native input;
corrective clicks become hard seeds; the previous mask initialises the
colour models.  GrabCut runs on a crop around the box resized to
``work_size`` so its cost does not grow with the photo's resolution.
"""
from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from ..clicks import Click, ClickKind, split_prompt
from .base import ImageContext, Prediction, Segmenter

# Soft values per GrabCut label, so the probability map says how sure GrabCut was.
_LABEL_PROBABILITY = np.zeros(4, np.float32)
_LABEL_PROBABILITY[[cv2.GC_BGD, cv2.GC_FGD, cv2.GC_PR_BGD, cv2.GC_PR_FGD]] = [0.0, 1.0, 0.3, 0.7]


class GrabCutSegmenter(Segmenter):
    name = "grabcut"

    def __init__(
        self,
        work_size: int = 384,
        margin: float = 0.1,
        iterations: int = 4,
        corrective_iterations: int = 2,
        click_radius: float = 0.025,
    ) -> None:
        super().__init__()
        self.work_size = work_size
        self.margin = margin
        self.iterations = iterations
        self.corrective_iterations = corrective_iterations
        self.click_radius = click_radius

    def encode(self, image: np.ndarray) -> dict[str, Any]:
        # GrabCut needs BGR; converting once per image keeps clicks cheap.
        return {"bgr": cv2.cvtColor(image, cv2.COLOR_RGB2BGR)}

    def segment(self, context: ImageContext, clicks: list[Click], previous: np.ndarray | None) -> Prediction:
        start = time.perf_counter()
        height, width = context.image.shape[:2]
        prompt, _ = split_prompt(clicks)
        crop = crop_window(prompt, width, height, self.margin)
        x0, y0, x1, y1 = crop
        scale = min(1.0, self.work_size / max(x1 - x0, y1 - y0))
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        patch = cv2.resize(context.features["bgr"][y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)

        def to_patch(click: Click) -> tuple[int, int]:
            px = int(np.clip((click.x - x0) * scale, 0, size[0] - 1))
            py = int(np.clip((click.y - y0) * scale, 0, size[1] - 1))
            return px, py

        labels = self._initial_labels(prompt, to_patch, size, previous, crop, scale)
        prior = labels == cv2.GC_PR_FGD  # the previous mask (or the box) before any seed
        radius = max(1, round(self.click_radius * max(size)))
        for click in clicks:
            point = to_patch(click)
            if click.kind is ClickKind.NEGATIVE:
                cv2.circle(labels, point, radius, cv2.GC_BGD, -1)
            elif click.kind is ClickKind.POSITIVE:
                cv2.circle(labels, point, radius, cv2.GC_FGD, -1)
            elif click.kind is not ClickKind.BOX:  # extreme and boundary clicks lie on the object's edge
                if click.kind is ClickKind.BOUNDARY and previous is not None:
                    seed_boundary_click(labels, prior, point)
                cv2.circle(labels, point, 1, cv2.GC_FGD, -1)

        iterations = self.iterations if previous is None else self.corrective_iterations
        labels = run_grabcut(patch, labels, iterations)
        soft = _LABEL_PROBABILITY[labels]
        probability = np.zeros((height, width), np.float32)
        probability[y0:y1, x0:x1] = cv2.resize(soft, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        timings = {"grabcut_ms": (time.perf_counter() - start) * 1000.0}
        return Prediction.from_probability(probability, timings)

    def _initial_labels(self, extremes, to_patch, size, previous, crop, scale) -> np.ndarray:
        width, height = size
        labels = np.full((height, width), cv2.GC_BGD, np.uint8)
        points = np.array([to_patch(c) for c in extremes])
        bx0, by0 = points.min(axis=0)
        bx1, by1 = points.max(axis=0)
        if previous is None:
            labels[by0 : by1 + 1, bx0 : bx1 + 1] = cv2.GC_PR_FGD
        else:
            x0, y0, x1, y1 = crop
            prior = cv2.resize(previous[y0:y1, x0:x1].astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
            labels[:] = np.where(prior > 0, cv2.GC_PR_FGD, cv2.GC_PR_BGD)
            outside_box = np.ones_like(labels, bool)
            outside_box[by0 : by1 + 1, bx0 : bx1 + 1] = False
            labels[outside_box & (prior == 0)] = cv2.GC_BGD
        return labels


def crop_window(extremes: list[Click], width: int, height: int, margin: float) -> tuple[int, int, int, int]:
    """The prompt's box (extreme points or box corners) grown by ``margin`` (and at least 8 px), clipped to the image."""
    xs = [c.x for c in extremes]
    ys = [c.y for c in extremes]
    pad_x = max(8.0, margin * (max(xs) - min(xs)))
    pad_y = max(8.0, margin * (max(ys) - min(ys)))
    x0 = int(max(0, np.floor(min(xs) - pad_x)))
    y0 = int(max(0, np.floor(min(ys) - pad_y)))
    x1 = int(min(width, np.ceil(max(xs) + pad_x) + 1))
    y1 = int(min(height, np.ceil(max(ys) + pad_y) + 1))
    return x0, y0, x1, y1


def seed_boundary_click(labels: np.ndarray, prior: np.ndarray, point: tuple[int, int]) -> None:
    """A boundary click says the true edge passes here: the strip between it and the
    previous mask's edge lies on the wrong side, so relabel it.

    Outside the previous mask the object reaches out to the click (foreground);
    inside it the mask overshoots beyond the click (background).
    """
    x, y = point
    inside = bool(prior[y, x])
    others = np.argwhere(prior != inside)  # pixels on the other side of the previous edge
    if len(others) == 0:
        return
    ny, nx = others[int(np.argmin((others[:, 0] - y) ** 2 + (others[:, 1] - x) ** 2))]
    if inside:
        # keep the click itself (on the object); mark from just past it to beyond the old edge
        length = max(1.0, float(np.hypot(nx - x, ny - y)))
        start = (int(round(x + 2 * (nx - x) / length)), int(round(y + 2 * (ny - y) / length)))
        end = (int(round(nx + 2 * (nx - x) / length)), int(round(ny + 2 * (ny - y) / length)))
        cv2.line(labels, start, end, cv2.GC_BGD, 2)
    else:
        cv2.line(labels, (x, y), (int(nx), int(ny)), cv2.GC_FGD, 2)


def run_grabcut(patch: np.ndarray, labels: np.ndarray, iterations: int) -> np.ndarray:
    """GrabCut in mask mode; if one side has no samples (box = whole image), seed the border."""
    background = np.isin(labels, (cv2.GC_BGD, cv2.GC_PR_BGD))
    if not background.any():
        labels[[0, -1], :] = cv2.GC_PR_BGD
        labels[:, [0, -1]] = cv2.GC_PR_BGD
    if not np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).any():
        return labels
    bgd_model = np.zeros((1, 65), np.float64)
    fgd_model = np.zeros((1, 65), np.float64)
    # GrabCut's k-means init draws from OpenCV's per-thread RNG: seed it so the same clicks
    # give the same mask in any process or server thread.
    cv2.setRNGSeed(0)
    try:
        # no rect in mask mode (OpenCV's type stubs require one)
        cv2.grabCut(patch, labels, None, bgd_model, fgd_model, iterations, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload]
    except cv2.error:
        pass  # degenerate colour statistics (e.g. a flat patch): keep the seeds as the answer
    return labels
