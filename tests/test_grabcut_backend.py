import numpy as np
import pytest

from clickseg_widget import Click, ClickSession, Prediction, get_segmenter
from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask
from clickseg_widget.simulation.metrics import iou
from clickseg_widget.models.grabcut import GrabCutSegmenter
from clickseg_widget.models.registry import available


@pytest.fixture(scope="module")
def flower(grabcut_dir):
    truth, ignore = load_mask(grabcut_dir / "masks" / "124080.png")
    return grabcut_dir / "images" / "124080.jpg", truth, ignore


def test_registry_names_backends():
    assert {"grabcut", "default"} <= set(available())
    assert isinstance(get_segmenter("grabcut"), GrabCutSegmenter)
    with pytest.raises(ValueError, match="unknown segmentation backend 'nope': choose one of"):
        get_segmenter("nope")
    segmenter = GrabCutSegmenter()
    assert get_segmenter(segmenter) is segmenter


def test_extreme_points_and_corrective_clicks_on_real_image(flower):
    path, truth, ignore = flower
    segmenter = GrabCutSegmenter()
    context = segmenter.prepare(path)
    clicker = Clicker(truth, ignore)
    session = ClickSession(context.size, clicker.extreme_clicks())
    first = segmenter.predict(context, session)
    assert first.mask.shape == truth.shape and first.mask.dtype == bool
    assert first.probability.shape == truth.shape and 0 < first.score <= 1
    assert iou(first.mask, truth, ignore) > 0.85
    click = clicker.next_click(first.mask)
    session.add(click)
    second = segmenter.predict(context, session, previous=first)
    assert iou(second.mask, truth, ignore) > 0.85
    assert "predict_ms" in second.timings


def test_negative_click_removes_region(flower):
    path, truth, ignore = flower
    segmenter = GrabCutSegmenter()
    context = segmenter.prepare(path)
    clicks = Clicker(truth, ignore).extreme_clicks()
    first = segmenter.predict(context, clicks)
    ys, xs = np.nonzero(first.mask)
    inside = Click(float(xs[len(xs) // 2]), float(ys[len(ys) // 2]), "negative")
    after = segmenter.predict(context, clicks + [inside], previous=first.mask)
    assert not after.mask[int(inside.y), int(inside.x)]
    assert after.mask.sum() < first.mask.sum()


def test_prepare_keeps_nothing_and_new_weights_make_contexts_encode_again(flower):
    path, truth, ignore = flower
    segmenter = GrabCutSegmenter()
    first = segmenter.prepare(path)
    again = segmenter.prepare(path.read_bytes())
    assert again is not first and np.array_equal(again.image, first.image)  # reuse is the caller's to keep
    assert segmenter.prepare(first) is first
    clicks = Clicker(truth, ignore).extreme_clicks()
    features = first.features
    segmenter.predict(first, clicks)
    assert first.features is features  # same weights: the prepared features are used as they are
    segmenter.weights_changed()
    segmenter.predict(first, clicks)
    assert first.features is not features and first.weights_version == segmenter.weights_version


def test_box_covering_whole_image_and_flat_image():
    segmenter = GrabCutSegmenter()
    image = np.zeros((40, 60, 3), np.uint8)
    image[10:30, 15:45] = 200
    clicks = [Click(30, 0, "extreme"), Click(0, 20, "extreme"), Click(30, 39, "extreme"), Click(59, 20, "extreme")]
    prediction = segmenter.predict(image, clicks)
    assert prediction.mask.shape == (40, 60)
    flat = segmenter.predict(np.full((40, 60, 3), 90, np.uint8), clicks)
    assert isinstance(flat, Prediction)


def test_large_image_returns_full_resolution_mask():
    image = np.zeros((8000, 8000, 3), np.uint8)
    image[2000:6000, 3000:5000] = (220, 40, 40)
    segmenter = GrabCutSegmenter()
    clicks = [Click(4000, 2000, "extreme"), Click(3000, 4000, "extreme"), Click(4000, 5999, "extreme"),
              Click(4999, 4000, "extreme")]
    prediction = segmenter.predict(image, clicks)
    truth = np.zeros((8000, 8000), bool)
    truth[2000:6000, 3000:5000] = True
    assert prediction.mask.shape == (8000, 8000)
    assert iou(prediction.mask, truth) > 0.95


def test_bad_clicks_and_previous_masks(flower):
    path, truth, ignore = flower
    segmenter = GrabCutSegmenter()
    context = segmenter.prepare(path)
    clicks = Clicker(truth, ignore).extreme_clicks()
    with pytest.raises(ValueError, match="prompt first: four extreme points or two box corners \\(3 clicks"):
        segmenter.predict(context, clicks[:3])
    with pytest.raises(ValueError, match="outside the 481x321 image"):
        segmenter.predict(context, clicks + [Click(900, 10, "positive")])
    with pytest.raises(ValueError, match="previous mask has shape \\(5, 5\\)"):
        segmenter.predict(context, clicks, previous=np.zeros((5, 5), bool))


def test_boundary_click_relabels_the_strip_on_the_wrong_side():
    import cv2

    from clickseg_widget.models.grabcut import seed_boundary_click

    prior = np.zeros((40, 40), bool)
    prior[10:30, 10:30] = True
    labels = np.where(prior, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    seed_boundary_click(labels, prior, (36, 20))  # outside: the object reaches out to x=36
    assert (labels[20, 30:36] == cv2.GC_FGD).all()
    labels = np.where(prior, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    seed_boundary_click(labels, prior, (25, 20))  # inside: the mask overshoots from x=27 on
    assert (labels[20, 27:30] == cv2.GC_BGD).all() and labels[20, 25] == cv2.GC_PR_FGD
