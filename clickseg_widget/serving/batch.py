"""Pre-labeling records through the serving handler: what Batch Transform sends with ``SplitType=Line``.

With ``BatchStrategy=MultiRecord`` a request body holds several input lines; the answer
holds one output line per input line, in order, which Batch Transform assembles into
``<input>.out``.  A line that fails becomes an error line instead of failing the whole
job, so one bad box never costs the other 9,999 images.  The label map travels inside
the line (base64 PNG) because a transform job writes nothing but its output file.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Callable

from ..models.base import ImageContext, Segmenter
from ..prelabel.records import error_record, parse_task, prelabel
from ..protocol.schema import SchemaError

JSONLINES_CONTENT_TYPE = "application/jsonlines"
LABEL_PNG_KEY = "label-map-png"


@dataclass(frozen=True)
class PrelabelBatch:
    """The input lines of one request, numbered from 1 within the request."""

    lines: tuple[tuple[int, str], ...]


def parse_batch(body: bytes | str) -> PrelabelBatch:
    text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    lines = tuple((number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip())
    if not lines:
        raise SchemaError("the request holds no JSON Lines records: send one image with its objects per line", code="empty_batch")
    return PrelabelBatch(lines)


def run_batch(
    segmenter: Segmenter, read_source: Callable[[str], ImageContext], model_version: str, batch: PrelabelBatch
) -> list[dict[str, Any]]:
    """One output record per input line: the drafted masks, or the line's error.

    Takes the serving model's parts, not the model, so the handler can import this module.
    """
    records = []
    for number, text in batch.lines:
        source_ref = None
        try:
            task = parse_task(text, number)
            source_ref = task.source_ref
            result = prelabel(segmenter, task, read_source(source_ref), model_version)
        except ValueError as err:  # a bad line, an unreadable image or S3 object, a box outside the image
            records.append(error_record(number, source_ref, str(err)))
            continue
        result.record[LABEL_PNG_KEY] = base64.b64encode(result.label_png).decode("ascii")
        records.append(result.record)
    return records


def encode_records(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records).encode("utf-8")
