"""The inference-toolkit functions and schema v1, called directly with real image bytes."""
from __future__ import annotations

import base64
import json

import boto3
import numpy as np
import pytest
from moto import mock_aws

from clickseg_widget.clicks import Click
from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.protocol.masks import mask_to_rle
from clickseg_widget.io.images import load_image
from clickseg_widget.models.base import Segmenter
from clickseg_widget.models.registry import get_segmenter
from clickseg_widget.serving import handler
from clickseg_widget.serving.handler import ServingModel, handle_invocation
from clickseg_widget.protocol.schema import (
    ImageReference,
    SchemaError,
    SegmentRequest,
    parse_request,
    parse_response,
    sha256_hex,
)


@pytest.fixture(scope="module")
def sample(grabcut_dir):
    item = load_samples(grabcut_dir, limit=1)[0]
    truth, ignore = load_mask(item.mask_path)
    clicker = Clicker(truth, ignore)
    return {"bytes": item.image_path.read_bytes(), "path": item.image_path, "clicker": clicker, "extremes": clicker.extreme_clicks()}


@pytest.fixture()
def model():
    return ServingModel(get_segmenter("grabcut"), model_version="test-1", cache_size=2)


def request_bytes(reference: ImageReference, clicks, previous=None, **options) -> bytes:
    return SegmentRequest(image=reference, clicks=tuple(clicks), previous_mask=previous, **options).to_bytes()


def invoke(model, body: bytes):
    data = handler.input_fn(body, "application/json")
    payload, content_type = handler.output_fn(handler.predict_fn(data, model), "application/json")
    assert content_type == "application/json"
    return parse_response(payload)


def test_first_mask_then_corrective_by_hash_match_in_process(model, sample):
    local = get_segmenter("grabcut")
    context = local.prepare(sample["bytes"])
    expected = local.predict(context, sample["extremes"])

    first = invoke(model, request_bytes(ImageReference(data=sample["bytes"]), sample["extremes"]))
    assert first.image_hash == sha256_hex(sample["bytes"])
    assert first.mask.shape == load_image(sample["path"]).shape[:2]
    np.testing.assert_array_equal(first.mask, expected.mask)
    assert first.backend == "grabcut" and first.model_version == "test-1"
    assert first.probability is None

    clicks = list(sample["extremes"]) + [sample["clicker"].next_click(expected.mask)]
    expected_next = local.predict(context, clicks, expected)
    body = request_bytes(ImageReference(hash=first.image_hash), clicks, mask_to_rle(first.mask))
    assert len(body) < 2000  # a corrective click does not carry the image
    second = invoke(model, body)
    np.testing.assert_array_equal(second.mask, expected_next.mask)
    assert second.timings["prepare_ms"] < second.timings["total_ms"]


def test_png_and_probability_are_returned_on_request(model, sample):
    body = request_bytes(ImageReference(data=sample["bytes"]), sample["extremes"], return_png=True, return_probability=True)
    raw = json.loads(handler.output_fn(handler.predict_fn(handler.input_fn(body, "application/json"), model), None)[0])
    response = parse_response(raw)
    png_mask = load_image(base64.b64decode(raw["png"]))[:, :, 0]
    np.testing.assert_array_equal(png_mask > 127, response.mask)
    assert response.probability is not None and response.probability.shape == response.mask.shape
    np.testing.assert_array_equal(response.probability >= 0.5, response.mask)


def test_unknown_hash_and_lru_eviction(model, sample, grabcut_dir):
    first = invoke(model, request_bytes(ImageReference(data=sample["bytes"]), sample["extremes"]))
    others = load_samples(grabcut_dir, limit=3)[1:]
    for other in others:  # cache_size=2: two more images evict the first
        truth, _ = load_mask(other.mask_path)
        invoke(model, request_bytes(ImageReference(data=other.image_path.read_bytes()), Clicker(truth).extreme_clicks()))
    with pytest.raises(SchemaError) as caught:
        handler.predict_fn(handler.input_fn(request_bytes(ImageReference(hash=first.image_hash), sample["extremes"]), "application/json"), model)
    assert caught.value.code == "unknown_image_hash" and caught.value.status == 404
    assert "re-send the image" in str(caught.value)


GOOD_CLICKS = [{"x": 10, "y": 10, "kind": "extreme"}]
MALFORMED = [
    (b"not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    ({"version": "2", "image": {"hash": "0" * 64}, "clicks": GOOD_CLICKS}, "version '2' is not supported"),
    ({"version": "1", "image": {"png": "x"}, "clicks": GOOD_CLICKS}, "exactly one of"),
    ({"version": "1", "image": {"b64": "%%%"}, "clicks": GOOD_CLICKS}, "not valid base64"),
    ({"version": "1", "image": {"hash": "abc"}, "clicks": GOOD_CLICKS}, "64-character"),
    ({"version": "1", "image": {"s3_uri": "https://x/y"}, "clicks": GOOD_CLICKS}, "s3://bucket/key"),
    ({"version": "1", "image": {"hash": "0" * 64}, "clicks": []}, "non-empty list"),
    ({"version": "1", "image": {"hash": "0" * 64}, "clicks": [{"x": 1, "y": 2, "kind": "tap"}]}, "clicks[0]: unknown click kind"),
    ({"version": "1", "image": {"hash": "0" * 64}, "clicks": [{"x": "a", "y": 2, "kind": "extreme"}]}, "clicks[0].x must be a JSON number"),
    ({"version": "1", "image": {"hash": "0" * 64}, "clicks": GOOD_CLICKS, "previous_mask": [1]}, "COCO compressed RLE"),
    ({"version": "1", "image": {"hash": "0" * 64}, "clicks": GOOD_CLICKS, "options": {"return_png": "yes"}}, "true or false"),
    ({"version": "1", "image": {"hash": "0" * 64}, "clicks": GOOD_CLICKS, "extra": 1}, "unknown request fields"),
]


@pytest.mark.parametrize(("body", "message"), MALFORMED)
def test_malformed_requests_say_what_is_wrong(body, message):
    with pytest.raises(SchemaError) as caught:
        parse_request(json.dumps(body).encode() if isinstance(body, dict) else body)
    assert message in str(caught.value)
    assert 400 <= caught.value.status < 500


def test_bad_pixels_clicks_and_previous_mask_get_4xx(model, sample):
    cases = [
        (request_bytes(ImageReference(data=b"\x89PNG broken"), sample["extremes"]), "invalid_image"),
        (request_bytes(ImageReference(data=sample["bytes"]), [*sample["extremes"][:3]]), "invalid_clicks"),
        (request_bytes(ImageReference(data=sample["bytes"]), [*sample["extremes"][:3], Click(5000, 5, "extreme")]), "invalid_clicks"),
        (request_bytes(ImageReference(data=sample["bytes"]), sample["extremes"], mask_to_rle(np.zeros((4, 4), bool))), "invalid_previous_mask"),
    ]
    for body, code in cases:
        status, payload = handle_invocation(model, body, "application/json", "application/json")
        error = json.loads(payload)["error"]
        assert (status, error["code"]) == (400, code), error
        assert error["message"]
    status, payload = handle_invocation(model, b"{}", "text/csv", None)
    assert status == 415 and "application/json" in json.loads(payload)["error"]["message"]
    good = request_bytes(ImageReference(data=sample["bytes"]), sample["extremes"])
    status, payload = handle_invocation(model, good, "application/json", "text/csv")
    assert status == 406
    assert handle_invocation(model, good, "application/json; charset=utf-8", "*/*")[0] == 200


def test_backend_failure_is_a_500_not_a_crash(sample):
    class Broken(Segmenter):
        name = "broken"

        def encode(self, image):
            return {}

        def segment(self, context, clicks, previous):
            raise RuntimeError("CUDA out of memory")

    status, payload = handle_invocation(
        ServingModel(Broken(), "v"), request_bytes(ImageReference(data=sample["bytes"]), sample["extremes"]), "application/json", None
    )
    error = json.loads(payload)["error"]
    assert status == 500 and error["code"] == "internal_error" and "CUDA out of memory" in error["message"]


def test_image_from_s3(sample, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="images")
        s3.put_object(Bucket="images", Key="a/photo.jpg", Body=sample["bytes"])
        model = ServingModel(get_segmenter("grabcut"), "v", s3_reader=handler.boto3_s3_reader())
        response = invoke(model, request_bytes(ImageReference(s3_uri="s3://images/a/photo.jpg"), sample["extremes"]))
        assert response.image_hash == sha256_hex(sample["bytes"])
        status, payload = handle_invocation(
            model, request_bytes(ImageReference(s3_uri="s3://images/missing.jpg"), sample["extremes"]), "application/json", None
        )
    error = json.loads(payload)["error"]
    assert status == 400 and error["code"] == "s3_read_failed" and "s3:GetObject" in error["message"]


def test_a_box_start_and_a_corrective_click_over_the_wire(model, sample):
    from clickseg_widget.clicks import box_clicks

    truth = sample["clicker"].truth
    ys, xs = np.nonzero(truth)
    box = box_clicks(xs.min(), ys.min(), xs.max(), ys.max())
    local = get_segmenter("grabcut")
    expected = local.predict(local.prepare(sample["bytes"]), box)
    first = invoke(model, request_bytes(ImageReference(data=sample["bytes"]), box))
    np.testing.assert_array_equal(first.mask, expected.mask)
    clicks = [*box, Click(float(xs.mean()), float(ys.mean()), "positive")]
    second = invoke(model, request_bytes(ImageReference(hash=first.image_hash), clicks, mask_to_rle(first.mask)))
    assert second.mask.shape == truth.shape
    half_box = request_bytes(ImageReference(hash=first.image_hash), [box[0], clicks[-1]])
    status, payload = handle_invocation(model, half_box, "application/json", "application/json")
    error = json.loads(payload)["error"]
    assert (status, error["code"]) == (400, "invalid_clicks") and "two box corners" in error["message"]
