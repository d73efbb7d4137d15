"""For Ground Truth customers: correct pre-labels instead of drawing masks from nothing.

From a finished bounding-box job's output manifest, ``clickseg prelabel`` drafts every
object's mask; ``upload_adjustment_manifest`` puts the label maps in S3 and writes the
input manifest whose lines carry them as the previous label (``prelabel-ref``), and
``adjustment_job_request`` builds the semantic-segmentation *adjustment* job (its own
PRE-/ACS-AdjustmentSemanticSegmentation Lambdas, a worker page that opens on the
pre-label), checked against botocore's model and Ground Truth's rules before sending.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..groundtruth.labeling_requests import labeling_job_request
from ..groundtruth.storage import upload_bytes
from ..groundtruth.validation import validate_labeling_job_request
from ..io.s3 import join_s3
from .records import LABEL_ATTRIBUTE

ADJUSTMENT_TASK = "adjustment_semantic_segmentation"


def upload_adjustment_manifest(s3_client: Any, prelabels: str | Path, prefix_uri: str) -> tuple[str, int]:
    """Upload each label map and the manifest of ``prelabels`` (``clickseg prelabel``'s output) under ``prefix_uri``.

    Returns the manifest's URI and its line count (Ground Truth bills per line).
    """
    lines = []
    for text in Path(prelabels).read_text(encoding="utf-8").splitlines():
        if not text.strip():
            continue
        record = json.loads(text)
        manifest_line = dict(record["groundtruth"])
        label_uri = join_s3(prefix_uri, "label-maps", f"{record['line']:08d}.png")
        upload_bytes(s3_client, label_uri, Path(manifest_line[LABEL_ATTRIBUTE]).read_bytes(), "image/png")
        manifest_line[LABEL_ATTRIBUTE] = label_uri
        lines.append(json.dumps(manifest_line, separators=(",", ":")))
    if not lines:
        raise ValueError(f"{prelabels} holds no pre-labeled images: run clickseg prelabel on the bounding-box manifest first")
    manifest_uri = join_s3(prefix_uri, "adjustment.manifest")
    upload_bytes(s3_client, manifest_uri, ("\n".join(lines) + "\n").encode("utf-8"), "application/jsonlines")
    return manifest_uri, len(lines)


def adjustment_job_request(label_attribute_name: str = "mask-ref", object_count: int | None = None, **options: Any) -> dict[str, Any]:
    """CreateLabelingJob parameters for correcting the pre-labels; ``options`` as ``labeling_job_request`` takes them.

    The template (``UiTemplateS3Uri``) should come from ``render_template("adjustment_semantic_segmentation", ...,
    previous_attribute="prelabel-ref")`` so the worker page opens on the pre-label.
    """
    if label_attribute_name == LABEL_ATTRIBUTE:
        raise ValueError(f"the corrected labels need their own attribute, not the pre-labels' {LABEL_ATTRIBUTE!r}")
    request = labeling_job_request(ADJUSTMENT_TASK, label_attribute_name=label_attribute_name, **options)
    validate_labeling_job_request(request, object_count)
    return request
