"""Bounded cost per request: oversized masks, images, numbers and nesting are refused before work is done."""
from __future__ import annotations

import base64
import io
import json
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from clickseg_widget.export.groundtruth import label_map, read_label_map
from clickseg_widget.export.png import load_mask_png
from clickseg_widget.io.images import MAX_PIXELS, ImageError, load_image
from clickseg_widget.models.registry import get_segmenter
from clickseg_widget.protocol.masks import mask_to_rle, rle_to_mask
from clickseg_widget.protocol.schema import ImageReference, SegmentRequest
from clickseg_widget.serving.handler import ServingModel, handle_invocation
from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples


@pytest.fixture(scope="module")
def sample(grabcut_dir):
    item = load_samples(grabcut_dir, limit=1)[0]
    truth, ignore = load_mask(item.mask_path)
    return {"bytes": item.image_path.read_bytes(), "truth": truth, "extremes": Clicker(truth, ignore).extreme_clicks()}


@pytest.fixture()
def model():
    return ServingModel(get_segmenter("grabcut"), model_version="test", cache_size=2)


def call(model, body) -> tuple[int, dict]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, payload = handle_invocation(model, raw, "application/json", None)
    return status, json.loads(payload)


def first_answer(model, sample) -> dict:
    status, answer = call(model, SegmentRequest(ImageReference(data=sample["bytes"]), tuple(sample["extremes"])).to_json())
    assert status == 200
    return answer


def real_png(sample) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(sample["bytes"])).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_huge_declared_previous_mask_is_refused_without_allocating_it(model, sample):
    answer = first_answer(model, sample)
    clicks = [c.to_dict() for c in sample["extremes"]]
    body = {"version": "1", "image": {"hash": answer["image_hash"]}, "clicks": clicks, "previous_mask": {"size": [8000, 8000], "counts": "0"}}
    tracemalloc.start()
    try:
        status, error = call(model, body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (status, error["error"]["code"]) == (400, "invalid_previous_mask")
    assert "does not match the image" in error["error"]["message"]
    assert peak < 5_000_000, f"{peak} bytes allocated to refuse a 20-byte mask"


def test_previous_mask_runs_that_do_not_cover_the_image_are_refused(model, sample):
    answer = first_answer(model, sample)
    height, width = answer["height"], answer["width"]
    short = mask_to_rle(np.zeros((height, width - 1), bool))["counts"]
    body = {"version": "1", "image": {"hash": answer["image_hash"]}, "clicks": [c.to_dict() for c in sample["extremes"]],
            "previous_mask": {"size": [height, width], "counts": short}}
    status, error = call(model, body)
    assert (status, error["error"]["code"]) == (400, "invalid_previous_mask")
    assert f"not {height}x{width}" in error["error"]["message"]
    with pytest.raises(ValueError, match="middle of a run"):
        rle_to_mask({"size": [2, 2], "counts": "P"})


@pytest.mark.parametrize(
    ("x", "message"),
    [("10" + "0" * 400, "is not a number"), ('"240"', "clicks[0].x must be a JSON number"), ("true", "clicks[0].x must be a JSON number")],
    ids=["10**400", "string", "boolean"],
)
def test_oversized_and_string_coordinates_are_client_errors(model, sample, x, message):
    body = ('{"version": "1", "image": {"hash": "%s"}, "clicks": [{"x": %s, "y": 5, "kind": "extreme"}]}' % ("0" * 64, x)).encode()
    status, error = call(model, body)
    assert (status, error["error"]["code"]) == (400, "invalid_clicks"), error
    assert message in error["error"]["message"]


def test_deeply_nested_json_is_a_client_error(model):
    body = b'{"version": "1", "options": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, error = call(model, body)
    assert status == 400 and "nests JSON too deeply" in error["error"]["message"]


def test_an_image_above_the_pixel_limit_is_refused_before_decoding(model, sample, with_header_size):
    bomb = with_header_size(real_png(sample), 20000, 20000)
    assert 20000 * 20000 < 2 * MAX_PIXELS  # where Pillow itself only warns
    with pytest.raises(ImageError, match="above the limit .* downscale it"):
        load_image(bomb)
    status, error = call(model, SegmentRequest(ImageReference(data=bomb), tuple(sample["extremes"])).to_json())
    assert (status, error["error"]["code"]) == (400, "invalid_image") and "downscale" in error["error"]["message"]


def test_mask_and_label_map_readers_apply_the_pixel_limit(sample, tmp_path, with_header_size):
    truth = sample["truth"]
    path = tmp_path / "mask.png"
    buffer = io.BytesIO()
    Image.fromarray(truth.astype(np.uint8) * 255).save(buffer, format="PNG")
    path.write_bytes(with_header_size(buffer.getvalue(), 20000, 20000))
    with pytest.raises(ImageError, match="above the limit"):
        load_mask_png(path)
    labels = label_map([truth], [0], ["object"])
    with pytest.raises(ImageError, match="above the limit"):
        read_label_map(with_header_size(labels.png, 20000, 20000), labels.color_map)


def test_label_maps_are_decoded_by_colour_when_the_colour_map_is_given(sample):
    truth = sample["truth"]
    labels = label_map([truth, ~truth], [0, 1], ["cat", "dog"])
    swapped = {"0": labels.color_map["0"], "1": labels.color_map["2"] | {"class-name": "cat"}, "2": labels.color_map["1"] | {"class-name": "dog"}}
    classes = read_label_map(labels.png, swapped)
    assert (classes[truth] == 2).all() and (classes[~truth] == 1).all()
    assert base64.b64encode(labels.png)  # the palette PNG itself still says 1 for the object
    assert (read_label_map(labels.png)[truth] == 1).all()
