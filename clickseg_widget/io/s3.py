"""S3 URIs: one parser for the serving, deployment and Ground Truth code."""
from __future__ import annotations

import re

# any bucket name AWS ever allowed (legacy us-east-1 buckets may hold capitals and underscores)
S3_URI = re.compile(r"s3://(?P<bucket>[^/\s]+)(?:/(?P<key>.*))?", re.S)


def parse_s3_uri(uri: str, require_key: bool = False) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``; the key may be empty or a prefix unless ``require_key``."""
    match = S3_URI.fullmatch(uri) if isinstance(uri, str) else None
    if match is None or "\n" in uri:
        raise ValueError(f"{uri!r} is not an S3 URI: write it as s3://bucket/key")
    key = match["key"] or ""
    if require_key and (not key or key.endswith("/")):
        raise ValueError(f"{uri!r} names no object: write it as s3://bucket/key")
    return match["bucket"], key


def join_s3(prefix: str, *parts: str) -> str:
    """Join key parts onto an S3 prefix with exactly one slash between them."""
    return "/".join([prefix.rstrip("/"), *(p.strip("/") for p in parts)])
