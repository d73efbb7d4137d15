"""IoU with an ignore band, NoC and percentiles, as the benchmarks report them."""
from __future__ import annotations

from typing import Sequence

import numpy as np


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
