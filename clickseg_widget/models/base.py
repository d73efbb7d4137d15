"""The segmenter interface every backend implements.

Interactive labeling needs two costs kept apart, as in ``segment_anything``'s
predictor: ``prepare`` does the per-image work (decode, resize, features)
and returns it as an ``ImageContext``, ``predict`` is the cheap step run on
every click.  ``prepare`` keeps nothing: whoever needs prepared images again
(the widget for the shown image, the server by the hash clients send) holds
the contexts, like ``set_image`` in SAM's predictor.
"""
from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..clicks import Click, ClickSession, as_click_list, check_inside
from ..io.images import ImageSource, load_image


@dataclass
class ImageContext:
    """A decoded image plus whatever a backend precomputed for it."""

    image: np.ndarray
    features: dict[str, Any] = field(default_factory=dict)
    prepare_ms: float = 0.0
    # the segmenter's weights_version when the features were made: fine-tuning makes them stale
    weights_version: int = 0

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``, the order clicks use."""
        return self.width, self.height


@dataclass
class Prediction:
    """A mask at the original resolution with its probability map and timings (ms)."""

    mask: np.ndarray
    probability: np.ndarray
    score: float
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_probability(cls, probability: np.ndarray, timings: dict[str, float], threshold: float = 0.5) -> "Prediction":
        """Threshold a probability map; the score is the mean confidence inside the mask."""
        probability = probability.astype(np.float32, copy=False)
        mask = probability >= threshold
        score = float(probability[mask].mean()) if mask.any() else 0.0
        return cls(mask=mask, probability=probability, score=score, timings=timings)


class Segmenter(ABC):
    """Base class: the prepare/predict split, click checks, the model lock.

    Subclasses implement ``encode`` (per-image work) and ``segment``
    (per-click work); users call ``prepare`` and ``predict``.
    """

    name: str = "segmenter"

    def __init__(self) -> None:
        # held by prepare/predict and by anything that changes the model (fine-tuning), so a widget's
        # worker thread never predicts with half-updated weights
        self.lock = threading.RLock()
        # bumped by weights_changed(): contexts prepared with older weights are encoded again
        self.weights_version = 0

    # -- public API ---------------------------------------------------------
    def prepare(self, image: ImageSource | ImageContext) -> ImageContext:
        """Decode ``image`` and run the backend's per-image work; keep the context to reuse it."""
        if isinstance(image, ImageContext):
            return image
        start = time.perf_counter()
        pixels = load_image(image)  # decoding needs no model: other threads keep predicting meanwhile
        with self.lock:
            context = ImageContext(image=pixels, weights_version=self.weights_version)
            context.features = self.encode(pixels)
            context.prepare_ms = (time.perf_counter() - start) * 1000.0
            return context

    def weights_changed(self) -> None:
        """Call (holding ``lock``) after changing the model's weights, e.g. by fine-tuning."""
        self.weights_version += 1

    def predict(
        self,
        context: ImageContext | ImageSource,
        clicks: ClickSession | Sequence[Click],
        previous: "Prediction | np.ndarray | None" = None,
    ) -> Prediction:
        """Segment the object the clicks describe; ``previous`` is the last mask, if any."""
        with self.lock:
            return self._predict(context, clicks, previous)

    def _predict(
        self,
        context: ImageContext | ImageSource,
        clicks: ClickSession | Sequence[Click],
        previous: "Prediction | np.ndarray | None",
    ) -> Prediction:
        context = self.prepare(context)
        if context.weights_version != self.weights_version:
            context.features = self.encode(context.image)
            context.weights_version = self.weights_version
        click_list = as_click_list(clicks)
        validate_clicks(click_list, context.width, context.height)
        previous_mask = previous_as_mask(previous, context)
        start = time.perf_counter()
        prediction = self.segment(context, click_list, previous_mask)
        prediction.timings.setdefault("predict_ms", (time.perf_counter() - start) * 1000.0)
        if prediction.mask.shape != context.image.shape[:2]:
            raise RuntimeError(f"{self.name} returned a {prediction.mask.shape} mask for a {context.image.shape[:2]} image")
        return prediction

    # -- backend hooks -------------------------------------------------------
    @abstractmethod
    def encode(self, image: np.ndarray) -> dict[str, Any]:
        """Per-image work; the result is stored in ``ImageContext.features``."""

    @abstractmethod
    def segment(self, context: ImageContext, clicks: list[Click], previous: np.ndarray | None) -> Prediction:
        """Per-click work on validated clicks."""

    def describe(self) -> dict[str, Any]:
        """What the status line and RESULTS.md show about this backend."""
        return {"backend": self.name}


def validate_clicks(clicks: list[Click], width: int, height: int) -> None:
    """The same rules a ``ClickSession`` enforces, for plain click lists."""
    session = ClickSession((width, height))
    for click in clicks:
        check_inside(click, width, height)
        session.add(click)
    if not session.is_ready:
        raise ValueError(
            f"a mask needs the object's prompt first: four extreme points or two box corners ({len(clicks)} clicks given)"
        )


def previous_as_mask(previous: "Prediction | np.ndarray | None", context: ImageContext) -> np.ndarray | None:
    if previous is None:
        return None
    mask = previous.mask if isinstance(previous, Prediction) else np.asarray(previous)
    if mask.shape != context.image.shape[:2]:
        raise ValueError(
            f"previous mask has shape {mask.shape} but the image is {context.image.shape[:2]}: "
            "pass the mask predicted for this image"
        )
    return mask.astype(bool, copy=False)
