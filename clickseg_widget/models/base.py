"""The segmenter interface every backend implements.

Interactive labeling needs two costs kept apart, as in ``segment_anything``'s
predictor: ``prepare`` does the per-image work once (decode, resize,
features), ``predict`` is the cheap step run on every click.
"""
from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..clicks import Click, ClickSession, as_click_list, check_inside
from ..io.images import ImageSource, image_hash, load_image

DEFAULT_CACHE_SIZE = 8


@dataclass
class ImageContext:
    """A decoded image plus whatever a backend precomputed for it."""

    image: np.ndarray
    key: str
    features: dict[str, Any] = field(default_factory=dict)
    prepare_ms: float = 0.0

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
    """Base class: caching of prepared images by content hash, click checks.

    Subclasses implement ``encode`` (per-image work) and ``segment``
    (per-click work); users call ``prepare`` and ``predict``.
    """

    name: str = "segmenter"

    def __init__(self, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self.cache_size = cache_size
        self._cache: OrderedDict[str, ImageContext] = OrderedDict()
        # held by prepare/predict and by anything that changes the model (fine-tuning), so a widget's
        # worker thread never predicts with half-updated weights or races the cache
        self.lock = threading.RLock()

    # -- public API ---------------------------------------------------------
    def prepare(self, image: ImageSource | ImageContext) -> ImageContext:
        """Decode ``image`` and run the backend's per-image work, once per content."""
        if isinstance(image, ImageContext):
            return image
        with self.lock:
            return self._prepare(image)

    def _prepare(self, image: ImageSource) -> ImageContext:
        start = time.perf_counter()
        pixels = load_image(image)
        key = image_hash(pixels)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        context = ImageContext(image=pixels, key=key)
        context.features = self.encode(pixels)
        context.prepare_ms = (time.perf_counter() - start) * 1000.0
        self._cache[key] = context
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return context

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
        click_list = as_click_list(clicks)
        validate_clicks(click_list, context.width, context.height)
        previous_mask = previous_as_mask(previous, context)
        start = time.perf_counter()
        prediction = self.segment(context, click_list, previous_mask)
        prediction.timings.setdefault("predict_ms", (time.perf_counter() - start) * 1000.0)
        if prediction.mask.shape != context.image.shape[:2]:
            raise RuntimeError(f"{self.name} returned a {prediction.mask.shape} mask for a {context.image.shape[:2]} image")
        return prediction

    def clear_cache(self) -> None:
        self._cache.clear()

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
