"""Consolidation Lambda: several workers' label maps -> one label map per image.

Each worker's answer is the page's semantic-segmentation answer (a colour PNG
in ``labeledImage.pngImageData`` plus ``labelMappings``).  Pixels are decided
by majority vote across workers (ties go to the lower class id, so background
wins a split decision); the resulting palette PNG is written to S3 and the
return value names it in Ground Truth's semantic-segmentation format, so the
output manifest reads like the built-in task's.  Confidence is the mean share
of workers agreeing with each pixel's winner (0 with one worker, as Ground
Truth does).

Environment: ``OUTPUT_S3_URI``, the prefix the label maps go under.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
from collections import Counter
from typing import Any, Sequence

import numpy as np

from ...export.groundtruth import BACKGROUND, label_map, read_label_map, semantic_segmentation_manifest_line
from ...groundtruth.storage import join_s3, parse_s3_uri, upload_bytes

LOG = logging.getLogger(__name__)
_JOB_NAME = re.compile(r":labeling-job/(?P<name>[^/]+)$")


class AnswerError(ValueError):
    """One worker's answer that cannot be read; it is left out of the vote."""


def handler(event: dict[str, Any], context: Any = None) -> list[dict[str, Any]]:
    import boto3

    s3 = boto3.client("s3")
    attribute = event["labelAttributeName"]
    categories = category_names(event.get("labelCategories"))
    job_name = job_name_of(event.get("labelingJobArn", ""))
    output_prefix = os.environ.get("OUTPUT_S3_URI", "")
    if not output_prefix.startswith("s3://"):
        raise ValueError(f"OUTPUT_S3_URI={output_prefix!r}: set it to the s3://bucket/prefix the label maps go under")
    bucket, key = parse_s3_uri(event["payload"]["s3Uri"])
    payload = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    results = []
    for item in payload:
        object_id = str(item["datasetObjectId"])
        maps = []
        for annotation in item.get("annotations", []):
            try:
                maps.append(answer_classes(annotation["annotationData"]["content"], categories))
            except (AnswerError, KeyError, TypeError) as err:
                LOG.warning("object %s: worker %s's answer left out: %r", object_id, annotation.get("workerId"), err)
        if not maps:
            LOG.warning("object %s: no readable answer; Ground Truth will report it as not labeled", object_id)
            continue
        classes, confidence = majority_vote(maps)
        masks = [classes == index + 1 for index in range(len(categories))]
        result = label_map(masks, list(range(len(categories))), categories, confidence=confidence)
        uri = upload_bytes(s3, join_s3(output_prefix, job_name, "consolidated", f"{object_id}.png"), result.png, "image/png")
        line = semantic_segmentation_manifest_line(
            item.get("dataObject", {}).get("source-ref", ""), uri, result.color_map, attribute, job_name
        )
        line.pop("source-ref")
        results.append({"datasetObjectId": object_id, "consolidatedAnnotation": {"content": line}})
    return results


def category_names(raw: Any) -> list[str]:
    """The event's labelCategories as names (plain strings, or {"label": name} entries)."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"the event's labelCategories {raw!r} is not a non-empty list: give the job a label category file")
    return [entry["label"] if isinstance(entry, dict) else str(entry) for entry in raw]


def job_name_of(arn: str) -> str:
    match = _JOB_NAME.search(arn)
    if not match:
        raise ValueError(f"labelingJobArn {arn!r} does not end in :labeling-job/<name>")
    return match["name"]


def answer_classes(content: Any, categories: Sequence[str]) -> np.ndarray:
    """Class index per pixel (0 background, k+1 for categories[k]) from one worker's answer."""
    answer = _find_answer(content)
    try:
        png = base64.b64decode(answer["labeledImage"]["pngImageData"], validate=True)
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise AnswerError("labeledImage.pngImageData is missing or not base64") from None
    mappings = answer.get("labelMappings") or {}
    color_map = {"0": dict(BACKGROUND)}
    for label, mapping in mappings.items():
        if label not in categories:
            raise AnswerError(f"label {label!r} is not among the job's categories {list(categories)}")
        color_map[str(categories.index(label) + 1)] = {"class-name": label, "hex-color": mapping["color"].lower()}
    try:
        return read_label_map(png, color_map)
    except (OSError, ValueError) as err:
        raise AnswerError(f"the label PNG cannot be read: {err}") from None


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise AnswerError("the answer is not JSON") from None
    return value


def _find_answer(content: Any) -> dict[str, Any]:
    """The semantic-segmentation answer inside the form's fields (the field name does not matter)."""
    content = _json(content)
    if isinstance(content, dict) and "labeledImage" in content:
        return content
    if isinstance(content, dict):
        for value in content.values():
            value = _json(value) if isinstance(value, str) and value.startswith("{") else value
            if isinstance(value, dict) and "labeledImage" in value:
                return value
    raise AnswerError("no field holds a semantic-segmentation answer (labeledImage + labelMappings)")


def majority_vote(maps: Sequence[np.ndarray]) -> tuple[np.ndarray, float]:
    """Per-pixel majority class and the mean agreement (0 for a single worker).

    Answers of another size than the most common one are left out: they
    cannot be of the same image.
    """
    shape, _ = Counter(m.shape for m in maps).most_common(1)[0]
    stack = np.stack([m for m in maps if m.shape == shape])
    classes = int(stack.max()) + 1
    votes = np.stack([(stack == c).sum(axis=0) for c in range(classes)])
    winner = votes.argmax(axis=0).astype(np.int32)
    agreement = 0.0 if len(stack) == 1 else float((votes.max(axis=0) / len(stack)).mean())
    return winner, round(agreement, 4)
