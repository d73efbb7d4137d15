"""Each worker's own boxes, from ``annotations/worker-response/`` of a job folder.

Ground Truth keeps every worker's answer before consolidation in
``annotations/worker-response/iteration-<N>/<datasetObjectId>/<time>.json``:
``{"answers": [{"workerId", "answerContent": {"boundingBox": {"boundingBoxes":
[{"label", "left", "top", "width", "height"}, ...]}}}, ...]}``.  The
``datasetObjectId`` is the object's position in the input manifest, which the
output manifest keeps, so answers are tied to their ``source-ref`` by that
position (as the tutorial does).
"""
from __future__ import annotations

import json
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .iterations import consolidation_iteration
from .job_results import Job
from .manifests import ManifestError, parse_json_lines
from .outputs import OUTPUT_MANIFEST, Box
from .storage import read_text

WORKER_RESPONSE_DIR = "annotations/worker-response/"
UNKNOWN_CLASS = -1  # a worker's box whose label is not in the job's class map


@dataclass
class WorkerAnswer:
    """One worker's boxes for one data object."""

    worker_id: str
    iteration: int
    boxes: list[Box] = field(default_factory=list)


def read_worker_boxes(job: Job, lenient: bool = False) -> dict[str, list[WorkerAnswer]]:
    """``source-ref`` -> every worker's answer, in file order; empty when the folder keeps no worker responses.

    A file that is not a worker response raises ``ManifestError`` naming it (skipped with a warning when lenient).
    """
    files = [f for f in job.folder.list_files(WORKER_RESPONSE_DIR) if f.endswith(".json")]
    if not files:
        return {}
    sources = _sources_by_object_id(job)
    class_ids = {name: class_id for item in job.objects for class_id, name in item.class_map.items()}
    answers: dict[str, list[WorkerAnswer]] = defaultdict(list)
    for relative in sorted(files):
        object_id = PurePosixPath(relative).parent.name
        source_ref = sources.get(object_id)
        iteration = consolidation_iteration(relative) or 0
        try:
            if source_ref is None:
                raise ValueError(f"datasetObjectId {object_id!r} (the folder name) is no line of the output manifest")
            parsed = _parse(read_text(job.folder, relative), iteration, class_ids)
            answers[source_ref].extend(parsed)
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            error = ManifestError(job.folder.location(relative), 1, f"not a worker response ({err})", unit="file")
            if not lenient:
                raise error from None
            warnings.warn(str(error), stacklevel=2)
    return dict(answers)


def _sources_by_object_id(job: Job) -> dict[str, str]:
    if not job.folder.exists(OUTPUT_MANIFEST):
        return {}
    parsed = parse_json_lines(job.folder.read_bytes(OUTPUT_MANIFEST), job.folder.location(OUTPUT_MANIFEST), lenient=True)
    # datasetObjectId is the object's line position: taken from the line number, so a malformed line skipped
    # (lenient) does not shift the answers below it onto the wrong images
    return {str(number - 1): source for number, record in parsed.records
            if (source := record.get("source-ref") or record.get("source"))}


def _parse(text: str, iteration: int, class_ids: dict[str, int]) -> list[WorkerAnswer]:
    answers = []
    for answer in json.loads(text)["answers"]:
        content = answer["answerContent"].get("boundingBox")
        if content is None:
            raise ValueError("answerContent has no 'boundingBox': only bounding-box worker answers are read")
        boxes = [
            Box(class_ids.get(raw.get("label"), UNKNOWN_CLASS), float(raw["left"]), float(raw["top"]),
                float(raw["width"]), float(raw["height"]))
            for raw in content.get("boundingBoxes") or []  # a worker who saw nothing answers null
        ]
        answers.append(WorkerAnswer(str(answer["workerId"]), iteration, boxes))
    return answers
