"""EndpointSegmenter against misbehaving peers: 5xx, hangs, throttling, oversized bodies, AWS errors."""
from __future__ import annotations

import json
import threading
from collections import deque

import boto3
import numpy as np
import pytest
from botocore.stub import ANY, Stubber
from flask import Flask, Response, request
from moto import mock_aws

from clickseg_widget.clicks import Click
from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.io.images import encode_png
from clickseg_widget.models.endpoint import EndpointError, EndpointSegmenter, PayloadTooLargeError
from clickseg_widget.models.registry import get_segmenter
from clickseg_widget.serving.handler import ServingModel, boto3_s3_reader, handle_invocation
from clickseg_widget.serving.server import BackgroundServer


class ScriptedPeer:
    """A runtime route that plays scripted faults, then (by default) answers with the real handler."""

    def __init__(self, model: ServingModel | None = None, default: str = "serve") -> None:
        self.script: deque[str] = deque()
        self.default = default
        self.hits = 0
        self.release = threading.Event()
        self.model = model or ServingModel(get_segmenter("grabcut"), "peer")
        app = Flask("scripted-peer")
        app.add_url_rule("/endpoints/<name>/invocations", view_func=self.invoke, methods=["POST"])
        self.server = BackgroundServer(app)
        self.url = self.server.url

    def invoke(self, name: str) -> Response:
        self.hits += 1
        action = self.script.popleft() if self.script else self.default
        if action == "throttle":
            return aws_error(400, "ThrottlingException", "Rate exceeded")
        if action == "fail500":
            return aws_error(500, "InternalFailure", "An internal failure occurred.")
        if action == "hang":
            self.release.wait(30)
        status, body = handle_invocation(self.model, request.get_data(), request.content_type, request.headers.get("Accept"))
        if action == "wrong_hash":
            body = json.dumps({**json.loads(body), "image_hash": "f" * 64}).encode()
        return Response(body, status=status, content_type="application/json")

    def close(self) -> None:
        self.release.set()
        self.server.close()


def aws_error(status: int, code: str, message: str) -> Response:
    return Response(json.dumps({"message": message}), status=status, content_type="application/json", headers={"x-amzn-ErrorType": code})


@pytest.fixture()
def peer():
    scripted = ScriptedPeer()
    yield scripted
    scripted.close()


@pytest.fixture(scope="module")
def sample(grabcut_dir):
    item = load_samples(grabcut_dir, limit=1)[0]
    truth, ignore = load_mask(item.mask_path)
    return item.image_path, Clicker(truth, ignore).extreme_clicks()


def session():
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")


def client(peer, **options) -> EndpointSegmenter:
    return EndpointSegmenter("faulty", boto3_session=session(), endpoint_url=peer.url, **options)


def test_server_error_is_retried_then_reported(peer, sample):
    peer.default = "fail500"
    segmenter = client(peer, max_retries=2)
    with pytest.raises(EndpointError, match=r"'faulty' failed with InternalFailure \(HTTP 500\) after 3 attempts"):
        segmenter.predict(segmenter.prepare(sample[0]), sample[1])
    assert peer.hits == 3


def test_throttling_is_retried_with_backoff_then_succeeds(peer, sample):
    peer.script.extend(["throttle", "throttle"])
    segmenter = client(peer, max_retries=3)
    prediction = segmenter.predict(segmenter.prepare(sample[0]), sample[1])
    assert peer.hits == 3
    local = get_segmenter("grabcut")
    np.testing.assert_array_equal(prediction.mask, local.predict(local.prepare(sample[0]), sample[1]).mask)


def test_endless_throttling_gives_up_with_advice(peer, sample):
    peer.default = "throttle"
    segmenter = client(peer, max_retries=1)
    with pytest.raises(EndpointError, match="kept throttling requests .* after 2 attempts"):
        segmenter.predict(segmenter.prepare(sample[0]), sample[1])
    assert peer.hits == 2


def test_hanging_server_hits_the_client_timeout(peer, sample):
    peer.default = "hang"
    segmenter = client(peer, timeout=0.5, max_retries=0)
    with pytest.raises(EndpointError, match="did not answer within 0.5 s"):
        segmenter.predict(segmenter.prepare(sample[0]), sample[1])
    assert peer.hits == 1


def test_a_server_that_hashes_differently_is_caught(peer, sample):
    peer.default = "wrong_hash"
    segmenter = client(peer)
    with pytest.raises(EndpointError, match="named the image f{64} but its bytes hash to [0-9a-f]{64}"):
        segmenter.predict(segmenter.prepare(sample[0]), sample[1])


def test_oversized_payload_is_refused_before_sending_and_s3_form_works(sample, monkeypatch):
    noise = np.random.default_rng(0).integers(0, 256, (1300, 1300, 3), dtype=np.uint8)  # PNG > 6 MB once base64-encoded
    clicks = [Click(x, y, "extreme") for x, y in ((650, 100), (100, 650), (650, 1200), (1200, 650))]
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="big-images")
        s3.put_object(Bucket="big-images", Key="noise.png", Body=encode_png(noise))
        peer = ScriptedPeer(ServingModel(get_segmenter("grabcut"), "peer", s3_reader=boto3_s3_reader()))
        try:
            segmenter = client(peer)
            with pytest.raises(PayloadTooLargeError, match=r"over InvokeEndpoint's limit .* s3_uri='s3://bucket/key'"):
                segmenter.predict(segmenter.prepare(noise), clicks)
            assert peer.hits == 0
            remote = segmenter.predict(segmenter.prepare(noise, s3_uri="s3://big-images/noise.png"), clicks)
        finally:
            peer.close()
    local = get_segmenter("grabcut")
    np.testing.assert_array_equal(remote.mask, local.predict(local.prepare(noise), clicks).mask)


def stubbed(error_code: str, message: str, status: int, **extra) -> EndpointSegmenter:
    segmenter = EndpointSegmenter("my-endpoint", boto3_session=session(), max_retries=0)
    stubber = Stubber(segmenter.client)
    stubber.add_client_error("invoke_endpoint", service_error_code=error_code, service_message=message, http_status_code=status, modeled_fields=extra or None)
    stubber.activate()
    return segmenter


@pytest.mark.parametrize(
    ("code", "message", "status", "extra", "expected"),
    [
        ("ModelNotReadyException", "Model is loading", 429, {}, "'my-endpoint' is not ready yet .* wait until it is InService"),
        ("ValidationError", "Endpoint my-endpoint of account 123456789012 not found.", 400, {}, "does not exist in region us-east-1 .* list-endpoints"),
        ("ValidationError", "1 validation error detected", 400, {}, "refused the request as invalid: 1 validation error"),
        (
            "ModelError",
            "Received client error (400)",
            424,
            {"OriginalStatusCode": 400, "OriginalMessage": '{"error": {"code": "invalid_clicks", "message": "click outside"}}\nTraceback...'},
            r"model rejected the request \(container answered HTTP 400\): invalid_clicks: click outside",
        ),
        ("ModelError", "Received server error (500)", 424, {"OriginalStatusCode": 500, "OriginalMessage": "CUDA out of memory"}, "HTTP 500.*CUDA out of memory"),
    ],
)
def test_aws_errors_become_clear_messages(sample, code, message, status, extra, expected):
    segmenter = stubbed(code, message, status, **extra)
    with pytest.raises(EndpointError, match=expected):
        segmenter.predict(segmenter.prepare(sample[0]), sample[1])


def test_request_the_stubber_sees_is_schema_v1(sample):
    segmenter = EndpointSegmenter("my-endpoint", boto3_session=session())
    stubber = Stubber(segmenter.client)
    stubber.add_client_error("invoke_endpoint", service_error_code="ModelNotReadyException", http_status_code=429,
                             expected_params={"EndpointName": "my-endpoint", "Body": ANY,
                                              "ContentType": "application/json", "Accept": "application/json"})
    with stubber, pytest.raises(EndpointError):
        segmenter.predict(segmenter.prepare(sample[0]), sample[1])
    stubber.assert_no_pending_responses()


def test_missing_credentials_are_reported_before_anything_is_sent(peer, sample, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # a real (non-loopback) endpoint: botocore must refuse to sign before anything leaves the machine
    segmenter = EndpointSegmenter("faulty", region="us-east-1")
    with pytest.raises(EndpointError, match="no usable AWS credentials .* `aws configure`"):
        segmenter.predict(segmenter.prepare(sample[0]), sample[1])


def test_constructor_checks_its_arguments(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="the endpoint backend needs endpoint_name="):
        get_segmenter("endpoint")
    with pytest.raises(ValueError, match="timeout must be > 0"):
        EndpointSegmenter("e", boto3_session=session(), timeout=0)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    with pytest.raises(EndpointError, match="no AWS region configured"):
        EndpointSegmenter("e")
    assert get_segmenter("endpoint", endpoint_name="e", boto3_session=session()).describe()["endpoint_name"] == "e"


def test_loopback_endpoint_needs_no_credentials(monkeypatch):
    import boto3

    from clickseg_widget.protocol.runtime import runtime_client

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    session = boto3.session.Session()
    local = runtime_client(session, None, "http://127.0.0.1:9", timeout=1, connect_timeout=1, max_retries=0)
    assert local._request_signer._credentials is not None and local.meta.region_name == "us-east-1"
    remote = runtime_client(session, "eu-west-1", "https://runtime.sagemaker.eu-west-1.amazonaws.com", 1, 1, 0)
    assert remote._request_signer._credentials is None  # a real endpoint still needs real credentials


def test_an_image_read_from_s3_is_never_png_encoded():
    segmenter = EndpointSegmenter("e", region="us-east-1", endpoint_url="http://127.0.0.1:9")
    context = segmenter.prepare(np.zeros((64, 64, 3), np.uint8), s3_uri="s3://bucket/big.tif")
    assert "payload" not in context.features
    assert segmenter._full_reference(context).s3_uri == "s3://bucket/big.tif"
    assert "payload" not in context.features
