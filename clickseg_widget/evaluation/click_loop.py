"""One object labeled by the simulated user, timed as an annotator feels it.

Evaluation (accuracy per click, NoC) and serving's latency profiles run the
same loop: prepare + the prompt's mask, then corrective clicks from the
click simulator, each timed on its own.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..io.images import ImageSource
from ..models.base import Segmenter
from ..simulation.clicker import Clicker
from ..simulation.metrics import click_honoured, iou


@dataclass
class ObjectResult:
    name: str
    ious: list[float]  # index 0: after the prompt (extreme points or box); i: after i corrective clicks
    first_ms: float  # prepare + the first mask
    corrective_ms: list[float] = field(default_factory=list)
    honoured: int = 0  # corrective clicks whose own pixel has the asked-for label in the final mask

    def iou_after(self, clicks: int) -> float:
        """IoU after ``clicks`` corrective clicks; a finished object keeps its last IoU."""
        return self.ious[min(clicks, len(self.ious) - 1)]


def label_object(
    segmenter: Segmenter,
    image: ImageSource,
    truth: np.ndarray,
    ignore: np.ndarray | None,
    clicker: Clicker,
    max_corrective: int,
    done: Callable[[list[float]], bool] = lambda ious: False,
    name: str = "object",
    start: str = "extreme",
) -> ObjectResult:
    """The ``start`` prompt ("extreme" points or a "box"), then up to ``max_corrective`` corrective clicks,
    fewer when the mask is perfect or ``done(ious)`` says so."""
    clicks = clicker.prompt_clicks(start)
    prompt_size = len(clicks)
    began = time.perf_counter()
    context = segmenter.prepare(image)
    if context.image.shape[:2] != truth.shape:
        raise ValueError(f"the mask of {name} is {truth.shape} but its image is {context.image.shape[:2]}")
    prediction = segmenter.predict(context, clicks)
    result = ObjectResult(name, [iou(prediction.mask, truth, ignore)], (time.perf_counter() - began) * 1000.0)
    while len(result.corrective_ms) < max_corrective and not done(result.ious):
        click = clicker.next_click(prediction.mask)
        if click is None:
            break  # a perfect mask: later clicks keep its IoU
        clicks.append(click)
        began = time.perf_counter()
        prediction = segmenter.predict(context, clicks, prediction)
        result.corrective_ms.append((time.perf_counter() - began) * 1000.0)
        result.ious.append(iou(prediction.mask, truth, ignore))
    result.honoured = sum(click_honoured(prediction.mask, click) for click in clicks[prompt_size:])
    return result
