"""Calling the SageMaker runtime: one boto3 client factory and one reading of its failures.

The endpoint backend (in a notebook) and the workforce Lambda proxy (in front
of a worker page) both call ``invoke_endpoint``; they word a failure for
different readers, but what went wrong is decided here, once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

from .schema import parse_error_text

THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"})

Cause = Literal[
    "credentials",  # no usable AWS credentials
    "timeout",  # connect or read timeout after botocore's retries
    "unreachable",  # no connection to the runtime URL
    "transport",  # any other botocore failure before an answer (connection closed, TLS)
    "model_error",  # the container answered 4xx/5xx; ``detail`` holds its schema-v1 error when it sent one
    "not_found",  # no endpoint by that name in this region
    "invalid",  # the runtime refused the request as invalid
    "not_ready",  # the endpoint is not InService
    "unavailable",  # the runtime answered ServiceUnavailable
    "throttled",  # still throttled after botocore's retries with backoff
    "other",  # any other AWS error code
]


class EndpointError(RuntimeError):
    """The endpoint call failed; the message names the cause and the fix."""


@dataclass(frozen=True)
class InvokeFailure:
    """What an ``invoke_endpoint`` exception means, with what each caller needs to word it."""

    cause: Cause
    code: str = ""  # the AWS error code
    message: str = ""  # AWS's message, or the exception's text
    status: int | str = "?"  # the container's status for model errors, else the runtime's HTTP status
    attempts: int = 1  # how many times botocore sent the request
    detail: dict[str, Any] | None = None  # the container's schema-v1 error object, if it sent one
    url: str | None = None  # the runtime URL that could not be reached
    original: str = ""  # the container's own response body, for model errors


def invoke_failure(err: Exception) -> InvokeFailure | None:
    """Classify a botocore exception from ``invoke_endpoint``; ``None`` for anything else."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(err, (NoCredentialsError, PartialCredentialsError)):
        return InvokeFailure("credentials", message=str(err))
    if isinstance(err, (ReadTimeoutError, ConnectTimeoutError)):
        return InvokeFailure("timeout", message=str(err))
    if isinstance(err, EndpointConnectionError):
        return InvokeFailure("unreachable", message=str(err), url=err.kwargs.get("endpoint_url"))
    if isinstance(err, BotoCoreError):
        return InvokeFailure("transport", message=str(err))
    if not isinstance(err, ClientError):
        return None
    error = err.response.get("Error", {})
    code, message = error.get("Code", ""), error.get("Message", "")
    metadata = err.response.get("ResponseMetadata", {})
    attempts = metadata.get("RetryAttempts", 0) + 1
    status = metadata.get("HTTPStatusCode", "?")
    if code == "ModelError":
        original = str(err.response.get("OriginalMessage", ""))
        status = err.response.get("OriginalStatusCode") or "?"
        return InvokeFailure("model_error", code, message, status, attempts, parse_error_text(original), original=original)
    if code == "ValidationError":
        cause: Cause = "not_found" if "not found" in message.lower() else "invalid"
    elif code == "ModelNotReadyException":
        cause = "not_ready"
    elif code == "ServiceUnavailable":
        cause = "unavailable"
    elif code in THROTTLING_CODES:
        cause = "throttled"
    else:
        cause = "other"
    return InvokeFailure(cause, code, message, status, attempts)


def _is_loopback(url: str | None) -> bool:
    if not url:
        return False
    host = urlparse(url).hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def runtime_client(session: Any, region: str | None, endpoint_url: str | None, timeout: float, connect_timeout: float, max_retries: int) -> Any:
    """A ``sagemaker-runtime`` client with standard retries (backoff on throttling and 5xx) and these timeouts."""
    import boto3
    from botocore.config import Config

    session = session or boto3.session.Session()
    if session.get_credentials() is None and _is_loopback(endpoint_url):
        # `clickseg serve` checks no signatures, but botocore refuses to send unsigned requests
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=region)
    region = region or session.region_name or ("us-east-1" if endpoint_url else None)
    if region is None:
        raise EndpointError("no AWS region configured: pass region='us-east-1' (for example) or set AWS_DEFAULT_REGION")
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "total_max_attempts": max_retries + 1},
        user_agent_extra="clickseg-widget",
    )
    return session.client("sagemaker-runtime", region_name=region, endpoint_url=endpoint_url, config=config)
