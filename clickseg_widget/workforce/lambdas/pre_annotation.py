"""Pre-annotation Lambda: one manifest line in, the worker page's ``task.input`` out.

Ground Truth sends ``{"version", "labelingJobArn", "dataObject": <manifest
line>}``; the template reads ``task.input.taskObject`` (the image's S3 URI,
presigned there by ``grant_read_access``) and ``task.input.labels``.  The
labels come from the ``LABELS`` environment variable (a JSON list, set by
the stack from the same list as the job's label category file), because
Ground Truth passes label categories to consolidation only.
"""
from __future__ import annotations

import json
import os
from typing import Any

from ...groundtruth.manifests import label_category_config
from ...groundtruth.storage import parse_s3_uri


def task_labels() -> list[str]:
    raw = os.environ.get("LABELS", "")
    try:
        labels = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(f'LABELS={raw!r} is not JSON: set it to a list such as ["Cat", "Dog"]') from None
    if not isinstance(labels, list):
        raise ValueError(f"LABELS must be a JSON list of label names, got {type(labels).__name__}")
    return [entry["label"] for entry in label_category_config(labels)["labels"]]


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    data_object = event.get("dataObject")
    if not isinstance(data_object, dict) or not data_object.get("source-ref"):
        raise ValueError(
            f"the manifest line {json.dumps(data_object)[:300]} has no \"source-ref\": "
            'each line must be {"source-ref": "s3://bucket/image.jpg"}'
        )
    source = data_object["source-ref"]
    parse_s3_uri(source)
    return {"taskInput": {"taskObject": source, "labels": task_labels()}, "isHumanAnnotationRequired": True}
