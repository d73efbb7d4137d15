"""One interface over a job folder on disk or under an S3 prefix.

Readers only need "list the files under this sub-folder" and "read this file",
so they work unchanged on ``aws s3 cp --recursive`` copies, on simulator output
and on live S3 through boto3.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..io.s3 import join_s3, parse_s3_uri  # noqa: F401  (re-exported for the readers and Lambdas)

# Sub-folders every Ground Truth job folder starts with; used to map an S3 URI
# written inside a manifest onto a local copy of the same folder.
JOB_SUBFOLDERS = ("annotations/", "manifests/", "activelearning/", "training/", "inference/")


class JobFolder(Protocol):
    """What the readers need from a job folder."""

    def list_files(self, subfolder: str) -> list[str]: ...
    def exists(self, relative: str) -> bool: ...
    def read_bytes(self, relative: str) -> bytes: ...
    def location(self, relative: str) -> str: ...


def read_text(folder: JobFolder, relative: str) -> str:
    """A UTF-8 file of the job (a byte-order mark is allowed), or an error that names it."""
    data = folder.read_bytes(relative)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{folder.location(relative)}: byte 0x{data[err.start]:02x} at offset {err.start} is not UTF-8") from None


@dataclass(frozen=True)
class LocalJobFolder:
    """A local copy of ``<S3OutputPath>/<job>/`` (or a simulator's output)."""

    root: Path

    def list_files(self, subfolder: str = "") -> list[str]:
        base = self.root / subfolder
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())

    def exists(self, relative: str) -> bool:
        return (self.root / relative).is_file()

    def read_bytes(self, relative: str) -> bytes:
        return (self.root / relative).read_bytes()

    def location(self, relative: str) -> str:
        return str(self.root / relative)


@dataclass(frozen=True)
class S3JobFolder:
    """``s3://bucket/prefix/<job>/`` read through a boto3 S3 client."""

    client: Any
    bucket: str
    prefix: str

    def _key(self, relative: str) -> str:
        return f"{self.prefix.rstrip('/')}/{relative}" if self.prefix else relative

    def list_files(self, subfolder: str = "") -> list[str]:
        base = self._key(subfolder)
        start = len(self.prefix.rstrip("/")) + 1 if self.prefix else 0
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base):
            keys.extend(item["Key"][start:] for item in page.get("Contents", []) if not item["Key"].endswith("/"))
        return sorted(keys)

    def exists(self, relative: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(relative))
        except ClientError:
            return False
        return True

    def read_bytes(self, relative: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(relative))["Body"].read()

    def location(self, relative: str) -> str:
        return f"s3://{self.bucket}/{self._key(relative)}"


def open_job_folder(source: str | Path, s3_client: Any = None) -> JobFolder:
    """A job folder from a local path or an ``s3://`` URI (boto3 client made on demand)."""
    text = str(source)
    if text.startswith("s3://"):
        bucket, key = parse_s3_uri(text)
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        return S3JobFolder(s3_client, bucket, key.rstrip("/"))
    root = Path(source)
    if not root.is_dir():
        raise FileNotFoundError(
            f"job folder {root} does not exist: pass a local copy of <S3OutputPath>/<job>/ or its s3:// URI"
        )
    return LocalJobFolder(root)


def relative_in_job(uri: str) -> str | None:
    """The job-relative path of an S3 URI that points inside a job folder (e.g. a label PNG).

    The last subfolder name counts: the output path above the job may itself contain
    ``annotations/`` or ``manifests/``, the paths Ground Truth writes inside the job do not.
    """
    index = max(uri.rfind("/" + marker) for marker in JOB_SUBFOLDERS)
    return uri[index + 1 :] if index >= 0 else None


def upload_bytes(s3_client: Any, uri: str, data: bytes, content_type: str = "application/octet-stream") -> str:
    bucket, key = parse_s3_uri(uri)
    if not key or key.endswith("/"):
        raise ValueError(f"{uri!r} names a folder: give the object's full key")
    s3_client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    return uri
