"""API Gateway -> SageMaker endpoint proxy for the worker page.

The worker page cannot sign AWS requests, so it POSTs schema-v1 JSON to API
Gateway; this handler checks the request (size first: InvokeEndpoint refuses
bodies over 6 MB), forwards it unchanged with boto3's ``invoke_endpoint``
and returns the endpoint's answer with CORS headers.  Failures come back as
schema-v1 errors with a status the page understands: 429/502/503/504 are
worth retrying, 4xx are not.

Environment: ``ENDPOINT_NAME`` (required); ``ALLOWED_ORIGINS`` (comma list,
default ``*``: the worker portal's origin differs per workforce);
``MODEL_TIMEOUT_S`` (default 25, inside API Gateway's 29 s limit);
``SAGEMAKER_RUNTIME_URL`` (only to point at ``clickseg serve`` locally);
``ALLOWED_S3_PREFIXES`` (comma list of ``s3://bucket/prefix``): the only places
an ``s3_uri`` image may come from.  The API is public to the worker page, so
without this list anyone could make the endpoint read whatever its role can.
"""
from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re
from typing import Any

from ...io.s3 import parse_s3_uri
from ...protocol.runtime import invoke_failure, runtime_client
from ...protocol.schema import JSON_CONTENT_TYPE, MAX_INVOKE_PAYLOAD_BYTES, SchemaError, error_body, parse_request

DEFAULT_TIMEOUT_S = 25.0
CONNECT_TIMEOUT_S = 3.0
# botocore's own retries; the page retries too, so keep the Lambda's total short
RUNTIME_MAX_RETRIES = 1


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Lambda entry point for REST (payload 1.0) and HTTP API (2.0) proxy events."""
    cors = _cors_headers(event)
    method = (event.get("httpMethod") or event.get("requestContext", {}).get("http", {}).get("method") or "").upper()
    if method == "OPTIONS":
        return {"statusCode": 204, "headers": cors, "body": ""}
    if method != "POST":
        return _error(405, "method_not_allowed", f"{method or 'this'} request not supported: POST the schema-v1 JSON", cors)
    endpoint_name = os.environ.get("ENDPOINT_NAME", "")
    if not endpoint_name:
        return _error(500, "proxy_misconfigured", "the proxy has no ENDPOINT_NAME: set it in the stack's EndpointName parameter", cors)
    try:
        body = _body_bytes(event)
        request = parse_request(body)
    except SchemaError as err:
        return _error(err.status, err.code, str(err), cors)
    s3_uri = request.image.s3_uri
    if s3_uri is not None and not _plain_s3_uri(s3_uri):
        return _error(
            400, "invalid_image",
            f"image.s3_uri {s3_uri!r} is not a plain S3 object URI: use a valid bucket name and a key without "
            "empty, '.' or '..' path segments",
            cors,
        )
    if s3_uri is not None and not any(s3_uri.startswith(prefix) for prefix in _allowed_s3_prefixes()):
        return _error(
            403, "s3_uri_not_allowed",
            "this proxy reads s3:// images only under its ALLOWED_S3_PREFIXES (the stack's ImageS3Prefixes parameter): "
            "add the images' prefix there, or send the image bytes",
            cors,
        )
    try:
        answer = _client().invoke_endpoint(
            EndpointName=endpoint_name, Body=body, ContentType=JSON_CONTENT_TYPE, Accept=JSON_CONTENT_TYPE
        )
    except Exception as err:  # botocore's exceptions share no useful base class
        status, code, message = _explain(err, endpoint_name)
        return _error(status, code, message, cors)
    return {
        "statusCode": 200,
        "headers": {**cors, "Content-Type": JSON_CONTENT_TYPE},
        "body": answer["Body"].read().decode("utf-8"),
    }


_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _plain_s3_uri(uri: str) -> bool:
    """A bucket name S3 accepts and a key with no segment a path normaliser would collapse.

    Checked before the prefix comparison, so ``s3://allowed/prefix/../../other/secret.png``
    cannot pass as being under ``s3://allowed/prefix/``.
    """
    bucket, key = parse_s3_uri(uri)
    if not _BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        return False
    return all(segment not in ("", ".", "..") for segment in key.split("/"))


def _allowed_s3_prefixes() -> list[str]:
    prefixes = [p.strip() for p in os.environ.get("ALLOWED_S3_PREFIXES", "").split(",") if p.strip()]
    return [p if p.endswith("/") else p + "/" for p in prefixes]  # s3://b/in must not admit s3://b/input-secret


def _body_bytes(event: dict[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise SchemaError("the request body is flagged base64 but is not valid base64") from None
    else:
        body = raw.encode("utf-8")
    if not body:
        raise SchemaError("the request body is empty: POST the schema-v1 JSON")
    if len(body) > MAX_INVOKE_PAYLOAD_BYTES:
        raise SchemaError(
            f"the request is {len(body):,} bytes, over the endpoint's limit of {MAX_INVOKE_PAYLOAD_BYTES:,} (6 MB): "
            "build the task template with send_image='s3_uri' so the endpoint reads large images from S3",
            code="payload_too_large",
            status=413,
        )
    return body


@functools.lru_cache(maxsize=4)
def _cached_client(endpoint_url: str | None, timeout: float) -> Any:
    return runtime_client(None, None, endpoint_url, timeout, CONNECT_TIMEOUT_S, RUNTIME_MAX_RETRIES)


def _client() -> Any:
    """One client per warm Lambda container (creating one costs ~50 ms)."""
    timeout = float(os.environ.get("MODEL_TIMEOUT_S", DEFAULT_TIMEOUT_S))
    return _cached_client(os.environ.get("SAGEMAKER_RUNTIME_URL") or None, timeout)


def _explain(err: Exception, endpoint_name: str) -> tuple[int, str, str]:
    """(HTTP status, error code, message) for a failed invoke_endpoint call."""
    failure = invoke_failure(err)
    cause = failure.cause if failure else None
    if failure is None or cause in ("credentials", "transport"):
        return 500, "proxy_error", f"the proxy failed: {type(err).__name__}: {err}"
    if cause == "timeout":
        return 504, "model_timeout", f"the model did not answer in time ({err}); try again, or ask the requester to check the endpoint"
    if cause == "unreachable":
        return 502, "endpoint_unreachable", f"the proxy cannot reach the SageMaker runtime ({err}); try again shortly"
    if cause == "model_error":
        status = int(failure.status) if failure.status != "?" else 502
        if failure.detail:
            return status, failure.detail["error"]["code"], failure.detail["error"]["message"]
        return 502, "model_error", f"the model failed (HTTP {status}): {failure.message}"
    if cause == "not_found":
        return 500, "endpoint_not_found", f"endpoint {endpoint_name!r} does not exist ({failure.message}): the requester must deploy it or fix the proxy's ENDPOINT_NAME"
    if cause == "invalid":
        return 400, "invalid_request", f"the endpoint refused the request: {failure.message}"
    if cause == "throttled":
        return 429, "throttled", "the model is busy (throttled); wait a moment and try again"
    if cause in ("not_ready", "unavailable"):
        return 503, "endpoint_not_ready", f"the model is not ready ({failure.message}); try again in a minute"
    return 502, "endpoint_error", f"the endpoint call failed with {failure.code}: {failure.message}"


def _cors_headers(event: dict[str, Any]) -> dict[str, str]:
    allowed = [origin.strip() for origin in os.environ.get("ALLOWED_ORIGINS", "*").split(",") if origin.strip()]
    headers = event.get("headers") or {}
    origin = next((value for key, value in headers.items() if key.lower() == "origin"), "")
    if "*" in allowed:
        allow = "*"
    else:
        allow = origin if origin in allowed else allowed[0] if allowed else "null"
    return {
        "Access-Control-Allow-Origin": allow,
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Accept",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _error(status: int, code: str, message: str, cors: dict[str, str]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {**cors, "Content-Type": JSON_CONTENT_TYPE},
        "body": json.dumps(error_body(code, message)),
    }
