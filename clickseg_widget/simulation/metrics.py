"""IoU with an ignore band, NoC and percentiles, as the benchmarks report them."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..clicks import Click, ClickKind

BOUNDARY_TOLERANCE_PX = 2  # a boundary click is honoured when the mask's edge passes within this distance


def iou(prediction: np.ndarray, truth: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Intersection over union; pixels in ``ignore`` count for neither side."""
    prediction = prediction.astype(bool, copy=False)
    truth = truth.astype(bool, copy=False)
    if ignore is not None and ignore.any():
        keep = ~ignore
        prediction, truth = prediction & keep, truth & keep
    union = np.count_nonzero(prediction | truth)
    if union == 0:
        return 1.0
    return np.count_nonzero(prediction & truth) / union


def clicks_to_reach(ious: Sequence[float], threshold: float, cap: int) -> int:
    """Corrective clicks needed to reach ``threshold`` (0 = the extreme points suffice), capped."""
    for clicks, value in enumerate(ious):
        if value >= threshold:
            return min(clicks, cap)
    return cap


def percentiles(values: Sequence[float], points: Sequence[int] = (50, 90)) -> dict[str, float]:
    if not len(values):
        return {f"p{p}": float("nan") for p in points}
    return {f"p{p}": float(np.percentile(values, p)) for p in points}


def click_honoured(mask: np.ndarray, click: Click) -> bool:
    """Does the click's own pixel carry the label the click asked for?

    Positive: inside the mask; negative: outside; boundary: the mask's edge
    passes within ``BOUNDARY_TOLERANCE_PX`` (both labels occur in that disk).
    """
    height, width = mask.shape
    x, y = min(width - 1, max(0, int(click.x))), min(height - 1, max(0, int(click.y)))
    if click.kind is ClickKind.POSITIVE:
        return bool(mask[y, x])
    if click.kind is ClickKind.NEGATIVE:
        return not bool(mask[y, x])
    if click.kind is ClickKind.BOUNDARY:
        r = BOUNDARY_TOLERANCE_PX
        ys, xs = np.ogrid[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
        window = mask[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
        inside = (ys - y) ** 2 + (xs - x) ** 2 <= r * r
        values = window[inside]
        return bool(values.any() and not values.all())
    raise ValueError(f"only corrective clicks can be honoured, not {click.kind.value} clicks")
