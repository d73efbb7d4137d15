"""PredictionScheduler on its own: no widget tree, a blocking model, real threads."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from clickseg_widget.clicks import Click, ClickKind
from clickseg_widget.models.base import ImageContext, Prediction, Segmenter
from clickseg_widget.widget.scheduler import PredictionScheduler, Result


class GatedSegmenter(Segmenter):
    """A mask of the clicks' box; blocks until ``gate`` opens, counts prepares, can fail."""

    name = "gated"

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.prepared = 0
        self.calls: list[tuple[int, bool]] = []
        self.fail_with: Exception | None = None

    def prepare(self, image):
        self.prepared += not isinstance(image, ImageContext)  # predict() passes contexts through
        return super().prepare(image)

    def encode(self, image):
        return {}

    def segment(self, context, clicks, previous):
        self.entered.set()
        assert self.gate.wait(10)
        self.calls.append((len(clicks), previous is not None))
        if self.fail_with is not None:
            raise self.fail_with
        mask = np.zeros(context.image.shape[:2], np.float32)
        mask[5:20, 5:20] = 1
        return Prediction.from_probability(mask, {})


class FakeDraft:
    def __init__(self, clicks: tuple[Click, ...]) -> None:
        self.clicks = clicks
        self.previous: np.ndarray | None = None

    def previous_mask(self, clicks):
        return self.previous


BOX = (Click(2, 2, ClickKind.BOX), Click(30, 30, ClickKind.BOX))


@pytest.fixture
def parts():
    segmenter = GatedSegmenter()
    lock = threading.RLock()
    current: list[FakeDraft] = []
    results: list[Result] = []
    errors: list[tuple[BaseException, object, tuple]] = []
    slow: list[int] = []
    scheduler = PredictionScheduler(
        segmenter, lock, lambda draft: bool(current) and draft is current[-1],
        results.append, lambda err, draft, clicks: errors.append((err, draft, clicks)),
        lambda draft, clicks: slow.append(len(clicks)), notice_after_s=0.05,
    )
    yield segmenter, scheduler, current, results, errors, slow
    scheduler.close()


def test_each_image_is_prepared_once_and_its_context_kept(parts):
    segmenter, scheduler, current, results, _, _ = parts
    image = np.zeros((40, 40, 3), np.uint8)
    scheduler.prepare(image)
    draft = FakeDraft(BOX)
    current.append(draft)
    for extra in range(3):
        draft.clicks = BOX + (Click(10 + extra, 10),) * extra
        scheduler.request(draft, image)
        assert scheduler.wait(10)
    assert segmenter.prepared == 1 and len(results) == 3
    scheduler.request(draft, image.copy())  # another image: prepared anew
    assert scheduler.wait(10) and segmenter.prepared == 2


def test_requests_made_while_the_model_runs_are_coalesced_to_the_latest(parts):
    segmenter, scheduler, current, results, _, slow = parts
    image = np.zeros((40, 40, 3), np.uint8)
    draft = FakeDraft(BOX)
    current.append(draft)
    segmenter.gate.clear()
    scheduler.request(draft, image)
    assert segmenter.entered.wait(10)
    for n in (3, 4):
        draft.clicks = BOX + tuple(Click(10, 10 + i) for i in range(n - 2))
        scheduler.request(draft, image)
    draft.previous = np.ones((40, 40), bool)  # read when the job runs, not when it is queued
    assert wait_until(lambda: slow)  # the model is still busy after notice_after_s: the UI is told
    segmenter.gate.set()
    assert scheduler.wait(10)
    assert segmenter.calls == [(2, False), (4, True)] and scheduler.dropped == 1
    assert [len(r.clicks) for r in results] == [2, 4] and all(r.model_ms >= 0 for r in results)


def test_results_and_errors_of_a_draft_no_longer_edited_are_dropped(parts):
    segmenter, scheduler, current, results, errors, _ = parts
    image = np.zeros((40, 40, 3), np.uint8)
    old = FakeDraft(BOX)
    current.append(old)
    segmenter.gate.clear()
    scheduler.request(old, image)
    assert segmenter.entered.wait(10)
    current.append(FakeDraft(()))  # accepted / reset / next image meanwhile
    segmenter.gate.set()
    assert scheduler.wait(10) and results == []
    segmenter.fail_with = ConnectionError("late")
    scheduler.request(old, image)
    assert scheduler.wait(10) and errors == []


def test_a_model_error_reaches_the_callback_with_its_draft_and_clicks(parts):
    segmenter, scheduler, current, results, errors, _ = parts
    draft = FakeDraft(BOX)
    current.append(draft)
    segmenter.fail_with = TimeoutError("endpoint timed out")
    scheduler.request(draft, np.zeros((40, 40, 3), np.uint8))
    assert scheduler.wait(10)
    (err, who, clicks), = errors
    assert isinstance(err, TimeoutError) and who is draft and clicks == BOX and results == []


def wait_until(condition, timeout: float = 10.0) -> bool:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return False
