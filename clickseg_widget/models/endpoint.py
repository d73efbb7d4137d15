"""A segmenter that runs on a SageMaker endpoint (or ``clickseg serve``) through boto3.

The image is PNG-encoded once, when first sent, with its sha256; the first click
sends the bytes, later clicks send only the hash the server returned (a few
hundred bytes), and an ``unknown_image_hash`` answer (server restarted or
evicted it) makes us re-send the image once.  Retries with exponential
backoff on throttling and 5xx are botocore's "standard" retry mode; every
failure becomes an ``EndpointError`` that says what happened and what to do.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..clicks import Click
from ..io.images import ImageSource, encode_png
from ..protocol.masks import mask_to_rle
from ..protocol.runtime import EndpointError, invoke_failure, runtime_client
from ..protocol.schema import (
    JSON_CONTENT_TYPE,
    MAX_INVOKE_PAYLOAD_BYTES,
    ImageReference,
    SchemaError,
    SegmentRequest,
    parse_response,
    sha256_hex,
    split_s3_uri,
)
from .base import ImageContext, Prediction, Segmenter

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RETRIES = 3


class PayloadTooLargeError(EndpointError, ValueError):
    """The request would exceed InvokeEndpoint's 6 MB body limit; refused before sending."""


class _UnknownImageHash(Exception):
    """The server no longer holds the image we referred to by hash."""


class EndpointSegmenter(Segmenter):
    name = "endpoint"

    def __init__(
        self,
        endpoint_name: str | None = None,
        region: str | None = None,
        boto3_session: Any = None,
        endpoint_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        connect_timeout: float = 5.0,
        return_probability: bool = False,
    ) -> None:
        super().__init__()
        if not endpoint_name:
            raise ValueError(
                "the endpoint backend needs endpoint_name='<SageMaker endpoint>' "
                "(plus endpoint_url='http://127.0.0.1:8080' for a `clickseg serve` server)"
            )
        if timeout <= 0 or max_retries < 0:
            raise ValueError("timeout must be > 0 seconds and max_retries >= 0")
        self.endpoint_name = endpoint_name
        self.endpoint_url = endpoint_url
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.return_probability = return_probability
        self.model_version: str | None = None
        self.client = runtime_client(boto3_session, region, endpoint_url, self.timeout, connect_timeout, self.max_retries)
        self.region = self.client.meta.region_name

    # -- Segmenter hooks -------------------------------------------------------
    def prepare(self, image: ImageSource | ImageContext, s3_uri: str | None = None) -> ImageContext:
        """As ``Segmenter.prepare``; with ``s3_uri`` the endpoint reads the image from S3 (no 6 MB limit)."""
        context = super().prepare(image)
        if s3_uri is not None:
            split_s3_uri(s3_uri)
            context.features["s3_uri"] = s3_uri
        return context

    def encode(self, image: np.ndarray) -> dict[str, Any]:
        return {}  # the PNG is made when first sent (_full_reference): an image read from S3 never needs it

    def segment(self, context: ImageContext, clicks: list[Click], previous: np.ndarray | None) -> Prediction:
        start = time.perf_counter()
        previous_rle = mask_to_rle(previous) if previous is not None else None
        known_hash = context.features.get("server_hash")
        reference = ImageReference(hash=known_hash) if known_hash else self._full_reference(context)
        try:
            response = self._invoke(reference, clicks, previous_rle)
        except _UnknownImageHash:
            context.features.pop("server_hash", None)
            reference = self._full_reference(context)
            response = self._invoke(reference, clicks, previous_rle)
        if reference.data is not None and response.image_hash != context.features["sha256"]:
            raise EndpointError(
                f"endpoint {self.endpoint_name!r} named the image {response.image_hash} but its bytes hash to "
                f"{context.features['sha256']}: the server does not follow schema v1 (sha256 of the bytes as sent)"
            )
        context.features["server_hash"] = response.image_hash
        self.model_version = response.model_version
        if response.mask.shape != context.image.shape[:2]:
            raise EndpointError(
                f"endpoint {self.endpoint_name!r} returned a {response.mask.shape} mask for a {context.image.shape[:2]} image: "
                "the image it segmented is not the one sent (hash collision or a misbehaving server)"
            )
        probability = response.probability if response.probability is not None else response.mask.astype(np.float32)
        timings = {f"server_{key}": value for key, value in response.timings.items()}
        timings["request_ms"] = (time.perf_counter() - start) * 1000.0
        return Prediction(mask=response.mask, probability=probability, score=response.score, timings=timings)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "endpoint_name": self.endpoint_name, "region": self.region, "model_version": self.model_version}

    # -- the call --------------------------------------------------------------
    def _full_reference(self, context: ImageContext) -> ImageReference:
        if "s3_uri" in context.features:
            return ImageReference(s3_uri=context.features["s3_uri"])
        if "payload" not in context.features:
            # lossless, so the server decodes exactly these pixels; fast compression because the
            # user is waiting for the first mask
            payload = encode_png(context.image, compress_level=1)
            context.features.update(payload=payload, sha256=sha256_hex(payload))
        return ImageReference(data=context.features["payload"])

    def _invoke(self, reference: ImageReference, clicks: list[Click], previous_rle: dict | None):
        request = SegmentRequest(image=reference, clicks=tuple(clicks), previous_mask=previous_rle, return_probability=self.return_probability)
        body = request.to_bytes()
        if len(body) > MAX_INVOKE_PAYLOAD_BYTES:
            raise PayloadTooLargeError(
                f"the request is {len(body):,} bytes, over InvokeEndpoint's limit of {MAX_INVOKE_PAYLOAD_BYTES:,} bytes (6 MB): "
                "upload the image to S3 and call segmenter.prepare(image, s3_uri='s3://bucket/key') so the endpoint reads it "
                "from there (its execution role needs s3:GetObject)"
            )
        try:
            answer = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name, Body=body, ContentType=JSON_CONTENT_TYPE, Accept=JSON_CONTENT_TYPE
            )
            return parse_response(answer["Body"].read())
        except SchemaError as err:
            raise EndpointError(f"endpoint {self.endpoint_name!r}: {err}") from None
        except Exception as err:  # botocore's exceptions share no useful base class
            raise self._explain(err) from err

    def _explain(self, err: Exception) -> Exception:
        """Turn a botocore failure into an ``EndpointError`` with the cause and the fix."""
        failure = invoke_failure(err)
        if failure is None:
            return err
        name = self.endpoint_name
        cause = failure.cause
        if cause == "credentials":
            return EndpointError(
                f"no usable AWS credentials to call endpoint {name!r} ({failure.message}): run `aws configure`, set AWS_PROFILE or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass boto3_session="
            )
        if cause == "timeout":
            return EndpointError(
                f"endpoint {name!r} did not answer within {self.timeout:g} s (tried {self.max_retries + 1} times): the model may be "
                "overloaded or hung; check its CloudWatch logs, or raise timeout= for slow models"
            )
        if cause == "unreachable":
            return EndpointError(f"cannot connect to endpoint {name!r} at {failure.url}: is the server running and the URL right?")
        if cause == "transport":
            return EndpointError(f"calling endpoint {name!r} failed ({failure.message}): check the server and the network, then retry")
        if cause == "model_error":
            detail = failure.detail
            if detail and detail["error"]["code"] == "unknown_image_hash":
                return _UnknownImageHash()
            reason = f"{detail['error']['code']}: {detail['error']['message']}" if detail else (failure.original or failure.message)
            return EndpointError(f"endpoint {name!r}'s model rejected the request (container answered HTTP {failure.status}): {reason}")
        if cause == "not_found":
            return EndpointError(
                f"endpoint {name!r} does not exist in region {self.region} ({failure.message}): check the name and region "
                "(aws sagemaker list-endpoints) or deploy it first"
            )
        if cause == "invalid":
            return EndpointError(f"endpoint {name!r} refused the request as invalid: {failure.message}")
        if cause == "not_ready":
            return EndpointError(f"endpoint {name!r} is not ready yet ({failure.message}): wait until it is InService and try again")
        if cause == "throttled":
            return EndpointError(
                f"endpoint {name!r} kept throttling requests ({failure.code}) after {failure.attempts} attempts with backoff: "
                "click more slowly, or add instances / autoscaling to the endpoint"
            )
        return EndpointError(
            f"endpoint {name!r} failed with {failure.code} (HTTP {failure.status}) after {failure.attempts} attempts: {failure.message}"
        )
