"""Pre-label a JSON Lines file on this machine: all cores, a progress bar, resumable, bad lines skipped.

The output file is appended one record per finished line, in input order, so a re-run
reads it, skips the lines already there and continues; a line cut short by a crash is
dropped and redone.  Label maps go to ``<output>-label-maps/``; when the run ends, the
Ground Truth output manifest ``<output stem>.manifest`` and a COCO file for review
(``<output stem>.coco.json``, least confident images first) are rebuilt from the records.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence

from .. import __version__
from ..io.atomic import atomic_write_bytes, atomic_write_json
from ..io.s3 import parse_s3_uri
from ..models.base import Segmenter
from ..models.registry import get_segmenter
from .records import LABEL_ATTRIBUTE, parse_task, prelabel


@dataclass
class PrelabelSummary:
    """What a run did: lines drafted now, lines found done already, and the lines that failed (number, reason)."""

    done: int = 0
    skipped: int = 0
    objects: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    manifest: Path | None = None


def model_version(segmenter: Segmenter) -> str:
    """The version written on every mask: the backend, its weights file and this package's version."""
    weights = segmenter.describe().get("weights")
    suffix = f"-{Path(weights).stem}" if weights else ""
    return f"{segmenter.name}{suffix}-clickseg-{__version__}"


def label_maps_folder(output: Path) -> Path:
    return output.with_name(f"{output.stem}-label-maps")


def manifest_path(output: Path) -> Path:
    return output.with_suffix(".manifest")


def finished_lines(output: Path) -> set[int]:
    """Line numbers already in ``output``; a last record cut short by a crash is removed."""
    if not output.is_file():
        return set()
    data = output.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with open(output, "r+b") as handle:
            handle.truncate(len(complete))
    return {json.loads(line)["line"] for line in complete.splitlines() if line.strip()}


def read_image_bytes(source_ref: str, base_dir: Path) -> bytes:
    """The image's bytes from S3 (``s3://``; AWS credentials needed) or a path relative to the input file."""
    if source_ref.startswith("s3://"):
        bucket, key = parse_s3_uri(source_ref, require_key=True)
        return _s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    path = Path(source_ref)
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise ValueError(f"image {path} does not exist (source-ref paths are relative to the input file)")
    return path.read_bytes()


@lru_cache(maxsize=1)
def _s3_client() -> Any:
    """One client per process (clients are thread-safe and slow to build)."""
    import boto3

    return boto3.client("s3")


# -- one line, in whichever process runs it ------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(backend: str, options: dict[str, Any], threads: int | None, base_dir: str, classes: Sequence[str] | None) -> None:
    segmenter = get_segmenter(backend, **options)
    if threads and "torch" in sys.modules:  # N workers share the cores instead of each taking all of them
        sys.modules["torch"].set_num_threads(threads)
    _WORKER.update(segmenter=segmenter, version=model_version(segmenter), base_dir=Path(base_dir), classes=classes)


def _run_line(item: tuple[int, str]) -> tuple[int, dict[str, Any] | None, bytes, str]:
    """``(line, record, label PNG, error)``: exactly one of record and error is set."""
    line, text = item
    try:
        task = parse_task(text, line, _WORKER["classes"])
        image = read_image_bytes(task.source_ref, _WORKER["base_dir"])
        result = prelabel(_WORKER["segmenter"], task, image, _WORKER["version"])
        return line, result.record, result.label_png, ""
    except Exception as err:  # one bad line is reported and skipped, never stops the rest
        message = str(err) if isinstance(err, (ValueError, OSError)) else f"{type(err).__name__}: {err}"
        return line, None, b"", message


def _pending(input_path: Path, done: set[int]) -> Iterator[tuple[int, str]]:
    with open(input_path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip() and number not in done:
                yield number, text


def _count_lines(input_path: Path) -> int:
    with open(input_path, "rb") as handle:
        return sum(1 for text in handle if text.strip())


def prelabel_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    backend: str = "default",
    workers: int = 1,
    classes: Sequence[str] | None = None,
    backend_options: dict[str, Any] | None = None,
    progress: bool = True,
) -> PrelabelSummary:
    """Draft masks for every line of ``input_path`` into ``output_path`` (JSON Lines), resuming a previous run."""
    input_path, output = Path(input_path), Path(output_path)
    if not input_path.is_file():
        raise FileNotFoundError(f"input {input_path} does not exist: give a JSON Lines file or a Ground Truth manifest")
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    output.parent.mkdir(parents=True, exist_ok=True)
    done = finished_lines(output)
    summary = PrelabelSummary(skipped=len(done))
    total = _count_lines(input_path)
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    init_args = (backend, dict(backend_options or {}), threads, str(input_path.parent.resolve()), tuple(classes or ()) or None)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=len(done), unit="image", desc="pre-labeling", disable=not progress)
    with RecordWriter(output, summary) as writer:
        for line, record, png, error in _map(init_args, workers, _pending(input_path, done)):
            bar.update(1)
            if record is None:
                writer.fail(line, error, str(input_path))
            else:
                writer.add(record, png)
    bar.close()
    return summary


class RecordWriter:
    """Appends finished records to the output, their label maps beside it; the manifest is rebuilt on close."""

    def __init__(self, output: Path, summary: PrelabelSummary) -> None:
        self.output, self.summary = output, summary
        self.maps = label_maps_folder(output)

    def __enter__(self) -> "RecordWriter":
        self.maps.mkdir(parents=True, exist_ok=True)
        self.sink = open(self.output, "a", encoding="utf-8")
        return self

    def add(self, record: dict[str, Any], label_png: bytes) -> None:
        label_file = self.maps / f"{record['line']:08d}.png"
        atomic_write_bytes(label_file, label_png)
        record["groundtruth"][LABEL_ATTRIBUTE] = str(label_file.resolve())
        self.sink.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.sink.flush()
        self.summary.done += 1
        self.summary.objects += len(record["objects"])

    def fail(self, line: int, error: str, location: str) -> None:
        self.summary.failed.append((line, error))
        from tqdm.auto import tqdm

        tqdm.write(f"{location}:{line}: skipped: {error}", file=sys.stderr)  # above a running progress bar

    def __exit__(self, *exc_info: Any) -> None:
        self.sink.close()
        self.summary.manifest = write_manifest(self.output)


def _map(init_args: tuple, workers: int, items: Iterator[tuple[int, str]]) -> Iterator[tuple[int, dict | None, bytes, str]]:
    """Lines through ``_run_line``, in input order: in this process for one worker, a process pool otherwise."""
    if workers == 1:
        _init_worker(*init_args)
        yield from map(_run_line, items)
        return
    # spawn: each worker builds its own model; a forked copy of a threaded torch runtime can deadlock
    with multiprocessing.get_context("spawn").Pool(workers, _init_worker, init_args) as pool:
        yield from pool.imap(_run_line, items, chunksize=1)


def coco_path(output: Path) -> Path:
    return output.with_suffix(".coco.json")


def write_manifest(output: Path) -> Path:
    """The Ground Truth output manifest of every record in ``output`` (input-line order) and the COCO file for review."""
    records = [json.loads(text) for text in output.read_text(encoding="utf-8").splitlines() if text.strip()]
    records.sort(key=lambda record: record["line"])
    text = "".join(json.dumps(record["groundtruth"], separators=(",", ":")) + "\n" for record in records)
    atomic_write_json(coco_path(output), review_coco(records))
    return atomic_write_bytes(manifest_path(output), text.encode("utf-8"))


def review_coco(records: list[dict[str, Any]]) -> dict[str, Any]:
    """COCO with scores, images least confident first: the order a reviewer should correct them in."""
    classes = list(dict.fromkeys(item["class"] for record in records for item in record["objects"]))
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image_id, record in enumerate(sorted(records, key=lambda r: (r["confidence"], r["line"])), start=1):
        size = record["image-size"]
        images.append({"id": image_id, "file_name": Path(record["source-ref"]).name, "source-ref": record["source-ref"],
                       "width": size["width"], "height": size["height"], "confidence": record["confidence"], "line": record["line"]})
        for item in record["objects"]:
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": classes.index(item["class"]) + 1,
                "segmentation": item["segmentation"], "bbox": item["bbox"], "area": item["area"], "iscrowd": 0,
                "score": item["score"], "model_version": item["model-version"],
            })
    return {"images": images, "annotations": annotations,
            "categories": [{"id": index, "name": name} for index, name in enumerate(classes, start=1)]}
