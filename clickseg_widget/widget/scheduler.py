"""Model scheduling for the widget: which clicks to predict, on which prepared image, and who hears back.

Kept apart from the widget tree so its threading is tested on its own.  The
scheduler owns the one expensive per-image step (``prepare``, done once per
shown image and kept as the context) and runs predictions on a
``LatestJobWorker``: clicks made while the model runs are coalesced, and a
result that arrives for a draft that is no longer being edited (accepted,
reset, another image) is dropped.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Generic, Protocol, TypeVar

import numpy as np

from ..clicks import Click
from ..models.base import ImageContext, Prediction, Segmenter
from .worker import LatestJobWorker

# A mask back sooner than this needs no "predicting..." note: skipping it saves a status message (and the
# browser's re-layout for it) between a click's marker and its overlay.
PREDICTING_NOTICE_S = 0.2


class DraftLike(Protocol):
    """What the scheduler needs of the object being edited."""

    @property
    def clicks(self) -> tuple[Click, ...]: ...

    def previous_mask(self, clicks: tuple[Click, ...]) -> np.ndarray | None: ...


D = TypeVar("D", bound=DraftLike)


@dataclass(frozen=True)
class Result(Generic[D]):
    """A prediction for ``clicks`` of ``draft``, with the model's time in milliseconds."""

    draft: D
    clicks: tuple[Click, ...]
    prediction: Prediction
    model_ms: float


class PredictionScheduler(Generic[D]):
    """Runs ``segmenter`` for the latest requested clicks and reports back under ``lock``.

    ``is_current(draft)`` says whether results for ``draft`` still matter;
    ``on_result`` / ``on_error(err, draft, clicks)`` run only for current
    drafts; ``on_slow(draft, clicks)`` runs when the model is still busy on
    those clicks after ``notice_after_s``.
    """

    def __init__(
        self,
        segmenter: Segmenter,
        lock: threading.RLock,
        is_current: Callable[[D], bool],
        on_result: Callable[[Result[D]], None],
        on_error: Callable[[BaseException, D | None, tuple[Click, ...]], None],
        on_slow: Callable[[D, tuple[Click, ...]], None] = lambda draft, clicks: None,
        notice_after_s: float | None = None,
    ) -> None:
        self.segmenter = segmenter
        self._lock = lock
        self._is_current = is_current
        self._on_result = on_result
        self._on_error = on_error
        self._on_slow = on_slow
        self._notice_after_s = notice_after_s
        self._context: tuple[np.ndarray, ImageContext] | None = None
        self._worker = LatestJobWorker(on_error=lambda err: self._report_error(err, None, ()))

    @property
    def busy(self) -> bool:
        return self._worker.busy

    @property
    def dropped(self) -> int:
        """Requests superseded before they ran (how much coalescing happened)."""
        return self._worker.dropped

    def context(self, image: np.ndarray) -> ImageContext:
        """The image's prepared context, computed once per image (by identity) and kept."""
        cached = self._context
        if cached is None or cached[0] is not image:
            cached = self._context = (image, self.segmenter.prepare(image))
        return cached[1]

    def prepare(self, image: np.ndarray) -> None:
        """Prepare ``image`` in the background now, before its first click needs it."""
        def job() -> None:
            self.context(image)

        self._worker.submit(job)

    def request(self, draft: D, image: np.ndarray) -> None:
        """Predict ``draft``'s current clicks on ``image``; an older request still waiting is dropped."""
        clicks = draft.clicks
        notice_after = PREDICTING_NOTICE_S if self._notice_after_s is None else self._notice_after_s
        timer = threading.Timer(notice_after, self._announce, (draft, clicks))
        timer.daemon = True
        timer.start()

        def job() -> None:
            with self._lock:
                previous = draft.previous_mask(clicks)
            start = time.perf_counter()
            try:
                prediction = self.segmenter.predict(self.context(image), clicks, previous)
            except Exception as err:  # any backend failure (endpoint, timeout) must reach the user
                self._report_error(err, draft, clicks)
                return
            elapsed = (time.perf_counter() - start) * 1000.0
            with self._lock:
                if self._is_current(draft):
                    self._on_result(Result(draft, clicks, prediction, elapsed))

        self._worker.submit(job)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running; False if ``timeout`` passed first."""
        return self._worker.wait_idle(timeout)

    def close(self) -> None:
        self._worker.close()

    def _announce(self, draft: D, clicks: tuple[Click, ...]) -> None:
        with self._lock:
            if self._is_current(draft) and draft.clicks == clicks and self._worker.busy:
                self._on_slow(draft, clicks)

    def _report_error(self, err: BaseException, draft: D | None, clicks: tuple[Click, ...]) -> None:
        with self._lock:
            if draft is None or self._is_current(draft):
                self._on_error(err, draft, clicks)
