"""The Lambda proxy with real API Gateway event shapes, forwarding through the
real boto3 client to ``clickseg serve`` (the local SageMaker endpoint)."""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from botocore.stub import Stubber

from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.protocol.masks import rle_to_mask
from clickseg_widget.protocol.schema import MAX_INVOKE_PAYLOAD_BYTES
from clickseg_widget.workforce.lambdas import proxy
from workforce_local import FAKE_AWS_ENV, endpoint_server, rest_api_event

ENDPOINT = "clickseg-proxy-test"


@pytest.fixture(scope="module")
def endpoint_url():
    with endpoint_server(ENDPOINT) as url:
        yield url


@pytest.fixture
def env(monkeypatch, endpoint_url):
    for key, value in {**FAKE_AWS_ENV, "ENDPOINT_NAME": ENDPOINT, "SAGEMAKER_RUNTIME_URL": endpoint_url}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ALLOWED_ORIGINS", raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def sample(grabcut_dir):
    item = load_samples(grabcut_dir, limit=1)[0]
    truth, ignore = load_mask(item.mask_path)
    return item.image_path.read_bytes(), truth, ignore


def post(body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return proxy.handler(rest_api_event("POST", "/segment", {"Content-Type": "application/json", **(headers or {})}, data))


def request(image, clicks):
    return {"version": "1", "image": image, "clicks": [c.to_dict() for c in clicks], "previous_mask": None, "options": {}}


def test_forwards_to_the_endpoint_and_the_mask_covers_the_object(env, sample):
    image_bytes, truth, ignore = sample
    clicks = Clicker(truth, ignore).extreme_clicks()
    answer = post(request({"b64": base64.b64encode(image_bytes).decode()}, clicks), {"Origin": "https://worker.example"})
    assert answer["statusCode"] == 200, answer["body"]
    assert answer["headers"]["Access-Control-Allow-Origin"] == "*"
    body = json.loads(answer["body"])
    mask = rle_to_mask(body["mask"])
    valid = ~ignore
    iou = (mask & truth & valid).sum() / ((mask | truth) & valid).sum()
    assert iou > 0.5
    # the second call names the image by hash; the endpoint still knows it
    again = post(request({"hash": body["image_hash"]}, clicks))
    assert again["statusCode"] == 200, again["body"]


def test_an_unknown_hash_comes_back_as_the_endpoints_own_error(env, sample):
    _, truth, ignore = sample
    answer = post(request({"hash": "0" * 64}, Clicker(truth, ignore).extreme_clicks()))
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["error"]["code"] == "unknown_image_hash"


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"{not json", 400, "invalid_request"),
        ({"version": "2"}, 400, "unsupported_version"),
        ({"version": "1", "image": {"url": "x"}, "clicks": []}, 400, "invalid_image"),
        ({"version": "1", "image": {"hash": "0" * 64}, "clicks": [{"x": 1, "y": "a", "kind": "extreme"}]}, 400, "invalid_clicks"),
    ],
)
def test_bad_requests_are_refused_before_the_endpoint(env, body, status, code):
    answer = post(body)
    assert answer["statusCode"] == status
    error = json.loads(answer["body"])["error"]
    assert error["code"] == code and error["message"]
    assert answer["headers"]["Access-Control-Allow-Origin"] == "*"


def test_an_oversized_request_is_refused_with_the_fix(env):
    big = {"version": "1", "image": {"b64": "A" * MAX_INVOKE_PAYLOAD_BYTES}, "clicks": []}
    answer = post(big)
    assert answer["statusCode"] == 413
    assert "send_image='s3_uri'" in json.loads(answer["body"])["error"]["message"]


def test_base64_bodies_from_api_gateway_are_decoded(env, sample):
    image_bytes, truth, ignore = sample
    data = json.dumps(request({"b64": base64.b64encode(image_bytes).decode()}, Clicker(truth, ignore).extreme_clicks())).encode()
    event = rest_api_event("POST", "/segment", {}, b"")
    event.update(body=base64.b64encode(data).decode(), isBase64Encoded=True)
    assert proxy.handler(event)["statusCode"] == 200


def test_preflight_methods_and_origins(env):
    preflight = proxy.handler(rest_api_event("OPTIONS", "/segment", {"Origin": "https://a.example"}, b""))
    assert preflight["statusCode"] == 204
    assert "POST" in preflight["headers"]["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight["headers"]["Access-Control-Allow-Headers"]
    assert proxy.handler(rest_api_event("GET", "/segment", {}, b""))["statusCode"] == 405
    env.setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example")
    allowed = proxy.handler(rest_api_event("OPTIONS", "/segment", {"origin": "https://b.example"}, b""))
    assert allowed["headers"]["Access-Control-Allow-Origin"] == "https://b.example"
    other = proxy.handler(rest_api_event("OPTIONS", "/segment", {"Origin": "https://evil.example"}, b""))
    assert other["headers"]["Access-Control-Allow-Origin"] == "https://a.example"
    # HTTP API (payload 2.0) events carry the method elsewhere
    v2 = {"version": "2.0", "requestContext": {"http": {"method": "OPTIONS"}}, "headers": {}}
    assert proxy.handler(v2)["statusCode"] == 204


def test_an_endpoint_that_does_not_exist_is_a_configuration_error(env, sample):
    env.setenv("ENDPOINT_NAME", "no-such-endpoint")
    _, truth, ignore = sample
    answer = post(request({"hash": "0" * 64}, Clicker(truth, ignore).extreme_clicks()))
    assert answer["statusCode"] == 500
    error = json.loads(answer["body"])["error"]
    assert error["code"] == "endpoint_not_found" and "no-such-endpoint" in error["message"]


def test_a_missing_endpoint_name_is_reported(env):
    env.delenv("ENDPOINT_NAME")
    answer = post({"version": "1"})
    assert answer["statusCode"] == 500 and "EndpointName" in json.loads(answer["body"])["error"]["message"]


def test_an_unreachable_runtime_is_a_retryable_502(env, sample):
    env.setenv("SAGEMAKER_RUNTIME_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    _, truth, ignore = sample
    answer = post(request({"hash": "0" * 64}, Clicker(truth, ignore).extreme_clicks()))
    assert answer["statusCode"] == 502
    assert json.loads(answer["body"])["error"]["code"] == "endpoint_unreachable"


@pytest.mark.parametrize(
    "aws_code, http_status, status, code",
    [
        ("ThrottlingException", 400, 429, "throttled"),
        ("ModelNotReadyException", 429, 503, "endpoint_not_ready"),
        ("ServiceUnavailable", 503, 503, "endpoint_not_ready"),
        ("InternalFailure", 500, 502, "endpoint_error"),
    ],
)
def test_runtime_failures_map_to_statuses_the_page_understands(env, sample, aws_code, http_status, status, code):
    _, truth, ignore = sample
    client = proxy._client()
    with Stubber(client) as stubber:
        stubber.add_client_error("invoke_endpoint", service_error_code=aws_code, http_status_code=http_status)
        answer = post(request({"hash": "0" * 64}, Clicker(truth, ignore).extreme_clicks()))
        stubber.assert_no_pending_responses()
    assert answer["statusCode"] == status
    assert json.loads(answer["body"])["error"]["code"] == code


def test_a_model_error_without_a_schema_body_is_a_502(env, sample):
    _, truth, ignore = sample
    client = proxy._client()
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "invoke_endpoint",
            service_error_code="ModelError",
            service_message="Received server error (500) from primary",
            http_status_code=424,
            response_meta={},
        )
        answer = post(request({"hash": "0" * 64}, Clicker(truth, ignore).extreme_clicks()))
    assert answer["statusCode"] == 502
    assert "Received server error" in json.loads(answer["body"])["error"]["message"]


def test_mask_is_a_real_array_not_a_placeholder(env, sample):
    """Guards the IoU test above: an all-ones mask must not pass it."""
    _, truth, ignore = sample
    everything = np.ones_like(truth)
    valid = ~ignore
    assert (everything & truth & valid).sum() / ((everything | truth) & valid).sum() < 0.5


def test_s3_images_only_from_the_allowed_prefixes(env, sample):
    clicks = Clicker(sample[1], sample[2]).extreme_clicks()
    env.delenv("ALLOWED_S3_PREFIXES", raising=False)
    refused = post(request({"s3_uri": "s3://someone-elses-bucket/secret.png"}, clicks))
    assert refused["statusCode"] == 403
    assert json.loads(refused["body"])["error"]["code"] == "s3_uri_not_allowed"
    env.setenv("ALLOWED_S3_PREFIXES", "s3://labeling-images/input")
    sibling = post(request({"s3_uri": "s3://labeling-images/input-private/x.png"}, clicks))
    assert sibling["statusCode"] == 403  # a prefix is a folder, not a string start
    allowed = post(request({"s3_uri": "s3://labeling-images/input/x.png"}, clicks))
    assert allowed["statusCode"] != 403  # forwarded: the local endpoint then fails to read S3, which is fine here
    for escape in ("s3://labeling-images/input/../../other-bucket/secret.png", "s3://labeling-images/input/./x.png",
                   "s3://labeling-images/input//x.png", "s3://../input/x.png", "s3://Labeling_Images/input/x.png"):
        env.setenv("ALLOWED_S3_PREFIXES", f"{escape.split('/input/')[0]}/input" if escape.startswith("s3://..") else "s3://labeling-images/input")
        refused = post(request({"s3_uri": escape}, clicks))
        assert refused["statusCode"] == 400, escape
        assert "'..' path segments" in json.loads(refused["body"])["error"]["message"]
