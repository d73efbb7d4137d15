"""Write labels in a Ground Truth job folder's layout and formats.

The simulator's output must be read by the same code as a real job, so this
writer produces exactly what the readers consume: consolidation responses per
iteration, each simulated worker's boxes (``worker-response``),
active-learning ``auto_annotator_output.txt`` files, intermediate
and final manifests, and label-map PNGs for segmentation.  Every file is
written atomically.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..export.coco import mask_bbox
from ..export.groundtruth import label_map, semantic_segmentation_manifest_line
from ..io.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from .iterations import AUTO_LABEL_FILE, CONSOLIDATION_DIR
from .manifests import to_json_lines
from .outputs import OUTPUT_MANIFEST, TYPE_BOXES, Box
from .storage import join_s3

LABEL_PNG_DIR = "annotations/consolidated-annotation/output"
WORKER_RESPONSE_DIR = "annotations/worker-response"


class JobFolderWriter:
    def __init__(self, root: str | Path, job_name: str, task: str, attribute: str, class_name: str, output_path: str) -> None:
        self.root = Path(root)
        self.job_name = job_name
        self.task = task
        self.attribute = attribute
        self.class_name = class_name
        self.job_uri = join_s3(output_path, job_name)

    def label_line(
        self, object_id: str, source_ref: str, mask: np.ndarray, human: bool, confidence: float, when: datetime
    ) -> dict[str, Any]:
        """The manifest line for one object's label (writes its PNG for segmentation)."""
        if self.task == "semantic_segmentation":
            labels = label_map([mask], [0], [self.class_name], confidence=confidence)
            name = f"{LABEL_PNG_DIR}/{object_id}_{when.strftime('%Y-%m-%dT%H-%M-%S')}.png"
            atomic_write_bytes(self.root / name, labels.png)
            return semantic_segmentation_manifest_line(
                source_ref, join_s3(self.job_uri, name), labels.color_map, self.attribute, self.job_name, human, when
            )
        left, top, width, height = mask_bbox(mask)
        return {
            "source-ref": source_ref,
            self.attribute: {
                "image_size": [{"width": int(mask.shape[1]), "height": int(mask.shape[0]), "depth": 3}],
                "annotations": [{"class_id": 0, "left": left, "top": top, "width": width, "height": height}],
            },
            f"{self.attribute}-metadata": {
                "objects": [{"confidence": round(float(confidence), 4)}],
                "class-map": {"0": self.class_name},
                "type": TYPE_BOXES,
                "human-annotated": "yes" if human else "no",
                "creation-date": when.isoformat(timespec="microseconds"),
                "job-name": f"labeling-job/{self.job_name}",
            },
        }

    def write_consolidation(self, iteration: int, lines: dict[str, dict[str, Any]], when: datetime) -> None:
        """The human labels of one iteration as a consolidation-response file."""
        if not lines:
            return
        entries = [
            {
                "datasetObjectId": object_id,
                "dataObject": {"s3Uri": line["source-ref"]},
                "consolidatedAnnotation": {"content": {k: v for k, v in line.items() if k != "source-ref"}},
            }
            for object_id, line in lines.items()
        ]
        name = f"{CONSOLIDATION_DIR}iteration-{iteration}/{when.strftime('%Y-%m-%d_%H:%M:%S')}.json"
        atomic_write_json(self.root / name, entries)

    def write_worker_boxes(self, iteration: int, object_id: str, boxes: Sequence[Box], size: tuple[int, int],
                           when: datetime) -> None:
        """Each worker's boxes for one object, as ``annotations/worker-response/iteration-<N>/<id>/<time>.json``.

        The answer is the ``crowd-bounding-box`` element's (``boundingBox``:
        ``boundingBoxes`` with label and pixel edges, ``inputImageProperties``),
        one entry per worker, which is what the tutorial reads to draw them.
        """
        height, width = size
        answers = [
            {
                "workerId": f"simulated-worker-{number}",
                "submissionTime": when.isoformat(timespec="seconds"),
                "answerContent": {"boundingBox": {
                    "boundingBoxes": [{"label": self.class_name, "left": int(box.left), "top": int(box.top),
                                       "width": int(box.width), "height": int(box.height)}],
                    "inputImageProperties": {"width": width, "height": height},
                }},
            }
            for number, box in enumerate(boxes, start=1)
        ]
        name = f"{WORKER_RESPONSE_DIR}/iteration-{iteration}/{object_id}/{when.strftime('%Y-%m-%d_%H:%M:%S')}.json"
        atomic_write_json(self.root / name, {"answers": answers})

    def write_auto_labels(self, iteration: int, lines: dict[str, dict[str, Any]]) -> None:
        """The machine labels of one iteration: ``<token> <manifest line>`` per line."""
        if not lines:
            return
        text = "".join(f"{object_id} {json.dumps(line, separators=(',', ':'))}\n" for object_id, line in lines.items())
        atomic_write_text(self.root / f"activelearning/{self.job_name}/{iteration}/output/{AUTO_LABEL_FILE}", text)

    def write_manifest(self, lines: list[dict[str, Any]], iteration: int | None = None) -> None:
        """An intermediate manifest (``iteration`` given) or the final output manifest."""
        name = OUTPUT_MANIFEST if iteration is None else f"manifests/intermediate/{iteration}/output.manifest"
        atomic_write_text(self.root / name, to_json_lines(lines))
