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
    reference: Reference | None = field(default=None, repr=False)  # what it was scored against, for drawing

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
            scored.append(ScoredLabel(item, image_box_miou(item.boxes, boxes), matched_ious(item.boxes, boxes), boxes))
        elif item.task == "semantic_segmentation":
            classes = np.asarray(reference)
            scored.append(ScoredLabel(item, class_map_miou(job.label_classes(item), classes), reference=classes))
    return scored


def group_miou(scored: Sequence[ScoredLabel]) -> float:
    """mIoU of a group: box IoUs pooled over its images (the tutorial's group mIoU), image mIoUs for masks.

    Boxes are matched within their own image and the per-box IoUs (0 for each false positive and miss)
    averaged; images with no box on either side add nothing, and a group made only of them scores 1.
    (The tutorial's ``group_miou`` pours every box of the group into one notional image, so a box could
    match a reference of another image; matching within the image avoids that.)  NaN for no images.
    """
    if not scored:
        return float("nan")
    values = [v for s in scored for v in (s.pooled if s.item.task == "bounding_box" else [s.miou])]
    return float(np.mean(values)) if values else 1.0


def mean_image_miou(scored: Sequence[ScoredLabel]) -> float:
    """The mean of per-image mIoUs: what a histogram of them shows (the tutorial's histogram title)."""
    return float(np.mean([s.miou for s in scored])) if scored else float("nan")


def quality_summary(scored: Sequence[ScoredLabel]) -> dict[str, dict[str, float | int | None]]:
    """Whole / human / machine: image count, group mIoU and mean per-image mIoU (None for an empty group),
    the numbers the tutorial prints after its figures."""
    groups = {
        "whole": list(scored),
        "human": [s for s in scored if s.human],
        "machine": [s for s in scored if not s.human],
    }
    return {
        name: {
            "images": len(items),
            "group_miou": group_miou(items) if items else None,
            "mean_image_miou": mean_image_miou(items) if items else None,
        }
        for name, items in groups.items()
    }


def format_quality(summary: Mapping[str, Mapping[str, float | int | None]]) -> str:
    """The summary as the lines the CLI and notebooks print."""
    lines = []
    for name, numbers in summary.items():
        label = {"whole": "the whole dataset", "human": "human-labeled images", "machine": "machine-labeled images"}[name]
        if not numbers["images"]:
            lines.append(f"mIoU for {label}: no images")
            continue
        lines.append(f"mIoU for {label}: {numbers['group_miou']:.3f} "
                     f"({numbers['images']} images, mean of per-image mIoU {numbers['mean_image_miou']:.3f})")
    return "\n".join(lines)
