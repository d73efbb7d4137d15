"""The HTTP face of the serving model: the SageMaker container routes and the runtime route.

``GET /ping`` and ``POST /invocations`` are what a SageMaker container must
answer; ``POST /endpoints/<name>/invocations`` imitates the SageMaker runtime
(InvokeEndpoint), wrapping container errors as ``ModelError`` (HTTP 424) the
way AWS does, so the real boto3 ``sagemaker-runtime`` client works against it
with ``endpoint_url`` and sees the same errors it would see in the cloud.
"""
from __future__ import annotations

import json
from typing import Iterable

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from .handler import ServingModel, handle_invocation
from ..protocol.schema import JSON_CONTENT_TYPE, MAX_INVOKE_PAYLOAD_BYTES, error_body

# The container route accepts more than InvokeEndpoint does (batch transform allows 100 MB).
MAX_CONTAINER_BODY_BYTES = 100 * 1024 * 1024
LOCAL_ACCOUNT = "000000000000"


def create_app(model: ServingModel, endpoint_names: Iterable[str] | None = None) -> Flask:
    """``endpoint_names`` limits the runtime route to those names (any name when None)."""
    app = Flask("clickseg_widget.serving")
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTAINER_BODY_BYTES
    allowed = set(endpoint_names) if endpoint_names else None

    @app.get("/ping")
    def ping() -> Response:
        return _json(200, {"status": "healthy", "backend": model.backend, "model_version": model.model_version})

    @app.post("/invocations")
    def invocations() -> Response:
        status, body = handle_invocation(model, request.get_data(), request.content_type, request.headers.get("Accept"))
        return Response(body, status=status, content_type=JSON_CONTENT_TYPE)

    @app.post("/endpoints/<name>/invocations")
    def invoke_endpoint(name: str) -> Response:
        if allowed is not None and name not in allowed:
            return _aws_error(400, "ValidationError", f"Endpoint {name} of account {LOCAL_ACCOUNT} not found.")
        declared = request.content_length or 0
        if declared > MAX_INVOKE_PAYLOAD_BYTES:  # refuse before reading the body into memory
            return _aws_error(
                413, "ValidationError", f"Request body is {declared} bytes; InvokeEndpoint accepts at most {MAX_INVOKE_PAYLOAD_BYTES}."
            )
        body = request.get_data()
        if len(body) > MAX_INVOKE_PAYLOAD_BYTES:
            return _aws_error(
                413, "ValidationError", f"Request body is {len(body)} bytes; InvokeEndpoint accepts at most {MAX_INVOKE_PAYLOAD_BYTES}."
            )
        status, payload = handle_invocation(model, body, request.content_type, request.headers.get("Accept"))
        if status == 200:
            return Response(
                payload, status=200, content_type=JSON_CONTENT_TYPE, headers={"x-Amzn-Invoked-Production-Variant": "AllTraffic"}
            )
        side = "client" if status < 500 else "server"
        text = payload.decode("utf-8")
        message = f'Received {side} error ({status}) from primary with message "{text}". See the server log for endpoint {name}.'
        return _aws_error(424, "ModelError", message, OriginalStatusCode=status, OriginalMessage=text)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        code = (err.name or "http_error").lower().replace(" ", "_")
        return _json(err.code or 500, error_body(code, f"{err.description} ({request.method} {request.path})"))

    return app


def _json(status: int, data: dict) -> Response:
    return Response(json.dumps(data), status=status, content_type=JSON_CONTENT_TYPE)


def _aws_error(status: int, code: str, message: str, **members: object) -> Response:
    """An error as the SageMaker runtime's rest-json protocol sends it (botocore reads the header)."""
    return Response(
        json.dumps({"message": message, **members}),
        status=status,
        content_type=JSON_CONTENT_TYPE,
        headers={"x-amzn-ErrorType": code},
    )
