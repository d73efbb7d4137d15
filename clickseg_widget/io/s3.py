"""S3 URIs: one parser for the serving, deployment and Ground Truth code."""
from __future__ import annotations

import re
from typing import Any

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


def s3_client(session: Any = None) -> Any:
    """An S3 client from the user's ``boto3.Session`` (or the default one: their profile, region, role)."""
    import boto3  # only where S3 is used

    return (session or boto3.Session()).client("s3")


def read_s3_object(uri: str, client: Any) -> bytes:
    """The bytes of ``s3://bucket/key``, with what to check when it cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = parse_s3_uri(uri, require_key=True)
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "error")
        raise OSError(f"cannot read {uri} ({code}): check the URI and that your AWS credentials may read it") from None
    except BotoCoreError as err:
        raise OSError(f"cannot read {uri}: {err}") from None
