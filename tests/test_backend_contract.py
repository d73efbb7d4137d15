"""Every registered backend keeps the ``Segmenter`` contract.

Adding a backend means: subclass ``Segmenter``, ``register`` it, pass these
tests.  The ``endpoint`` backend is run against a local server speaking the
SageMaker protocol (GrabCut behind it) through the real boto3 client.
"""
from __future__ import annotations

import boto3
import numpy as np
import pytest

from clickseg_widget.clicks import Click, box_clicks
from clickseg_widget.io.images import load_image
from clickseg_widget.models.base import ImageContext, Prediction, Segmenter
from clickseg_widget.models.registry import available, get_segmenter
from clickseg_widget.serving.app import create_app
from clickseg_widget.serving.handler import ServingModel
from clickseg_widget.serving.server import BackgroundServer
from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask


@pytest.fixture(scope="module")
def local_endpoint():
    with BackgroundServer(create_app(ServingModel(get_segmenter("grabcut"), model_version="contract"))) as server:
        yield server.url


def build(name: str, request: pytest.FixtureRequest) -> Segmenter:
    if name == "endpoint":
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        url = request.getfixturevalue("local_endpoint")
        return get_segmenter(name, endpoint_name="contract", endpoint_url=url, boto3_session=session)
    return get_segmenter(name)


@pytest.fixture(scope="module")
def flower(grabcut_dir):
    truth, ignore = load_mask(grabcut_dir / "masks" / "124080.png")
    return load_image(grabcut_dir / "images" / "124080.jpg"), truth, ignore


@pytest.fixture(params=available())
def segmenter(request) -> Segmenter:
    return build(request.param, request)


def test_prepare_then_predict_gives_a_full_resolution_mask(segmenter, flower):
    image, truth, ignore = flower
    context = segmenter.prepare(image)
    assert isinstance(context, ImageContext) and context.size == (image.shape[1], image.shape[0])
    np.testing.assert_array_equal(context.image, image)
    assert segmenter.prepare(context) is context
    clicker = Clicker(truth, ignore)
    clicks = clicker.extreme_clicks()
    first = segmenter.predict(context, clicks)
    _check_prediction(first, truth.shape)
    clicks.append(clicker.next_click(first.mask) or Click(1, 1, "negative"))
    second = segmenter.predict(context, clicks, previous=first)
    _check_prediction(second, truth.shape)
    assert "backend" in segmenter.describe()


def test_a_box_start_works_like_extreme_points(segmenter, flower):
    image, truth, _ = flower
    ys, xs = np.nonzero(truth)
    prediction = segmenter.predict(segmenter.prepare(image), box_clicks(xs.min(), ys.min(), xs.max(), ys.max()))
    _check_prediction(prediction, truth.shape)
    assert prediction.mask.any()


def test_bad_clicks_and_masks_are_refused_before_the_model_runs(segmenter, flower):
    image, truth, ignore = flower
    context = segmenter.prepare(image)
    extremes = Clicker(truth, ignore).extreme_clicks()
    with pytest.raises(ValueError, match="prompt first"):
        segmenter.predict(context, extremes[:3])
    with pytest.raises(ValueError, match="outside"):
        segmenter.predict(context, [*extremes, Click(image.shape[1], 0, "negative")])
    with pytest.raises(ValueError, match="previous mask has shape"):
        segmenter.predict(context, extremes, previous=np.zeros((3, 3), bool))


def test_contexts_made_before_new_weights_are_encoded_again(segmenter, flower):
    image, truth, ignore = flower
    context = segmenter.prepare(image)
    extremes = Clicker(truth, ignore).extreme_clicks()
    before = segmenter.predict(context, extremes)
    with segmenter.lock:
        segmenter.weights_changed()
    after = segmenter.predict(context, extremes)
    assert context.weights_version == segmenter.weights_version
    np.testing.assert_array_equal(after.mask, before.mask)  # the weights did not really change


def _check_prediction(prediction: Prediction, shape: tuple[int, int]) -> None:
    assert isinstance(prediction, Prediction)
    assert prediction.mask.shape == shape and prediction.mask.dtype == bool
    assert prediction.probability.shape == shape
    assert float(prediction.probability.min()) >= 0.0 and float(prediction.probability.max()) <= 1.0
    assert isinstance(prediction.score, float)
    assert prediction.timings.get("predict_ms", -1.0) >= 0.0
