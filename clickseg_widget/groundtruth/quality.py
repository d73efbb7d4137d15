"""Score a job's labels against reference labels (mIoU per image).

References map ``source-ref`` to boxes (detection) or a class-id map
(segmentation, 0 = background).  A simulator folder brings its own
references: the dataset masks the simulated humans copied.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence, Union, cast

import numpy as np

from ..simulation.datasets import load_mask
from .job_results import Job
from .matching import image_box_miou, mask_boxes, mask_iou, matched_ious
from .outputs import Box, LabeledObject

Reference = Union[list[Box], np.ndarray]


@dataclass
class ScoredLabel:
    item: LabeledObject
    miou: float
    pooled: list[float] = field(default_factory=list)  # per-box IoUs (boxes), pooled for group mIoU

    @property
    def human(self) -> bool:
        return self.item.human

    @property
    def confidence(self) -> float | None:
        return self.item.confidence


def class_map_miou(predicted: np.ndarray, reference: np.ndarray) -> float:
    """Mean over the foreground classes present in either map of their IoU; both empty = 1."""
    classes = sorted((set(np.unique(predicted)) | set(np.unique(reference))) - {0})
    if not classes:
        return 1.0
    return float(np.mean([mask_iou(predicted == c, reference == c) for c in classes]))


def simulation_references(job: Job) -> dict[str, Reference]:
    """The reference labels of a simulated job (empty for a real job)."""
    if job.simulation is None:
        return {}
    data_dir = Path(job.simulation["data_dir"])
    references: dict[str, Reference] = {}
    for source_ref, mask_name in job.simulation.get("masks", {}).items():
        if not (data_dir / mask_name).is_file():
            continue  # the dataset moved since the simulation ran: no reference for this object
        mask, _ = load_mask(data_dir / mask_name)
        references[source_ref] = mask_boxes(mask) if job.task == "bounding_box" else mask.astype(np.int32)
    return references


def score_labels(job: Job, references: Mapping[str, Reference] | None = None) -> list[ScoredLabel]:
    """mIoU of every final label that has a reference."""
    references = simulation_references(job) if references is None else references
    scored = []
    for item in job.objects:
        reference = references.get(item.source_ref)
        if reference is None:
            continue
        if item.task == "bounding_box":
            boxes = cast(list[Box], reference)  # a box job's references are boxes
            pooled = matched_ious(item.boxes, boxes) if item.boxes or boxes else [1.0]
            scored.append(ScoredLabel(item, image_box_miou(item.boxes, boxes), pooled))
        elif item.task == "semantic_segmentation":
            scored.append(ScoredLabel(item, class_map_miou(job.label_classes(item), np.asarray(reference))))
    return scored


def group_miou(scored: Sequence[ScoredLabel]) -> float:
    """mIoU of a group: box IoUs pooled over its images (the tutorial's group mIoU), image mIoUs for masks."""
    values = [v for s in scored for v in (s.pooled or [s.miou])]
    return float(np.mean(values)) if values else float("nan")
