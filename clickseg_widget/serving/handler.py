"""The SageMaker inference-toolkit contract around any registered segmenter.

``model_fn``/``input_fn``/``predict_fn``/``output_fn`` are what the PyTorch
serving container calls (its default ``model_fn`` loads TorchScript only, so
we provide ours); ``handle_invocation`` is the same pipeline with HTTP status
mapping, used by the local server.  Prepared images live in an LRU keyed by
the sha256 of the bytes as sent, so corrective clicks can refer to the image
by hash instead of re-sending it.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..io.images import ImageError
from ..models.base import ImageContext, Segmenter
from ..models.registry import get_segmenter
from ..protocol.schema import (
    JSON_CONTENT_TYPE,
    SchemaError,
    SegmentRequest,
    build_response,
    decode_previous_mask,
    error_body,
    parse_request,
    sha256_hex,
    split_s3_uri,
)
from .batch import JSONLINES_CONTENT_TYPE, PrelabelBatch, encode_records, parse_batch, run_batch

LOG = logging.getLogger(__name__)
SERVING_CONFIG = "serving.json"
DEFAULT_IMAGE_CACHE = 32
# prepared images may be large (a 16k x 16k image is 0.8 GB of pixels): bound the cache by bytes too
DEFAULT_IMAGE_CACHE_BYTES = 1 << 30
# Requests that upload an image (decode, prepare, first mask: the heavy ones) run one at a time;
# others wait up to UPLOAD_WAIT_S, then get 503. So a burst of large uploads takes at most one
# core and one server thread at a time, and clicks by hash and /ping keep answering.
DEFAULT_CONCURRENT_UPLOADS = 1
UPLOAD_WAIT_S = 10.0

# Reads an S3 object's bytes; replaced in tests, built from boto3 lazily otherwise.
S3Reader = Callable[[str, str], bytes]


@dataclass
class ServingModel:
    """A segmenter plus the server-side LRU of prepared images (thread-safe)."""

    segmenter: Segmenter
    model_version: str
    cache_size: int = DEFAULT_IMAGE_CACHE
    s3_reader: S3Reader | None = None
    cache_bytes: int = DEFAULT_IMAGE_CACHE_BYTES
    concurrent_uploads: int = DEFAULT_CONCURRENT_UPLOADS
    _images: "OrderedDict[str, ImageContext]" = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _upload_slots: threading.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._upload_slots = threading.BoundedSemaphore(max(1, self.concurrent_uploads))

    @property
    def backend(self) -> str:
        return self.segmenter.name

    def invoke(self, request: SegmentRequest) -> dict[str, Any]:
        if request.image.hash is not None:  # a click on a prepared image: never queued behind uploads
            return self._invoke(request)
        if not self._upload_slots.acquire(timeout=UPLOAD_WAIT_S):
            raise SchemaError(
                f"the server is busy with {self.concurrent_uploads} other image uploads: retry in a moment "
                "(clicks on an uploaded image, by its hash, are not limited)",
                code="server_busy",
                status=503,
            )
        try:
            return self._invoke(request)
        finally:
            self._upload_slots.release()

    def _invoke(self, request: SegmentRequest) -> dict[str, Any]:
        start = time.perf_counter()
        image_hash, context = self._context_for(request)
        prepare_ms = (time.perf_counter() - start) * 1000.0
        previous = decode_previous_mask(request.previous_mask, context.width, context.height)
        predict_start = time.perf_counter()
        try:
            prediction = self.segmenter.predict(context, request.clicks, previous)
        except ValueError as err:  # the base class's click checks: outside the image, order, degenerate box
            raise SchemaError(str(err), code="invalid_clicks") from None
        predict_ms = (time.perf_counter() - predict_start) * 1000.0
        timings = {"prepare_ms": prepare_ms, "predict_ms": predict_ms, "total_ms": (time.perf_counter() - start) * 1000.0}
        return build_response(
            prediction.mask,
            prediction.probability if request.return_probability else None,
            prediction.score,
            image_hash,
            timings,
            backend=self.backend,
            model_version=self.model_version,
            return_png=request.return_png,
        )

    def _context_for(self, request: SegmentRequest) -> tuple[str, ImageContext]:
        reference = request.image
        if reference.hash is not None:
            context = self._cached(reference.hash)
            if context is None:
                raise SchemaError(
                    f"image hash {reference.hash} is not in the server's cache (evicted or the server restarted): "
                    "re-send the image as image.b64 or image.s3_uri",
                    code="unknown_image_hash",
                    status=404,
                )
            return reference.hash, context
        data = reference.data if reference.data is not None else self._read_s3(str(reference.s3_uri))
        image_hash = sha256_hex(data)
        context = self._cached(image_hash)
        if context is None:
            context = self._prepare(data)
            with self._lock:
                self._images[image_hash] = context
                self._evict()
        return image_hash, context

    def _prepare(self, data: bytes) -> ImageContext:
        try:
            return self.segmenter.prepare(data)
        except ImageError as err:
            raise SchemaError(f"the image cannot be decoded: {err}", code="invalid_image") from None

    def _evict(self) -> None:
        """Drop least recently used images beyond the count or byte bound (the newest always stays)."""
        total = sum(context_bytes(context) for context in self._images.values())
        while len(self._images) > 1 and (len(self._images) > self.cache_size or total > self.cache_bytes):
            total -= context_bytes(self._images.popitem(last=False)[1])

    @property
    def cached_bytes(self) -> int:
        with self._lock:
            return sum(context_bytes(context) for context in self._images.values())

    def _cached(self, image_hash: str) -> ImageContext | None:
        with self._lock:
            context = self._images.get(image_hash)
            if context is not None:
                self._images.move_to_end(image_hash)
            return context

    def read_source(self, source_ref: str) -> ImageContext:
        """A pre-labeling line's image: the container reads S3 only, never its own files."""
        if not source_ref.startswith("s3://"):
            raise SchemaError(f"source-ref {source_ref!r} is not an S3 URI: the endpoint and Batch Transform read images from S3")
        try:
            return self.segmenter.prepare(self._read_s3(source_ref))
        except ImageError as err:
            raise SchemaError(f"{source_ref} cannot be decoded: {err}", code="invalid_image") from None

    def _read_s3(self, uri: str) -> bytes:
        bucket, key = split_s3_uri(uri)
        if self.s3_reader is None:
            self.s3_reader = boto3_s3_reader()
        try:
            return self.s3_reader(bucket, key)
        except Exception as err:  # botocore's ClientError/NoCredentialsError and friends
            raise SchemaError(
                f"cannot read {uri} ({err}): check the URI and that the endpoint's execution role may s3:GetObject it",
                code="s3_read_failed",
            ) from None


def context_bytes(context: ImageContext) -> int:
    """Pixels plus every array or tensor a backend keeps in the context's features."""
    return int(context.image.nbytes) + _nbytes(context.features)


def _nbytes(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_nbytes(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(item) for item in value)
    size = getattr(value, "nbytes", 0)  # numpy arrays and torch tensors
    return size if isinstance(size, int) else 0


def boto3_s3_reader() -> S3Reader:
    import boto3

    client = boto3.client("s3")
    return lambda bucket, key: client.get_object(Bucket=bucket, Key=key)["Body"].read()


def load_serving_model(
    model_dir: str | Path | None = None,
    backend: str | None = None,
    options_override: dict[str, Any] | None = None,
    model_version: str | None = None,
    cache_size: int | None = None,
    cache_bytes: int | None = None,
) -> ServingModel:
    """Build the model from ``model_dir/serving.json`` (written by ``build_model_archive``) or a backend name.

    ``serving.json`` holds ``backend``, ``options``, ``file_options`` (option -> file name inside
    ``model_dir``, e.g. weights) and ``model_version``; explicit arguments win.
    """
    config: dict[str, Any] = {}
    if model_dir is not None:
        config_path = Path(model_dir) / SERVING_CONFIG
        if config_path.is_file():
            config = json.loads(config_path.read_text())
        elif backend is None:
            raise FileNotFoundError(
                f"{config_path} does not exist: point at an unpacked archive from build_model_archive(), or name a backend"
            )
    options = dict(config.get("options", {}))
    for option, file_name in config.get("file_options", {}).items():
        path = Path(model_dir) / file_name  # type: ignore[arg-type]
        if not path.is_file():
            raise FileNotFoundError(f"{SERVING_CONFIG} names {file_name} for option {option!r} but {path} is missing")
        options[option] = str(path)
    options.update(options_override or {})
    name = backend or config.get("backend", "default")
    try:
        segmenter = get_segmenter(name, **options)
    except TypeError as err:  # an option the backend's constructor does not take
        raise ValueError(f"backend {name!r} does not accept the options {sorted(options)}: {err}") from None
    return ServingModel(
        segmenter=segmenter,
        model_version=str(model_version or config.get("model_version") or segmenter.name),
        cache_size=int(cache_size or config.get("image_cache_size") or DEFAULT_IMAGE_CACHE),
        cache_bytes=int(cache_bytes or config.get("image_cache_bytes") or DEFAULT_IMAGE_CACHE_BYTES),
    )


# -- the inference toolkit's four functions ----------------------------------------
def model_fn(model_dir: str, context: Any = None) -> ServingModel:
    return load_serving_model(model_dir)


def input_fn(body: bytes | str, content_type: str | None, context: Any = None) -> SegmentRequest | PrelabelBatch:
    if base_content_type(content_type) == JSONLINES_CONTENT_TYPE:  # Batch Transform's pre-labeling lines
        return parse_batch(body)
    if base_content_type(content_type) != JSON_CONTENT_TYPE:
        raise SchemaError(
            f"content type {content_type!r} is not supported: send the v1 JSON request as {JSON_CONTENT_TYPE}, "
            f"or pre-labeling lines as {JSONLINES_CONTENT_TYPE}",
            code="unsupported_content_type",
            status=415,
        )
    return parse_request(body)


def predict_fn(request: SegmentRequest | PrelabelBatch, model: ServingModel, context: Any = None) -> dict[str, Any] | list[dict[str, Any]]:
    if isinstance(request, PrelabelBatch):
        return run_batch(model.segmenter, model.read_source, model.model_version, request)
    return model.invoke(request)


def output_fn(prediction: dict[str, Any] | list[dict[str, Any]], accept: str | None, context: Any = None) -> tuple[bytes, str]:
    if isinstance(prediction, list):  # pre-labeling records, one line each, whatever Accept says
        return encode_records(prediction), JSONLINES_CONTENT_TYPE
    if base_content_type(accept) not in (JSON_CONTENT_TYPE, "*/*", ""):
        raise SchemaError(f"accept type {accept!r} is not supported: accept {JSON_CONTENT_TYPE}", code="unsupported_accept", status=406)
    return json.dumps(prediction, separators=(",", ":")).encode("utf-8"), JSON_CONTENT_TYPE


def base_content_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def handle_invocation(model: ServingModel, body: bytes, content_type: str | None, accept: str | None) -> tuple[int, bytes]:
    """Run the four functions; map failures to a status and a v1 error body, never raise."""
    try:
        request = input_fn(body, content_type)
        return 200, output_fn(predict_fn(request, model), accept)[0]
    except SchemaError as err:
        return err.status, json.dumps(err.to_body()).encode("utf-8")
    except Exception as err:  # a backend bug must not take the server down
        LOG.exception("invocation failed")
        message = f"the {model.backend} backend failed: {type(err).__name__}: {err}"
        return 500, json.dumps(error_body("internal_error", message)).encode("utf-8")
