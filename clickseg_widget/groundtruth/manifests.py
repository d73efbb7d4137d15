"""JSON-lines manifests: strict or lenient reading, input manifests and label
category files.

A malformed line in a 100,000-line manifest must name its file and line
number; a notebook user exploring a half-broken job may prefer to skip such
lines and see how many were dropped (``lenient=True``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..io.images import IMAGE_SUFFIXES
from .storage import join_s3, parse_s3_uri, upload_bytes

CATEGORY_DOCUMENT_VERSION = "2018-11-28"


class ManifestError(ValueError):
    """A manifest line that is not what Ground Truth writes, with where it is."""

    def __init__(self, location: str, line_number: int, problem: str, unit: str = "line") -> None:
        self.location, self.line_number, self.problem = location, line_number, problem
        super().__init__(f"{location}, {unit} {line_number}: {problem}")


@dataclass
class ParsedLines:
    """The JSON objects of a manifest with their line numbers, and what lenient mode skipped."""

    location: str
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    skipped: list[ManifestError] = field(default_factory=list)


def parse_json_lines(content: bytes | str, location: str, lenient: bool = False, prefix_token: bool = False) -> ParsedLines:
    """Parse one JSON object per line; blank lines and a UTF-8 byte-order mark are allowed.

    Bytes are decoded line by line, so a byte that is not UTF-8 is reported (or,
    when lenient, skipped) with its line like any other bad line.
    ``prefix_token`` reads active-learning output, where each line is a token,
    a space, then the manifest line.
    """
    parsed = ParsedLines(location)
    lines: list[bytes | str] = []
    if isinstance(content, bytes):
        lines.extend(content.removeprefix(b"\xef\xbb\xbf").splitlines())
    else:
        lines.extend(content.removeprefix("\ufeff").splitlines())
    for number, raw in enumerate(lines, start=1):
        try:
            line = _decoded(raw)
            if not line.strip():
                continue
            parsed.records.append((number, _parse_line(line, prefix_token)))
        except ValueError as err:
            error = ManifestError(location, number, str(err))
            if not lenient:
                raise error from None
            parsed.skipped.append(error)
    return parsed


def _decoded(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"byte 0x{raw[err.start]:02x} at column {err.start + 1} is not UTF-8; Ground Truth manifests are UTF-8 "
            "(re-encode the file, or read it with lenient=True to skip the line)"
        ) from None


def _parse_line(line: str, prefix_token: bool) -> dict[str, Any]:
    if prefix_token:
        token, _, line = line.strip().partition(" ")
        if not line:
            raise ValueError("expected '<token> <manifest line as JSON>', found no space-separated JSON")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON ({err.msg} at column {err.colno}); each line must be one JSON object") from None
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object per line, found {type(record).__name__}")
    return record


def read_manifest(path: str | Path, lenient: bool = False) -> ParsedLines:
    path = Path(path)
    return parse_json_lines(path.read_bytes(), str(path), lenient)


def to_json_lines(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records)


# -- input manifests ---------------------------------------------------------
def input_manifest(source_refs: Iterable[str]) -> str:
    """``{"source-ref": uri}`` per line, the input every image task reads."""
    refs = list(source_refs)
    if not refs:
        raise ValueError("an input manifest needs at least one image")
    for ref in refs:
        parse_s3_uri(ref)
    return to_json_lines({"source-ref": ref} for ref in refs)


def list_s3_images(s3_client: Any, prefix_uri: str) -> list[str]:
    """The image objects under an S3 prefix, sorted, as ``s3://`` URIs."""
    bucket, prefix = parse_s3_uri(prefix_uri)
    uris = []
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if Path(item["Key"]).suffix.lower() in IMAGE_SUFFIXES:
                uris.append(f"s3://{bucket}/{item['Key']}")
    if not uris:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {prefix_uri}")
    return sorted(uris)


def upload_images(s3_client: Any, folder: str | Path, prefix_uri: str) -> list[str]:
    """Upload a local folder's images under an S3 prefix; returns their URIs in name order."""
    folder = Path(folder)
    images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise FileNotFoundError(f"{folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    uris = []
    for image in images:
        content_type = "image/png" if image.suffix.lower() == ".png" else "image/jpeg"
        uris.append(upload_bytes(s3_client, join_s3(prefix_uri, image.name), image.read_bytes(), content_type))
    return uris


def upload_input_manifest(s3_client: Any, source_refs: Iterable[str], manifest_uri: str) -> str:
    return upload_bytes(s3_client, manifest_uri, input_manifest(source_refs).encode("utf-8"), "application/jsonlines")


# -- label categories --------------------------------------------------------
def label_category_config(labels: Iterable[str]) -> dict[str, Any]:
    """The label category file; labels must be non-empty and unique."""
    labels = [str(label) for label in labels]
    if not labels:
        raise ValueError("bounding-box and segmentation jobs need at least one label")
    if any(not label.strip() for label in labels):
        raise ValueError("labels must not be empty or blank")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ValueError(f"labels must be unique; repeated: {', '.join(duplicates)}")
    return {"document-version": CATEGORY_DOCUMENT_VERSION, "labels": [{"label": label} for label in labels]}


def upload_label_categories(s3_client: Any, labels: Iterable[str], uri: str) -> str:
    body = json.dumps(label_category_config(labels)).encode("utf-8")
    return upload_bytes(s3_client, uri, body, "application/json")
