"""Endpoint request/response schema v1, shared by the server, the boto3 client and the widget's JS.

Request:  ``{"version": "1", "image": {"b64"|"s3_uri"|"hash": ...}, "clicks": [...],
"previous_mask": <COCO RLE> | null, "options": {"return_png": bool, "return_probability": bool}}``.
Response: ``{"version", "model_version", "backend", "image_hash", "width", "height", "mask": <COCO RLE>,
"score", "timings": {"prepare_ms", "predict_ms", "total_ms"}}`` plus ``"png"`` (base64 PNG of the
0/255 mask) when ``return_png`` and ``"probability_png"`` (base64 8-bit PNG, probability x 255) when
``return_probability``.  Errors: ``{"error": {"code", "message"}}`` with an HTTP 4xx/5xx status.

The image hash is the sha256 of the image bytes *as sent* (or of the S3 object), so a browser
can compute it without decoding the image.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..clicks import Click
from .masks import mask_to_rle, rle_to_mask
from ..io.images import encode_png, load_image
from ..io.s3 import parse_s3_uri

SCHEMA_VERSION = "1"
JSON_CONTENT_TYPE = "application/json"
# InvokeEndpoint refuses bodies above 6 MB (6,291,456 bytes).
MAX_INVOKE_PAYLOAD_BYTES = 6_291_456
IMAGE_REFERENCE_KINDS = ("b64", "s3_uri", "hash")
OPTION_NAMES = ("return_png", "return_probability")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class SchemaError(ValueError):
    """A request or response that breaks schema v1; ``code`` and ``status`` go into the HTTP error."""

    def __init__(self, message: str, code: str = "invalid_request", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    def to_body(self) -> dict[str, Any]:
        return error_body(self.code, str(self))


@dataclass(frozen=True)
class ImageReference:
    """Exactly one of: the image bytes, an S3 URI the server reads, or the hash of bytes sent before."""

    data: bytes | None = None
    s3_uri: str | None = None
    hash: str | None = None

    def to_json(self) -> dict[str, str]:
        if self.data is not None:
            return {"b64": base64.b64encode(self.data).decode("ascii")}
        if self.s3_uri is not None:
            return {"s3_uri": self.s3_uri}
        return {"hash": str(self.hash)}


@dataclass(frozen=True)
class SegmentRequest:
    image: ImageReference
    clicks: tuple[Click, ...]
    previous_mask: dict[str, Any] | None = None
    return_png: bool = False
    return_probability: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "image": self.image.to_json(),
            "clicks": [click.to_dict() for click in self.clicks],
            "previous_mask": self.previous_mask,
            "options": {"return_png": self.return_png, "return_probability": self.return_probability},
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``, with a message that shows the expected form."""
    try:
        return parse_s3_uri(uri, require_key=True)
    except ValueError as err:
        raise SchemaError(str(err)) from None


# -- requests -------------------------------------------------------------------
def parse_request(body: bytes | str | Mapping[str, Any]) -> SegmentRequest:
    """Validate a v1 request; every problem raises ``SchemaError`` naming the field and the fix."""
    data = _load_json_object(body, "request")
    version = data.get("version")
    if version != SCHEMA_VERSION:
        raise SchemaError(
            f"request version {version!r} is not supported: send \"version\": \"{SCHEMA_VERSION}\"",
            code="unsupported_version",
        )
    unknown = set(data) - {"version", "image", "clicks", "previous_mask", "options"}
    if unknown:
        raise SchemaError(f"unknown request fields {sorted(unknown)}: schema v1 has version, image, clicks, previous_mask, options")
    options = _parse_options(data.get("options"))
    return SegmentRequest(
        image=_parse_image(data.get("image")),
        clicks=_parse_clicks(data.get("clicks")),
        previous_mask=_parse_rle(data.get("previous_mask")),
        **options,
    )


def _load_json_object(body: bytes | str | Mapping[str, Any], what: str) -> dict[str, Any]:
    if isinstance(body, Mapping):
        return dict(body)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SchemaError(f"the {what} body is not valid JSON ({err}): send a JSON object") from None
    except RecursionError:
        raise SchemaError(f"the {what} body nests JSON too deeply: schema v1 needs at most 4 levels") from None
    if not isinstance(data, dict):
        raise SchemaError(f"the {what} body must be a JSON object, got {type(data).__name__}")
    return data


def _parse_image(image: Any) -> ImageReference:
    if not isinstance(image, dict) or len(image) != 1 or next(iter(image)) not in IMAGE_REFERENCE_KINDS:
        raise SchemaError(
            "image must be an object with exactly one of "
            '{"b64": "<base64 PNG/JPEG>"}, {"s3_uri": "s3://bucket/key"} or {"hash": "<image_hash>"}',
            code="invalid_image",
        )
    kind, value = next(iter(image.items()))
    if not isinstance(value, str) or not value:
        raise SchemaError(f"image.{kind} must be a non-empty string", code="invalid_image")
    if kind == "b64":
        try:
            return ImageReference(data=base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise SchemaError("image.b64 is not valid base64: encode the raw PNG/JPEG bytes", code="invalid_image") from None
    if kind == "s3_uri":
        try:
            split_s3_uri(value)
        except SchemaError as err:
            raise SchemaError(f"image.s3_uri: {err}", code="invalid_image") from None
        return ImageReference(s3_uri=value)
    if not _SHA256_HEX.match(value):
        raise SchemaError(
            "image.hash must be the 64-character lowercase sha256 hex digest returned as image_hash",
            code="invalid_image",
        )
    return ImageReference(hash=value)


def _parse_clicks(clicks: Any) -> tuple[Click, ...]:
    if not isinstance(clicks, list) or not clicks:
        raise SchemaError('clicks must be a non-empty list of {"x": float, "y": float, "kind": "extreme|box|positive|negative|boundary"} (4 extreme or 2 box clicks first)', code="invalid_clicks")
    parsed = []
    for index, click in enumerate(clicks):
        if not isinstance(click, dict):
            raise SchemaError(f"clicks[{index}] must be an object with x, y and kind", code="invalid_clicks")
        unknown = set(click) - {"x", "y", "kind"}
        if unknown:
            raise SchemaError(f"clicks[{index}] has unknown fields {sorted(unknown)}: use x, y, kind", code="invalid_clicks")
        for axis in ("x", "y"):
            value = click.get(axis)
            if axis in click and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise SchemaError(f"clicks[{index}].{axis} must be a JSON number, got {value!r:.40}", code="invalid_clicks")
        try:
            parsed.append(Click.from_dict(click))
        except (ValueError, TypeError) as err:
            raise SchemaError(f"clicks[{index}]: {err}", code="invalid_clicks") from None
    return tuple(parsed)


def _parse_rle(rle: Any) -> dict[str, Any] | None:
    if rle is None:
        return None
    if not isinstance(rle, dict) or set(rle) != {"size", "counts"} or not isinstance(rle["counts"], str):
        raise SchemaError('previous_mask must be null or a COCO compressed RLE {"size": [h, w], "counts": "<str>"}', code="invalid_previous_mask")
    return rle


def _parse_options(options: Any) -> dict[str, bool]:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise SchemaError('options must be an object like {"return_png": false, "return_probability": false}')
    unknown = set(options) - set(OPTION_NAMES)
    if unknown:
        raise SchemaError(f"unknown options {sorted(unknown)}: schema v1 knows {', '.join(OPTION_NAMES)}")
    for name, value in options.items():
        if not isinstance(value, bool):
            raise SchemaError(f"options.{name} must be true or false, got {value!r}")
    return dict(options)


def decode_previous_mask(rle: dict[str, Any] | None, width: int, height: int) -> np.ndarray | None:
    """The request's previous mask as a bool array, checked against the image size."""
    if rle is None:
        return None
    try:
        return rle_to_mask(rle, expected_size=(height, width))
    except ValueError as err:
        raise SchemaError(f"previous_mask: {err}: send the mask returned for this image", code="invalid_previous_mask") from None


# -- responses ------------------------------------------------------------------
def build_response(
    mask: np.ndarray,
    probability: np.ndarray | None,
    score: float,
    image_hash: str,
    timings: Mapping[str, float],
    backend: str,
    model_version: str,
    return_png: bool = False,
) -> dict[str, Any]:
    """The v1 response; ``probability`` is included (as an 8-bit PNG) only when given."""
    height, width = mask.shape
    response: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "model_version": model_version,
        "backend": backend,
        "image_hash": image_hash,
        "width": int(width),
        "height": int(height),
        "mask": mask_to_rle(mask),
        "score": float(score),
        "timings": {key: float(timings.get(key, 0.0)) for key in ("prepare_ms", "predict_ms", "total_ms")},
    }
    if return_png:
        response["png"] = _b64_png(mask.astype(np.uint8) * 255)
    if probability is not None:
        response["probability_png"] = _b64_png((np.clip(probability, 0.0, 1.0) * 255.0).round().astype(np.uint8))
    return response


def _b64_png(array: np.ndarray) -> str:
    return base64.b64encode(encode_png(array)).decode("ascii")


@dataclass(frozen=True)
class SegmentResponse:
    mask: np.ndarray
    probability: np.ndarray | None
    score: float
    image_hash: str
    timings: dict[str, float]
    backend: str
    model_version: str


def parse_response(body: bytes | str | Mapping[str, Any]) -> SegmentResponse:
    """Decode a v1 response (client side); the mask must match the stated width and height."""
    data = _load_json_object(body, "response")
    if "error" in data:
        raise SchemaError(error_message(data) or "the endpoint answered with an error", code=error_code(data) or "error")
    try:
        mask = rle_to_mask(data["mask"])
        width, height = int(data["width"]), int(data["height"])
        probability = None
        if "probability_png" in data:
            probability = load_image(base64.b64decode(data["probability_png"]))[:, :, 0].astype(np.float32) / 255.0
        response = SegmentResponse(
            mask=mask,
            probability=probability,
            score=float(data["score"]),
            image_hash=str(data["image_hash"]),
            timings={k: float(v) for k, v in dict(data.get("timings", {})).items()},
            backend=str(data.get("backend", "")),
            model_version=str(data.get("model_version", "")),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise SchemaError(f"the endpoint's response does not follow schema v{SCHEMA_VERSION}: {err!r}", code="invalid_response") from None
    if mask.shape != (height, width):
        raise SchemaError(f"response mask is {list(mask.shape)} but width/height say [{height}, {width}]", code="invalid_response")
    return response


def error_code(data: Mapping[str, Any]) -> str | None:
    error = data.get("error")
    return str(error.get("code")) if isinstance(error, dict) and error.get("code") else None


def error_message(data: Mapping[str, Any]) -> str | None:
    error = data.get("error")
    return str(error.get("message")) if isinstance(error, dict) and error.get("message") else None


def parse_error_text(text: str) -> dict[str, Any] | None:
    """Find a v1 error object in a body that may carry a traceback after it (SageMaker toolkit)."""
    for candidate in (text, text.split("\n", 1)[0]):
        try:
            data = json.loads(candidate)
        except (json.JSONDecodeError, TypeError):
            continue
        if isinstance(data, dict) and error_code(data):
            return data
    return None
